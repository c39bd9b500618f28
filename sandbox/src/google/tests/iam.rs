//! IAM: service accounts and keys.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Env, claims, sign};

fn accounts(env: &Env) -> String {
    format!("v1/projects/{}/serviceAccounts", env.project())
}

#[tokio::test]
async fn a_service_account_is_created_once_then_409_already_exists() {
    let env = Env::new().await;
    let body = json!({"accountId": "vibn-ws-acme", "serviceAccount": {"displayName": "vibn workspace acme storage"}});
    let made = env.api(Method::POST, &accounts(&env), body.clone()).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let email = format!("vibn-ws-acme@{}.iam.gserviceaccount.com", env.project());
    assert_eq!(made.body["email"], email);
    assert_eq!(
        made.body["name"],
        format!("projects/{}/serviceAccounts/{email}", env.project())
    );
    assert!(
        made.body["uniqueId"]
            .as_str()
            .is_some_and(|u| u.len() == 21)
    );
    let again = env.api(Method::POST, &accounts(&env), body).await;
    assert_eq!(again.status, 409);
    let e = &again.body["error"];
    assert_eq!(e["status"], "ALREADY_EXISTS");
    assert_eq!(
        e["message"],
        format!(
            "Service account vibn-ws-acme already exists within project projects/{}.",
            env.project()
        )
    );
    assert_eq!(e["errors"][0]["reason"], "alreadyExists");
    assert_eq!(
        e["details"][0]["@type"],
        "type.googleapis.com/google.rpc.ResourceInfo"
    );
    // get by email and by uniqueId; unknown 404, under the wildcard 403.
    let by_email = env
        .api(
            Method::GET,
            &format!("{}/{email}", accounts(&env)),
            Value::Null,
        )
        .await;
    assert_eq!(by_email.body["email"], email);
    let by_id = env
        .api(
            Method::GET,
            &format!(
                "{}/{}",
                accounts(&env),
                made.body["uniqueId"].as_str().unwrap()
            ),
            Value::Null,
        )
        .await;
    assert_eq!(by_id.status, 200);
    let missing = env
        .api(
            Method::GET,
            &format!("{}/nobody@x.iam.gserviceaccount.com", accounts(&env)),
            Value::Null,
        )
        .await;
    assert_eq!(
        (missing.status, missing.body["error"]["status"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let wildcard = env
        .api(
            Method::GET,
            "v1/projects/-/serviceAccounts/nobody@x.iam.gserviceaccount.com",
            Value::Null,
        )
        .await;
    assert_eq!(wildcard.status, 403);
    let short = env
        .api(Method::POST, &accounts(&env), json!({"accountId": "abc"}))
        .await;
    assert_eq!(short.status, 400);
}

#[tokio::test]
async fn a_created_key_is_a_key_file_that_gets_tokens() {
    let env = Env::new().await;
    env.api(
        Method::POST,
        &accounts(&env),
        json!({"accountId": "vibn-ws-keys"}),
    )
    .await;
    let email = format!("vibn-ws-keys@{}.iam.gserviceaccount.com", env.project());
    let keys = format!("{}/{email}/keys", accounts(&env));
    let made = env.api(Method::POST, &keys, json!({"privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE", "keyAlgorithm": "KEY_ALG_RSA_2048"})).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let key_file: Value = serde_json::from_slice(
        &STANDARD
            .decode(made.body["privateKeyData"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(key_file["client_email"], email);
    let token = env.token_for(&sign(&key_file, &claims(&key_file))).await;
    assert_eq!(token.status, 200);
    let listed = env
        .api(
            Method::GET,
            &format!("{keys}?keyTypes=USER_MANAGED"),
            Value::Null,
        )
        .await;
    assert_eq!(listed.body["keys"].as_array().unwrap().len(), 1);
    assert!(listed.body["keys"][0].get("privateKeyData").is_none());
    // A deleted key signs nothing.
    let name = made.body["name"].as_str().unwrap();
    let key_id = name.rsplit('/').next().unwrap();
    assert_eq!(
        env.api(Method::DELETE, &format!("{keys}/{key_id}"), Value::Null)
            .await
            .status,
        200
    );
    assert_eq!(
        env.token_for(&sign(&key_file, &claims(&key_file)))
            .await
            .status,
        400
    );
}

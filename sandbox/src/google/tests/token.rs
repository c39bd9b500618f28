//! The OAuth JWT-bearer token endpoint and bearer checks.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Env, claims, now, sign};

#[tokio::test]
async fn a_well_signed_assertion_gets_an_opaque_expiring_token() {
    let env = Env::new().await;
    let answer = env
        .token_for(&sign(&env.key_file, &claims(&env.key_file)))
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.body["expires_in"], 3599);
    assert!(
        answer.body["access_token"]
            .as_str()
            .unwrap()
            .starts_with("ya29.")
    );
}

#[tokio::test]
async fn an_assertion_signed_with_another_key_is_refused() {
    let env = Env::new().await;
    let other = Env::new().await;
    // Same iss and kid as ours, signed with someone else's private key.
    let mut forged_key = other.key_file.clone();
    forged_key["private_key_id"] = env.key_file["private_key_id"].clone();
    let answer = env
        .token_for(&sign(&forged_key, &claims(&env.key_file)))
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body,
        json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
    );
    // A tampered claim breaks the signature too.
    let good = sign(&env.key_file, &claims(&env.key_file));
    let parts: Vec<&str> = good.split('.').collect();
    let mut c = claims(&env.key_file);
    c["scope"] = json!("https://www.googleapis.com/auth/cloud-platform extra");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            c.to_string()
        ),
        parts[2]
    );
    assert_eq!(
        env.token_for(&tampered).await.body["error_description"],
        "Invalid JWT Signature."
    );
}

#[tokio::test]
async fn a_wrong_audience_is_refused() {
    let env = Env::new().await;
    let mut c = claims(&env.key_file);
    c["aud"] = json!("https://example.com/token");
    let answer = env.token_for(&sign(&env.key_file, &c)).await;
    assert_eq!(
        (answer.status, answer.body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        answer.body["error_description"],
        "Invalid JWT: Failed audience check."
    );
}

#[tokio::test]
async fn assertions_living_longer_than_an_hour_or_expired_are_refused() {
    let env = Env::new().await;
    let mut long = claims(&env.key_file);
    long["exp"] = json!(now() + 3601);
    let answer = env.token_for(&sign(&env.key_file, &long)).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body["error_description"]
            .as_str()
            .unwrap()
            .contains("short-lived token (60 minutes)")
    );
    let mut expired = claims(&env.key_file);
    expired["iat"] = json!(now() - 7200);
    expired["exp"] = json!(now() - 3600);
    assert_eq!(
        env.token_for(&sign(&env.key_file, &expired)).await.status,
        400
    );
    let mut no_scope = claims(&env.key_file);
    no_scope.as_object_mut().unwrap().remove("scope");
    assert_eq!(
        env.token_for(&sign(&env.key_file, &no_scope)).await.body["error"],
        "invalid_scope"
    );
}

#[tokio::test]
async fn api_calls_need_a_valid_unexpired_bearer_with_a_fitting_scope() {
    let env = Env::new().await;
    let path = format!("dns/v1/projects/{}/managedZones", env.project());
    let none = env.api_with(Method::GET, &path, Value::Null, None).await;
    assert_eq!(
        (
            none.status,
            none.body["error"]["errors"][0]["reason"].as_str()
        ),
        (401, Some("required"))
    );
    let bogus = env
        .api_with(Method::GET, &path, Value::Null, Some("ya29.made-up"))
        .await;
    assert_eq!(
        (
            bogus.status,
            bogus.body["error"]["errors"][0]["reason"].as_str()
        ),
        (401, Some("authError"))
    );
    assert_eq!(env.api(Method::GET, &path, Value::Null).await.status, 200);
    // A token for storage only cannot touch DNS.
    let mut c = claims(&env.key_file);
    c["scope"] = json!("https://www.googleapis.com/auth/devstorage.full_control");
    let storage_only = env.token_for(&sign(&env.key_file, &c)).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let scoped = env
        .api_with(Method::GET, &path, Value::Null, Some(&storage_only))
        .await;
    assert_eq!(scoped.status, 403);
    env.control(Method::POST, "tokens/expire", json!({})).await;
    assert_eq!(env.api(Method::GET, &path, Value::Null).await.status, 401);
}

#[tokio::test]
async fn a_token_endpoint_fault_answers_in_oauth_shape() {
    let env = Env::new().await;
    env.control(
        Method::POST,
        "faults",
        json!({"operation": "token", "status": 503}),
    )
    .await;
    let answer = env
        .token_for(&sign(&env.key_file, &claims(&env.key_file)))
        .await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.body["error"], "temporarily_unavailable");
    assert_eq!(
        env.token_for(&sign(&env.key_file, &claims(&env.key_file)))
            .await
            .status,
        200
    );
}

//! Cloud Storage: buckets, bucket IAM, HMAC keys.

use reqwest::Method;
use serde_json::{Value, json};

use super::Env;

async fn make_bucket(env: &Env, name: &str) -> super::Answer {
    let body = json!({
        "name": name, "location": "NORTHAMERICA-NORTHEAST1", "storageClass": "STANDARD",
        "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": true}, "publicAccessPrevention": "enforced"},
        "labels": {"vibn-workspace": "acme"},
    });
    env.api(
        Method::POST,
        &format!("storage/v1/b?project={}", env.project()),
        body,
    )
    .await
}

#[tokio::test]
async fn bucket_names_are_global_409_says_whose() {
    let env = Env::new().await;
    let made = make_bucket(&env, "vibn-ws-acme-k3x9q2").await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert_eq!(made.body["projectNumber"], env.sb.project_number());
    assert_eq!(made.body["location"], "NORTHAMERICA-NORTHEAST1");
    assert_eq!(made.body["locationType"], "region");
    let ours = make_bucket(&env, "vibn-ws-acme-k3x9q2").await;
    assert_eq!(
        (
            ours.status,
            ours.body["error"]["errors"][0]["reason"].as_str()
        ),
        (409, Some("conflict"))
    );
    assert!(
        ours.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("you already own it")
    );
    env.control(
        Method::POST,
        "foreign-buckets",
        json!({"name": "someone-elses"}),
    )
    .await;
    let theirs = make_bucket(&env, "someone-elses").await;
    assert_eq!(theirs.status, 409);
    assert!(
        theirs.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("The requested bucket name is not available.")
    );
    // get tells ours from theirs.
    assert_eq!(
        env.api(Method::GET, "storage/v1/b/vibn-ws-acme-k3x9q2", Value::Null)
            .await
            .status,
        200
    );
    assert_eq!(
        env.api(Method::GET, "storage/v1/b/someone-elses", Value::Null)
            .await
            .status,
        403
    );
    assert_eq!(
        env.api(Method::GET, "storage/v1/b/nobody-has-this", Value::Null)
            .await
            .status,
        404
    );
    assert_eq!(make_bucket(&env, "Bad_Name!").await.status, 400);
    let other_project = env
        .api(
            Method::POST,
            "storage/v1/b?project=not-mine",
            json!({"name": "x-y-z"}),
        )
        .await;
    assert_eq!(other_project.status, 403);
}

#[tokio::test]
async fn set_iam_policy_with_a_stale_etag_gets_412() {
    let env = Env::new().await;
    make_bucket(&env, "iam-bucket").await;
    let sa = format!("vibn-ws-acme@{}.iam.gserviceaccount.com", env.project());
    env.api(
        Method::POST,
        &format!("v1/projects/{}/serviceAccounts", env.project()),
        json!({"accountId": "vibn-ws-acme"}),
    )
    .await;
    let policy = env
        .api(Method::GET, "storage/v1/b/iam-bucket/iam", Value::Null)
        .await
        .body;
    assert_eq!(policy["etag"], "CAE=");
    assert_eq!(policy["resourceId"], "projects/_/buckets/iam-bucket");
    let mut bindings = policy["bindings"].as_array().unwrap().clone();
    bindings.push(
        json!({"role": "roles/storage.objectAdmin", "members": [format!("serviceAccount:{sa}")]}),
    );
    let set = env
        .api(
            Method::PUT,
            "storage/v1/b/iam-bucket/iam",
            json!({"bindings": bindings, "etag": "CAE="}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_ne!(set.body["etag"], "CAE=");
    let stale = env
        .api(
            Method::PUT,
            "storage/v1/b/iam-bucket/iam",
            json!({"bindings": bindings, "etag": "CAE="}),
        )
        .await;
    assert_eq!(
        (
            stale.status,
            stale.body["error"]["errors"][0]["reason"].as_str()
        ),
        (412, Some("conditionNotMet"))
    );
    let reread = env
        .api(Method::GET, "storage/v1/b/iam-bucket/iam", Value::Null)
        .await
        .body;
    assert_eq!(reread["etag"], set.body["etag"]);
    // A member that does not exist is refused.
    let ghost = json!([{"role": "roles/storage.objectAdmin", "members": [format!("serviceAccount:ghost-acct@{}.iam.gserviceaccount.com", env.project())]}]);
    assert_eq!(
        env.api(
            Method::PUT,
            "storage/v1/b/iam-bucket/iam",
            json!({"bindings": ghost})
        )
        .await
        .status,
        400
    );
}

#[tokio::test]
async fn the_hmac_secret_is_only_in_the_create_answer() {
    let env = Env::new().await;
    env.api(
        Method::POST,
        &format!("v1/projects/{}/serviceAccounts", env.project()),
        json!({"accountId": "vibn-ws-hmac"}),
    )
    .await;
    let sa = format!("vibn-ws-hmac@{}.iam.gserviceaccount.com", env.project());
    let keys = format!("storage/v1/projects/{}/hmacKeys", env.project());
    let made = env
        .api(
            Method::POST,
            &format!("{keys}?serviceAccountEmail={sa}"),
            Value::Null,
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let secret = made.body["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 40);
    let access_id = made.body["metadata"]["accessId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(access_id.len(), 61);
    let got = env
        .api(Method::GET, &format!("{keys}/{access_id}"), Value::Null)
        .await;
    let listed = env
        .api(
            Method::GET,
            &format!("{keys}?serviceAccountEmail={sa}"),
            Value::Null,
        )
        .await;
    for answer in [&got, &listed] {
        assert_eq!(answer.status, 200);
        assert!(
            !answer.body.to_string().contains(&secret),
            "secret leaked: {}",
            answer.body
        );
    }
    assert_eq!(listed.body["items"][0]["accessId"], access_id.as_str());
    assert!(
        !env.state()
            .hmac_keys()
            .iter()
            .any(|m| m.to_string().contains(&secret))
    );
    // Delete needs INACTIVE first; deleted keys show only with showDeletedKeys.
    assert_eq!(
        env.api(Method::DELETE, &format!("{keys}/{access_id}"), Value::Null)
            .await
            .status,
        400
    );
    let inactive = env
        .api(
            Method::PUT,
            &format!("{keys}/{access_id}"),
            json!({"state": "INACTIVE"}),
        )
        .await;
    assert_eq!(
        (inactive.status, inactive.body["state"].as_str()),
        (200, Some("INACTIVE"))
    );
    assert_eq!(
        env.api(Method::DELETE, &format!("{keys}/{access_id}"), Value::Null)
            .await
            .status,
        204
    );
    let after = env
        .api(
            Method::GET,
            &format!("{keys}?serviceAccountEmail={sa}"),
            Value::Null,
        )
        .await;
    assert_eq!(after.body["items"].as_array().unwrap().len(), 0);
    let with_deleted = env
        .api(
            Method::GET,
            &format!("{keys}?serviceAccountEmail={sa}&showDeletedKeys=true"),
            Value::Null,
        )
        .await;
    assert_eq!(with_deleted.body["items"][0]["state"], "DELETED");
    let unknown_sa = env
        .api(
            Method::POST,
            &format!("{keys}?serviceAccountEmail=nobody@x.iam.gserviceaccount.com"),
            Value::Null,
        )
        .await;
    assert_eq!(unknown_sa.status, 400);
}

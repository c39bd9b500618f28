//! The storage tools against the Google and Coolify stand-ins (issue 15): provisioning
//! makes the service account, the bucket in the configured Canadian location, the IAM
//! binding and an HMAC key whose secret is sealed in the keystore before success; a
//! second run changes nothing; a lost HMAC answer leaves no usable orphan; a bucket name
//! someone else owns is replaced; `storage_inject_env` writes six variables with the
//! secret shown-once and answers with their names only; nothing secret in any result;
//! no contract violation.

use serde_json::json;
use vibn::keystore::Keyring;

use crate::control_plane_support::{call, shown};
use crate::domains_support::{Dom, LOCATION};
use crate::support::{err_body, ok};

fn secret_of(d: &Dom, slug: &str) -> String {
    let ws = d.cp.store.require_workspace(slug).unwrap();
    let ring: Keyring = d.cp.ring();
    secrecy::ExposeSecret::expose_secret(&d.cp.store.hmac_secret(&ws.id, &ring).unwrap().unwrap())
        .to_string()
}

fn active_keys(d: &Dom) -> usize {
    d.gcp()
        .state()
        .hmac_keys()
        .iter()
        .filter(|k| k["state"] == "ACTIVE" || k["metadata"]["state"] == "ACTIVE")
        .count()
}

#[tokio::test]
async fn provision_makes_a_canadian_bucket_with_a_sealed_key_and_is_idempotent() {
    let d = Dom::with_google().await;
    let c = d.client(&d.cp.mark.key).await;
    let r = call(&c, "storage_provision", json!({})).await;
    let out = ok(&r).clone();
    assert_eq!(out["status"], "ready", "{out}");
    let bucket = out["bucket"].as_str().unwrap().to_string();
    assert!(
        bucket.starts_with(&format!("vibn-ws-{}-", d.cp.mark.slug)),
        "{bucket}"
    );
    assert_eq!(out["region"], LOCATION);
    assert!(out["access_key_id"].is_string());
    let held = d.gcp().state().bucket(&bucket).unwrap();
    assert_eq!(held["location"], LOCATION);
    let secret = secret_of(&d, &d.cp.mark.slug);
    assert!(secret.len() >= 20);
    assert!(!shown(&r).contains(&secret));
    assert_eq!(active_keys(&d), 1);
    // Again: nothing new upstream.
    d.gcp().state().clear_requests();
    let again = call(&c, "storage_provision", json!({})).await;
    assert_eq!(ok(&again)["bucket"], bucket.as_str());
    assert_eq!(secret_of(&d, &d.cp.mark.slug), secret, "the key is kept");
    let creates: Vec<String> = d
        .gcp()
        .state()
        .requests()
        .into_iter()
        .filter(|r| {
            matches!(
                r.operation.as_str(),
                "storage.buckets.insert"
                    | "storage.projects.hmacKeys.create"
                    | "storage.buckets.setIamPolicy"
            )
        })
        .map(|r| r.operation)
        .collect();
    assert_eq!(
        creates,
        ["storage.buckets.insert"],
        "only the insert's 409 is asked again"
    );
    assert_eq!(active_keys(&d), 1);
    let r = call(&c, "storage_describe", json!({})).await;
    assert_eq!(ok(&r)["status"], "ready");
    assert!(!shown(&r).contains(&secret));
    d.assert_no_violations();
}

#[tokio::test]
async fn a_lost_hmac_answer_leaves_one_usable_key() {
    let d = Dom::with_google().await;
    d.gfault(
        json!({"operation": "storage.projects.hmacKeys.create", "status": 503, "apply": true}),
    );
    let c = d.client(&d.cp.mark.key).await;
    let r = call(&c, "storage_provision", json!({})).await;
    assert_eq!(err_body(&r)["status"], 502);
    let r = call(&c, "storage_describe", json!({})).await;
    assert_eq!(ok(&r)["status"], "error");
    let r = call(&c, "storage_provision", json!({})).await;
    assert_eq!(ok(&r)["status"], "ready");
    assert_eq!(active_keys(&d), 1, "the orphan was deactivated");
    d.assert_no_violations();
}

#[tokio::test]
async fn a_bucket_name_owned_elsewhere_is_replaced() {
    let d = Dom::with_google().await;
    let ws = d.cp.store.require_workspace(&d.cp.mark.slug).unwrap();
    let taken = format!("vibn-ws-{}-taken1", d.cp.mark.slug);
    d.cp.store.ensure_storage(&ws.id, &taken, LOCATION).unwrap();
    d.gcp().state().add_foreign_bucket(&taken);
    let c = d.client(&d.cp.mark.key).await;
    let r = call(&c, "storage_provision", json!({})).await;
    let bucket = ok(&r)["bucket"].as_str().unwrap().to_string();
    assert_ne!(bucket, taken);
    assert!(d.gcp().state().bucket(&bucket).is_some());
    d.assert_no_violations();
}

#[tokio::test]
async fn inject_env_writes_six_variables_and_answers_with_names_only() {
    let d = Dom::with_google().await;
    let app = d.app(&d.cp.mark.key, "site").await;
    let c = d.client(&d.cp.mark.key).await;
    let r = call(&c, "storage_inject_env", json!({"uuid": app})).await;
    assert_eq!(err_body(&r)["status"], 422, "not provisioned yet");
    ok(&call(&c, "storage_provision", json!({})).await);
    let secret = secret_of(&d, &d.cp.mark.slug);
    let r = call(&c, "storage_inject_env", json!({"uuid": app})).await;
    assert_eq!(
        ok(&r)["keys"],
        json!([
            "STORAGE_ENDPOINT",
            "STORAGE_REGION",
            "STORAGE_BUCKET",
            "STORAGE_ACCESS_KEY_ID",
            "STORAGE_SECRET_ACCESS_KEY",
            "STORAGE_FORCE_PATH_STYLE"
        ])
    );
    assert!(!shown(&r).contains(&secret));
    let envs = d.cp.coolify.root_client().list_envs(&app).await.unwrap();
    let secret_env = envs
        .iter()
        .find(|e| e.key == "STORAGE_SECRET_ACCESS_KEY")
        .unwrap();
    assert!(secret_env.is_shown_once);
    let bucket = envs.iter().find(|e| e.key == "STORAGE_BUCKET").unwrap();
    assert!(bucket.value.as_deref().unwrap().starts_with("vibn-ws-"));
    let r = call(&c, "apps_envs_list", json!({"uuid": app})).await;
    assert!(
        !shown(&r).contains(&secret),
        "apps_envs_list hides the shown-once value"
    );
    let r = call(
        &c,
        "storage_inject_env",
        json!({"uuid": app, "prefix": "S3_"}),
    )
    .await;
    assert_eq!(ok(&r)["keys"][4], "S3_SECRET_ACCESS_KEY");
    for bad in ["s3_", "", "A B", "X-"] {
        let r = call(
            &c,
            "storage_inject_env",
            json!({"uuid": app, "prefix": bad}),
        )
        .await;
        assert_eq!(err_body(&r)["status"], 400, "{bad:?}");
    }
    d.assert_no_violations();
}

#[tokio::test]
async fn storage_stays_within_its_workspace() {
    let d = Dom::with_google().await;
    let marks_app = d.app(&d.cp.mark.key, "site").await;
    let mark = d.client(&d.cp.mark.key).await;
    ok(&call(&mark, "storage_provision", json!({})).await);
    let justine = d.client(&d.cp.justine.key).await;
    let r = call(&justine, "storage_describe", json!({})).await;
    assert_eq!(
        ok(&r)["status"],
        "not_provisioned",
        "justine sees her own (none)"
    );
    ok(&call(&justine, "storage_provision", json!({})).await);
    let r = call(&justine, "storage_inject_env", json!({"uuid": marks_app})).await;
    assert_eq!(err_body(&r)["status"], 403);
    let envs =
        d.cp.coolify
            .root_client()
            .list_envs(&marks_app)
            .await
            .unwrap();
    assert!(envs.iter().all(|e| !e.key.starts_with("STORAGE_")));
    let (m, j) = (
        secret_of(&d, &d.cp.mark.slug),
        secret_of(&d, &d.cp.justine.slug),
    );
    assert_ne!(m, j);
    d.assert_no_violations();
}

//! Deploy and deployments: progression over time, logs as a JSON string, the
//! application list with skip/take, cancel and the deploy endpoint's rules.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::Env;
use crate::coolify::DeployOutcome;

async fn deploy(env: &Env, app: &str) -> String {
    let a = env
        .post(&format!("/deploy?uuid={app}&force=false"), json!({}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body["deployments"][0]["deployment_uuid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn log_entries(dep: &Value) -> Vec<Value> {
    serde_json::from_str(dep["logs"].as_str().expect("logs is a JSON string")).unwrap()
}

/// A deployment is `queued`, then `in_progress`, then `finished`; its logs are a
/// JSON-encoded string of entries (some hidden) and the app becomes running:healthy.
#[tokio::test]
async fn deployment_progresses_queued_in_progress_finished() {
    let env = Env::new().await;
    env.state()
        .set_deploy_timing(Duration::from_millis(400), Duration::from_millis(1000));
    let project = env.project("deploy");
    let app = env.app(&project, "site").await;
    let a = env.post(&format!("/deploy?uuid={app}"), json!({})).await;
    assert_eq!(
        a.body["deployments"][0]["message"],
        "Application site deployment queued."
    );
    assert_eq!(a.body["deployments"][0]["resource_uuid"], app.as_str());
    let dep = a.body["deployments"][0]["deployment_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let d = env.get(&format!("/deployments/{dep}")).await.body;
    assert_eq!(d["status"], "queued");
    assert_eq!(d["logs"], Value::Null);
    assert_eq!(d["application_name"], "site");
    assert_eq!(d["server_id"], 0);
    assert_eq!(
        env.get("/deployments").await.body.as_array().unwrap().len(),
        1
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let d = env.get(&format!("/deployments/{dep}")).await.body;
    assert_eq!(d["status"], "in_progress");
    assert!(!log_entries(&d).is_empty());
    let d = env.wait_deployment(&dep).await;
    assert_eq!(d["status"], "finished");
    assert!(d["finished_at"].is_string());
    let entries = log_entries(&d);
    assert!(entries.iter().any(|e| e["hidden"] == true));
    assert!(entries.iter().any(|e| e["hidden"] == false));
    for e in &entries {
        for k in ["command", "output", "type", "timestamp", "hidden", "batch"] {
            assert!(e.get(k).is_some(), "{k} in {e}");
        }
    }
    assert!(entries[0].get("order").is_none());
    assert_eq!(entries[1]["order"], 2);
    assert_eq!(env.get("/deployments").await.body, json!([]));
    let a = env.get(&format!("/applications/{app}")).await.body;
    assert_eq!(a["status"], "running:healthy");
    let logs = env.get(&format!("/applications/{app}/logs")).await;
    assert_eq!(logs.status, StatusCode::OK);
}

/// With a Fail outcome the deployment ends `failed` with stderr entries; the app
/// does not become healthy.
#[tokio::test]
async fn deployment_fails_when_outcome_is_fail() {
    let env = Env::new().await;
    let project = env.project("fail");
    let app = env.app(&project, "site").await;
    env.state().set_deploy_outcome(&app, DeployOutcome::Fail);
    let dep = deploy(&env, &app).await;
    let d = env.wait_deployment(&dep).await;
    assert_eq!(d["status"], "failed");
    assert!(
        log_entries(&d)
            .iter()
            .any(|e| e["type"] == "stderr" && e["hidden"] == false)
    );
    assert_eq!(
        env.get(&format!("/applications/{app}")).await.body["status"],
        "exited:unhealthy"
    );
}

/// Logs are present only with read:sensitive or root.
#[tokio::test]
async fn deployment_logs_need_read_sensitive() {
    let env = Env::new().await;
    let project = env.project("logs");
    let app = env.app(&project, "site").await;
    let dep = deploy(&env, &app).await;
    env.wait_deployment(&dep).await;
    let read = env.state().create_token(&["read"]);
    let a = env
        .call_as(
            Method::GET,
            &format!("/deployments/{dep}"),
            Some(&read),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.get("logs").is_none());
    let sensitive = env.state().create_token(&["read", "read:sensitive"]);
    let a = env
        .call_as(
            Method::GET,
            &format!("/deployments/{dep}"),
            Some(&sensitive),
            None,
        )
        .await;
    assert!(a.body["logs"].is_string());
    let a = env
        .call_as(
            Method::GET,
            &format!("/deployments/applications/{app}"),
            Some(&read),
            None,
        )
        .await;
    assert!(a.body["deployments"][0].get("logs").is_none());
}

/// The application's deployments are `{count, deployments}`, newest first, paged with
/// skip/take; invalid values are 422 JSON (with an Accept: JSON header).
#[tokio::test]
async fn app_deployments_page_with_skip_take_and_count() {
    let env = Env::new().await;
    let project = env.project("list");
    let app = env.app(&project, "site").await;
    let mut uuids = Vec::new();
    for _ in 0..3 {
        let a = env
            .post(&format!("/deploy?uuid={app}&force=true"), json!({}))
            .await;
        uuids.push(
            a.body["deployments"][0]["deployment_uuid"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let a = env
        .get(&format!("/deployments/applications/{app}?skip=1&take=1"))
        .await;
    assert_eq!(a.body["count"], 3);
    let page = a.body["deployments"].as_array().unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["deployment_uuid"], uuids[1].as_str());
    let a = env.get(&format!("/deployments/applications/{app}")).await;
    assert_eq!(
        a.body["deployments"][0]["deployment_uuid"],
        uuids[2].as_str()
    );
    let a = env
        .get(&format!("/deployments/applications/{app}?take=0"))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        a.body["errors"]["take"],
        json!(["The take field must be at least 1."])
    );
    let a = env
        .get(&format!("/deployments/applications/{app}?skip=x"))
        .await;
    assert_eq!(a.message(), "The skip field must be an integer.");
    // Without Accept: JSON Laravel redirects back.
    let r = env
        .http
        .get(format!(
            "{}/deployments/applications/{app}?skip=-1",
            env.sb.api_url()
        ))
        .bearer_auth(&env.root)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let a = env.get("/deployments/applications/nope").await;
    assert_eq!(a.body, json!({"message": "Application not found"}));
}

/// `/deploy` rules: neither uuid nor tag is 400, unknown uuids are skipped, none
/// resolving is 404; a duplicate without force is skipped with the queued uuid.
#[tokio::test]
async fn deploy_requires_uuid_or_tag_and_skips_unknown_uuids() {
    let env = Env::new().await;
    env.state()
        .set_deploy_timing(Duration::from_secs(30), Duration::from_secs(30));
    let project = env.project("rules");
    let app = env.app(&project, "site").await;
    let a = env.post("/deploy", json!({"force": true})).await;
    assert_eq!(
        (a.status, a.body),
        (
            StatusCode::BAD_REQUEST,
            json!({"message": "You must provide uuid or tag."})
        )
    );
    let a = env.post("/deploy?uuid=nope,other", json!({})).await;
    assert_eq!(
        (a.status, a.body),
        (
            StatusCode::NOT_FOUND,
            json!({"message": "No resources found."})
        )
    );
    let a = env
        .post("/deploy", json!({"uuid": format!("nope,{app}")}))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let list = a.body["deployments"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    let first = list[0]["deployment_uuid"].clone();
    let a = env.post(&format!("/deploy?uuid={app}"), json!({})).await;
    assert_eq!(
        a.body["deployments"][0]["message"],
        "Deployment already queued for this commit."
    );
    assert_eq!(a.body["deployments"][0]["deployment_uuid"], first);
    let a = env
        .post(&format!("/applications/{app}/start"), json!({}))
        .await;
    assert_eq!(
        a.body,
        json!({"message": "Deployment already queued for this commit."})
    );
    let a = env
        .post(&format!("/deploy?uuid={app}&tag=x"), json!({}))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

/// Cancel turns a queued deployment into `cancelled-by-user`; a final one is 400.
#[tokio::test]
async fn cancel_stops_active_deployments_and_refuses_final_ones() {
    let env = Env::new().await;
    env.state()
        .set_deploy_timing(Duration::from_secs(30), Duration::from_secs(30));
    let project = env.project("cancel");
    let app = env.app(&project, "site").await;
    let dep = deploy(&env, &app).await;
    let a = env
        .post(&format!("/deployments/{dep}/cancel"), json!({}))
        .await;
    assert_eq!(
        (a.status, a.body),
        (
            StatusCode::OK,
            json!({"message": "Deployment cancelled successfully.", "deployment_uuid": dep, "status": "cancelled-by-user"})
        )
    );
    let d = env.get(&format!("/deployments/{dep}")).await.body;
    assert_eq!(d["status"], "cancelled-by-user");
    assert!(
        log_entries(&d)
            .iter()
            .any(|e| e["output"] == "Deployment cancelled by user via API.")
    );
    let a = env
        .post(&format!("/deployments/{dep}/cancel"), json!({}))
        .await;
    assert_eq!(
        (a.status, a.body),
        (
            StatusCode::BAD_REQUEST,
            json!({"message": "Deployment cannot be cancelled. Current status: cancelled-by-user"})
        )
    );
    let a = env.post("/deployments/nope/cancel", json!({})).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = env
        .post(&format!("/applications/{app}/restart"), json!({}))
        .await;
    assert_eq!(a.body["message"], "Restart request queued.");
    assert!(a.body["deployment_uuid"].is_string());
}

//! The Coolify server's tools against the Coolify sandbox, through rmcp's client.

use std::time::Duration;

use serde_json::json;
use vibn::api::caller::Pinning;
use vibn_sandbox::coolify::DeployOutcome;

use crate::coolify_support::{Coolify, call_tool};
use crate::support::{err_message, err_status, ok};

const BUDGET: Duration = Duration::from_secs(20);

struct World {
    c: Coolify,
    project: String,
    site: String,
    api: String,
}

async fn world() -> World {
    let c = Coolify::start().await;
    let (project, _) = c.state().create_project("vibn-ws-acme");
    let site = c.state().create_application(
        &project,
        "production",
        "site",
        "https://git.example.com/acme/site",
    );
    let api = c.state().create_application(
        &project,
        "production",
        "api",
        "https://git.example.com/acme/api",
    );
    let (other, _) = c.state().create_project("elsewhere");
    c.state().create_application(
        &other,
        "production",
        "blog",
        "https://git.example.com/x/blog",
    );
    World {
        c,
        project,
        site,
        api,
    }
}

/// list_projects, list_applications and list_all_apps see projects and group apps.
#[tokio::test]
async fn lists_group_applications_by_project() {
    let w = world().await;
    let client = w.c.mcp("", Pinning::operator(), BUDGET).await;
    let r = call_tool(&client, "list_projects", json!({}), false).await;
    assert_eq!(ok(&r)["projects"].as_array().unwrap().len(), 2);
    let r = call_tool(
        &client,
        "list_applications",
        json!({"project_uuid": w.project}),
        false,
    )
    .await;
    let names: Vec<&str> = ok(&r)["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "site"]);
    let r = call_tool(&client, "list_all_apps", json!({}), false).await;
    let out = ok(&r);
    assert_eq!(out["total"], 3);
    let groups = out["projects"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    let r = call_tool(
        &client,
        "list_applications",
        json!({"project_uuid": "nope"}),
        false,
    )
    .await;
    assert_eq!(err_status(&r), 404);
}

/// get_app_status reports the status and the latest deployment.
#[tokio::test]
async fn app_status_and_logs() {
    let w = world().await;
    let client = w.c.mcp("", Pinning::operator(), BUDGET).await;
    let r = call_tool(&client, "get_app_status", json!({"uuid": w.site}), false).await;
    assert_eq!(ok(&r)["name"], "site");
    assert!(ok(&r).get("last_deployment_uuid").is_none());
    let r = call_tool(&client, "get_logs", json!({"uuid": w.site}), false).await;
    assert_eq!(err_status(&r), 400, "not running yet");
    w.c.state().set_app_status(&w.site, "running:healthy");
    w.c.state().set_app_logs(&w.site, "ready on :3000\n");
    let r = call_tool(
        &client,
        "get_logs",
        json!({"uuid": w.site, "lines": "50"}),
        false,
    )
    .await;
    assert!(ok(&r)["logs"].as_str().unwrap().contains("ready on :3000"));
    let r = call_tool(
        &client,
        "get_app_status",
        json!({"uuid": "nosuchapp"}),
        false,
    )
    .await;
    assert_eq!(err_status(&r), 404);
}

/// deploy queues; deploy_app by name waits to the end with progress notifications.
#[tokio::test]
async fn deploy_and_deploy_app_with_wait_and_progress() {
    let w = world().await;
    let client = w.c.mcp("", Pinning::operator(), BUDGET).await;
    let r = call_tool(&client, "deploy", json!({"uuid": w.api}), false).await;
    let deployment = ok(&r)["deployment_uuid"].as_str().unwrap().to_string();
    let r = call_tool(
        &client,
        "deploy_app",
        json!({"name": "site", "wait": true}),
        true,
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["status"], "finished", "{out}");
    assert_eq!(out["finished"], true);
    assert_eq!(out["succeeded"], true);
    let progress = client.service().0.lock().unwrap().clone();
    assert!(!progress.is_empty(), "progress notifications were sent");
    assert_eq!(
        progress.last().map(String::as_str),
        Some("finished"),
        "the last progress arrives before the result: {progress:?}"
    );
    let r = call_tool(&client, "list_deployments", json!({"uuid": w.api}), false).await;
    assert_eq!(ok(&r)["deployments"][0]["deployment_uuid"], deployment);
    let r = call_tool(
        &client,
        "get_deployment",
        json!({"deployment_uuid": deployment, "limit": 2}),
        false,
    )
    .await;
    let out = ok(&r);
    assert!(out["log"].as_array().unwrap().len() <= 2);
    assert!(out["total_lines"].as_u64().unwrap() >= 1);
    assert_eq!(out["start_line"], 1);
}

/// A build log read a line at a time through `next_offset` (1-based, like `read_file`)
/// is the whole log, in order, with nothing repeated or skipped.
#[tokio::test]
async fn deployment_log_pages_by_one_based_line() {
    let w = world().await;
    let client = w.c.mcp("", Pinning::operator(), BUDGET).await;
    let r = call_tool(
        &client,
        "deploy_app",
        json!({"uuid": w.api, "wait": true}),
        false,
    )
    .await;
    let deployment = ok(&r)["deployment_uuid"].as_str().unwrap().to_string();
    let whole = |offset: Option<u64>, limit: u64| {
        let mut args = json!({"deployment_uuid": deployment, "limit": limit});
        if let Some(offset) = offset {
            args["offset"] = json!(offset);
        }
        args
    };
    let r = call_tool(&client, "get_deployment", whole(None, 500), false).await;
    let all = ok(&r)["log"].as_array().unwrap().clone();
    assert!(
        all.len() >= 2,
        "the stand-in's build log has lines: {all:?}"
    );
    let (mut paged, mut offset) = (Vec::new(), Some(1));
    while let Some(line) = offset {
        let r = call_tool(&client, "get_deployment", whole(Some(line), 1), false).await;
        let out = ok(&r);
        assert_eq!(out["start_line"], line);
        paged.extend(out["log"].as_array().unwrap().iter().cloned());
        offset = out["next_offset"].as_u64();
    }
    assert_eq!(paged, all);
}

/// A failed deployment comes back with the tail of its log.
#[tokio::test]
async fn failed_deployment_returns_its_log_tail() {
    let w = world().await;
    w.c.state().set_deploy_outcome(&w.site, DeployOutcome::Fail);
    let client = w.c.mcp("", Pinning::operator(), BUDGET).await;
    let r = call_tool(
        &client,
        "deploy_app",
        json!({"uuid": w.site, "wait": "true"}),
        false,
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["status"], "failed");
    assert_eq!(out["succeeded"], false);
    assert!(!out["failure_log"].as_array().unwrap().is_empty(), "{out}");
}

/// When the wait budget runs out, deploy_app hands back the deployment to poll.
#[tokio::test]
async fn deploy_app_returns_within_its_budget() {
    let w = world().await;
    w.c.state()
        .set_deploy_timing(Duration::from_secs(5), Duration::from_secs(5));
    let client =
        w.c.mcp("", Pinning::operator(), Duration::from_millis(300))
            .await;
    let started = std::time::Instant::now();
    let r = call_tool(
        &client,
        "deploy_app",
        json!({"name": "site", "wait": true}),
        false,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let out = ok(&r);
    assert_eq!(out["finished"], false);
    assert!(out["deployment_uuid"].is_string());
    assert!(out["hint"].as_str().unwrap().contains("get_deployment"));
}

/// Cancelling deploy_app stops the wait promptly; the server keeps serving.
#[tokio::test]
async fn deploy_app_stops_waiting_on_cancellation() {
    let w = world().await;
    w.c.state()
        .set_deploy_timing(Duration::from_secs(30), Duration::from_secs(30));
    let client = w.c.mcp("", Pinning::operator(), BUDGET).await;
    let pending = call_tool(
        &client,
        "deploy_app",
        json!({"name": "site", "wait": true}),
        false,
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(500), pending)
            .await
            .is_err()
    );
    w.c.state().clear_requests();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let polls =
        w.c.state()
            .requests()
            .iter()
            .filter(|r| r.path.contains("/deployments/"))
            .count();
    assert!(
        polls <= 1,
        "polling should stop after cancellation, saw {polls}"
    );
    let r = call_tool(&client, "list_projects", json!({}), false).await;
    ok(&r);
}

/// deploy_app by an unknown or ambiguous name says which names exist.
#[tokio::test]
async fn deploy_app_resolves_names_helpfully() {
    let w = world().await;
    let client = w.c.mcp("", Pinning::operator(), BUDGET).await;
    let r = call_tool(&client, "deploy_app", json!({"name": "nope"}), false).await;
    assert_eq!(err_status(&r), 404);
    let hint = crate::support::err_body(&r)["hint"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(hint.contains("site") && hint.contains("api"), "{hint}");
    w.c.state()
        .create_application(&w.project, "production", "site", "https://g/dup");
    let r = call_tool(&client, "deploy_app", json!({"name": "site"}), false).await;
    assert_eq!(err_status(&r), 400);
    let r = call_tool(&client, "deploy_app", json!({}), false).await;
    assert_eq!(err_status(&r), 400);
}

/// Protected apps refuse deploys before any request reaches Coolify's deploy endpoint.
#[tokio::test]
async fn protected_apps_refuse_changes() {
    let w = world().await;
    let client =
        w.c.mcp(
            &format!("{},other-app", w.site),
            Pinning::operator(),
            BUDGET,
        )
        .await;
    w.c.state().clear_requests();
    let r = call_tool(&client, "deploy", json!({"uuid": w.site}), false).await;
    assert_eq!(err_status(&r), 403);
    let client = w.c.mcp("API", Pinning::operator(), BUDGET).await;
    let r = call_tool(&client, "deploy_app", json!({"name": "api"}), false).await;
    assert_eq!(err_status(&r), 403);
    assert!(err_message(&r).contains("protected"));
    assert!(
        !w.c.state()
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/deploy")),
        "no deploy may be sent"
    );
}

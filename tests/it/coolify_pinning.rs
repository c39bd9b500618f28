//! The Coolify server pinned to a workspace: only the workspace's Coolify project is
//! visible; everything else — another tenant's or missing — is the same 403.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use vibn::api::caller::Pinning;
use vibn::config::PinConfig;
use vibn::keystore::Store;

use crate::coolify_support::{Coolify, call_tool};
use crate::support::{err_status, ok};

struct Tenant {
    c: Coolify,
    _dir: tempfile::TempDir,
    pin: Pinning,
    mine: String,
    theirs: String,
    their_project: String,
}

async fn tenant(linked: bool) -> Tenant {
    let c = Coolify::start().await;
    let (project, _) = c.state().create_project("vibn-ws-acme");
    let (their_project, _) = c.state().create_project("vibn-ws-justine");
    let mine = c
        .state()
        .create_application(&project, "production", "site", "https://g/acme/site");
    let theirs = c.state().create_application(
        &their_project,
        "production",
        "site",
        "https://g/justine/site",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ks.db");
    let store = Store::open(&path).unwrap();
    let ws = store.create_workspace("acme@x.io", None).unwrap();
    if linked {
        store
            .set_coolify_project(&ws.slug, &project, "production")
            .unwrap();
    }
    let key = store
        .mint_workspace_key(&ws.slug, "t", None, "cli")
        .unwrap()
        .token
        .expose_secret()
        .to_string();
    let pin = Pinning::from_config(&PinConfig {
        api_key: Some(SecretString::from(key)),
        expected_workspace: None,
        keystore: Some(path),
        keyring: None,
    });
    Tenant {
        c,
        _dir: dir,
        pin,
        mine,
        theirs,
        their_project,
    }
}

/// The pinned server sees and deploys its own project only.
#[tokio::test]
async fn pinned_server_sees_only_its_project() {
    let t = tenant(true).await;
    let client = t.c.mcp("", t.pin.clone(), Duration::from_secs(20)).await;
    let r = call_tool(&client, "list_projects", json!({}), false).await;
    let projects = ok(&r)["projects"].as_array().unwrap().clone();
    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0]["name"], "vibn-ws-acme");
    let r = call_tool(&client, "list_all_apps", json!({}), false).await;
    assert_eq!(ok(&r)["total"], 1);
    let r = call_tool(
        &client,
        "deploy_app",
        json!({"name": "site", "wait": true}),
        false,
    )
    .await;
    assert_eq!(ok(&r)["app_uuid"], t.mine);
}

/// Another tenant's resources and missing ones get the identical 403, and nothing is
/// deployed.
#[tokio::test]
async fn pinned_server_refuses_other_tenants_identically() {
    let t = tenant(true).await;
    let client = t.c.mcp("", t.pin.clone(), Duration::from_secs(20)).await;
    t.c.state().clear_requests();
    let mut bodies = Vec::new();
    for uuid in [t.theirs.as_str(), "doesnotexist00"] {
        let r = call_tool(&client, "get_app_status", json!({"uuid": uuid}), false).await;
        assert_eq!(err_status(&r), 403, "{uuid}");
        let message = crate::support::err_body(&r)["error"]
            .as_str()
            .unwrap()
            .replace(uuid, "<uuid>");
        bodies.push(message);
    }
    assert_eq!(
        bodies[0], bodies[1],
        "existing-elsewhere and missing must look the same"
    );
    for (tool, args) in [
        ("deploy", json!({"uuid": t.theirs})),
        ("deploy_app", json!({"uuid": t.theirs})),
        ("get_logs", json!({"uuid": t.theirs})),
        ("list_deployments", json!({"uuid": t.theirs})),
        (
            "list_applications",
            json!({"project_uuid": t.their_project}),
        ),
    ] {
        let r = call_tool(&client, tool, args.clone(), false).await;
        assert_eq!(err_status(&r), 403, "{tool} {args}");
    }
    let r = call_tool(&client, "deploy_app", json!({"name": "site"}), false).await;
    assert_eq!(
        ok(&r)["app_uuid"],
        t.mine,
        "a name resolves inside the workspace only"
    );
    assert!(
        !t.c.state()
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/deploy") && r.query.contains(&t.theirs)),
        "the other tenant's app must never be deployed"
    );
}

/// Another tenant's deployment cannot be read either.
#[tokio::test]
async fn pinned_server_refuses_other_tenants_deployments() {
    let t = tenant(true).await;
    let theirs =
        t.c.root_client()
            .deploy(&t.theirs, false)
            .await
            .unwrap()
            .deployment_uuid
            .unwrap();
    let client = t.c.mcp("", t.pin.clone(), Duration::from_secs(20)).await;
    let r = call_tool(
        &client,
        "get_deployment",
        json!({"deployment_uuid": theirs}),
        false,
    )
    .await;
    assert_eq!(err_status(&r), 403);
    let mine =
        t.c.root_client()
            .deploy(&t.mine, false)
            .await
            .unwrap()
            .deployment_uuid
            .unwrap();
    let r = call_tool(
        &client,
        "get_deployment",
        json!({"deployment_uuid": mine}),
        false,
    )
    .await;
    ok(&r);
}

/// A workspace without a Coolify project yet is a 503 naming its provisioning state.
#[tokio::test]
async fn unprovisioned_workspace_is_503() {
    let t = tenant(false).await;
    let client = t.c.mcp("", t.pin.clone(), Duration::from_secs(20)).await;
    let r = call_tool(&client, "list_all_apps", json!({}), false).await;
    assert_eq!(err_status(&r), 503);
}

/// The real binary: `vibn mcp coolify` configured by COOLIFY_* env and pinned by
/// VIBN_API_KEY lists only its project's apps.
#[tokio::test]
async fn coolify_binary_serves_a_pinned_workspace() {
    use rmcp::ServiceExt;
    use rmcp::transport::TokioChildProcess;
    let c = Coolify::start().await;
    let (project, _) = c.state().create_project("vibn-ws-acme");
    let (other, _) = c.state().create_project("else");
    c.state()
        .create_application(&project, "production", "site", "https://g/acme/site");
    c.state()
        .create_application(&other, "production", "blog", "https://g/x/blog");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ks.db");
    let store = Store::open(&path).unwrap();
    let ws = store.create_workspace("acme@x.io", None).unwrap();
    store
        .set_coolify_project(&ws.slug, &project, "production")
        .unwrap();
    let key = store
        .mint_workspace_key(&ws.slug, "t", None, "cli")
        .unwrap()
        .token
        .expose_secret()
        .to_string();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_vibn"));
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("COOLIFY_API_URL", c.sandbox.api_url())
        .env("COOLIFY_API_TOKEN", c.sandbox.root_token())
        .env("VIBN_API_KEY", key)
        .env("VIBN_KEYSTORE", &path)
        .args(["mcp", "coolify"]);
    let transport = TokioChildProcess::builder(cmd)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
        .0;
    let client = ().serve(transport).await.unwrap();
    assert_eq!(
        client
            .peer_info()
            .unwrap()
            .server_info
            .as_ref()
            .unwrap()
            .name,
        "vibn-coolify"
    );
    assert_eq!(client.list_all_tools().await.unwrap().len(), 9);
    let r = crate::support::call(&client, "list_all_apps", json!({})).await;
    assert_eq!(ok(&r)["total"], 1);
    client.cancel().await.unwrap();
}

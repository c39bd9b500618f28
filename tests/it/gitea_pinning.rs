//! The Gitea server pinned to a workspace: only the workspace's org is visible or
//! writable; anything else is 403 before any request reaches Gitea.

use std::process::Stdio;

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use vibn::api::caller::Pinning;
use vibn::config::PinConfig;
use vibn::keystore::Keystore;

use crate::gitea_support::Gitea;
use crate::support::{call, err_status, ok};

struct Pinned {
    gitea: Gitea,
    _dir: tempfile::TempDir,
    keystore: std::path::PathBuf,
    key: String,
    org: String,
}

async fn pinned() -> Pinned {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("ks.db");
    let store = Keystore::open(&keystore).unwrap();
    let ws = store.create_workspace("acme@x.io", None).unwrap();
    let key = store
        .mint_workspace_key(&ws.slug, "t", None, "cli")
        .unwrap()
        .token
        .expose_secret()
        .to_string();
    let gitea = Gitea::start().await;
    let admin = gitea.sandbox.admin_login();
    for org in [ws.gitea_org.as_str(), "vibn-other"] {
        gitea.state().create_org(org, &admin);
        gitea.state().create_repo(org, "site", true).unwrap();
    }
    gitea
        .admin_client()
        .create_issue("vibn-other", "site", "secret plans", "", &[])
        .await
        .unwrap();
    Pinned {
        gitea,
        _dir: dir,
        keystore,
        key,
        org: ws.gitea_org,
    }
}

impl Pinned {
    fn pin(&self) -> Pinning {
        Pinning::from_config(&PinConfig {
            api_key: Some(SecretString::from(self.key.clone())),
            expected_workspace: None,
            keystore: Some(self.keystore.clone()),
        })
    }
}

/// Bare names resolve to the workspace org; lists default to it.
#[tokio::test]
async fn pinned_server_works_in_its_org() {
    let p = pinned().await;
    let client = p.gitea.mcp("", p.pin()).await;
    let r = call(&client, "list_repos", json!({})).await;
    let names: Vec<String> = ok(&r)["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["full_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, [format!("{}/site", p.org)]);
    let r = call(
        &client,
        "create_issue",
        json!({"repo": "site", "title": "Hello"}),
    )
    .await;
    assert_eq!(ok(&r)["repo"], format!("{}/site", p.org));
    let r = call(&client, "list_all_issues", json!({})).await;
    let issues = ok(&r)["issues"].as_array().unwrap().clone();
    assert_eq!(issues.len(), 1);
    assert!(
        issues
            .iter()
            .all(|i| i["repo"].as_str().unwrap().starts_with(&p.org)),
        "{issues:?}"
    );
}

/// Another org — existing or not — is 403 for reads and writes, and Gitea sees nothing.
#[tokio::test]
async fn pinned_server_refuses_other_orgs_without_calling_gitea() {
    let p = pinned().await;
    let client = p.gitea.mcp("", p.pin()).await;
    p.gitea.state().clear_requests();
    for (tool, args) in [
        ("list_repos", json!({"owner": "vibn-other"})),
        ("list_repos", json!({"owner": "no-such-org"})),
        ("list_issues", json!({"repo": "vibn-other/site"})),
        (
            "read_repo_file",
            json!({"repo": "vibn-other/site", "path": "README.md"}),
        ),
        (
            "create_issue",
            json!({"repo": "vibn-other/site", "title": "x"}),
        ),
        (
            "close_issue",
            json!({"repo": "vibn-other/site", "number": 1}),
        ),
        ("list_issues", json!({"repo": "no-such-org/x"})),
    ] {
        let r = call(&client, tool, args.clone()).await;
        assert_eq!(err_status(&r), 403, "{tool} {args}");
    }
    let seen = p.gitea.state().requests();
    assert!(seen.is_empty(), "nothing may reach Gitea: {seen:?}");
}

/// A key revoked mid-session stops the next call with 401.
#[tokio::test]
async fn pinned_server_rejects_a_revoked_key() {
    let p = pinned().await;
    let client = p.gitea.mcp("", p.pin()).await;
    ok(&call(&client, "list_repos", json!({})).await);
    let store = Keystore::open(&p.keystore).unwrap();
    let slug = store.list_workspaces().unwrap()[0].slug.clone();
    let id = store.list_workspace_keys(&slug).unwrap()[0].id.clone();
    store.revoke_workspace_key(&slug, &id).unwrap();
    let r = call(&client, "list_repos", json!({})).await;
    assert_eq!(err_status(&r), 401);
}

/// The real binary: `vibn mcp gitea` pinned by VIBN_API_KEY, configured by GITEA_* env.
#[tokio::test]
async fn gitea_binary_serves_a_pinned_workspace() {
    let p = pinned().await;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_vibn"));
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("GITEA_API_URL", p.gitea.sandbox.api_url())
        .env("GITEA_USERNAME", p.gitea.sandbox.admin_login())
        .env("GITEA_API_TOKEN", p.gitea.sandbox.admin_token())
        .env("VIBN_API_KEY", &p.key)
        .env("VIBN_KEYSTORE", &p.keystore)
        .args(["mcp", "gitea"]);
    let transport = TokioChildProcess::builder(cmd)
        .stderr(Stdio::null())
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
        "vibn-gitea"
    );
    assert_eq!(client.list_all_tools().await.unwrap().len(), 6);
    let r = call(
        &client,
        "read_repo_file",
        json!({"repo": "site", "path": "README.md"}),
    )
    .await;
    assert!(ok(&r)["content"].as_str().unwrap().contains("site"));
    let r = call(&client, "list_issues", json!({"repo": "vibn-other/site"})).await;
    assert_eq!(err_status(&r), 403);
    client.cancel().await.unwrap();
}

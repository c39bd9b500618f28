//! The Gitea server pinned to a workspace: only the workspace's org is visible or
//! writable; anything else is 403 before any request reaches Gitea. Also the workspace
//! server's git_clone and git_pull, pinned: as the bot, in the org only.

use std::process::Stdio;
use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use vibn::api::caller::Pinning;
use vibn::config::{GitLimits, PinConfig, ToolFilter, WorkspaceConfig};
use vibn::keystore::Store;
use vibn::policy::protected::ProtectedList;
use vibn_sandbox::gitea::Fault;

use crate::provision_support::Env;
use crate::support::{Client, Workspace, call, err_status, git, gitea, ok, seed, serve_workspace};

struct Pinned {
    env: Env,
    keystore: std::path::PathBuf,
    key: String,
    org: String,
}

/// A provisioned workspace (its org, bot, team and sealed bot token on the Gitea
/// stand-in), a key for it, and another tenant's org with a secret issue.
async fn pinned() -> Pinned {
    let env = Env::new().await;
    env.provisioner().provision(&env.slug).await.unwrap();
    let key = env
        .store
        .mint_workspace_key(&env.slug, "t", None, "cli")
        .unwrap()
        .token
        .expose_secret()
        .to_string();
    let admin = env.gitea.sandbox.admin_login();
    env.gitea
        .state()
        .create_repo(&env.org(), "site", true)
        .unwrap();
    env.gitea.state().create_org("vibn-other", &admin);
    env.gitea
        .state()
        .create_repo("vibn-other", "site", true)
        .unwrap();
    env.gitea
        .admin_client()
        .create_issue("vibn-other", "site", "secret plans", "", &[])
        .await
        .unwrap();
    env.gitea.state().clear_requests();
    Pinned {
        keystore: env.dir.path().join("vibn/keystore.db"),
        org: env.org(),
        key,
        env,
    }
}

impl Pinned {
    fn pin(&self) -> Pinning {
        Pinning::from_config(&PinConfig {
            api_key: Some(SecretString::from(self.key.clone())),
            expected_workspace: None,
            keystore: Some(self.keystore.clone()),
            keyring: Some(Arc::new(self.env.ring())),
        })
    }

    /// Whose credentials the Gitea stand-in saw on the API, request by request.
    fn api_users(&self) -> Vec<Option<String>> {
        self.env
            .gitea
            .state()
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/"))
            .map(|r| r.user)
            .collect()
    }
}

/// Bare names resolve to the workspace org; lists default to it.
#[tokio::test]
async fn pinned_server_works_in_its_org() {
    let p = pinned().await;
    let client = p.env.gitea.mcp("", p.pin()).await;
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
    let client = p.env.gitea.mcp("", p.pin()).await;
    p.env.gitea.state().clear_requests();
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
    let seen = p.env.gitea.state().requests();
    assert!(seen.is_empty(), "nothing may reach Gitea: {seen:?}");
}

/// A key revoked mid-session stops the next call with 401.
#[tokio::test]
async fn pinned_server_rejects_a_revoked_key() {
    let p = pinned().await;
    let client = p.env.gitea.mcp("", p.pin()).await;
    ok(&call(&client, "list_repos", json!({})).await);
    let store = Store::open(&p.keystore).unwrap();
    let slug = p.env.slug.clone();
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
        .env("GITEA_API_URL", p.env.gitea.sandbox.api_url())
        // Operator credentials are set, and a pinned server must ignore them.
        .env("GITEA_USERNAME", p.env.gitea.sandbox.admin_login())
        .env("GITEA_API_TOKEN", p.env.gitea.sandbox.admin_token())
        .env("VIBN_SECRETS_KEY", &p.env.key)
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
    let users = p.api_users();
    assert!(!users.is_empty());
    assert!(
        users
            .iter()
            .all(|u| u.as_deref() == Some(p.env.bot().as_str())),
        "every request carried the bot's token, none the operator's: {users:?}"
    );
}

/// A pinned server acts as the workspace's bot, never with the operator's token
/// (which the in-process server below is given as its Gitea client's).
#[tokio::test]
async fn pinned_server_acts_as_the_workspace_bot() {
    let p = pinned().await;
    let client = p.env.gitea.mcp("", p.pin()).await;
    ok(&call(&client, "list_repos", json!({})).await);
    ok(&call(
        &client,
        "create_issue",
        json!({"repo": "site", "title": "as the bot"}),
    )
    .await);
    ok(&call(&client, "list_all_issues", json!({})).await);
    let users = p.api_users();
    assert!(users.len() >= 3, "{users:?}");
    assert!(
        users
            .iter()
            .all(|u| u.as_deref() == Some(p.env.bot().as_str())),
        "{users:?}"
    );
    let issue = p
        .env
        .gitea
        .admin_client()
        .list_issues(
            &p.org,
            "site",
            vibn::clients::gitea::IssueState::Open,
            &[],
            1,
            50,
        )
        .await
        .unwrap();
    assert_eq!(
        issue.items[0].user.login,
        p.env.bot(),
        "the issue was opened by the bot"
    );
}

/// A rotated bot token is used on the very next call; the old one is never sent again.
#[tokio::test]
async fn a_rotated_bot_token_is_used_at_once() {
    let p = pinned().await;
    let client = p.env.gitea.mcp("", p.pin()).await;
    ok(&call(&client, "list_repos", json!({})).await);
    let old = p.env.stored_token();
    p.env
        .provisioner()
        .rotate_bot_token(&p.env.slug, false)
        .await
        .unwrap();
    let new = p.env.stored_token();
    assert_ne!(old, new);
    assert!(!p.env.token_works(&old).await, "the old token is deleted");
    ok(&call(&client, "list_repos", json!({})).await);
}

/// Pinned without the secrets key, or on a workspace with no bot yet: a 503 saying
/// what to do, and nothing sent to Gitea.
#[tokio::test]
async fn without_the_secrets_key_or_a_bot_a_pinned_server_says_what_is_missing() {
    let p = pinned().await;
    let no_key = Pinning::from_config(&PinConfig {
        api_key: Some(SecretString::from(p.key.clone())),
        expected_workspace: None,
        keystore: Some(p.keystore.clone()),
        keyring: None,
    });
    let client = p.env.gitea.mcp("", no_key).await;
    let r = call(&client, "list_repos", json!({})).await;
    assert_eq!(err_status(&r), 503);
    assert!(crate::support::err_message(&r).contains("VIBN_SECRETS_KEY"));

    let other = p
        .env
        .store
        .create_workspace("nobot@x.io", None)
        .unwrap()
        .slug;
    let key = p
        .env
        .store
        .mint_workspace_key(&other, "t", None, "cli")
        .unwrap()
        .token
        .expose_secret()
        .to_string();
    let unprovisioned = Pinning::from_config(&PinConfig {
        api_key: Some(SecretString::from(key)),
        expected_workspace: None,
        keystore: Some(p.keystore.clone()),
        keyring: Some(Arc::new(p.env.ring())),
    });
    let client = p.env.gitea.mcp("", unprovisioned).await;
    let r = call(&client, "list_repos", json!({})).await;
    assert_eq!(err_status(&r), 503);
    assert!(
        crate::support::err_message(&r).contains("provision"),
        "{}",
        crate::support::err_message(&r)
    );
    assert!(p.api_users().is_empty(), "nothing reached Gitea");
}

// ---- The workspace server's git_clone and git_pull, pinned (issue 12 item 6) ----

/// A workspace server pinned to the provisioned workspace, over an empty root. It is
/// also given the operator's Gitea credentials, which a pinned server must not use.
async fn pinned_workspace(p: &Pinned, limits: Option<GitLimits>) -> (Workspace, Client) {
    let ws = Workspace::new();
    let sandbox = &p.env.gitea.sandbox;
    let mut config = WorkspaceConfig::new(
        &ws.root(),
        Some(gitea(
            &sandbox.api_url(),
            &sandbox.admin_login(),
            &sandbox.admin_token(),
        )),
        ProtectedList::empty(),
    )
    .unwrap();
    config.pin = PinConfig {
        api_key: Some(SecretString::from(p.key.clone())),
        expected_workspace: None,
        keystore: Some(p.keystore.clone()),
        keyring: Some(Arc::new(p.env.ring())),
    };
    if let Some(limits) = limits {
        config.git_limits = limits;
    }
    let client = serve_workspace(config, &ToolFilter::default()).await;
    (ws, client)
}

/// Pinned, git_clone and git_pull act as the workspace's bot on Gitea's git endpoints
/// (every request carries the bot, none the operator), and only on the workspace org's
/// repositories: another org's is refused with no request at all.
#[tokio::test]
async fn pinned_workspace_clones_and_pulls_as_the_bot_in_its_org_only() {
    let p = pinned().await;
    let (ws, client) = pinned_workspace(&p, None).await;
    let state = p.env.gitea.state();
    state.clear_requests();
    let r = call(&client, "git_clone", json!({"repo": "site"})).await;
    let out = ok(&r).clone();
    assert_eq!(out["repo"], format!("{}/site", p.org));
    assert_eq!(
        out["origin"],
        format!("{}/{}/site.git", p.env.gitea.sandbox.base_url(), p.org)
    );
    assert!(ws.root().join("README.md").exists());

    let bare = state.data_dir().join(&p.org).join("site.git");
    let next = seed(&bare, "main", &[("new.txt", "new\n")], "from elsewhere");
    let r = call(&client, "git_pull", json!({})).await;
    assert_eq!(ok(&r)["outcome"], "fast_forwarded");
    assert_eq!(ok(&r)["commit"], next);
    assert_eq!(ws.read("new.txt"), "new\n");

    let seen = state.requests();
    let site = format!("/{}/site.git/", p.org);
    assert!(!seen.is_empty());
    // git asks anonymously first and answers the 401 challenge with what the
    // credential helper gives: the bot, never the operator.
    assert!(
        seen.iter().all(|r| r.path.starts_with(&site)
            && match r.auth.as_str() {
                "none" => r.status == 401,
                _ => r.user.as_deref() == Some(p.env.bot().as_str()),
            }),
        "every request was the bot's, on the workspace's repository: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|r| r.path.ends_with("/git-upload-pack") && r.status == 200),
        "{seen:?}"
    );

    state.clear_requests();
    let r = call(
        &client,
        "git_clone",
        json!({"repo": "vibn-other/site", "dir": "other"}),
    )
    .await;
    assert_eq!(err_status(&r), 403);
    let r = call(
        &client,
        "git_clone",
        json!({"repo": format!("{}/%76ibn-other/site.git", p.env.gitea.sandbox.base_url()), "dir": "other"}),
    )
    .await;
    assert_eq!(err_status(&r), 403);
    git(
        &ws.root(),
        &[
            "remote",
            "set-url",
            "origin",
            &format!("{}/vibn-other/site.git", p.env.gitea.sandbox.base_url()),
        ],
    );
    let r = call(&client, "git_pull", json!({})).await;
    assert_eq!(err_status(&r), 403);
    let seen = state.requests();
    assert!(seen.is_empty(), "nothing may reach Gitea: {seen:?}");
    assert!(!ws.root().join("other").exists());
}

/// A Gitea that stalls: the clone is stopped at the transfer time limit (502) and
/// nothing of it is kept.
#[tokio::test]
async fn a_stalled_clone_is_stopped_and_nothing_kept() {
    let p = pinned().await;
    let limits = GitLimits {
        transfer_timeout: std::time::Duration::from_secs(1),
        ..GitLimits::default()
    };
    let (ws, client) = pinned_workspace(&p, Some(limits)).await;
    p.env.gitea.state().inject_fault(Fault::Delay {
        path_prefix: format!("/{}/site.git/", p.org),
        delay: std::time::Duration::from_secs(20),
        times: 10,
    });
    let started = std::time::Instant::now();
    let r = call(&client, "git_clone", json!({"repo": "site", "dir": "s"})).await;
    assert_eq!(err_status(&r), 502, "{:?}", r.content);
    assert!(
        crate::support::err_message(&r).contains("within 1s"),
        "{}",
        crate::support::err_message(&r)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    assert!(!ws.root().join("s").exists());
}

/// Cancelling a clone stops git and removes what it had written; the workspace is free
/// for the next call at once.
#[tokio::test]
async fn a_cancelled_clone_is_stopped_and_nothing_kept() {
    let p = pinned().await;
    let (ws, client) = pinned_workspace(&p, None).await;
    p.env.gitea.state().inject_fault(Fault::Delay {
        path_prefix: format!("/{}/site.git/", p.org),
        delay: std::time::Duration::from_secs(30),
        times: 1,
    });
    let pending = call(&client, "git_clone", json!({"repo": "site", "dir": "s"}));
    let started = async {
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        ws.root().join("s/.git").exists()
    };
    // Dropping the pending call makes rmcp's client send notifications/cancelled.
    let (outcome, started) = tokio::join!(
        tokio::time::timeout(std::time::Duration::from_millis(1500), pending),
        started
    );
    assert!(
        outcome.is_err(),
        "the clone should still be waiting on Gitea"
    );
    assert!(started, "git had begun the clone");
    let gone = async {
        while ws.root().join("s").exists() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), gone)
        .await
        .expect("the cancelled clone's folder is removed");
    let r = call(&client, "git_clone", json!({"repo": "site", "dir": "s"})).await;
    assert_eq!(ok(&r)["repo"], format!("{}/site", p.org));
}

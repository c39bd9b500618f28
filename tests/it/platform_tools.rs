//! The platform server: memory, skills (folder and Gitea), PRDs and web search.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use vibn::api::caller::Pinning;
use vibn::api::platform_api::{PlatformApi, PlatformParts};
use vibn::clients::gitea::FileChange;
use vibn::clients::search::SearchClient;
use vibn::config::{PinConfig, ToolFilter};
use vibn::keystore::Store;
use vibn::mcp::platform_server::PlatformServer;
use vibn_sandbox::search::SearchSandbox;

use crate::coolify_support::{ProgressClient, call_tool, serve_with_progress};
use crate::gitea_support::{Gitea, fast_http};
use crate::support::{err_status, ok};

struct Platform {
    dir: tempfile::TempDir,
}

impl Platform {
    fn new() -> Self {
        Platform {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn keystore(&self) -> std::path::PathBuf {
        self.dir.path().join("ks.db")
    }

    fn operator_pin(&self) -> Pinning {
        Pinning::from_config(&PinConfig {
            api_key: None,
            expected_workspace: None,
            keystore: Some(self.keystore()),
            keyring: None,
        })
    }

    fn parts(&self) -> PlatformParts {
        PlatformParts {
            gitea: None,
            gitea_user: None,
            skills_repo: None,
            skills_dir: None,
            search: None,
            session: String::new(),
        }
    }

    async fn serve(&self, parts: PlatformParts) -> ProgressClient {
        self.serve_pinned(parts, self.operator_pin()).await
    }

    async fn serve_pinned(&self, parts: PlatformParts, pin: Pinning) -> ProgressClient {
        serve_with_progress(
            PlatformServer::new(PlatformApi::from_parts(parts), pin, &ToolFilter::default())
                .unwrap(),
        )
        .await
    }
}

/// Memory is saved by key (replacing), searched by text and tag, newest first.
#[tokio::test]
async fn memory_is_saved_and_searched() {
    let p = Platform::new();
    let client = p.serve(p.parts()).await;
    let r = call_tool(
        &client,
        "save_memory",
        json!({"key": "stack", "content": "Next.js and Postgres", "tags": ["arch"]}),
        false,
    )
    .await;
    assert_eq!(ok(&r)["created"], true);
    call_tool(
        &client,
        "save_memory",
        json!({"key": "deploy", "content": "Coolify app site", "tags": "ops, arch"}),
        false,
    )
    .await;
    let r = call_tool(
        &client,
        "save_memory",
        json!({"key": "stack", "content": "Next.js and SQLite", "tags": ["arch"]}),
        false,
    )
    .await;
    assert_eq!(ok(&r)["created"], false);
    let r = call_tool(&client, "list_memory", json!({}), false).await;
    let out = ok(&r);
    assert_eq!(out["total"], 2);
    assert_eq!(out["memories"][0]["key"], "stack");
    assert_eq!(out["memories"][0]["content"], "Next.js and SQLite");
    let r = call_tool(&client, "list_memory", json!({"query": "coolify"}), false).await;
    assert_eq!(ok(&r)["memories"][0]["key"], "deploy");
    let r = call_tool(&client, "list_memory", json!({"tag": "ops"}), false).await;
    assert_eq!(ok(&r)["total"], 1);
    let r = call_tool(&client, "list_memory", json!({"limit": 1}), false).await;
    assert_eq!(ok(&r)["truncated"], true);
    let r = call_tool(
        &client,
        "save_memory",
        json!({"key": " ", "content": "x"}),
        false,
    )
    .await;
    assert_eq!(err_status(&r), 400);
}

/// SESSION_KEY scopes memory to one session within the workspace.
#[tokio::test]
async fn memory_is_scoped_to_the_session() {
    let p = Platform::new();
    let a = p
        .serve(PlatformParts {
            session: "session-a".into(),
            ..p.parts()
        })
        .await;
    let b = p
        .serve(PlatformParts {
            session: "session-b".into(),
            ..p.parts()
        })
        .await;
    call_tool(
        &a,
        "save_memory",
        json!({"key": "k", "content": "from a"}),
        false,
    )
    .await;
    call_tool(
        &b,
        "save_memory",
        json!({"key": "k", "content": "from b"}),
        false,
    )
    .await;
    let r = call_tool(&a, "list_memory", json!({}), false).await;
    assert_eq!(ok(&r)["memories"][0]["content"], "from a");
    assert_eq!(ok(&r)["total"], 1);
}

/// Pinned servers keep separate memories per workspace.
#[tokio::test]
async fn memory_is_scoped_to_the_workspace() {
    let p = Platform::new();
    let store = Store::open(&p.keystore()).unwrap();
    let mut clients = Vec::new();
    for email in ["a@x.io", "b@x.io"] {
        let ws = store.create_workspace(email, None).unwrap();
        let key = store
            .mint_workspace_key(&ws.slug, "t", None, "cli")
            .unwrap()
            .token
            .expose_secret()
            .to_string();
        let pin = Pinning::from_config(&PinConfig {
            api_key: Some(SecretString::from(key)),
            expected_workspace: None,
            keystore: Some(p.keystore()),
            keyring: None,
        });
        clients.push(p.serve_pinned(p.parts(), pin).await);
    }
    call_tool(
        &clients[0],
        "save_memory",
        json!({"key": "secret-plan", "content": "only for a"}),
        false,
    )
    .await;
    let r = call_tool(&clients[1], "list_memory", json!({}), false).await;
    assert_eq!(ok(&r)["total"], 0, "workspace b must not see a's memory");
    let events = store.list_audit(None, 10).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.tool == "save_memory" && e.target == "secret-plan")
    );
}

/// Two server processes saving memory to one keystore at once lose no write.
#[tokio::test]
async fn two_processes_save_memory_without_losing_writes() {
    use rmcp::ServiceExt;
    use rmcp::transport::TokioChildProcess;
    let p = Platform::new();
    let mut clients = Vec::new();
    for _ in 0..2 {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_vibn"));
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("VIBN_KEYSTORE", p.keystore())
            .args(["mcp", "platform"]);
        let transport = TokioChildProcess::builder(cmd)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
            .0;
        clients.push(().serve(transport).await.unwrap());
    }
    let per_process = 60;
    let runs = clients.iter().enumerate().map(|(n, client)| async move {
        for i in 0..per_process {
            let r = crate::support::call(
                client,
                "save_memory",
                json!({"key": format!("p{n}-{i}"), "content": "x"}),
            )
            .await;
            assert_ne!(r.is_error, Some(true), "{:?}", r.structured_content);
        }
    });
    futures::future::join_all(runs).await;
    let r = crate::support::call(&clients[0], "list_memory", json!({"limit": 100})).await;
    assert_eq!(ok(&r)["total"], 2 * per_process);
    for client in clients {
        client.cancel().await.unwrap();
    }
}

fn write_skill(root: &Path, folder: &str, skill_md: Option<&str>) {
    std::fs::create_dir_all(root.join(folder)).unwrap();
    if let Some(text) = skill_md {
        std::fs::write(root.join(folder).join("SKILL.md"), text).unwrap();
    }
    std::fs::write(root.join(folder).join("notes.txt"), "extra").unwrap();
}

/// Skills from a folder: good ones listed, a malformed one reported with its reason.
#[tokio::test]
async fn skills_from_a_folder_report_malformed_ones() {
    let p = Platform::new();
    let skills = tempfile::tempdir().unwrap();
    write_skill(
        skills.path(),
        "deploy",
        Some("---\nname: deploy-app\ndescription: Deploy to Coolify\n---\n# Steps\n1. deploy\n"),
    );
    write_skill(
        skills.path(),
        "review",
        Some("---\nname: code-review\ndescription: Review a change\n---\nbody"),
    );
    write_skill(skills.path(), "broken", Some("---\nname: [oops\n---\n"));
    write_skill(skills.path(), "empty", None);
    let client = p
        .serve(PlatformParts {
            skills_dir: Some(skills.path().to_path_buf()),
            ..p.parts()
        })
        .await;
    let r = call_tool(&client, "list_skills", json!({}), false).await;
    let out = ok(&r);
    let names: Vec<&str> = out["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["code-review", "deploy-app"]);
    let malformed = out["malformed"].as_array().unwrap();
    assert_eq!(malformed.len(), 2);
    assert_eq!(malformed[0]["path"], "broken");
    assert!(malformed[0]["reason"].as_str().unwrap().contains("YAML"));
    assert!(
        malformed[1]["reason"]
            .as_str()
            .unwrap()
            .contains("no SKILL.md")
    );
    let r = call_tool(&client, "get_skill", json!({"name": "deploy-app"}), false).await;
    let out = ok(&r);
    assert!(out["content"].as_str().unwrap().contains("1. deploy"));
    assert_eq!(out["files"], json!(["notes.txt"]));
    let r = call_tool(&client, "get_skill", json!({"name": "broken"}), false).await;
    assert_eq!(err_status(&r), 422);
    let r = call_tool(&client, "get_skill", json!({"name": "nope"}), false).await;
    assert_eq!(err_status(&r), 404);
    assert!(
        crate::support::err_body(&r)["hint"]
            .as_str()
            .unwrap()
            .contains("deploy-app")
    );
}

/// Skills from the workspace's Gitea repository `<org>/skills`.
#[tokio::test]
async fn skills_from_the_workspace_skills_repository() {
    let p = Platform::new();
    let store = Store::open(&p.keystore()).unwrap();
    let ws = store.create_workspace("acme@x.io", None).unwrap();
    let key = store
        .mint_workspace_key(&ws.slug, "t", None, "cli")
        .unwrap()
        .token
        .expose_secret()
        .to_string();
    let g = Gitea::start().await;
    g.state()
        .create_org(&ws.gitea_org, &g.sandbox.admin_login());
    g.state()
        .create_repo(&ws.gitea_org, "skills", true)
        .unwrap();
    let c = g.admin_client();
    for (path, content) in [
        (
            "deploy/SKILL.md",
            "---\nname: deploy\ndescription: Ship it\n---\nsteps",
        ),
        ("deploy/check.sh", "echo ok"),
        ("bad/SKILL.md", "no front matter here"),
    ] {
        c.create_file(
            &ws.gitea_org,
            "skills",
            &FileChange {
                path,
                content: content.as_bytes(),
                message: "add",
                branch: None,
            },
        )
        .await
        .unwrap();
    }
    // The workspace's bot: a member of a team of the org, its token sealed.
    let bot = ws.gitea_bot_username.clone().unwrap();
    g.state()
        .create_user(&bot, "bot@x.invalid", "pw-unused-1", false, false);
    let team = g
        .state()
        .create_team(&ws.gitea_org, "Writers", "write", &["repo.code"], false);
    g.state().add_team_member(team, &bot);
    let bot_token = g.state().create_token(&bot, "vibn", &["write:repository"]);
    let ring = crate::support::test_keyring();
    store
        .set_bot_token(&ws.slug, &bot, &SecretString::from(bot_token), &ring)
        .unwrap();
    let pin = Pinning::from_config(&PinConfig {
        api_key: Some(SecretString::from(key)),
        expected_workspace: None,
        keystore: Some(p.keystore()),
        keyring: Some(std::sync::Arc::new(ring)),
    });
    // The operator's client is what the server is given; pinned, it reads as the bot.
    let parts = PlatformParts {
        gitea: Some(g.client_with(&g.sandbox.admin_token(), fast_http())),
        gitea_user: Some(g.sandbox.admin_login()),
        ..p.parts()
    };
    g.state().clear_requests();
    let client = p.serve_pinned(parts, pin).await;
    let r = call_tool(&client, "list_skills", json!({}), false).await;
    let out = ok(&r);
    assert_eq!(out["source"], format!("gitea:{}/skills", ws.gitea_org));
    assert_eq!(out["skills"][0]["name"], "deploy");
    assert_eq!(out["malformed"][0]["path"], "bad");
    let r = call_tool(&client, "get_skill", json!({"name": "deploy"}), false).await;
    assert_eq!(ok(&r)["files"], json!(["check.sh"]));
    let users: Vec<Option<String>> = g.state().requests().into_iter().map(|r| r.user).collect();
    assert!(
        !users.is_empty() && users.iter().all(|u| u.as_deref() == Some(bot.as_str())),
        "the skills were read as the bot, never the operator: {users:?}"
    );
}

/// Without a skills source the tools say what to set.
#[tokio::test]
async fn skills_without_a_source_name_the_settings() {
    let p = Platform::new();
    let client = p.serve(p.parts()).await;
    let r = call_tool(&client, "list_skills", json!({}), false).await;
    assert_eq!(err_status(&r), 503);
    assert!(
        crate::support::err_body(&r)["hint"]
            .as_str()
            .unwrap()
            .contains("VIBN_SKILLS_DIR")
    );
}

/// PRDs: each finalize is a new version; old versions stay readable and unchanged.
#[tokio::test]
async fn prds_are_versioned_and_immutable() {
    let p = Platform::new();
    let client = p.serve(p.parts()).await;
    let r = call_tool(
        &client,
        "finalize_prd",
        json!({"project": "site", "content": "# Site v1"}),
        false,
    )
    .await;
    assert_eq!(ok(&r)["version"], 1);
    let r = call_tool(
        &client,
        "finalize_prd",
        json!({"project": "site", "content": "# Site v2"}),
        false,
    )
    .await;
    assert_eq!(ok(&r)["version"], 2);
    let r = call_tool(&client, "get_prd", json!({"project": "site"}), false).await;
    let out = ok(&r);
    assert_eq!(
        (out["version"].as_u64(), out["latest"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(out["versions"], json!([1, 2]));
    assert_eq!(out["finalized_by"], "operator");
    let r = call_tool(
        &client,
        "get_prd",
        json!({"project": "site", "version": "1"}),
        false,
    )
    .await;
    assert_eq!(ok(&r)["content"], "# Site v1");
    assert_eq!(ok(&r)["latest"], false);
    let r = call_tool(
        &client,
        "get_prd",
        json!({"project": "site", "version": 9}),
        false,
    )
    .await;
    assert_eq!(err_status(&r), 404);
    let r = call_tool(&client, "get_prd", json!({"project": "other"}), false).await;
    assert_eq!(err_status(&r), 404);
    assert!(
        crate::support::err_body(&r)["hint"]
            .as_str()
            .unwrap()
            .contains("site")
    );
    // Even the database refuses to change a finalized version.
    let conn = rusqlite::Connection::open(p.keystore()).unwrap();
    assert!(
        conn.execute("UPDATE projects SET content = 'x' WHERE version = 1", [])
            .is_err()
    );
}

/// web_search through SearXNG and through Brave, normalised the same way.
#[tokio::test]
async fn web_search_through_both_providers() {
    let p = Platform::new();
    let search = SearchSandbox::start(0).await.unwrap();
    search.state().add_document(
        "Rust async book",
        "https://rust-lang.github.io/async-book/",
        "A guide to async Rust with tokio",
    );
    let searx = p
        .serve(PlatformParts {
            search: Some(SearchClient::searxng(&search.base_url(), fast_http())),
            ..p.parts()
        })
        .await;
    let r = call_tool(
        &searx,
        "web_search",
        json!({"query": "async rust", "limit": 3}),
        false,
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["provider"], "searxng");
    let results = out["results"].as_array().unwrap();
    assert!(!results.is_empty() && results.len() <= 3);
    assert!(
        results
            .iter()
            .all(|h| h["url"].is_string() && h["title"].is_string() && h["snippet"].is_string())
    );
    let brave = p
        .serve(PlatformParts {
            search: Some(SearchClient::brave(
                &search.base_url(),
                SecretString::from(search.brave_key()),
                fast_http(),
            )),
            ..p.parts()
        })
        .await;
    let r = call_tool(&brave, "web_search", json!({"query": "async rust"}), false).await;
    assert_eq!(ok(&r)["provider"], "brave");
    assert!(!ok(&r)["results"].as_array().unwrap().is_empty());
    let bad_key = p
        .serve(PlatformParts {
            search: Some(SearchClient::brave(
                &search.base_url(),
                SecretString::from("wrong".to_string()),
                fast_http(),
            )),
            ..p.parts()
        })
        .await;
    let r = call_tool(&bad_key, "web_search", json!({"query": "x"}), false).await;
    assert_eq!(err_status(&r), 502);
    search.state().set_json_enabled(false);
    let r = call_tool(&searx, "web_search", json!({"query": "x"}), false).await;
    assert_eq!(err_status(&r), 503);
}

/// Without a provider, web_search is a 503 naming the variables to set.
#[tokio::test]
async fn web_search_without_a_provider_names_the_settings() {
    let p = Platform::new();
    let client = p.serve(p.parts()).await;
    let r = call_tool(&client, "web_search", json!({"query": "x"}), false).await;
    assert_eq!(err_status(&r), 503);
    let hint = crate::support::err_body(&r)["hint"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        hint.contains("VIBN_SEARXNG_URL") && hint.contains("BRAVE_API_KEY"),
        "{hint}"
    );
}

//! `vibn mcp control-plane` through MCP against the stand-ins: the worked examples of seed
//! 003 §8 (called by their dotted names, with the seed's camelCase params), lazy
//! provisioning, the bot token kept out of every result, domains Coolify drops, and a
//! key revoked mid-session.

use std::time::Duration;

use serde_json::json;

use crate::control_plane_support::{BASE, Cp, GITEA_ROOT, call, shown};
use crate::support::{err_body, err_status, ok};

/// Seed 003 §8.1 end to end: a repository in the org, an app from it (auto-domain), a
/// Postgres whose internal URL becomes DATABASE_URL, Pocketbase auth, a deploy polled to
/// the end — and the bot's token in no result.
#[tokio::test]
async fn worked_example_8_1_builds_an_app_with_postgres_and_pocketbase() {
    let cp = Cp::new(true).await;
    let client = cp.client(&cp.mark.key).await;
    let token = cp.bot_token(&cp.mark.slug);
    let mut results = Vec::new();

    let r = call(
        &client,
        "repos.create",
        json!({"name": "my-site", "private": true, "auto_init": true}),
    )
    .await;
    assert_eq!(ok(&r)["full_name"], "vibn-mark/my-site");
    results.push(r);

    let r = call(
        &client,
        "apps.create",
        json!({"repo": "my-site", "ports": "3000", "instantDeploy": false}),
    )
    .await;
    let app = ok(&r).clone();
    results.push(r);
    let uuid = app["uuid"].as_str().unwrap().to_string();
    assert_eq!(app["name"], "mark-my-site");
    assert_eq!(app["app"], "my-site");
    assert_eq!(app["domains"], json!(["my-site.mark.vibnai.com"]));
    assert_eq!(app["url"], "https://my-site.mark.vibnai.com");
    assert_eq!(app["repo"], "vibn-mark/my-site");
    let stored = cp.coolify.state().application(&uuid).unwrap();
    assert_eq!(
        stored["git_repository"],
        format!("https://vibn-bot-mark:{token}@git.vibn.test/vibn-mark/my-site.git"),
        "Coolify clones over HTTPS with the bot's token"
    );
    assert_eq!(stored["name"], "mark-my-site");
    assert_eq!(
        app["git_repository"],
        "https://[redacted]@git.vibn.test/vibn-mark/my-site.git"
    );

    let r = call(
        &client,
        "databases.create",
        json!({"type": "postgresql", "name": "app-db"}),
    )
    .await;
    let db = ok(&r).clone();
    results.push(r);
    assert_eq!(db["name"], "mark-app-db");
    assert_eq!(db["type"], "postgresql");
    let internal = db["internal_url"].as_str().unwrap().to_string();
    assert!(internal.starts_with("postgres://"), "{internal}");

    let r = call(
        &client,
        "apps.envs.upsert",
        json!({"uuid": uuid, "key": "DATABASE_URL", "value": internal}),
    )
    .await;
    assert_eq!(ok(&r)["created"], true);
    results.push(r);
    let r = call(&client, "apps.envs.list", json!({"uuid": uuid})).await;
    let envs = ok(&r)["envs"].as_array().unwrap().clone();
    assert!(
        envs.iter()
            .any(|e| e["key"] == "DATABASE_URL" && e["value"] == internal.as_str()),
        "{envs:?}"
    );

    let r = call(
        &client,
        "auth.create",
        json!({"provider": "pocketbase", "name": "auth"}),
    )
    .await;
    assert_eq!(ok(&r)["provider"], "pocketbase");
    assert_eq!(ok(&r)["name"], "mark-auth");
    results.push(r);
    let r = call(&client, "auth.list", json!({})).await;
    assert_eq!(ok(&r)["providers"].as_array().unwrap().len(), 1);

    let r = call(&client, "apps.deploy", json!({"uuid": uuid})).await;
    let deployment = ok(&r)["deployment_uuid"].as_str().unwrap().to_string();
    results.push(r);
    let mut status = String::new();
    for _ in 0..100 {
        let r = call(&client, "apps.deployments", json!({"uuid": uuid})).await;
        let list = ok(&r)["deployments"].as_array().unwrap().clone();
        let mine = list
            .iter()
            .find(|d| d["deployment_uuid"] == deployment.as_str())
            .unwrap();
        status = mine["status"].as_str().unwrap().to_string();
        results.push(r);
        if status == "finished" || status == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, "finished");
    let r = call(
        &client,
        "deployments.logs",
        json!({"deployment_uuid": deployment}),
    )
    .await;
    assert_eq!(ok(&r)["app_uuid"], uuid.as_str());
    assert_eq!(ok(&r)["finished"], true);
    results.push(r);
    for tool in ["apps.get", "apps.list"] {
        results.push(call(&client, tool, json!({"uuid": uuid})).await);
    }
    // The pinned Coolify server shows the same apps: without the token too.
    let coolify = cp
        .coolify
        .mcp("", cp.pinning(&cp.mark.key), Duration::from_secs(5))
        .await;
    results.push(call(&coolify, "list_all_apps", json!({})).await);
    results.push(call(&coolify, "get_app_status", json!({"uuid": uuid})).await);
    assert_eq!(ok(results.last().unwrap())["uuid"], uuid.as_str());
    for r in &results {
        assert!(!shown(r).contains(&token), "the bot token leaked: {r:?}");
    }
}

/// Seed 003 §8.2: an `api` subdomain in the namespace is accepted; evil.com and another
/// workspace's namespace are 403 with a valid example, and nothing is written.
#[tokio::test]
async fn worked_example_8_2_accepts_an_api_subdomain_and_refuses_others() {
    let cp = Cp::new(true).await;
    let client = cp.client(&cp.mark.key).await;
    call(&client, "repos_create", json!({"name": "my-site"})).await;
    let r = call(&client, "apps_create", json!({"repo": "my-site"})).await;
    let uuid = ok(&r)["uuid"].as_str().unwrap().to_string();
    let r = call(
        &client,
        "apps.domains.set",
        json!({"uuid": uuid, "domains": ["my-site.mark.vibnai.com", "api.mark.vibnai.com"]}),
    )
    .await;
    assert_eq!(
        ok(&r)["domains"],
        json!(["my-site.mark.vibnai.com", "api.mark.vibnai.com"])
    );
    let r = call(&client, "apps.domains.list", json!({"uuid": uuid})).await;
    assert_eq!(ok(&r)["urls"][1], "https://api.mark.vibnai.com");
    cp.clear_logs();
    for bad in ["evil.com", "my-site.justine.vibnai.com", "mark.vibnai.com"] {
        let r = call(
            &client,
            "apps.domains.set",
            json!({"uuid": uuid, "domains": ["my-site.mark.vibnai.com", bad]}),
        )
        .await;
        let body = err_body(&r);
        assert_eq!(body["status"], 403, "{bad}: {body}");
        let hint = body["hint"].as_str().unwrap();
        assert!(hint.contains(".mark.vibnai.com"), "{bad}: {hint}");
    }
    assert_eq!(cp.upstream_writes(), Vec::<String>::new());
}

/// Seed 003 §8.3: learn the name, a wrong confirm is 409, the right one deletes and the
/// volumes are kept (every cleanup flag sent).
#[tokio::test]
async fn worked_example_8_3_deletes_by_exact_name_and_keeps_volumes() {
    let cp = Cp::new(true).await;
    let client = cp.client(&cp.mark.key).await;
    call(&client, "repos_create", json!({"name": "my-site"})).await;
    let r = call(&client, "apps_create", json!({"repo": "my-site"})).await;
    let uuid = ok(&r)["uuid"].as_str().unwrap().to_string();
    let r = call(&client, "apps.get", json!({"uuid": uuid})).await;
    let name = ok(&r)["name"].as_str().unwrap().to_string();
    assert_eq!(name, "mark-my-site");
    cp.clear_logs();
    for confirm in [
        None,
        Some("wrong"),
        Some("MARK-MY-SITE"),
        Some(" mark-my-site"),
    ] {
        let mut args = json!({"uuid": uuid});
        if let Some(c) = confirm {
            args["confirm"] = json!(c);
        }
        let r = call(&client, "apps.delete", args).await;
        let body = err_body(&r);
        assert_eq!(body["status"], 409, "{confirm:?}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("confirmation required"),
            "{body}"
        );
    }
    assert_eq!(cp.upstream_writes(), Vec::<String>::new());
    let r = call(
        &client,
        "apps.delete",
        json!({"uuid": uuid, "confirm": name}),
    )
    .await;
    assert_eq!(ok(&r)["volumes_kept"], true);
    let delete = cp
        .coolify
        .state()
        .requests()
        .into_iter()
        .find(|r| r.method == "DELETE")
        .unwrap();
    for flag in [
        "delete_volumes=false",
        "delete_configurations=true",
        "docker_cleanup=true",
        "delete_connected_networks=true",
    ] {
        assert!(delete.query.contains(flag), "{flag}: {}", delete.query);
    }
}

/// A database delete with volumes: "delete" sends delete_volumes=true; the default keeps
/// them.
#[tokio::test]
async fn database_delete_removes_volumes_only_when_asked() {
    let cp = Cp::new(true).await;
    let client = cp.client(&cp.mark.key).await;
    for (name, volumes, want) in [("a", None, "false"), ("b", Some("delete"), "true")] {
        let r = call(
            &client,
            "databases_create",
            json!({"type": "redis", "name": name}),
        )
        .await;
        let db = ok(&r).clone();
        cp.clear_logs();
        let mut args = json!({"uuid": db["uuid"], "confirm": db["name"]});
        if let Some(v) = volumes {
            args["volumes"] = json!(v);
        }
        let r = call(&client, "databases_delete", args).await;
        ok(&r);
        let delete = cp
            .coolify
            .state()
            .requests()
            .into_iter()
            .find(|r| r.method == "DELETE")
            .unwrap();
        assert!(
            delete.query.contains(&format!("delete_volumes={want}")),
            "{}",
            delete.query
        );
    }
}

/// Coolify answers 200 and drops domains on a server that is not proxy-enabled (seed 003
/// §3.6): the control plane reads the app back and answers 422 with the fix, never
/// success.
#[tokio::test]
async fn domains_dropped_by_a_server_without_proxy_are_a_422() {
    let cp = Cp::new(true).await;
    let client = cp.client(&cp.mark.key).await;
    call(&client, "repos_create", json!({"name": "site"})).await;
    let r = call(&client, "apps_create", json!({"repo": "site"})).await;
    let uuid = ok(&r)["uuid"].as_str().unwrap().to_string();
    cp.coolify.state().set_server_proxy(false);
    let r = call(
        &client,
        "apps_domains_set",
        json!({"uuid": uuid, "domains": ["api.mark.vibnai.com"]}),
    )
    .await;
    let body = err_body(&r);
    assert_eq!(body["status"], 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("proxy"), "{body}");
    assert!(body["hint"].as_str().unwrap().contains("proxy"), "{body}");
    let r = call(&client, "apps_domains_list", json!({"uuid": uuid})).await;
    assert_eq!(
        ok(&r)["domains"],
        json!(["site.mark.vibnai.com"]),
        "the old domain is still the app's"
    );
}

/// A workspace that is not provisioned is provisioned by the first call that needs it;
/// without the operator's credentials it is a 503 naming the command.
#[tokio::test]
async fn an_unprovisioned_workspace_is_provisioned_on_first_use_or_503() {
    let cp = Cp::new(false).await;
    let without = cp
        .client_over(cp.api(Duration::from_secs(30), false), &cp.mark.key)
        .await;
    let r = call(&without, "apps_list", json!({})).await;
    let body = err_body(&r);
    assert_eq!(body["status"], 503, "{body}");
    assert!(
        body["hint"]
            .as_str()
            .unwrap()
            .contains("vibn workspace provision mark"),
        "{body}"
    );
    let r = call(&without, "workspace_describe", json!({})).await;
    assert_eq!(ok(&r)["provision_status"], "pending");
    let client = cp.client(&cp.mark.key).await;
    let r = call(&client, "apps_list", json!({})).await;
    assert_eq!(ok(&r)["apps"], json!([]));
    let r = call(&client, "workspace_describe", json!({})).await;
    let d = ok(&r);
    assert_eq!(d["provision_status"], "ready");
    assert_eq!(d["gitea_org"], "vibn-mark");
    assert_eq!(d["domain_namespace"], format!("*.mark.{BASE}"));
    assert!(d["coolify_project_uuid"].is_string());
}

/// gitea_credentials hands the bot's token out (it exists for that), with templates that
/// never contain it.
#[tokio::test]
async fn gitea_credentials_hand_out_the_bot_login() {
    let cp = Cp::new(true).await;
    let client = cp.client(&cp.mark.key).await;
    let r = call(&client, "gitea.credentials", json!({})).await;
    let c = ok(&r);
    let token = cp.bot_token(&cp.mark.slug);
    assert_eq!(c["bot"]["username"], "vibn-bot-mark");
    assert_eq!(c["bot"]["token"], token.as_str());
    assert_eq!(c["workspace"]["giteaOrg"], "vibn-mark");
    let template = c["gitea"]["cloneUrlTemplate"].as_str().unwrap();
    assert!(template.contains("{{token}}") && !template.contains(&token));
    call(&client, "repos_create", json!({"name": "site"})).await;
    let r = call(&client, "repos_list", json!({})).await;
    assert_eq!(ok(&r)["org"], "vibn-mark");
    assert_eq!(ok(&r)["repos"][0]["name"], "site");
    let names: Vec<&str> = ok(&r)["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["clone_url"].as_str().unwrap())
        .collect();
    assert!(names.iter().all(|u| u.starts_with(GITEA_ROOT)), "{names:?}");
}

/// Dotted aliases are callable but not listed.
#[tokio::test]
async fn dotted_aliases_are_callable_and_not_listed() {
    let cp = Cp::new(true).await;
    let client = cp.client(&cp.mark.key).await;
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 37);
    assert!(tools.iter().all(|t| !t.name.contains('.')));
    let r = call(&client, "workspace.describe", json!({})).await;
    assert_eq!(ok(&r)["slug"], "mark");
}

/// A key revoked mid-session is a 401 on the very next call.
#[tokio::test]
async fn revoked_key_is_rejected_mid_session() {
    let cp = Cp::new(true).await;
    let client = cp.client(&cp.mark.key).await;
    let r = call(&client, "apps_list", json!({})).await;
    ok(&r);
    cp.store
        .revoke_workspace_key(&cp.mark.slug, &cp.mark.key_id)
        .unwrap();
    for tool in ["apps_list", "workspace_describe", "gitea_credentials"] {
        let r = call(&client, tool, json!({})).await;
        assert_eq!(err_status(&r), 401, "{tool}");
    }
}

/// Every write is audited with the workspace, key hint, tool, target and outcome.
#[tokio::test]
async fn writes_are_audited() {
    let cp = Cp::new(true).await;
    let client = cp.client(&cp.mark.key).await;
    call(&client, "repos_create", json!({"name": "site"})).await;
    let r = call(
        &client,
        "databases_create",
        json!({"type": "mongodb", "name": "docs"}),
    )
    .await;
    ok(&r);
    let r = call(
        &client,
        "databases_create",
        json!({"type": "sqlite", "name": "nope"}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
    let events = cp.store.list_audit(Some(&cp.mark.slug), 50).unwrap();
    let rows: Vec<(String, String, String)> = events
        .iter()
        .filter(|e| e.server == "control-plane")
        .map(|e| (e.tool.clone(), e.target.clone(), e.outcome.clone()))
        .collect();
    for want in [
        ("repos_create", "site", "ok"),
        ("databases_create", "docs", "ok"),
        ("databases_create", "nope", "error 400"),
    ] {
        assert!(
            rows.iter()
                .any(|r| (r.0.as_str(), r.1.as_str(), r.2.as_str()) == want),
            "{want:?} in {rows:?}"
        );
    }
    assert!(
        events
            .iter()
            .filter(|e| e.server == "control-plane")
            .all(|e| e.key_hint.is_some() && e.workspace.as_deref() == Some("mark"))
    );
}

/// The environment `vibn mcp control-plane` gets in the child-process tests: the key,
/// keystore and secrets key, the operator's Coolify and Gitea (through the contract proxy
/// when it runs).
pub(crate) fn child_env(cp: &Cp, key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("PATH", "/usr/bin:/bin".to_string()),
        ("HOME", "/tmp".to_string()),
        ("VIBN_API_KEY", key.to_string()),
        ("VIBN_KEYSTORE", cp.keystore_path().display().to_string()),
        ("VIBN_SECRETS_KEY", cp.secrets.clone()),
        (
            "COOLIFY_API_URL",
            crate::contract::coolify_base(&cp.coolify.sandbox.api_url()),
        ),
        ("COOLIFY_API_TOKEN", cp.coolify.sandbox.root_token()),
        ("GITEA_API_URL", cp.gitea.api_base()),
    ]
}

/// `vibn mcp control-plane` with only `child_env(cp, key)` in its environment.
fn control_plane_command(cp: &Cp, key: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_vibn"));
    cmd.env_clear().args(["mcp", "control-plane"]);
    for (k, v) in child_env(cp, key) {
        cmd.env(k, v);
    }
    cmd
}

/// rmcp's client over `cmd` as a child process (legacy era: it sends `initialize`).
async fn connect(
    cmd: tokio::process::Command,
) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    use rmcp::ServiceExt;
    let transport = rmcp::transport::TokioChildProcess::builder(cmd)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
        .0;
    ().serve(transport).await.unwrap()
}

/// The real binary, legacy era (initialize, then rmcp's client): serverInfo, the 37
/// tools, a call by snake_case name and one by dotted alias, as the pinned workspace.
#[tokio::test]
async fn control_plane_binary_serves_the_legacy_era() {
    let cp = Cp::new(true).await;
    let log = cp.dir.path().join("control-plane.log");
    let mut cmd = control_plane_command(&cp, &cp.mark.key);
    cmd.args(["--log-level", "trace", "--log-file"]).arg(&log);
    let client = connect(cmd).await;
    let info = client.peer_info().unwrap().server_info.clone().unwrap();
    assert_eq!(info.name, "vibn-control-plane");
    let instructions = client.peer_info().unwrap().instructions.clone().unwrap();
    for fact in ["workspace `mark`", "`vibn-mark`", "<name>.mark.vibnai.com"] {
        assert!(
            instructions.contains(fact),
            "the instructions name the workspace ({fact}): {instructions}"
        );
    }
    assert!(!instructions.contains("vibn_sk_"), "{instructions}");
    assert_eq!(client.list_all_tools().await.unwrap().len(), 37);
    let r = crate::support::call(&client, "repos_create", json!({"name": "web"})).await;
    assert_eq!(ok(&r)["full_name"], "vibn-mark/web");
    let r = crate::support::call(&client, "apps.create", json!({"repo": "web"})).await;
    assert_eq!(ok(&r)["domains"], json!(["web.mark.vibnai.com"]));
    let uuid = ok(&r)["uuid"].as_str().unwrap().to_string();
    let r = crate::support::call(&client, "apps_rewire_git", json!({"uuid": uuid})).await;
    assert_eq!(ok(&r)["repo"], "vibn-mark/web");
    let r = crate::support::call(&client, "workspace.describe", json!({})).await;
    assert_eq!(ok(&r)["slug"], "mark");
    client.cancel().await.unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("audit"), "the log was written: {logged}");
    assert!(
        !logged.contains(&cp.bot_token(&cp.mark.slug)),
        "the bot token is in the log"
    );
}

/// The real binary pinned to a keystore path that is wrong: it still answers
/// `initialize` (instructions without a workspace), every call says 503 naming the path,
/// and the start-up read of the pinned workspace never creates a keystore there.
#[tokio::test]
async fn control_plane_binary_with_a_wrong_keystore_path_creates_nothing() {
    let cp = Cp::new(true).await;
    let typo = cp.dir.path().join("nowhere/keystroe.db");
    let mut cmd = control_plane_command(&cp, &cp.mark.key);
    cmd.env("VIBN_KEYSTORE", &typo);
    let client = connect(cmd).await;
    let instructions = client.peer_info().unwrap().instructions.clone().unwrap();
    assert!(!instructions.contains("`mark`"), "{instructions}");
    let r = crate::support::call(&client, "workspace_describe", json!({})).await;
    assert_eq!(err_status(&r), 503);
    assert!(err_body(&r).to_string().contains("keystroe.db"), "{r:?}");
    client.cancel().await.unwrap();
    assert!(!typo.exists(), "a keystore was created");
    assert!(!typo.parent().unwrap().exists(), "its folder was created");
}

/// The real binary, 2026-07-28 era (no initialize; `_meta` on every request): discover,
/// list and call; then EOF exits 0. Without a key every call is 401.
#[test]
fn control_plane_binary_serves_the_modern_era() {
    use std::io::{BufRead, BufReader, Write};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cp = rt.block_on(Cp::new(true));
    let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
    let session = |key: Option<&str>| -> Vec<serde_json::Value> {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vibn"));
        cmd.env_clear().args(["mcp", "control-plane"]);
        for (k, v) in child_env(&cp, key.unwrap_or_default()) {
            if k != "VIBN_API_KEY" || key.is_some() {
                cmd.env(k, v);
            }
        }
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        for line in [
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{{{meta}}}}}"#),
            format!(r#"{{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{{{meta}}}}}"#),
            format!(
                r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"workspace_describe","arguments":{{}},{meta}}}}}"#
            ),
            format!(
                r#"{{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{{"name":"apps.list","arguments":{{}},{meta}}}}}"#
            ),
        ] {
            writeln!(stdin, "{line}").unwrap();
        }
        // Calls are answered concurrently: read until all four are in, then close stdin.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut replies: Vec<serde_json::Value> = Vec::new();
        while replies.len() < 4 {
            let line = lines.next().unwrap().unwrap();
            replies.push(serde_json::from_str(&line).expect("stdout carries only JSON-RPC"));
        }
        drop(stdin);
        assert!(child.wait().unwrap().success(), "EOF exits 0");
        replies.sort_by_key(|r| r["id"].as_u64());
        replies
    };
    let replies = session(Some(&cp.mark.key));
    assert!(
        replies[0]["result"]["supportedVersions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "2026-07-28"),
        "{}",
        replies[0]
    );
    assert_eq!(replies[1]["result"]["tools"].as_array().unwrap().len(), 37);
    assert_eq!(replies[2]["result"]["isError"], false, "{}", replies[2]);
    assert_eq!(
        replies[2]["result"]["structuredContent"]["slug"], "mark",
        "{}",
        replies[2]
    );
    assert_eq!(
        replies[3]["result"]["structuredContent"]["apps"],
        json!([]),
        "{}",
        replies[3]
    );
    let unpinned = session(None);
    for reply in &unpinned[2..] {
        let text = reply["result"]["content"][0]["text"].as_str().unwrap();
        let body: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(body["status"], 401, "{reply}");
    }
}

/// Rotating the bot's token re-points every app of the org's repositories at the new
/// token before the old one is deleted (their git URLs embed it), leaving other apps
/// alone; `apps_rewire_git` and `rewire_all` put the current token in again.
#[tokio::test]
async fn rotation_rewires_the_apps_before_deleting_the_old_token() {
    use secrecy::SecretString;
    use vibn::api::control_plane_api::Tenant;
    let cp = Cp::new(true).await;
    let client = cp.client(&cp.mark.key).await;
    for name in ["one", "two"] {
        ok(&call(&client, "repos_create", json!({"name": name})).await);
    }
    let create = |repo: &'static str| {
        let client = &client;
        async move {
            ok(&call(client, "apps_create", json!({"repo": repo})).await)["uuid"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let (one, two) = (create("one").await, create("two").await);
    let ws = cp.store.require_workspace(&cp.mark.slug).unwrap();
    let project = ws.coolify_project_uuid.clone().unwrap();
    let elsewhere = cp.coolify.state().create_application(
        &project,
        "production",
        "mark-docs",
        "https://github.com/someone/docs",
    );
    let git_url = |uuid: &str| {
        cp.coolify.state().application(uuid).unwrap()["git_repository"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let old = cp.bot_token(&cp.mark.slug);
    assert!(git_url(&one).contains(&old));
    let report = cp
        .provisioner()
        .rotate_bot_token(&cp.mark.slug, false)
        .await
        .unwrap();
    let new = cp.bot_token(&cp.mark.slug);
    assert_ne!(old, new);
    assert_eq!(report.rewired.len(), 2, "{report:?}");
    assert!(
        report.rewired.iter().all(|r| r.error.is_none()),
        "{report:?}"
    );
    assert!(!report.deleted_token_ids.is_empty(), "the old token went");
    for app in [&one, &two] {
        assert!(git_url(app).contains(&new), "{}", git_url(app));
    }
    assert_eq!(
        git_url(&two),
        format!("https://vibn-bot-mark:{new}@git.vibn.test/vibn-mark/two.git")
    );
    assert_eq!(git_url(&elsewhere), "https://github.com/someone/docs");

    let r = call(&client, "apps_rewire_git", json!({"uuid": one})).await;
    assert_eq!(ok(&r)["repo"], "vibn-mark/one");
    assert!(!shown(&r).contains(&new));
    let tenant = Tenant::of(&ws).unwrap();
    let rewired = cp
        .api(Duration::from_secs(30), false)
        .rewire_all(&tenant, &SecretString::from(new.clone()))
        .await
        .unwrap();
    assert_eq!(rewired.len(), 2, "{rewired:?}");
    assert!(git_url(&one).contains(&new));
}

/// An app that cannot be re-pointed (Gitea fails to answer for its repository) keeps the
/// old token alive:
/// deleting it would break that app's next deploy; the report says so.
#[tokio::test]
async fn rotation_keeps_the_old_token_while_an_app_still_needs_it() {
    let cp = Cp::new(true).await;
    let client = cp.client(&cp.mark.key).await;
    ok(&call(&client, "repos_create", json!({"name": "gone"})).await);
    // The fault below answers one read of this repository with a 500.
    let app = ok(&call(&client, "apps_create", json!({"repo": "gone"})).await)["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    cp.gitea
        .state()
        .inject_fault(vibn_sandbox::gitea::Fault::Status {
            method: Some("GET".into()),
            path_prefix: "/repos/vibn-mark/gone".into(),
            status: 500,
            times: 1,
            retry_after: None,
        });
    let report = cp
        .provisioner()
        .rotate_bot_token(&cp.mark.slug, false)
        .await
        .unwrap();
    assert_eq!(report.rewired.len(), 1);
    assert_eq!(report.rewired[0].uuid, app);
    assert!(report.rewired[0].error.is_some(), "{report:?}");
    assert!(report.deleted_token_ids.is_empty(), "{report:?}");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("old token was kept")),
        "{report:?}"
    );
}

/// `vibn call control-plane …`: the third touch-point meets the same guards, by snake
/// case and dotted name; an error result exits 1.
#[test]
fn vibn_call_reaches_the_control_plane() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cp = rt.block_on(Cp::new(true));
    let call_once = |tool: &str, args: &str| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vibn"));
        cmd.env_clear()
            .args(["call", "control-plane", tool, "--json", args]);
        for (k, v) in child_env(&cp, &cp.mark.key) {
            cmd.env(k, v);
        }
        cmd.stdin(std::process::Stdio::null()).output().unwrap()
    };
    let out = call_once("workspace_describe", "{}");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["slug"], "mark");
    let out = call_once(
        "apps.domains.set",
        r#"{"uuid": "x", "domains": ["evil.com"]}"#,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["status"], 403, "{body}");
    drop(rt);
}

//! Fixtures shared by the integration tests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;
use vibn::api::caller::Pinning;
use vibn::api::workspace_api::WorkspaceApi;
use vibn::config::{GiteaCredentials, ToolFilter, WorkspaceConfig};
use vibn::mcp::workspace_server::WorkspaceServer;
use vibn::policy::protected::ProtectedList;
use vibn::sandbox_exec::{ExecMode, ExecPolicy};

/// A connected in-process MCP client.
pub type Client = RunningService<RoleClient, ()>;

/// A workspace root in a temp dir (kept alive by the returned guard).
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).unwrap()
    }

    pub fn config(&self) -> WorkspaceConfig {
        WorkspaceConfig::new(&self.root(), None, ProtectedList::empty()).unwrap()
    }

    pub async fn client(&self) -> Client {
        serve_workspace(self.config(), &ToolFilter::default()).await
    }
}

/// The agent sandbox, started through the built `vibn` binary (the test binary itself
/// has no `vibn sandbox-exec`).
pub fn sandbox() -> ExecPolicy {
    ExecPolicy::sandboxed(env!("CARGO_BIN_EXE_vibn"))
}

/// Serve a workspace server in-process and connect a client to it. A configuration
/// without a sandbox helper gets the built binary's, as the real server has its own.
pub async fn serve_workspace(mut config: WorkspaceConfig, filter: &ToolFilter) -> Client {
    if matches!(config.exec.mode, ExecMode::Unavailable) {
        config.exec = sandbox();
    }
    let pinning = Pinning::from_config(&config.pin);
    let server =
        WorkspaceServer::new(WorkspaceApi::open(config).unwrap(), pinning, filter).unwrap();
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_io).await.unwrap()
}

/// Call a tool with JSON arguments; a successful result is checked against the tool's
/// `outputSchema`.
pub async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(map) = args else {
        panic!("arguments must be an object")
    };
    let result = client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(map))
        .await
        .unwrap();
    check_output(client, tool, &result);
    result
}

/// The `outputSchema` of every tool of every built server, by (serverInfo name, tool).
fn output_schemas() -> &'static HashMap<(String, String), Value> {
    static SCHEMAS: OnceLock<HashMap<(String, String), Value>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        vibn::mcp::inventory()
            .into_iter()
            .flat_map(|(server, tools)| {
                tools.into_iter().filter_map(move |t| {
                    let schema = Value::Object((*t.output_schema?).clone());
                    Some(((format!("vibn-{server}"), t.name.into_owned()), schema))
                })
            })
            .collect()
    })
}

/// A successful result's `structuredContent` validates against its tool's
/// `outputSchema`, as clients check it (the TS SDK and Inspector reject the answer
/// otherwise; issue 14 item 6).
pub fn check_output<H: ClientHandler>(
    client: &RunningService<RoleClient, H>,
    tool: &str,
    result: &CallToolResult,
) {
    if result.is_error == Some(true) {
        return;
    }
    let Some(content) = result.structured_content.as_ref() else {
        return;
    };
    let server = client
        .peer_info()
        .and_then(|info| info.server_info.as_ref().map(|s| s.name.clone()))
        .unwrap_or_default();
    let errors = output_errors(&server, tool, content);
    assert!(
        errors.is_empty(),
        "{server} {tool}: structuredContent does not match the outputSchema: {}",
        errors.join("; ")
    );
}

/// Why `content` does not match the `outputSchema` of `tool` on `server` (serverInfo
/// name); empty when it does.
pub fn output_errors(server: &str, tool: &str, content: &Value) -> Vec<String> {
    // The control plane also answers to dotted aliases (`apps.get` is `apps_get`).
    let tool = tool.replace('.', "_");
    let Some(schema) = output_schemas().get(&(server.to_string(), tool.clone())) else {
        panic!("{server} {tool}: no outputSchema for a structured result")
    };
    let validator = jsonschema::validator_for(schema)
        .unwrap_or_else(|e| panic!("{server} {tool}: outputSchema does not compile: {e}"));
    validator
        .iter_errors(content)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The structured result of a successful call.
pub fn ok(result: &CallToolResult) -> &Value {
    assert_ne!(
        result.is_error,
        Some(true),
        "tool failed: {:?}",
        result.structured_content
    );
    result
        .structured_content
        .as_ref()
        .expect("structured content")
}

/// The body `{error, status, hint}` of a failed call: an `isError` result whose text is
/// that JSON, with no `structuredContent` (which would contradict the tool's
/// `outputSchema`, issue 10).
pub fn err_body(result: &CallToolResult) -> Value {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected an error, got {:?}",
        result.structured_content
    );
    assert_eq!(
        result.structured_content, None,
        "an error result carries no structuredContent"
    );
    let text: String = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect();
    let body: Value = serde_json::from_str(&text).expect("the error text is JSON");
    assert!(body["error"].is_string(), "error message missing: {body}");
    body
}

/// The status of a failed call (`isError` with `{error, status, hint}`).
pub fn err_status(result: &CallToolResult) -> u64 {
    err_body(result)["status"].as_u64().expect("status")
}

/// The error message of a failed call.
pub fn err_message(result: &CallToolResult) -> String {
    err_body(result)["error"].as_str().unwrap().to_string()
}

/// Run git in `dir` and return its stdout; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Gitea credentials pointing at a local server.
pub fn gitea(base_url: &str, username: &str, token: &str) -> GiteaCredentials {
    GiteaCredentials::from_parts(
        Some(base_url.to_string()),
        Some(username.to_string()),
        Some(token.to_string()),
    )
    .unwrap()
    .unwrap()
}

/// A secrets keyring for tests that seal a bot token.
pub fn test_keyring() -> vibn::keystore::Keyring {
    let key = vibn::keystore::SecretKey::generate_base64();
    vibn::keystore::Keyring::new(
        vibn::keystore::SecretKey::parse("VIBN_SECRETS_KEY", &key).unwrap(),
        None,
    )
}

/// Commit `files` (path, content) on `branch` of the bare repository `bare`, on top of
/// what the branch holds, as a user pushing straight to the server's disk; returns the
/// new commit.
pub fn seed(bare: &Path, branch: &str, files: &[(&str, &str)], message: &str) -> String {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let bare = bare.to_str().unwrap();
    git(w, &["init", "-q", "-b", branch]);
    git(w, &["config", "user.email", "seed@example.com"]);
    git(w, &["config", "user.name", "Seed"]);
    let existing = std::process::Command::new("git")
        .args(["fetch", "-q", bare, &format!("refs/heads/{branch}")])
        .current_dir(w)
        .output()
        .unwrap();
    if existing.status.success() {
        git(w, &["reset", "-q", "--hard", "FETCH_HEAD"]);
    }
    for (path, content) in files {
        let file = w.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
    }
    git(w, &["add", "-A"]);
    git(w, &["commit", "-q", "--allow-empty", "-m", message]);
    git(
        w,
        &["push", "-q", bare, &format!("HEAD:refs/heads/{branch}")],
    );
    git(w, &["rev-parse", "HEAD"])
}

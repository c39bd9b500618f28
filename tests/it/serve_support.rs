//! Fixtures for the `vibn serve` tests: the two provisioned workspaces of
//! `control_plane_support` (`mark`, `justine`) on the Gitea and Coolify stand-ins, the
//! real binary serving them on 127.0.0.1:0, and small HTTP helpers (reqwest) for REST
//! and for raw MCP over Streamable HTTP (JSON or event-stream answers).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::control_plane_support::Cp;

/// The modern era's per-request `_meta`.
pub fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    })
}

/// A running `vibn serve` over two provisioned workspaces.
pub struct Served {
    pub cp: Cp,
    pub child: Child,
    pub base: String,
    pub stderr: Arc<Mutex<String>>,
    pub http: reqwest::Client,
}

/// The environment `vibn serve` gets: keystore and secrets key, the operator's Coolify
/// and Gitea (through the contract proxy when it runs) — no workspace key.
fn serve_env(cp: &Cp) -> Vec<(&'static str, String)> {
    vec![
        ("PATH", "/usr/bin:/bin".to_string()),
        ("HOME", "/tmp".to_string()),
        ("VIBN_KEYSTORE", cp.keystore_path().display().to_string()),
        ("VIBN_SECRETS_KEY", cp.secrets.clone()),
        (
            "COOLIFY_API_URL",
            crate::contract::coolify_base(&cp.coolify.sandbox.api_url()),
        ),
        ("COOLIFY_API_TOKEN", cp.coolify.sandbox.root_token()),
        ("GITEA_API_URL", cp.gitea.api_base()),
        ("RUST_LOG", "info".to_string()),
    ]
}

impl Served {
    /// Stand-ins, two provisioned workspaces, and `vibn serve --listen 127.0.0.1:0 ARGS`.
    pub async fn start(args: &[&str]) -> Served {
        let cp = Cp::new(true).await;
        Self::start_on(cp, args).await
    }

    /// `vibn serve` over an existing fixture.
    pub async fn start_on(cp: Cp, args: &[&str]) -> Served {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vibn"));
        cmd.env_clear()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in serve_env(&cp) {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let stderr = Arc::new(Mutex::new(String::new()));
        let base = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                stderr.lock().unwrap().push_str(&format!("{line}\n"));
                if let Some(addr) = line.strip_prefix("vibn serve listening on ") {
                    return addr.trim().to_string();
                }
            }
            panic!("vibn serve exited: {}", stderr.lock().unwrap());
        })
        .await
        .expect("vibn serve did not say where it listens");
        let log = stderr.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                log.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Served {
            cp,
            child,
            base,
            stderr,
            http,
        }
    }

    pub fn mark_key(&self) -> &str {
        &self.cp.mark.key
    }

    pub fn justine_key(&self) -> &str {
        &self.cp.justine.key
    }

    /// A fresh org token minted on the keystore (what `vibn org-tokens mint` does).
    pub fn org_token(&self) -> String {
        let minted = self.cp.store.mint_admin_token("ops", None, "cli").unwrap();
        minted.token.expose_secret().to_string()
    }

    /// One REST call: status and JSON body (`Value::Null` when not JSON).
    pub async fn rest(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, _, body) = self.rest_full(method, path, key, body).await;
        (status, body)
    }

    /// One REST call with the answer's headers.
    pub async fn rest_full(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    /// One POST to /mcp: status, headers, and the JSON-RPC messages answered (from a
    /// JSON body or an event stream).
    pub async fn mcp(
        &self,
        key: Option<&str>,
        session: Option<&str>,
        message: Value,
    ) -> (StatusCode, HeaderMap, Vec<Value>) {
        let mut req = self
            .http
            .post(format!("{}/mcp", self.base))
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .body(message.to_string());
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(s) = session {
            req = req
                .header("Mcp-Session-Id", s)
                .header("MCP-Protocol-Version", "2025-11-25");
        }
        let is_modern = message
            .pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion")
            .is_some();
        if is_modern {
            // The 2026-07-28 standard headers (SEP-2243) a client sends.
            req = req
                .header("MCP-Protocol-Version", "2026-07-28")
                .header("Mcp-Method", message["method"].as_str().unwrap_or_default());
            if let Some(name) = message.pointer("/params/name").and_then(Value::as_str) {
                req = req.header("Mcp-Name", name);
            }
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        (status, headers, messages_of(&text))
    }

    /// A modern-era (2026-07-28, stateless) tools/call: the JSON-RPC result.
    pub async fn modern_call(&self, key: &str, tool: &str, args: Value) -> Value {
        let (status, _, messages) = self
            .mcp(
                Some(key),
                None,
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": tool, "arguments": args, "_meta": modern_meta()}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{messages:?}");
        let answer = messages
            .into_iter()
            .find(|m| m.get("id").is_some())
            .expect("an answer");
        answer["result"].clone()
    }

    /// Open a 2025-11-25 session with `key`: its id.
    pub async fn open_session(&self, key: &str) -> String {
        let (status, headers, messages) = self
            .mcp(
                Some(key),
                None,
                json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "it", "version": "0"}}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{messages:?}");
        assert_eq!(
            messages[0]["result"]["serverInfo"]["name"], "vibn-control-plane",
            "{messages:?}"
        );
        let session = headers
            .get("mcp-session-id")
            .expect("a session id")
            .to_str()
            .unwrap()
            .to_string();
        let (status, _, _) = self
            .mcp(
                Some(key),
                Some(&session),
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        session
    }

    /// Everything the server wrote on stderr so far.
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

/// The JSON-RPC messages of a body: JSON, or the `data:` lines of an event stream.
pub fn messages_of(text: &str) -> Vec<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return vec![v];
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

/// The structured result of a tools/call result, failing on an error result.
pub fn tool_ok(result: &Value) -> &Value {
    assert_ne!(result["isError"], json!(true), "error result: {result}");
    &result["structuredContent"]
}

/// The `{error, status, hint}` of an error result.
pub fn tool_err(result: &Value) -> Value {
    assert_eq!(result["isError"], json!(true), "not an error: {result}");
    serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap()
}

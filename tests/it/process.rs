//! The built binary as a child process: real stdio, real exit codes, real environment.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

use crate::support::{Workspace, call, ok};

const BIN: &str = env!("CARGO_BIN_EXE_vibn");

/// A command for the binary with a clean environment (only PATH and HOME).
fn vibn() -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", "/tmp");
    c
}

fn tokio_vibn(args: &[&str], env: &[(&str, &str)]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(BIN);
    c.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", "/tmp")
        .args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#;

/// Feed raw lines to the server, close stdin, and collect every JSON reply it writes
/// before it exits.
fn raw_session(root: &std::path::Path, lines: &[&str]) -> (Vec<Value>, std::process::ExitStatus) {
    let mut child = vibn()
        .args(["mcp", "workspace", "--root"])
        .arg(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    let replies = stdout
        .lines()
        .map(|line| serde_json::from_str(&line.unwrap()).expect("stdout carries only JSON-RPC"))
        .collect();
    let status = child.wait().unwrap();
    (replies, status)
}

/// The server as a child process serves rmcp's client: list and call.
#[tokio::test]
async fn child_process_serves_a_real_client() {
    let ws = Workspace::new();
    ws.write("hello.txt", "hello from disk\n");
    let root = ws.root().display().to_string();
    let transport =
        TokioChildProcess::builder(tokio_vibn(&["mcp", "workspace", "--root", &root], &[]))
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
            .0;
    let client = ().serve(transport).await.unwrap();
    let info = client.peer_info().unwrap().server_info.clone().unwrap();
    assert_eq!(info.name, "vibn-workspace");
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(client.list_all_tools().await.unwrap().len(), 10);
    let r = call(&client, "read_file", json!({"path": "hello.txt"})).await;
    assert_eq!(ok(&r)["content"], "hello from disk\n");
    client.cancel().await.unwrap();
}

/// Credentials in the server's environment are not visible to commands it runs.
#[tokio::test]
async fn server_credentials_do_not_reach_commands() {
    let ws = Workspace::new();
    let root = ws.root().display().to_string();
    let env = [
        ("GITEA_API_URL", "https://git.example.com"),
        ("GITEA_USERNAME", "bot"),
        ("GITEA_API_TOKEN", "gitea-token-value"),
        ("COOLIFY_API_TOKEN", "coolify-token-value"),
        ("VIBN_EXTRA_SETTING", "vibn-extra-value"),
        ("OPENAI_API_KEY", "openai-value"),
        ("KEEP_ME", "visible"),
    ];
    let transport =
        TokioChildProcess::builder(tokio_vibn(&["mcp", "workspace", "--root", &root], &env))
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
            .0;
    let client = ().serve(transport).await.unwrap();
    let r = call(&client, "execute_command", json!({"command": "env"})).await;
    let out = ok(&r)["stdout"].as_str().unwrap().to_string();
    assert!(out.contains("KEEP_ME=visible"), "{out}");
    for (name, value) in &env[..6] {
        assert!(
            !out.contains(name) && !out.contains(value),
            "{name} leaked into the command's environment"
        );
    }
    client.cancel().await.unwrap();
}

/// Malformed lines, bad params and unknown tools get errors; the server keeps serving.
#[test]
fn malformed_requests_do_not_kill_the_server() {
    let ws = Workspace::new();
    ws.write("f.txt", "ok\n");
    let (replies, status) = raw_session(
        &ws.root(),
        &[
            INIT,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            "this is not json",
            "{\"jsonrpc\":\"2.0\",",
            r#"{"jsonrpc":"2.0","id":"x","method":"no/such/method"}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"no_such_tool","arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read_file","arguments":"not an object"}}"#,
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"f.txt"}}}"#,
        ],
    );
    let by_id = |id: Value| {
        replies
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no reply to {id}: {replies:?}"))
    };
    assert!(
        by_id(json!(2))["error"].is_object(),
        "unknown tool is a JSON-RPC error"
    );
    assert_eq!(by_id(json!(3))["error"]["code"], -32602, "bad params");
    let parse_errors = replies
        .iter()
        .filter(|r| r["id"].is_null() && r["error"]["code"] == -32700)
        .count();
    assert_eq!(
        parse_errors, 2,
        "each malformed line is answered: {replies:?}"
    );
    assert_eq!(
        by_id(json!(4))["result"]["structuredContent"]["content"],
        "ok\n"
    );
    assert!(status.success(), "exit status {status:?}");
}

/// stdin EOF before any request is a clean exit 0 (probes, `</dev/null`).
#[test]
fn eof_before_any_request_exits_zero() {
    let ws = Workspace::new();
    let status = vibn()
        .args(["mcp", "workspace", "--root"])
        .arg(ws.root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    assert!(status.stdout.is_empty(), "nothing may be printed on stdout");
    assert!(
        status.stderr.is_empty(),
        "no error on a clean EOF: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// After a session, closing stdin exits 0 promptly.
#[test]
fn eof_after_a_session_exits_zero() {
    let ws = Workspace::new();
    let (replies, status) = raw_session(&ws.root(), &[INIT]);
    assert_eq!(replies[0]["result"]["serverInfo"]["name"], "vibn-workspace");
    assert!(status.success());
}

/// The 2026-07-28 era is served without initialize (server/discover and tools/list).
#[test]
fn modern_era_requests_are_served_without_initialize() {
    let ws = Workspace::new();
    let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
    let discover =
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{{{meta}}}}}"#);
    let list = format!(r#"{{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{{{meta}}}}}"#);
    let (replies, status) = raw_session(&ws.root(), &[&discover, &list]);
    let discover = replies.iter().find(|r| r["id"] == 1).unwrap();
    assert!(
        discover["result"]["supportedVersions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "2026-07-28"),
        "{discover}"
    );
    let list = replies.iter().find(|r| r["id"] == 2).unwrap();
    assert_eq!(list["result"]["tools"].as_array().unwrap().len(), 10);
    assert!(status.success());
}

/// VIBN_READ_ONLY=1 removes write tools in the real binary.
#[test]
fn read_only_env_removes_write_tools() {
    let ws = Workspace::new();
    let mut child = vibn()
        .args(["mcp", "workspace", "--root"])
        .arg(ws.root())
        .env("VIBN_READ_ONLY", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{INIT}").unwrap();
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
    )
    .unwrap();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":2,"method":"tools/list"}}"#).unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let _init = lines.next().unwrap().unwrap();
    let list: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["find_files", "list_directory", "read_file", "search_code"]
    );
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

fn exit_of(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = vibn();
    c.args(args).stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A missing or non-directory root exits 2 with one clear line on stderr.
#[test]
fn bad_root_exits_two_with_a_message() {
    let (code, stdout, stderr) = exit_of(&["mcp", "workspace"], &[]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.contains("WORKSPACE_ROOT"), "{stderr}");
    let (code, _, stderr) = exit_of(&["mcp", "workspace", "--root", "/no/such/dir"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("/no/such/dir"), "{stderr}");
    let (code, _, stderr) = exit_of(
        &["mcp", "workspace"],
        &[("WORKSPACE_ROOT", "/etc/hostname")],
    );
    assert_eq!(code, 2, "{stderr}");
}

/// Every server of the registry is built; an unknown server name exits 2 and never
/// answers.
#[test]
fn every_server_is_built_and_unknown_ones_exit_two() {
    assert!(
        vibn::mcp::registry::SERVERS.iter().all(|s| s.is_built()),
        "a server in the registry does not start"
    );
    let (code, stdout, _) = exit_of(&["mcp", "nonsense"], &[]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "printed on stdout");
}

/// --help and --version work for the binary and every server.
#[test]
fn help_and_version() {
    let (code, stdout, _) = exit_of(&["--version"], &[]);
    assert_eq!(code, 0);
    assert!(stdout.contains(env!("CARGO_PKG_VERSION")));
    let (code, stdout, _) = exit_of(&["--help"], &[]);
    assert_eq!(code, 0);
    assert!(stdout.contains("mcp"));
    for server in [
        "coolify",
        "gitea",
        "workspace",
        "platform",
        "agent",
        "control-plane",
    ] {
        let (code, stdout, _) = exit_of(&["mcp", server, "--help"], &[]);
        assert_eq!(code, 0, "{server}");
        assert!(stdout.contains("--read-only"), "{server}");
    }
}

/// Logs never go to stdout; --log-file receives them instead of stderr.
#[test]
fn logs_go_to_the_log_file_not_stdout() {
    let ws = Workspace::new();
    let log = ws.root().join("vibn.log");
    let mut child = vibn()
        .args(["mcp", "workspace", "--log-level", "debug", "--log-file"])
        .arg(&log)
        .arg("--root")
        .arg(ws.root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{INIT}").unwrap();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"nope","arguments":{{}}}}}}"#).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        serde_json::from_str::<Value>(line).expect("stdout line is JSON-RPC");
    }
    std::thread::sleep(Duration::from_millis(50));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.is_empty(), "debug logs should reach the log file");
    assert!(
        out.stderr.is_empty(),
        "stderr should be quiet with --log-file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A copy of the built binary in a folder of its own, to see what it finds beside it.
fn vibn_in(dir: &std::path::Path) -> std::path::PathBuf {
    let exe = dir.join("vibn");
    if std::fs::hard_link(BIN, &exe).is_err() {
        std::fs::copy(BIN, &exe).unwrap();
    }
    exe
}

/// `vibn sandbox …` runs the `vibn-sandbox` beside it with the same arguments.
#[test]
fn vibn_sandbox_runs_the_sibling_binary() {
    let dir = tempfile::tempdir().unwrap();
    let exe = vibn_in(dir.path());
    let fake = dir.path().join("vibn-sandbox");
    std::fs::write(&fake, "#!/bin/sh\necho \"stand-in: $*\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(&exe)
        .args(["sandbox", "gitea", "--create", "o/r", "--port", "0"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "stand-in: gitea --create o/r --port 0\n"
    );
}

/// Without `vibn-sandbox` beside it, `vibn sandbox` says how to build it.
#[test]
fn vibn_sandbox_without_the_binary_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let exe = vibn_in(dir.path());
    let out = Command::new(&exe)
        .args(["sandbox", "coolify"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cargo build --release -p vibn-sandbox"));
}

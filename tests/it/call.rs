//! `vibn call`: one tool through the same server, guards and pinning as over MCP, as a
//! child process with a clean environment; results on stdout, exit codes that scripts
//! can branch on.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use secrecy::ExposeSecret;
use serde_json::Value;
use vibn::keystore::Store;

use crate::support::Workspace;

const BIN: &str = env!("CARGO_BIN_EXE_vibn");

/// `vibn call <args…>` in a clean environment (plus `env`), stdin fed from `stdin`.
fn vibn_call(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", "/tmp")
        .envs(env.iter().copied())
        .arg("call")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is one JSON value ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_tool_result_is_printed_as_json_and_exits_0() {
    let ws = Workspace::new();
    ws.write("hello.txt", "one\ntwo\n");
    let root = ws.root().display().to_string();
    let args = r#"{"path": "hello.txt", "offset": 2}"#;
    let out = vibn_call(
        &[
            "workspace",
            "read_file",
            "--json",
            args,
            "--",
            "--root",
            &root,
        ],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let result = stdout_json(&out);
    assert_eq!(result["content"], "two\n");
    assert_eq!(result["start_line"], 2);
}

#[test]
fn arguments_can_come_from_stdin() {
    let ws = Workspace::new();
    ws.write("hello.txt", "hi\n");
    let out = vibn_call(
        &["workspace", "read_file", "--json", "-"],
        &[("WORKSPACE_ROOT", &ws.root().display().to_string())],
        r#"{"path": "hello.txt"}"#,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout_json(&out)["content"], "hi\n");
}

#[test]
fn an_error_result_prints_its_body_and_exits_1() {
    let ws = Workspace::new();
    let root = ws.root().display().to_string();
    let out = vibn_call(
        &[
            "workspace",
            "read_file",
            "--json",
            r#"{"path":"missing.txt"}"#,
            "--",
            "--root",
            &root,
        ],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let body = stdout_json(&out);
    assert_eq!(body["status"], 404);
    let err = stderr(&out);
    assert!(
        err.contains("missing.txt") && err.contains("hint:"),
        "{err}"
    );
}

/// The guards are the server's own: a write outside the root is refused and nothing is
/// written.
#[test]
fn a_call_meets_the_same_guards() {
    let ws = Workspace::new();
    let root = ws.root().display().to_string();
    let args = r#"{"path": "../escaped.txt", "content": "x"}"#;
    let out = vibn_call(
        &[
            "workspace",
            "write_file",
            "--json",
            args,
            "--",
            "--root",
            &root,
        ],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_json(&out)["status"], 403);
    assert!(!ws.root().parent().unwrap().join("escaped.txt").exists());
}

#[test]
fn a_tool_filter_given_after_the_separator_applies() {
    let ws = Workspace::new();
    ws.write("a.txt", "a\n");
    let root = ws.root().display().to_string();
    let out = vibn_call(
        &[
            "workspace",
            "read_file",
            "--json",
            r#"{"path":"a.txt"}"#,
            "--",
            "--root",
            &root,
            "--exclude-tools",
            "read_file",
        ],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("refused the call"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_tool_names_the_servers_tools() {
    let ws = Workspace::new();
    let root = ws.root().display().to_string();
    let out = vibn_call(
        &["workspace", "no_such_tool", "--", "--root", &root],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("no_such_tool") && err.contains("read_file"),
        "{err}"
    );
}

#[test]
fn bad_arguments_exit_2_before_anything_runs() {
    let ws = Workspace::new();
    let root = ws.root().display().to_string();
    for (json, expected) in [
        ("[1]", "not an array"),
        ("{", "not valid JSON"),
        ("null", "not null"),
    ] {
        let out = vibn_call(
            &[
                "workspace",
                "write_file",
                "--json",
                json,
                "--",
                "--root",
                &root,
            ],
            &[],
            "",
        );
        assert_eq!(out.status.code(), Some(2), "{json}");
        assert!(stderr(&out).contains(expected), "{json}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
    let out = vibn_call(&["nowhere", "x"], &[], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("servers: workspace"),
        "{}",
        stderr(&out)
    );
}

/// Pinned by `VIBN_API_KEY` as the server is: a valid key serves, a revoked one is 401.
#[test]
fn a_call_is_pinned_by_the_workspace_key() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("ks/keystore.db");
    let store = Store::open(&keystore).unwrap();
    let slug = store.create_workspace("a@x.io", None).unwrap().slug;
    let key = store
        .mint_workspace_key(&slug, "test", None, "cli")
        .unwrap();
    let token = key.token.expose_secret().to_string();
    let ws = Workspace::new();
    ws.write("a.txt", "a\n");
    let root = ws.root();
    let env = [
        ("VIBN_API_KEY", token.as_str()),
        ("VIBN_KEYSTORE", keystore.to_str().unwrap()),
        ("WORKSPACE_ROOT", root.to_str().unwrap()),
    ];
    let read = ["workspace", "read_file", "--json", r#"{"path":"a.txt"}"#];
    let out = vibn_call(&read, &env, "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    store.revoke_workspace_key(&slug, &key.record.id).unwrap();
    let out = vibn_call(&read, &env, "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_json(&out)["status"], 401);
}

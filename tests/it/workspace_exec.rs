//! execute_command: exit codes, confinement of cwd, scrubbed environment, output caps,
//! and process-group kills on timeout and cancellation.

use std::time::Duration;

use crate::support::{Workspace, call, err_status, ok};
use serde_json::json;

/// True while `pid` is a live (non-zombie) process.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next());
            state != Some("Z")
        }
        Err(_) => false,
    }
}

fn read_pid(path: &std::path::Path) -> i32 {
    for _ in 0..100 {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no pid written to {}", path.display());
}

async fn wait_dead(pid: i32) -> bool {
    for _ in 0..100 {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Output, exit code and working folder are reported.
#[tokio::test]
async fn execute_command_reports_exit_code_and_output() {
    let ws = Workspace::new();
    std::fs::create_dir(ws.root().join("sub")).unwrap();
    let client = ws.client().await;
    let r = call(
        &client,
        "execute_command",
        json!({"command": "echo out; echo err >&2; pwd; exit 3", "cwd": "sub"}),
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["exit_code"], 3);
    assert_eq!(out["timed_out"], false);
    assert_eq!(out["stderr"], "err\n");
    let stdout = out["stdout"].as_str().unwrap();
    assert!(
        stdout.starts_with("out\n") && stdout.trim_end().ends_with("/sub"),
        "{stdout}"
    );
}

/// A command starting with '-' is run as a command, not read as a shell option.
#[tokio::test]
async fn a_command_starting_with_a_dash_is_not_a_shell_option() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let r = call(&client, "execute_command", json!({"command": "-x"})).await;
    let out = ok(&r);
    assert_eq!(out["exit_code"], 127, "{out}");
}

/// The server's real environment is filtered too (not only a hand-built one).
#[tokio::test]
async fn inherited_environment_withholds_credentials() {
    let env = vibn::config::inherited_child_env();
    assert!(
        env.iter()
            .all(|(k, _)| !vibn::policy::child_env::is_withheld(&k.to_string_lossy()))
    );
    assert!(env.iter().any(|(k, _)| k == "PATH"));
}

/// Long output keeps head and tail and says it was cut.
#[tokio::test]
async fn execute_command_caps_long_output() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let r = call(
        &client,
        "execute_command",
        json!({"command": "seq 1 200000"}),
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["stdout_truncated"], true);
    let stdout = out["stdout"].as_str().unwrap();
    assert!(stdout.starts_with("1\n2\n3\n"));
    assert!(stdout.ends_with("199999\n200000\n"));
    assert!(stdout.contains("bytes omitted"));
    assert!(stdout.len() < 40_000);
}

/// On timeout the whole process group dies, grandchildren included.
#[tokio::test]
async fn timed_out_command_kills_grandchildren() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let command = "sh -c 'sleep 300 & echo $! > grandchild.pid; wait' & sleep 300";
    let r = call(
        &client,
        "execute_command",
        json!({"command": command, "timeout_s": 1}),
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["timed_out"], true);
    assert!(out.get("exit_code").is_none());
    let pid = read_pid(&ws.root().join("grandchild.pid"));
    assert!(
        wait_dead(pid).await,
        "grandchild {pid} survived the timeout"
    );
}

/// Background children do not outlive a command that finished normally.
#[tokio::test]
async fn background_children_are_killed_when_the_command_ends() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let r = call(
        &client,
        "execute_command",
        json!({"command": "sleep 300 >/dev/null 2>&1 & echo $! > bg.pid"}),
    )
    .await;
    assert_eq!(ok(&r)["exit_code"], 0);
    let pid = read_pid(&ws.root().join("bg.pid"));
    assert!(wait_dead(pid).await, "background child {pid} survived");
}

/// Cancelling the MCP request kills the command's process group.
#[tokio::test]
async fn cancelled_call_kills_the_process_group() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let command = "sleep 300 & echo $! > child.pid; wait";
    let call_fut = call(
        &client,
        "execute_command",
        json!({"command": command, "timeout_s": 600}),
    );
    // Dropping the pending call makes rmcp's client send notifications/cancelled.
    let outcome = tokio::time::timeout(Duration::from_millis(700), call_fut).await;
    assert!(outcome.is_err(), "the call should still be running");
    let pid = read_pid(&ws.root().join("child.pid"));
    assert!(wait_dead(pid).await, "child {pid} survived cancellation");
    // The server is still there for the next call.
    let r = call(&client, "execute_command", json!({"command": "echo alive"})).await;
    assert_eq!(ok(&r)["stdout"], "alive\n");
}

/// Timeouts outside 1..=600 and empty commands are refused.
#[tokio::test]
async fn execute_command_validates_its_arguments() {
    let ws = Workspace::new();
    let client = ws.client().await;
    for args in [
        json!({"command": "true", "timeout_s": 0}),
        json!({"command": "true", "timeout_s": 601}),
        json!({"command": "  "}),
    ] {
        let r = call(&client, "execute_command", args.clone()).await;
        assert_eq!(err_status(&r), 400, "{args}");
    }
}

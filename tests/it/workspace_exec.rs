//! execute_command: exit codes, confinement of cwd, scrubbed environment, output caps,
//! and process-group kills on timeout and cancellation.

use std::time::Duration;

use crate::support::{Workspace, call, err_status, ok};
use serde_json::json;

/// Host pids of live (non-zombie) processes whose command line contains `marker`.
/// Commands run in their own PID namespace, so the pids they print mean nothing here;
/// tests find their processes by a unique argument instead (`sleep 300.<n>`).
pub fn live_with_marker(marker: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit(')')
                    .next()
                    .map(|s| s.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        if cmdline.contains(marker) && !zombie && !cmdline.contains("sandbox-exec") {
            pids.push(pid);
        }
    }
    pids
}

/// Waits until some process carries `marker` (the command got that far).
pub async fn wait_started(marker: &str) {
    for _ in 0..250 {
        if !live_with_marker(marker).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no process with {marker} ever started");
}

/// True once no process carries `marker` any more.
pub async fn all_gone(marker: &str) -> bool {
    for _ in 0..150 {
        if live_with_marker(marker).is_empty() {
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

/// On timeout the whole tree dies: grandchildren, `setsid` and double-forked ones.
#[tokio::test]
async fn timed_out_command_kills_its_whole_tree() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let command = "sh -c 'sleep 300.77101 & wait' & setsid sleep 300.77101 & \
                   (sh -c 'sleep 300.77101 &' &) ; sleep 300.77101";
    let r = call(
        &client,
        "execute_command",
        json!({"command": command, "timeout_s": 1}),
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["timed_out"], true);
    assert!(out.get("exit_code").is_none());
    assert!(
        all_gone("300.77101").await,
        "a process survived the timeout"
    );
}

/// Background children, detached or not, do not outlive a command that finished.
#[tokio::test]
async fn background_children_are_killed_when_the_command_ends() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let r = call(
        &client,
        "execute_command",
        json!({"command": "sleep 300.77102 >/dev/null 2>&1 & setsid sleep 300.77102 >/dev/null 2>&1 & \
                           (setsid sh -c 'sleep 300.77102' >/dev/null 2>&1 &); sleep 0.3"}),
    )
    .await;
    assert_eq!(ok(&r)["exit_code"], 0);
    assert!(all_gone("300.77102").await, "a background child survived");
}

/// Cancelling the MCP request kills everything the command started.
#[tokio::test]
async fn cancelled_call_kills_the_whole_tree() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let command = "setsid sleep 300.77103 & sleep 300.77103 & wait";
    let call_fut = call(
        &client,
        "execute_command",
        json!({"command": command, "timeout_s": 600}),
    );
    // Dropping the pending call makes rmcp's client send notifications/cancelled.
    let outcome = tokio::time::timeout(Duration::from_millis(700), call_fut).await;
    assert!(outcome.is_err(), "the call should still be running");
    assert!(
        all_gone("300.77103").await,
        "a process survived cancellation"
    );
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

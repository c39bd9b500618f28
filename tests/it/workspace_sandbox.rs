//! The agent sandbox (issue 9, finding 1 and 7): what `execute_command` can and cannot
//! reach. Each test names what an attacker tried; the server runs as the real binary
//! where its own environment or process is the target.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use vibn::config::ToolFilter;
use vibn::sandbox_exec::{ExecMode, ExecPolicy};

use crate::support::{Client, Workspace, call, err_message, err_status, ok, serve_workspace};
use crate::workspace_exec::{all_gone, wait_started};

const BIN: &str = env!("CARGO_BIN_EXE_vibn");
const SECRET: &str = "s3cr3t-marker-7c1d";

/// The built server as a child process with credentials in its environment and a
/// keystore file of its own; `extra` adds flags.
struct ChildServer {
    client: Client,
    keystore: std::path::PathBuf,
    _dirs: tempfile::TempDir,
}

async fn child_server(ws: &Workspace, extra: &[&str]) -> ChildServer {
    let dirs = tempfile::tempdir().unwrap();
    let keystore_dir = dirs.path().join("vibn-data");
    std::fs::create_dir(&keystore_dir).unwrap();
    let keystore = keystore_dir.join("keystore.db");
    std::fs::write(&keystore, format!("keystore content {SECRET}")).unwrap();
    let mut command = tokio::process::Command::new(BIN);
    command
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dirs.path())
        .env("GITEA_API_URL", "http://127.0.0.1:9")
        .env("GITEA_USERNAME", "bot")
        .env("GITEA_API_TOKEN", format!("gitea-{SECRET}"))
        .env("COOLIFY_API_TOKEN", format!("coolify-{SECRET}"))
        .env("VIBN_SECRETS_KEY", format!("key-{SECRET}"))
        .env("VIBN_KEYSTORE", &keystore)
        .args(["mcp", "workspace", "--root"])
        .arg(ws.root())
        .args(extra);
    let transport = TokioChildProcess::builder(command)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
        .0;
    ChildServer {
        client: ().serve(transport).await.unwrap(),
        keystore,
        _dirs: dirs,
    }
}

async fn run(client: &Client, command: &str) -> Value {
    ok(&call(client, "execute_command", json!({"command": command})).await).clone()
}

fn all_output(out: &Value) -> String {
    format!("{}{}", out["stdout"], out["stderr"])
}

/// `/proc/$PPID/environ` and every other process's environment and command line:
/// the server's credentials are not there to read.
#[tokio::test]
async fn the_servers_environment_is_out_of_reach() {
    let ws = Workspace::new();
    let server = child_server(&ws, &[]).await;
    let out = run(
        &server.client,
        "cat /proc/$PPID/environ /proc/1/environ; \
         for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do cat \"$f\"; echo; done; \
         env",
    )
    .await;
    assert!(
        !all_output(&out).contains(SECRET),
        "a secret leaked: {}",
        all_output(&out)
    );
}

/// A sibling process of the same user (another vibn server holding operator tokens)
/// cannot be found or read: not its environment, memory or command line.
#[tokio::test]
async fn another_process_of_the_same_user_is_invisible() {
    let ws = Workspace::new();
    let mut sibling = std::process::Command::new("sleep")
        .arg(format!("299.{}", std::process::id()))
        .env("SIBLING_TOKEN", SECRET)
        .spawn()
        .unwrap();
    let pid = sibling.id();
    let client = ws.client().await;
    let out = run(
        &client,
        &format!(
            "cat /proc/{pid}/environ /proc/{pid}/cmdline; head -c 64 /proc/{pid}/mem; \
             grep -l {SECRET} /proc/*/environ; ls /proc | grep -c '^[0-9]'"
        ),
    )
    .await;
    sibling.kill().unwrap();
    let _ = sibling.wait();
    let text = all_output(&out);
    assert!(!text.contains(SECRET), "{text}");
    assert!(
        !text.contains("300."),
        "the sibling's command line leaked: {text}"
    );
    let visible: u32 = out["stdout"]
        .as_str()
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        visible <= 6,
        "only the sandbox's own processes are visible, saw {visible}"
    );
}

/// The keystore can be neither read, listed nor written, and its file is unchanged.
#[tokio::test]
async fn the_keystore_cannot_be_read_listed_or_written() {
    let ws = Workspace::new();
    let server = child_server(&ws, &[]).await;
    let ks = server.keystore.display().to_string();
    let dir = server.keystore.parent().unwrap().display().to_string();
    let out = run(
        &server.client,
        &format!(
            "cat '{ks}'; echo listing:; ls -A '{dir}'; echo :end; echo tampered >> '{ks}'; \
             echo x > '{dir}/new.db'; cp /dev/null '{ks}'; true"
        ),
    )
    .await;
    let text = all_output(&out);
    assert!(!text.contains(SECRET), "{text}");
    assert!(
        out["stdout"].as_str().unwrap().contains("listing:\n:end"),
        "the folder was listed: {text}"
    );
    assert_eq!(
        std::fs::read_to_string(&server.keystore).unwrap(),
        format!("keystore content {SECRET}")
    );
    assert!(!Path::new(&dir).join("new.db").exists());
}

/// Writes land only in the workspace root, the private temp folder and folders the
/// operator named; everything else stays readable.
#[tokio::test]
async fn writes_are_confined_to_the_root_temp_and_named_caches() {
    let ws = Workspace::new();
    let outside = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut config = ws.config();
    config.exec = crate::support::sandbox();
    config.exec.writable = vec![cache.path().canonicalize().unwrap()];
    let client = serve_workspace(config, &ToolFilter::default()).await;
    let out_file = outside.path().join("escaped");
    let cache_file = cache.path().join("cached");
    let out = run(
        &client,
        &format!(
            "echo a > in-root && echo root-ok; echo b > \"$TMPDIR/t\" && echo tmp-ok; \
             echo c > '{}' && echo cache-ok; echo d > '{}' || echo outside-refused; \
             head -c 4 /etc/hostname >/dev/null && echo read-ok",
            cache_file.display(),
            out_file.display()
        ),
    )
    .await;
    let stdout = out["stdout"].as_str().unwrap();
    for expected in [
        "root-ok",
        "tmp-ok",
        "cache-ok",
        "outside-refused",
        "read-ok",
    ] {
        assert!(stdout.contains(expected), "{expected} missing: {out}");
    }
    assert_eq!(ws.read("in-root"), "a\n");
    assert!(cache_file.exists());
    assert!(!out_file.exists(), "a write escaped the sandbox");
}

/// No privilege can be gained (`no_new_privs`), and signals cannot leave the sandbox.
#[tokio::test]
async fn no_new_privileges_and_no_signals_out() {
    let ws = Workspace::new();
    let mut victim = std::process::Command::new("sleep")
        .arg("300.77303")
        .spawn()
        .unwrap();
    let client = ws.client().await;
    let out = run(
        &client,
        &format!(
            "grep NoNewPrivs /proc/self/status; kill -9 {} && echo killed",
            victim.id()
        ),
    )
    .await;
    let still_running = victim.try_wait().unwrap().is_none();
    victim.kill().unwrap();
    let _ = victim.wait();
    assert!(
        out["stdout"].as_str().unwrap().contains("NoNewPrivs:\t1"),
        "{out}"
    );
    assert!(still_running, "a process outside the sandbox was killed");
}

/// `--exec-network off` leaves commands without any network, loopback included.
#[tokio::test]
async fn network_off_means_no_network() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let probe = format!(
        "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), 2); \
         print(\"connected\")' 2>/dev/null || echo unreachable"
    );
    let ws = Workspace::new();
    let with = run(&ws.client().await, &probe).await;
    assert_eq!(with["stdout"], "connected\n", "{with}");

    let mut config = ws.config();
    config.exec = crate::support::sandbox();
    config.exec.network = false;
    let client = serve_workspace(config, &ToolFilter::default()).await;
    let without = run(&client, &probe).await;
    assert_eq!(without["stdout"], "unreachable\n", "{without}");
}

/// When the server process dies, everything its commands started dies with it.
#[tokio::test]
async fn the_sandbox_dies_with_the_server() {
    let ws = Workspace::new();
    let root = ws.root();
    let mut command = tokio::process::Command::new(BIN);
    command
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .args(["mcp", "workspace", "--root"])
        .arg(&root);
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server_pid = transport.id().unwrap();
    let client = ().serve(transport).await.unwrap();
    let pending = tokio::spawn(async move {
        let _ = call(
            &client,
            "execute_command",
            json!({"command": "setsid sleep 300.77404 & sleep 300.77404", "timeout_s": 600}),
        )
        .await;
    });
    wait_started("300.77404").await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server_pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(all_gone("300.77404").await, "a command outlived the server");
    pending.abort();
}

/// Without a usable sandbox the command is refused with a 503 saying why, and
/// nothing runs.
#[tokio::test]
async fn no_sandbox_means_no_command() {
    let ws = Workspace::new();
    for mode in [
        ExecMode::Unavailable,
        ExecMode::Sandboxed {
            helper: "/nonexistent/vibn".into(),
        },
    ] {
        let mut config = ws.config();
        config.exec = ExecPolicy {
            mode,
            ..ExecPolicy::default()
        };
        // serve_workspace fills in a helper only for Unavailable: build by hand.
        let api = vibn::api::workspace_api::WorkspaceApi::open(config).unwrap();
        let r = api
            .execute_command(
                &vibn::api::caller::Caller::operator("workspace", "execute_command"),
                serde_json::from_value(json!({"command": "touch ran"})).unwrap(),
            )
            .await;
        let e = r.unwrap_err();
        assert_eq!(e.status(), 503, "{e}");
        assert!(e.message().contains("nothing was run"), "{e}");
        assert!(e.hint().unwrap().contains("--exec-sandbox off"), "{e}");
        assert!(!ws.root().join("ran").exists());
    }
}

/// A sandbox that cannot be built (here: a writable folder gone since start-up) is a
/// 503 naming the cause, not a silent unconfined run.
#[tokio::test]
async fn a_sandbox_that_cannot_be_built_is_a_503() {
    let ws = Workspace::new();
    let gone = tempfile::tempdir().unwrap();
    let mut config = ws.config();
    config.exec = crate::support::sandbox();
    config.exec.writable = vec![gone.path().to_path_buf()];
    drop(gone);
    let client = serve_workspace(config, &ToolFilter::default()).await;
    let r = call(&client, "execute_command", json!({"command": "touch ran"})).await;
    assert_eq!(err_status(&r), 503);
    assert!(
        err_message(&r).contains("cannot open"),
        "{}",
        err_message(&r)
    );
    assert!(!ws.root().join("ran").exists());
}

/// `--exec-sandbox off` is the operator's explicit choice, and the tools say so.
#[tokio::test]
async fn sandbox_off_is_stated_in_the_tool_descriptions() {
    let ws = Workspace::new();
    let server = child_server(&ws, &["--exec-sandbox", "off"]).await;
    let tools = server.client.list_all_tools().await.unwrap();
    for name in ["execute_command", "git_commit_and_push"] {
        let tool = tools.iter().find(|t| t.name == name).unwrap();
        assert!(
            tool.description.as_deref().unwrap().contains("UNSANDBOXED"),
            "{name}"
        );
    }
    let sandboxed = child_server(&ws, &[]).await;
    let tools = sandboxed.client.list_all_tools().await.unwrap();
    assert!(tools.iter().all(|t| {
        !t.description
            .as_deref()
            .unwrap_or_default()
            .contains("UNSANDBOXED")
    }));
    let out = run(&server.client, "echo unconfined").await;
    assert_eq!(out["stdout"], "unconfined\n");
    tokio::time::sleep(Duration::from_millis(10)).await;
}

//! `vibn sandbox up` as a user runs it: every stand-in, a provisioned demo workspace and
//! its key, printed as an environment that the control plane serves at once; SIGTERM
//! stops it all and removes what it made.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_vibn");

#[test]
fn sandbox_up_serves_a_provisioned_workspace_and_cleans_up() {
    let sibling = PathBuf::from(BIN).with_file_name("vibn-sandbox");
    assert!(
        sibling.is_file(),
        "vibn-sandbox is built beside vibn by `cargo test --workspace`: {}",
        sibling.display()
    );
    let mut up = Command::new(BIN)
        .args(["sandbox", "up"])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", "/tmp")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(up.stdout.take().unwrap());
    let started = Instant::now();
    let mut env: Vec<(String, String)> = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        let (key, value) = line.split_once('=').expect("stdout is KEY=value lines");
        let value = shlex::split(value).unwrap().concat();
        let last = key == "WORKSPACE_ROOT";
        env.push((key.to_string(), value));
        if last {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120));
    }
    let get = |k: &str| {
        env.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{k} was printed: {env:?}"))
    };
    assert!(get("VIBN_API_KEY").starts_with("vibn_sk_"));
    let keystore = PathBuf::from(get("VIBN_KEYSTORE"));
    assert!(keystore.is_file());

    let described = Command::new(BIN)
        .args(["call", "control-plane", "workspace_describe"])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert_eq!(
        described.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&described.stderr)
    );
    let described: Value = serde_json::from_slice(&described.stdout).unwrap();
    assert_eq!(described["provision_status"], "ready");
    assert_eq!(described["gitea_org"], "vibn-demo");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(up.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = up.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        !keystore.parent().unwrap().exists(),
        "the throw-away folder is removed"
    );
}

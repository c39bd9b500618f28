//! Every `vibn-sandbox …` settings line is safe to `eval` or source — the built
//! binary's output is sourced by bash, and the values it sets are the ones the stand-in
//! accepts. (`vibn sandbox …` runs this binary with the same arguments.)
#![allow(clippy::unwrap_used)]

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `vibn-sandbox <args>` started in a clean environment, and the settings lines it
/// printed (the stand-in keeps running until the child is dropped).
async fn sandbox(args: &[&str], keys: usize) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vibn-sandbox"))
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    for _ in 0..keys {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the sandbox printed its settings in time")
            .unwrap()
            .expect("the sandbox printed every setting");
        printed.push_str(&line);
        printed.push('\n');
    }
    (child, printed)
}

/// What bash sees after sourcing `lines` with `set -eu`: `KEY=value` per name in `keys`.
async fn sourced(lines: &str, keys: &[&str]) -> Vec<(String, String)> {
    let script = format!(
        "set -eu\n. /dev/stdin\nfor k in {}; do printf '%s=%s\\0' \"$k\" \"${{!k}}\"; done",
        keys.join(" ")
    );
    let mut bash = Command::new("bash")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = bash.stdin.take().unwrap();
        stdin.write_all(lines.as_bytes()).await.unwrap();
    }
    let out = bash.wait_with_output().await.unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "sourcing failed:\n{lines}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Every sandbox's lines source cleanly in bash, setting each name it printed.
#[tokio::test]
async fn every_sandbox_prints_lines_bash_can_source() {
    let dirs = tempfile::tempdir().unwrap();
    let repos = dirs.path().join("repos").to_str().unwrap().to_string();
    let data = dirs.path().join("gitea").to_str().unwrap().to_string();
    let google = dirs.path().join("google").to_str().unwrap().to_string();
    let table: [(Vec<&str>, Vec<&str>); 7] = [
        (
            vec!["coolify"],
            vec!["COOLIFY_API_URL", "COOLIFY_API_TOKEN"],
        ),
        (
            vec!["gitea", "--data", &data],
            vec![
                "GITEA_API_URL",
                "GITEA_USERNAME",
                "GITEA_API_TOKEN",
                "GITEA_ADMIN_PASSWORD",
            ],
        ),
        (
            vec!["search"],
            vec!["VIBN_SEARXNG_URL", "BRAVE_API_URL", "BRAVE_API_KEY"],
        ),
        (vec!["runner"], vec!["AGENT_RUNNER_URL"]),
        (
            vec!["opensrs", "--mode", "test"],
            vec!["OPENSRS_USERNAME", "OPENSRS_KEY", "OPENSRS_ENV"],
        ),
        (
            vec!["google", "--dir", &google],
            vec![
                "GOOGLE_APPLICATION_CREDENTIALS",
                "GCP_PROJECT",
                "VIBN_GOOGLE_API_URL",
            ],
        ),
        (
            vec!["git-http", "--repos", &repos],
            vec!["GITEA_API_URL", "GITEA_USERNAME", "GITEA_API_TOKEN"],
        ),
    ];
    for (args, keys) in table {
        let (_child, lines) = sandbox(&args, keys.len()).await;
        let vars = sourced(&lines, &keys).await;
        assert_eq!(vars.len(), keys.len(), "{args:?}: {vars:?}");
        for (key, value) in &vars {
            assert!(!value.is_empty(), "{args:?}: {key} is empty after sourcing");
        }
    }
}

/// The Coolify token (`1|…`) survives sourcing exactly: the stand-in accepts it.
#[tokio::test]
async fn sourced_coolify_token_is_the_one_the_stand_in_accepts() {
    let (_child, lines) = sandbox(&["coolify"], 2).await;
    let vars = sourced(&lines, &["COOLIFY_API_URL", "COOLIFY_API_TOKEN"]).await;
    let (url, token) = (&vars[0].1, &vars[1].1);
    assert!(token.starts_with("1|"), "{token}");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let status = reqwest::Client::new()
        .get(format!("{url}/projects"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, reqwest::StatusCode::OK);
}

/// The Google stand-in's key file is where GOOGLE_APPLICATION_CREDENTIALS says, for the
/// project GCP_PROJECT names, with the stand-in's own token endpoint.
#[tokio::test]
async fn the_google_key_file_names_the_printed_project_and_token_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (_child, lines) = sandbox(&["google", "--dir", dir.path().to_str().unwrap()], 3).await;
    let keys = [
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GCP_PROJECT",
        "VIBN_GOOGLE_API_URL",
    ];
    let vars = sourced(&lines, &keys).await;
    let key_file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&vars[0].1).unwrap()).unwrap();
    assert_eq!(key_file["project_id"], vars[1].1.as_str());
    assert_eq!(
        key_file["token_uri"].as_str().unwrap(),
        format!("{}token", vars[2].1)
    );
}

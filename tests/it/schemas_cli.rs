//! `vibn schemas export` through the real binary: tool names are append-only within a
//! major version (seed 003 §10, issue 14 item 7) — a tool that disappears from a
//! checked-in schema file is refused, with and without `--check`, until the version
//! series the file records is not this build's any more.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_vibn");

fn export(dir: &Path, check: bool) -> Output {
    let mut c = Command::new(BIN);
    c.env_clear()
        .args(["schemas", "export", "--dir"])
        .arg(dir)
        .stdin(Stdio::null());
    if check {
        c.arg("--check");
    }
    c.output().unwrap()
}

/// A freshly exported folder with `edit` applied to its workspace file.
fn exported_then(edit: impl FnOnce(&mut Value)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    assert!(export(dir.path(), false).status.success());
    let path = dir.path().join("workspace.tools.json");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut doc);
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    dir
}

fn add_tool(doc: &mut Value, name: &str) {
    doc["tools"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": name}));
}

/// Every exported file records the version series its tool names are stable within.
#[test]
fn exported_files_record_their_version_series() {
    let dir = tempfile::tempdir().unwrap();
    assert!(export(dir.path(), false).status.success());
    let text = std::fs::read_to_string(dir.path().join("workspace.tools.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let series = vibn::cli::schemas::version_series(env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["version_series"], series.as_str());
}

/// A tool gone within the same major version fails `--check` and naming it.
#[test]
fn check_fails_when_a_tool_disappears_within_the_major_version() {
    let dir = exported_then(|doc| add_tool(doc, "old_read_file"));
    let out = export(dir.path(), true);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("old_read_file"), "{stderr}");
    assert!(stderr.contains("append-only"), "{stderr}");
}

/// Writing is refused too (otherwise regenerating would hide the removal), and the
/// checked-in file is left as it was.
#[test]
fn export_refuses_to_drop_a_tool_within_the_major_version() {
    let dir = exported_then(|doc| add_tool(doc, "old_read_file"));
    let path = dir.path().join("workspace.tools.json");
    let before = std::fs::read_to_string(&path).unwrap();
    let out = export(dir.path(), false);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
}

/// A rename is a disappearance: the checked-in file names the tool `cat_file`, the
/// server now calls it `read_file`; the old name is reported, the new one is not.
#[test]
fn a_renamed_tool_is_reported_by_its_old_name() {
    let dir = exported_then(|doc| {
        for tool in doc["tools"].as_array_mut().unwrap() {
            if tool["name"] == "read_file" {
                tool["name"] = json!("cat_file");
            }
        }
    });
    let out = export(dir.path(), true);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.contains("workspace.tools.json: tool cat_file no longer served"),
        "{stderr}"
    );
}

/// Once the major version has moved on (the file records an older series), tools may
/// go: export rewrites the file without them.
#[test]
fn a_major_version_bump_lets_tools_go() {
    let dir = exported_then(|doc| {
        add_tool(doc, "old_read_file");
        doc["version_series"] = json!("0.0.1");
    });
    assert_eq!(export(dir.path(), true).status.code(), Some(1), "stale");
    let out = export(dir.path(), false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("workspace.tools.json")).unwrap();
    assert!(!text.contains("old_read_file"));
    assert!(export(dir.path(), true).status.success());
}

/// The file of a server that is no longer built counts as every tool gone.
#[test]
fn a_server_that_disappears_counts_as_all_its_tools_gone() {
    let dir = exported_then(|_| {});
    let series = vibn::cli::schemas::version_series(env!("CARGO_PKG_VERSION"));
    let gone =
        json!({"server": "vibn-gone", "version_series": series, "tools": [{"name": "x_tool"}]});
    std::fs::write(dir.path().join("gone.tools.json"), gone.to_string()).unwrap();
    let out = export(dir.path(), true);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gone.tools.json: tool x_tool"));
}

/// The repository's own schemas lose no tool within the current major version.
#[test]
fn checked_in_schemas_lose_no_tool() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    assert_eq!(vibn::cli::schemas::removed_tools(&dir).unwrap(), []);
}

/// `vibn schemas size --json` reports every built server's tool list in bytes and
/// approximate tokens.
#[test]
fn size_reports_bytes_and_tokens_per_server() {
    let out = Command::new(BIN)
        .env_clear()
        .args(["schemas", "size", "--json", "--tools"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let servers: Vec<&str> = report
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let built: Vec<&str> = vibn::mcp::registry::built().map(|s| s.name).collect();
    assert_eq!(servers, built);
    for s in report.as_array().unwrap() {
        assert!(s["bytes"].as_u64().unwrap() > 0);
        assert!(s["tokens"].as_u64().unwrap() > 0);
        assert!(!s["per_tool"].as_array().unwrap().is_empty());
    }
}

//! Adversarial path tests: nothing a model sends may read or write outside the root.

use std::os::unix::fs::symlink;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use crate::support::{Workspace, call, err_status, ok};

/// A folder outside the workspace with a file the agent must never see.
struct Outside {
    dir: tempfile::TempDir,
}

impl Outside {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret.txt"), "OUTSIDE_SECRET\n").unwrap();
        Outside { dir }
    }
    fn path(&self) -> std::path::PathBuf {
        self.dir.path().canonicalize().unwrap()
    }
}

/// `..`, absolute paths outside the root and NUL bytes are refused by every file tool.
#[tokio::test]
async fn hostile_spellings_are_refused_by_every_file_tool() {
    let ws = Workspace::new();
    let outside = Outside::new();
    let secret = outside.path().join("secret.txt").display().to_string();
    let client = ws.client().await;
    let escapes = [
        "../secret.txt",
        "a/../../secret.txt",
        secret.as_str(),
        "/etc/passwd",
    ];
    for path in escapes {
        let r = call(&client, "read_file", json!({"path": path})).await;
        assert_eq!(err_status(&r), 403, "read {path}");
        let r = call(
            &client,
            "write_file",
            json!({"path": path, "content": "pwned"}),
        )
        .await;
        assert_eq!(err_status(&r), 403, "write {path}");
        let r = call(
            &client,
            "replace_in_file",
            json!({"path": path, "old": "OUTSIDE", "new": "x"}),
        )
        .await;
        assert_eq!(err_status(&r), 403, "replace {path}");
        let r = call(&client, "list_directory", json!({"path": path})).await;
        assert_eq!(err_status(&r), 403, "list {path}");
        let r = call(
            &client,
            "search_code",
            json!({"pattern": "x", "path": path}),
        )
        .await;
        assert_eq!(err_status(&r), 403, "search {path}");
        let r = call(&client, "find_files", json!({"glob": "*", "path": path})).await;
        assert_eq!(err_status(&r), 403, "find {path}");
    }
    let r = call(&client, "read_file", json!({"path": "a\u{0}b"})).await;
    assert_eq!(err_status(&r), 400);
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret.txt")).unwrap(),
        "OUTSIDE_SECRET\n"
    );
}

/// An absolute path inside the root works like the relative one.
#[tokio::test]
async fn absolute_paths_inside_the_root_are_accepted() {
    let ws = Workspace::new();
    ws.write("in.txt", "inside\n");
    let client = ws.client().await;
    let path = ws.root().join("in.txt").display().to_string();
    let r = call(&client, "read_file", json!({"path": path})).await;
    assert_eq!(ok(&r)["path"], "in.txt");
}

/// A symlink to a file outside the root cannot be read, written or edited through.
#[tokio::test]
async fn symlink_to_an_outside_file_is_not_followed() {
    let ws = Workspace::new();
    let outside = Outside::new();
    symlink(
        outside.path().join("secret.txt"),
        ws.root().join("link.txt"),
    )
    .unwrap();
    let client = ws.client().await;
    let r = call(&client, "read_file", json!({"path": "link.txt"})).await;
    assert_eq!(err_status(&r), 403);
    let r = call(
        &client,
        "replace_in_file",
        json!({"path": "link.txt", "old": "OUTSIDE", "new": "x"}),
    )
    .await;
    assert_eq!(err_status(&r), 403);
    let r = call(
        &client,
        "write_file",
        json!({"path": "link.txt", "content": "pwned"}),
    )
    .await;
    assert_eq!(err_status(&r), 403);
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret.txt")).unwrap(),
        "OUTSIDE_SECRET\n"
    );
}

/// A symlinked folder that leads out cannot be used as a parent, even for a file that
/// does not exist yet, nor for a folder created beneath it.
#[tokio::test]
async fn symlinked_parent_of_a_new_file_cannot_escape() {
    let ws = Workspace::new();
    let outside = Outside::new();
    symlink(outside.path(), ws.root().join("out")).unwrap();
    let client = ws.client().await;
    for path in ["out/new.txt", "out/sub/dir/new.txt"] {
        let r = call(
            &client,
            "write_file",
            json!({"path": path, "content": "pwned"}),
        )
        .await;
        assert_eq!(err_status(&r), 403, "{path}");
    }
    assert!(!outside.path().join("new.txt").exists());
    assert!(!outside.path().join("sub").exists());
    let r = call(&client, "read_file", json!({"path": "out/secret.txt"})).await;
    assert_eq!(err_status(&r), 403);
    let r = call(&client, "list_directory", json!({"path": "out"})).await;
    assert_eq!(err_status(&r), 403);
    let r = call(
        &client,
        "execute_command",
        json!({"command": "pwd", "cwd": "out"}),
    )
    .await;
    assert_eq!(err_status(&r), 403);
}

/// Symlinks that stay inside the root work, and writes go to their target.
#[tokio::test]
async fn symlinks_inside_the_root_are_followed() {
    let ws = Workspace::new();
    ws.write("real/file.txt", "real\n");
    symlink("real/file.txt", ws.root().join("alias.txt")).unwrap();
    symlink("real", ws.root().join("alias-dir")).unwrap();
    let client = ws.client().await;
    let r = call(&client, "read_file", json!({"path": "alias.txt"})).await;
    assert_eq!(ok(&r)["content"], "real\n");
    ok(&call(
        &client,
        "write_file",
        json!({"path": "alias.txt", "content": "changed\n"}),
    )
    .await);
    assert_eq!(ws.read("real/file.txt"), "changed\n");
    assert!(
        std::fs::symlink_metadata(ws.root().join("alias.txt"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let r = call(&client, "read_file", json!({"path": "alias-dir/file.txt"})).await;
    assert_eq!(ok(&r)["content"], "changed\n");
}

/// Walks never follow symlinks out of the root: search finds nothing behind them.
#[tokio::test]
async fn search_and_find_do_not_follow_symlinks_out() {
    let ws = Workspace::new();
    let outside = Outside::new();
    symlink(outside.path(), ws.root().join("out")).unwrap();
    symlink(
        outside.path().join("secret.txt"),
        ws.root().join("secret-link.txt"),
    )
    .unwrap();
    ws.write("own.txt", "mine\n");
    let client = ws.client().await;
    let r = call(&client, "search_code", json!({"pattern": "OUTSIDE_SECRET"})).await;
    assert_eq!(ok(&r)["match_count"], 0);
    let r = call(&client, "find_files", json!({"glob": "*.txt"})).await;
    assert_eq!(ok(&r)["files"], json!(["own.txt"]));
    let r = call(&client, "list_directory", json!({"depth": 3})).await;
    let entries = ok(&r)["entries"].as_array().unwrap().clone();
    let link = entries.iter().find(|e| e["path"] == "out").unwrap();
    assert_eq!(link["kind"], "symlink");
    assert!(!entries.iter().any(|e| e["path"] == "out/secret.txt"));
}

/// A folder swapped for a symlink to the outside while writes are in flight never lets a
/// write land outside the root (the check-then-write race).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlink_swapped_in_during_writes_cannot_escape() {
    let ws = Workspace::new();
    let outside = Outside::new();
    let root = ws.root();
    std::fs::create_dir(root.join("d")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let (root, target, stop) = (root.clone(), outside.path(), stop.clone());
        std::thread::spawn(move || {
            let (dir, parked, link) = (root.join("d"), root.join("d-real"), root.join("d-link"));
            symlink(&target, &link).unwrap();
            while !stop.load(Ordering::Relaxed) {
                // Swap the real folder out and the symlink in, then back.
                let _ = std::fs::rename(&dir, &parked);
                let _ = std::fs::rename(&link, &dir);
                std::thread::yield_now();
                let _ = std::fs::rename(&dir, &link);
                let _ = std::fs::rename(&parked, &dir);
            }
        })
    };
    let client = ws.client().await;
    for i in 0..300 {
        let _ = call(
            &client,
            "write_file",
            json!({"path": format!("d/f{i}.txt"), "content": "x"}),
        )
        .await;
        let r = call(&client, "read_file", json!({"path": "d/secret.txt"})).await;
        assert_eq!(
            r.is_error,
            Some(true),
            "read through the swapped symlink: {r:?}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    flipper.join().unwrap();
    let leaked: Vec<_> = std::fs::read_dir(outside.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "secret.txt")
        .collect();
    assert!(
        leaked.is_empty(),
        "files written outside the root: {leaked:?}"
    );
}

/// execute_command refuses a cwd outside the root.
#[tokio::test]
async fn execute_command_cwd_is_confined() {
    let ws = Workspace::new();
    let client = ws.client().await;
    for cwd in ["..", "/tmp", "../.."] {
        let r = call(
            &client,
            "execute_command",
            json!({"command": "pwd", "cwd": cwd}),
        )
        .await;
        assert_eq!(err_status(&r), 403, "{cwd}");
    }
}

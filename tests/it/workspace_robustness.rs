//! The workspace server's robustness holes (issue 9, findings 4, 5 and 8): nothing a
//! model can name hangs a worker, lists names outside the root, or turns a typo in the
//! operator's settings into a misleading answer.

use std::os::unix::net::UnixListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::json;
use vibn::config::{PinConfig, ToolFilter};

use crate::support::{Workspace, call, err_message, err_status, ok, serve_workspace};

/// A FIFO with no writer is refused at once instead of blocking a worker forever, and
/// the server keeps answering.
#[tokio::test]
async fn reading_a_fifo_is_refused_without_hanging() {
    let ws = Workspace::new();
    nix::unistd::mkfifo(&ws.root().join("pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let client = ws.client().await;
    for _ in 0..8 {
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            call(&client, "read_file", json!({"path": "pipe"})),
        )
        .await
        .expect("read_file on a FIFO hung");
        assert_eq!(err_status(&r), 400);
        assert!(err_message(&r).contains("not a regular file"));
    }
    let r = call(
        &client,
        "replace_in_file",
        json!({"path": "pipe", "old": "a", "new": "b"}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
    ws.write("f.txt", "still here\n");
    let r = call(&client, "read_file", json!({"path": "f.txt"})).await;
    assert_eq!(ok(&r)["content"], "still here\n");
}

/// A unix socket in the root is not a file to read.
#[tokio::test]
async fn reading_a_socket_is_refused() {
    let ws = Workspace::new();
    let _listener = UnixListener::bind(ws.root().join("sock")).unwrap();
    let client = ws.client().await;
    let r = call(&client, "read_file", json!({"path": "sock"})).await;
    assert_eq!(err_status(&r), 400);
}

/// A file name longer than the system allows is the caller's error (400), not ours.
#[tokio::test]
async fn an_over_long_file_name_is_a_400() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let long = "n".repeat(300);
    for (tool, args) in [
        ("read_file", json!({"path": long})),
        (
            "write_file",
            json!({"path": format!("dir/{long}"), "content": "x"}),
        ),
        ("list_directory", json!({"path": long})),
    ] {
        let r = call(&client, tool, args).await;
        assert_eq!(err_status(&r), 400, "{tool}");
    }
}

/// A pinned server whose keystore path is wrong says so (503 naming the path) and
/// never creates an empty keystore there.
#[tokio::test]
async fn a_pinned_server_never_creates_a_keystore() {
    let ws = Workspace::new();
    ws.write("f.txt", "x");
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("vibn/keystroe.db");
    let mut config = ws.config();
    config.pin = PinConfig {
        api_key: Some(SecretString::from(
            "vibn_sk_0000000000000000000000000000000000000000000AAAAAA".to_string(),
        )),
        expected_workspace: None,
        keystore: Some(typo.clone()),
        keyring: None,
    };
    let client = serve_workspace(config, &ToolFilter::default()).await;
    let r = call(&client, "read_file", json!({"path": "f.txt"})).await;
    assert_eq!(err_status(&r), 503);
    assert!(
        err_message(&r).contains("keystroe.db"),
        "{}",
        err_message(&r)
    );
    assert!(!typo.exists(), "a keystore was created");
    assert!(!typo.parent().unwrap().exists(), "its folder was created");
}

/// A folder swapped for a symlink to the outside while it is being walked never gets
/// an outside name into a listing.
#[tokio::test]
async fn a_folder_swapped_for_a_symlink_lists_nothing_outside() {
    let ws = Workspace::new();
    let outside = tempfile::tempdir().unwrap();
    for i in 0..50 {
        std::fs::write(outside.path().join(format!("outside-secret-{i}.txt")), "s").unwrap();
    }
    let root = ws.root();
    let real = root.join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::write(real.join("inside.txt"), "i").unwrap();
    std::os::unix::fs::symlink(&real, root.join("sub-real")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        let (root, outside) = (root.clone(), outside.path().to_path_buf());
        std::thread::spawn(move || {
            // `sub` flips between a folder inside and a symlink out of the root.
            while !stop.load(Ordering::Relaxed) {
                let _ = std::fs::remove_file(root.join("sub"));
                let _ = std::fs::create_dir(root.join("sub"));
                let _ = std::fs::write(root.join("sub/inside.txt"), "i");
                let _ = std::fs::remove_file(root.join("sub/inside.txt"));
                let _ = std::fs::remove_dir(root.join("sub"));
                let _ = std::os::unix::fs::symlink(&outside, root.join("sub"));
            }
        })
    };
    let client = ws.client().await;
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut listed = 0;
    while Instant::now() < deadline {
        for (tool, args) in [
            ("list_directory", json!({"path": "sub", "depth": 2})),
            ("list_directory", json!({"depth": 3})),
            ("find_files", json!({"glob": "*.txt"})),
        ] {
            let r = call(&client, tool, args).await;
            if r.is_error != Some(true) {
                listed += 1;
                let text = serde_json::to_string(&r.structured_content).unwrap();
                assert!(!text.contains("outside-secret"), "{tool} leaked: {text}");
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(listed > 0, "no listing succeeded at all");
}

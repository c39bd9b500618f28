//! Every workspace tool driven through rmcp's client in-process.

use serde_json::json;

use crate::support::{Workspace, call, err_message, err_status, ok};

/// read_file returns a window of lines and says where to read on.
#[tokio::test]
async fn read_file_pages_by_lines() {
    let ws = Workspace::new();
    let text: String = (1..=10).map(|i| format!("line {i}\n")).collect();
    ws.write("notes.txt", &text);
    let client = ws.client().await;
    let r = call(
        &client,
        "read_file",
        json!({"path": "notes.txt", "offset": 3, "limit": 2}),
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["content"], "line 3\nline 4\n");
    assert_eq!(out["start_line"], 3);
    assert_eq!(out["end_line"], 4);
    assert_eq!(out["total_lines"], 10);
    assert_eq!(out["truncated"], true);
    assert_eq!(out["next_offset"], 5);
    let r = call(
        &client,
        "read_file",
        json!({"path": "notes.txt", "offset": "9"}),
    )
    .await;
    assert_eq!(ok(&r)["content"], "line 9\nline 10\n");
    assert_eq!(ok(&r)["truncated"], false);
    assert!(ok(&r).get("next_offset").is_none());
}

/// read_file refuses binary files with a clear 400.
#[tokio::test]
async fn read_file_refuses_binary_files() {
    let ws = Workspace::new();
    std::fs::write(
        ws.root().join("img.png"),
        [0x89, b'P', b'N', b'G', 0, 0, 1, 2],
    )
    .unwrap();
    let client = ws.client().await;
    let r = call(&client, "read_file", json!({"path": "img.png"})).await;
    assert_eq!(err_status(&r), 400);
    assert!(err_message(&r).contains("binary"), "{}", err_message(&r));
}

/// read_file of a missing file is a 404 with a hint to list.
#[tokio::test]
async fn read_file_of_a_missing_file_is_not_found() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let r = call(&client, "read_file", json!({"path": "nope.txt"})).await;
    assert_eq!(err_status(&r), 404);
    assert!(
        crate::support::err_body(&r)["hint"]
            .as_str()
            .unwrap()
            .contains("list_directory")
    );
}

/// read_file of a directory is a 400, not a crash.
#[tokio::test]
async fn read_file_of_a_directory_is_refused() {
    let ws = Workspace::new();
    std::fs::create_dir(ws.root().join("src")).unwrap();
    let client = ws.client().await;
    let r = call(&client, "read_file", json!({"path": "src"})).await;
    assert_eq!(err_status(&r), 400);
}

/// read_file refuses files over the size cap.
#[tokio::test]
async fn read_file_refuses_files_over_the_cap() {
    let ws = Workspace::new();
    let f = std::fs::File::create(ws.root().join("big.log")).unwrap();
    f.set_len(vibn::api::workspace_api::MAX_FILE_BYTES + 1)
        .unwrap();
    let client = ws.client().await;
    let r = call(&client, "read_file", json!({"path": "big.log"})).await;
    assert_eq!(err_status(&r), 400);
    assert!(err_message(&r).contains("bytes"));
}

/// write_file creates parents, writes atomically and leaves no temp file behind.
#[tokio::test]
async fn write_file_creates_parents_and_leaves_no_temp_files() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let r = call(
        &client,
        "write_file",
        json!({"path": "a/b/c.txt", "content": "hi\n"}),
    )
    .await;
    assert_eq!(ok(&r)["created"], true);
    assert_eq!(ok(&r)["bytes_written"], 3);
    assert_eq!(ws.read("a/b/c.txt"), "hi\n");
    let r = call(
        &client,
        "write_file",
        json!({"path": "a/b/c.txt", "content": "again"}),
    )
    .await;
    assert_eq!(ok(&r)["created"], false);
    assert_eq!(ws.read("a/b/c.txt"), "again");
    let names: Vec<_> = std::fs::read_dir(ws.root().join("a/b"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["c.txt"]);
}

/// write_file keeps the mode of the file it replaces (an executable stays executable).
#[tokio::test]
async fn write_file_keeps_the_existing_mode() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::new();
    ws.write("run.sh", "#!/bin/sh\n");
    std::fs::set_permissions(
        ws.root().join("run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let client = ws.client().await;
    ok(&call(
        &client,
        "write_file",
        json!({"path": "run.sh", "content": "#!/bin/sh\necho\n"}),
    )
    .await);
    let mode = std::fs::metadata(ws.root().join("run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
}

/// write_file on the root itself or a directory is refused.
#[tokio::test]
async fn write_file_refuses_the_root_and_directories() {
    let ws = Workspace::new();
    std::fs::create_dir(ws.root().join("dir")).unwrap();
    let client = ws.client().await;
    for path in [".", "", "dir"] {
        let r = call(&client, "write_file", json!({"path": path, "content": "x"})).await;
        assert_eq!(err_status(&r), 400, "{path:?}");
    }
    assert!(ws.root().join("dir").is_dir());
}

/// replace_in_file replaces exactly one occurrence and returns a unified diff.
#[tokio::test]
async fn replace_in_file_replaces_and_returns_a_diff() {
    let ws = Workspace::new();
    ws.write("src/lib.rs", "fn a() {}\nfn b() {}\n");
    let client = ws.client().await;
    let r = call(
        &client,
        "replace_in_file",
        json!({"path": "src/lib.rs", "old": "fn b() {}", "new": "fn c() {}"}),
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["replacements"], 1);
    assert_eq!(out["written"], true);
    let diff = out["diff"].as_str().unwrap();
    assert!(
        diff.contains("--- a/src/lib.rs") && diff.contains("+++ b/src/lib.rs"),
        "{diff}"
    );
    assert!(
        diff.contains("-fn b() {}") && diff.contains("+fn c() {}"),
        "{diff}"
    );
    assert_eq!(ws.read("src/lib.rs"), "fn a() {}\nfn c() {}\n");
}

/// replace_in_file writes nothing when the count differs, and says how many it found.
#[tokio::test]
async fn replace_in_file_fails_when_count_differs() {
    let ws = Workspace::new();
    ws.write("f.txt", "x\nx\ny\n");
    let client = ws.client().await;
    let r = call(
        &client,
        "replace_in_file",
        json!({"path": "f.txt", "old": "x", "new": "z"}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
    assert!(err_message(&r).contains("2 time(s)"), "{}", err_message(&r));
    let r = call(
        &client,
        "replace_in_file",
        json!({"path": "f.txt", "old": "nope", "new": "z"}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
    assert_eq!(ws.read("f.txt"), "x\nx\ny\n");
    let r = call(
        &client,
        "replace_in_file",
        json!({"path": "f.txt", "old": "x", "new": "z", "count": 2}),
    )
    .await;
    assert_eq!(ok(&r)["replacements"], 2);
    assert_eq!(ws.read("f.txt"), "z\nz\ny\n");
}

/// A dry run returns the diff and leaves the file untouched.
#[tokio::test]
async fn replace_in_file_dry_run_does_not_write() {
    let ws = Workspace::new();
    ws.write("f.txt", "hello\n");
    let client = ws.client().await;
    let r = call(
        &client,
        "replace_in_file",
        json!({"path": "f.txt", "old": "hello", "new": "bye", "dry_run": true}),
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["written"], false);
    assert!(out["diff"].as_str().unwrap().contains("+bye"));
    assert_eq!(ws.read("f.txt"), "hello\n");
}

/// replace_in_file refuses an empty `old`.
#[tokio::test]
async fn replace_in_file_refuses_an_empty_old() {
    let ws = Workspace::new();
    ws.write("f.txt", "hello\n");
    let client = ws.client().await;
    let r = call(
        &client,
        "replace_in_file",
        json!({"path": "f.txt", "old": "", "new": "x"}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
}

/// list_directory lists entries with kinds and sizes, honours .gitignore, skips .git.
#[tokio::test]
async fn list_directory_lists_entries_and_honours_gitignore() {
    let ws = Workspace::new();
    ws.write("README.md", "hi");
    ws.write("src/main.rs", "fn main() {}");
    ws.write(".gitignore", "target/\n");
    ws.write("target/debug/x", "bin");
    ws.write(".git/HEAD", "ref: refs/heads/main\n");
    let client = ws.client().await;
    let r = call(&client, "list_directory", json!({})).await;
    let entries = ok(&r)["entries"].as_array().unwrap().clone();
    let paths: Vec<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, [".gitignore", "README.md", "src"]);
    assert_eq!(entries[1]["kind"], "file");
    assert_eq!(entries[1]["size"], 2);
    assert_eq!(entries[2]["kind"], "dir");
    let r = call(&client, "list_directory", json!({"depth": 2})).await;
    let paths: Vec<String> = ok(&r)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    assert!(paths.contains(&"src/main.rs".to_string()), "{paths:?}");
    let r = call(&client, "list_directory", json!({"include_ignored": true})).await;
    let paths: Vec<&str> = ok(&r)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"target"), "{paths:?}");
    assert!(!paths.contains(&".git"), "{paths:?}");
}

/// list_directory of a subfolder returns paths relative to the root.
#[tokio::test]
async fn list_directory_of_a_subfolder() {
    let ws = Workspace::new();
    ws.write("src/a.rs", "");
    ws.write("src/b.rs", "");
    let client = ws.client().await;
    let r = call(&client, "list_directory", json!({"path": "src"})).await;
    let paths: Vec<&str> = ok(&r)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["src/a.rs", "src/b.rs"]);
    assert_eq!(ok(&r)["path"], "src");
}

/// find_files matches gitignore-style globs at any depth and honours .gitignore.
#[tokio::test]
async fn find_files_matches_globs_and_honours_gitignore() {
    let ws = Workspace::new();
    ws.write("a.rs", "");
    ws.write("src/b.rs", "");
    ws.write("src/deep/c.rs", "");
    ws.write("src/d.ts", "");
    ws.write(".gitignore", "ignored/\n");
    ws.write("ignored/e.rs", "");
    let client = ws.client().await;
    let r = call(&client, "find_files", json!({"glob": "*.rs"})).await;
    let files: Vec<&str> = ok(&r)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(files, ["a.rs", "src/b.rs", "src/deep/c.rs"]);
    let r = call(
        &client,
        "find_files",
        json!({"glob": "*.rs", "path": "src/deep"}),
    )
    .await;
    let files: Vec<&str> = ok(&r)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(files, ["src/deep/c.rs"]);
    assert_eq!(ok(&r)["truncated"], false);
}

/// An invalid glob is a 400 naming the glob.
#[tokio::test]
async fn find_files_refuses_an_invalid_glob() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let r = call(&client, "find_files", json!({"glob": "src/[a"})).await;
    assert_eq!(err_status(&r), 400);
}

/// search_code finds literal text by default, with line numbers and context.
#[tokio::test]
async fn search_code_finds_literal_text_with_context() {
    let ws = Workspace::new();
    ws.write("src/a.rs", "one\nlet x = foo(1);\nthree\n");
    ws.write("src/b.rs", "nothing here\n");
    ws.write("c.txt", "foo(\n");
    let client = ws.client().await;
    let r = call(
        &client,
        "search_code",
        json!({"pattern": "foo(", "context": 1}),
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["match_count"], 2);
    let files = out["files"].as_array().unwrap();
    assert_eq!(files[0]["path"], "c.txt");
    assert_eq!(files[1]["path"], "src/a.rs");
    let lines = files[1]["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["is_match"], true);
    assert_eq!(lines[1]["text"], "let x = foo(1);");
    assert_eq!(lines[0]["is_match"], false);
}

/// search_code supports regexes, case-insensitivity and a glob filter.
#[tokio::test]
async fn search_code_regex_case_and_glob() {
    let ws = Workspace::new();
    ws.write("a.rs", "fn Alpha() {}\nfn beta() {}\n");
    ws.write("b.py", "def alpha(): pass\n");
    let client = ws.client().await;
    let r = call(
        &client,
        "search_code",
        json!({"pattern": "fn [a-z]+\\(", "regex": true}),
    )
    .await;
    assert_eq!(ok(&r)["match_count"], 1);
    let r = call(
        &client,
        "search_code",
        json!({"pattern": "alpha", "case_sensitive": false}),
    )
    .await;
    assert_eq!(ok(&r)["match_count"], 2);
    let r = call(
        &client,
        "search_code",
        json!({"pattern": "alpha", "case_sensitive": false, "glob": "*.py"}),
    )
    .await;
    assert_eq!(ok(&r)["match_count"], 1);
    let r = call(
        &client,
        "search_code",
        json!({"pattern": "(", "regex": true}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
}

/// search_code stops at the cap and says there is more.
#[tokio::test]
async fn search_code_caps_results_with_a_more_notice() {
    let ws = Workspace::new();
    let text: String = (0..500).map(|i| format!("needle {i}\n")).collect();
    ws.write("many.txt", &text);
    let client = ws.client().await;
    let r = call(&client, "search_code", json!({"pattern": "needle"})).await;
    let out = ok(&r);
    assert_eq!(out["truncated"], true);
    assert_eq!(
        out["match_count"],
        vibn::api::workspace_api::MAX_MATCHES as u64
    );
    assert!(out["hint"].as_str().unwrap().contains("narrow"));
}

/// search_code skips binary files and honours .gitignore.
#[tokio::test]
async fn search_code_skips_binary_and_ignored_files() {
    let ws = Workspace::new();
    std::fs::write(ws.root().join("bin.dat"), b"needle\0\x01\x02").unwrap();
    ws.write(".gitignore", "gen/\n");
    ws.write("gen/x.txt", "needle\n");
    ws.write("real.txt", "needle\n");
    let client = ws.client().await;
    let r = call(&client, "search_code", json!({"pattern": "needle"})).await;
    let files: Vec<&str> = ok(&r)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["real.txt"]);
}

/// Numbers sent as strings are accepted; nonsense is an in-band error, not a crash.
#[tokio::test]
async fn malformed_arguments_are_in_band_errors() {
    let ws = Workspace::new();
    ws.write("f.txt", "a\nb\n");
    let client = ws.client().await;
    let r = call(&client, "read_file", json!({"path": "f.txt", "limit": "1"})).await;
    assert_eq!(ok(&r)["content"], "a\n");
    let r = call(
        &client,
        "read_file",
        json!({"path": "f.txt", "limit": "lots"}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    let r = call(&client, "read_file", json!({})).await;
    assert_eq!(r.is_error, Some(true));
    let r = call(&client, "read_file", json!({"path": "f.txt"})).await;
    assert_eq!(ok(&r)["total_lines"], 2);
}

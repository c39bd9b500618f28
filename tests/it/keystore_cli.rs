//! The keystore through the real binary: workspaces, keys, org tokens, secrets, audit;
//! file modes; the plaintext never on disk; six processes writing at once. Every test
//! not about the SQLite file runs against both backends (`Store::each`): the default
//! SQLite file, then a fresh database on the test PostgreSQL server through
//! `VIBN_KEYSTORE=postgres://…` (skipped, said on stderr, where it is not installed).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_vibn");

/// A temp keystore location and a way to run `vibn` against it.
pub struct Store {
    pub dir: tempfile::TempDir,
    /// A PostgreSQL keystore's URL (`VIBN_KEYSTORE`); `None` for the default SQLite file.
    pub url: Option<String>,
}

impl Store {
    pub fn new() -> Self {
        Store {
            dir: tempfile::tempdir().unwrap(),
            url: None,
        }
    }

    /// A fresh SQLite keystore, then a fresh PostgreSQL one when a server is available.
    pub fn each() -> Vec<Store> {
        let postgres = vibn_sandbox::postgres::shared().map(|server| Store {
            url: Some(server.fresh_database()),
            ..Store::new()
        });
        std::iter::once(Store::new()).chain(postgres).collect()
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("data/vibn/keystore.db")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .args(args)
            .stdin(Stdio::null());
        if let Some(url) = &self.url {
            c.env("VIBN_KEYSTORE", url);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "vibn {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// Run with `input` on stdin.
    pub fn with_stdin(&self, args: &[&str], input: &str, env: &[(&str, &str)]) -> Output {
        let mut c = self.cmd(args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    pub fn create(&self, email: &str) -> String {
        self.json(&["workspace", "create", "--owner-email", email])["slug"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn mint(&self, slug: &str, name: &str) -> String {
        self.ok(&["keys", "mint", "--workspace", slug, "--name", name])
            .trim()
            .to_string()
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// The default keystore is created 0600 inside a 0700 directory under XDG_DATA_HOME.
#[test]
fn default_keystore_has_private_modes() {
    let s = Store::new();
    s.create("mark@example.com");
    assert_eq!(mode(&s.path()), 0o600);
    assert_eq!(mode(s.path().parent().unwrap()), 0o700);
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", s.path().display()));
        if side.exists() {
            assert_eq!(mode(&side), 0o600, "{suffix}");
        }
    }
}

/// Slugs come from the email's local part; taken ones get -2, -3.
#[test]
fn workspace_create_list_show() {
    for s in Store::each() {
        eprintln!("-- keystore: {}", s.url.as_deref().unwrap_or("sqlite"));
        assert_eq!(s.create("Mark.Smith@example.com"), "mark-smith");
        assert_eq!(s.create("mark_smith@other.org"), "mark-smith-2");
        assert_eq!(s.create("___@x.io"), "user");
        let list = s.json(&["workspace", "list"]);
        assert_eq!(list.as_array().unwrap().len(), 3);
        let shown = s.json(&["workspace", "show", "mark-smith-2"]);
        assert_eq!(shown["gitea_org"], "vibn-mark-smith-2");
        assert_eq!(shown["owner_email"], "mark_smith@other.org");
        let out = s.run(&["workspace", "show", "ghost"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
        let out = s.run(&["workspace", "create", "--owner-email", "not-an-email"]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            s.json(&["workspace", "list"]).as_array().unwrap().len(),
            3,
            "nothing written on bad input"
        );
    }
}

/// `keys mint` prints only the token; list shows hints; revoke is idempotent; check works.
#[test]
fn keys_mint_list_revoke_check() {
    for s in Store::each() {
        eprintln!("-- keystore: {}", s.url.as_deref().unwrap_or("sqlite"));
        let slug = s.create("a@x.io");
        let out = s.run(&[
            "keys",
            "mint",
            "--workspace",
            &slug,
            "--name",
            "laptop",
            "--expires-in",
            "30d",
        ]);
        assert!(out.status.success());
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            stdout.lines().count(),
            1,
            "only the token on stdout: {stdout}"
        );
        let token = stdout.trim();
        assert!(
            token.starts_with("vibn_sk_") && token.len() == 57,
            "{token}"
        );
        let list = s.json(&["keys", "list", "--workspace", &slug]);
        let key = &list[0];
        for field in [
            "id",
            "name",
            "hint",
            "created_at",
            "last_used_at",
            "revoked_at",
        ] {
            assert!(key.get(field).is_some(), "list JSON lacks {field}: {key}");
        }
        assert_eq!(key["hint"], token[..16]);
        assert!(
            !list.to_string().contains(token),
            "the token must never be listed"
        );
        assert!(key["expires_at"].as_i64().is_some());
        let check = s.with_stdin(&["keys", "check"], token, &[]);
        assert!(check.status.success());
        assert!(String::from_utf8_lossy(&check.stdout).contains(&slug));
        let id = key["id"].as_str().unwrap();
        let first = s.json(&["keys", "revoke", "--workspace", &slug, id]);
        assert_eq!(first["already_revoked"], false);
        let again = s.json(&["keys", "revoke", "--workspace", &slug, id]);
        assert_eq!(again["already_revoked"], true);
        let check = s.with_stdin(&["keys", "check"], token, &[]);
        assert_eq!(check.status.code(), Some(1));
        let other = s.create("b@x.io");
        let out = s.run(&["keys", "revoke", "--workspace", &other, id]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "a key of another workspace is not found there"
        );
    }
}

/// Bad durations and names are refused and nothing is written.
#[test]
fn keys_mint_refuses_bad_input() {
    for s in Store::each() {
        eprintln!("-- keystore: {}", s.url.as_deref().unwrap_or("sqlite"));
        let slug = s.create("a@x.io");
        for args in [
            vec![
                "keys",
                "mint",
                "--workspace",
                &slug,
                "--name",
                "k",
                "--expires-in",
                "soon",
            ],
            vec![
                "keys",
                "mint",
                "--workspace",
                &slug,
                "--name",
                "k",
                "--expires-in",
                "0s",
            ],
            vec!["keys", "mint", "--workspace", &slug, "--name", "  "],
            vec!["keys", "mint", "--workspace", "ghost", "--name", "k"],
        ] {
            let out = s.run(&args);
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            assert!(out.stdout.is_empty(), "{args:?}");
        }
        assert!(
            s.json(&["keys", "list", "--workspace", &slug])
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
}

/// Org tokens mint, list and revoke; minting with VIBN_ADMIN_TOKEN records provenance.
#[test]
fn org_tokens_and_provenance() {
    for s in Store::each() {
        eprintln!("-- keystore: {}", s.url.as_deref().unwrap_or("sqlite"));
        let slug = s.create("a@x.io");
        let admin = s
            .ok(&["org-tokens", "mint", "--name", "ops"])
            .trim()
            .to_string();
        assert!(admin.starts_with("vibn_at_"));
        let out = s.with_stdin(
            &[
                "keys",
                "mint",
                "--workspace",
                &slug,
                "--name",
                "k",
                "--json",
            ],
            "",
            &[("VIBN_ADMIN_TOKEN", &admin)],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let minted: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(minted["created_by"], format!("org-token:{}", &admin[..16]));
        let tokens = s.json(&["org-tokens", "list"]);
        let id = tokens[0]["id"].as_str().unwrap().to_string();
        s.ok(&["org-tokens", "revoke", &id]);
        let out = s.with_stdin(
            &["keys", "mint", "--workspace", &slug, "--name", "k2"],
            "",
            &[("VIBN_ADMIN_TOKEN", &admin)],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "a revoked admin token cannot mint"
        );
        assert!(out.stdout.is_empty());
    }
}

/// The plaintext of minted tokens appears nowhere in the database files.
#[test]
fn plaintext_tokens_are_never_on_disk() {
    let s = Store::new();
    let slug = s.create("a@x.io");
    // Hold a connection open so the -wal file survives the CLI processes and is scanned.
    let _held = vibn::keystore::Store::open(&s.path()).unwrap();
    let mut tokens: Vec<String> = (0..5).map(|i| s.mint(&slug, &format!("k{i}"))).collect();
    tokens.push(
        s.ok(&["org-tokens", "mint", "--name", "ops"])
            .trim()
            .to_string(),
    );
    let token = tokens[0].clone();
    let check = s.with_stdin(&["keys", "check"], &token, &[]);
    assert!(check.status.success());
    let dir = s.path().parent().unwrap().to_path_buf();
    let mut scanned = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        scanned += 1;
        for t in &tokens {
            let body = &t.as_bytes()[8..]; // the random part, with or without prefix
            assert!(
                !bytes.windows(body.len()).any(|w| w == body),
                "plaintext token on disk"
            );
        }
    }
    assert!(scanned >= 2, "db and wal should both be scanned");
    let wal = std::fs::metadata(format!("{}-wal", s.path().display())).unwrap();
    assert!(wal.len() > 0, "the WAL should hold the recent writes");
}

/// gen-key prints a usable key; set-bot-token seals; rewrap rotates; a wrong key fails.
#[test]
fn secrets_gen_key_set_bot_token_and_rewrap() {
    for s in Store::each() {
        eprintln!("-- keystore: {}", s.url.as_deref().unwrap_or("sqlite"));
        let slug = s.create("a@x.io");
        let old = s.ok(&["secrets", "gen-key"]).trim().to_string();
        let new = s.ok(&["secrets", "gen-key"]).trim().to_string();
        assert_ne!(old, new);
        let out = s.with_stdin(
            &["workspace", "set-bot-token", &slug],
            "pat-abcdef123456",
            &[("VIBN_SECRETS_KEY", &old)],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(s.json(&["workspace", "show", &slug])["has_bot_token"], true);
        // The new key alone does not match the keystore: refused clearly, nothing changed.
        let out = s.with_stdin(&["secrets", "rewrap"], "", &[("VIBN_SECRETS_KEY", &new)]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("does not match"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = s.with_stdin(
            &["secrets", "rewrap", "--json"],
            "",
            &[
                ("VIBN_SECRETS_KEY", &new),
                ("VIBN_SECRETS_KEY_PREVIOUS", &old),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["rewrapped"], 1);
        assert_eq!(report["retired_key_ids"].as_array().unwrap().len(), 1);
        // After rewrap the old key no longer matches.
        let out = s.with_stdin(&["secrets", "rewrap"], "", &[("VIBN_SECRETS_KEY", &old)]);
        assert_eq!(out.status.code(), Some(1));
        // A malformed key is refused with the command that makes a good one.
        let out = s.with_stdin(
            &["secrets", "rewrap"],
            "",
            &[("VIBN_SECRETS_KEY", "too-short")],
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("vibn secrets gen-key"));
        if s.url.is_none() {
            let db = std::fs::read(s.path()).unwrap();
            assert!(
                !db.windows(16).any(|w| w == b"pat-abcdef123456"),
                "bot token in clear on disk"
            );
        }
    }
}

/// Six processes mint, validate and write audit events on one fresh keystore for
/// several seconds: none sees "database is locked", and no write is lost.
#[test]
fn six_processes_share_one_keystore_without_losing_writes() {
    let dir = tempfile::tempdir().unwrap();
    six_processes_share(&dir.path().join("shared/keystore.db"));
}

/// The same six processes as six replicas on one PostgreSQL database, all starting on
/// a database without the schema (so the migrations race too).
#[test]
fn six_replicas_share_one_postgres_keystore_without_losing_writes() {
    if let Some(server) = vibn_sandbox::postgres::shared() {
        six_processes_share(Path::new(&server.fresh_database()));
    }
}

fn six_processes_share(path: &Path) {
    let exe = std::env::current_exe().unwrap();
    let workers: Vec<_> = (0..6)
        .map(|i| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "keystore_cli::stress_worker",
                    "--ignored",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env("VIBN_STRESS_KEYSTORE", path)
                .env("VIBN_STRESS_ID", i.to_string())
                .env("VIBN_STRESS_SECS", "3")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut minted_total = 0u64;
    let mut audited_total = 0u64;
    for worker in workers {
        let out = worker.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "worker failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.split("STRESS ").nth(1))
            .unwrap_or_else(|| panic!("no report: {stdout}"));
        let fields: Vec<u64> = line
            .split_whitespace()
            .take(3)
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(fields[2], 0, "a worker saw errors: {line}");
        minted_total += fields[0];
        audited_total += fields[1];
    }
    assert!(minted_total > 60, "too little work done: {minted_total}");
    let store = vibn::keystore::Store::open(path).unwrap();
    let workspaces = store.list_workspaces().unwrap();
    assert_eq!(workspaces.len(), 6);
    let keys: usize = workspaces
        .iter()
        .map(|w| store.list_workspace_keys(&w.slug).unwrap().len())
        .sum();
    assert_eq!(keys as u64, minted_total, "every mint is in the database");
    let audit = store.list_audit(None, u32::MAX).unwrap().len();
    assert_eq!(
        audit as u64, audited_total,
        "every audit event is in the database"
    );
}

/// One stress worker (run by the test above as a separate process).
#[test]
#[ignore = "run as a child process by six_processes_share_one_keystore_without_losing_writes"]
fn stress_worker() {
    use secrecy::ExposeSecret;
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let path = PathBuf::from(var("VIBN_STRESS_KEYSTORE"));
    let id: u32 = var("VIBN_STRESS_ID").parse().unwrap();
    let secs: u64 = var("VIBN_STRESS_SECS").parse().unwrap();
    let store = vibn::keystore::Store::open(&path).unwrap();
    let ws = store
        .create_workspace(&format!("worker{id}@x.io"), None)
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let (mut minted, mut audited, mut errors) = (0u64, 0u64, 0u64);
    while std::time::Instant::now() < deadline {
        match store.mint_workspace_key(&ws.slug, &format!("k{minted}"), None, "cli") {
            Ok(key) => {
                minted += 1;
                match store.validate_workspace_key(key.token.expose_secret(), Some(&ws.slug)) {
                    Ok(Some(_)) => {}
                    other => {
                        errors += 1;
                        eprintln!("validate: {:?}", other.map(|o| o.is_some()));
                    }
                }
            }
            Err(e) => {
                errors += 1;
                eprintln!("mint: {e}");
            }
        }
        let event = vibn::keystore::NewAuditEvent {
            workspace_id: Some(&ws.id),
            key_hint: None,
            server: "stress",
            tool: "write",
            target: "t",
            outcome: "ok",
        };
        match store.append_audit(&event) {
            Ok(()) => audited += 1,
            Err(e) => {
                errors += 1;
                eprintln!("audit: {e}");
            }
        }
    }
    println!("STRESS {minted} {audited} {errors}");
}

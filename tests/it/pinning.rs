//! Workspace pinning: a server given a workspace key acts only for that workspace, and
//! re-validates the key on every call. The key tests run on a SQLite keystore and on a
//! PostgreSQL one (`Tenant::each`; skipped, said on stderr, without PostgreSQL).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use vibn::config::{PinConfig, ToolFilter, WorkspaceConfig};
use vibn::keystore::{Store, now_ms};
use vibn::policy::protected::ProtectedList;
use vibn_sandbox::git_http::{self, GitHttpState};

use crate::support::{Workspace, call, err_status, git, ok, serve_workspace};

struct Tenant {
    _dir: tempfile::TempDir,
    store: Store,
    /// The keystore's file, or its `postgres://` URL.
    location: std::path::PathBuf,
}

impl Tenant {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let location = dir.path().join("ks/keystore.db");
        Tenant::at(dir, location)
    }

    fn at(dir: tempfile::TempDir, location: std::path::PathBuf) -> Self {
        let store = Store::open(&location).unwrap();
        Tenant {
            _dir: dir,
            store,
            location,
        }
    }

    /// A SQLite tenant, then a PostgreSQL one when a server is available.
    fn each() -> Vec<Tenant> {
        let postgres = vibn_sandbox::postgres::shared()
            .map(|server| Tenant::at(tempfile::tempdir().unwrap(), server.fresh_database().into()));
        std::iter::once(Tenant::new()).chain(postgres).collect()
    }

    fn keystore_path(&self) -> std::path::PathBuf {
        self.location.clone()
    }

    fn key(&self, slug: &str) -> (String, String) {
        let k = self
            .store
            .mint_workspace_key(slug, "test", None, "cli")
            .unwrap();
        (k.record.id.clone(), k.token.expose_secret().to_string())
    }

    fn pin(&self, token: &str, expected: Option<&str>) -> PinConfig {
        PinConfig {
            api_key: Some(SecretString::from(token.to_string())),
            expected_workspace: expected.map(String::from),
            keystore: Some(self.keystore_path()),
            keyring: None,
        }
    }
}

fn pinned_config(ws: &Workspace, pin: PinConfig) -> WorkspaceConfig {
    let mut config = ws.config();
    config.pin = pin;
    config
}

/// A valid key serves; every kind of invalid key gets the same, byte-identical 401.
#[tokio::test]
async fn every_invalid_key_gets_the_identical_401() {
    for t in Tenant::each() {
        eprintln!("-- keystore: {}", t.location.display());
        let a = t.store.create_workspace("a@x.io", None).unwrap().slug;
        let b = t.store.create_workspace("b@x.io", None).unwrap().slug;
        let (_, good) = t.key(&a);
        let (revoked_id, revoked) = t.key(&a);
        t.store.revoke_workspace_key(&a, &revoked_id).unwrap();
        let expired = t
            .store
            .mint_workspace_key(&a, "e", Some(now_ms() - 1000), "cli")
            .unwrap()
            .token
            .expose_secret()
            .to_string();
        let mut bad_checksum = good.clone();
        let last = bad_checksum.pop().unwrap();
        bad_checksum.push(if last == 'A' { 'B' } else { 'A' });
        let ws = Workspace::new();
        ws.write("f.txt", "hi\n");

        let client = serve_workspace(
            pinned_config(&ws, t.pin(&good, None)),
            &ToolFilter::default(),
        )
        .await;
        assert_eq!(
            ok(&call(&client, "read_file", json!({"path": "f.txt"})).await)["content"],
            "hi\n"
        );

        let mut bodies = Vec::new();
        for (what, token, expected) in [
            ("revoked", revoked.as_str(), None),
            ("expired", expired.as_str(), None),
            ("malformed", "vibn_sk_nope", None),
            ("bad checksum", bad_checksum.as_str(), None),
            (
                "unknown",
                "vibn_sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000",
                None,
            ),
            ("other workspace", good.as_str(), Some(b.as_str())),
        ] {
            let client = serve_workspace(
                pinned_config(&ws, t.pin(token, expected)),
                &ToolFilter::default(),
            )
            .await;
            let r = call(&client, "read_file", json!({"path": "f.txt"})).await;
            assert_eq!(err_status(&r), 401, "{what}");
            bodies.push((what, crate::support::err_body(&r).to_string()));
        }
        for (what, body) in &bodies {
            assert_eq!(body, &bodies[0].1, "{what} differs from {}", bodies[0].0);
        }
        assert!(
            bodies[0].1.contains("vibn keys mint"),
            "the hint says how to get a new key"
        );
    }
}

/// A key revoked while the server runs fails on the very next call.
#[tokio::test]
async fn revoked_key_is_rejected_mid_session() {
    for t in Tenant::each() {
        eprintln!("-- keystore: {}", t.location.display());
        let a = t.store.create_workspace("a@x.io", None).unwrap().slug;
        let (id, token) = t.key(&a);
        let ws = Workspace::new();
        ws.write("f.txt", "x");
        let client = serve_workspace(
            pinned_config(&ws, t.pin(&token, None)),
            &ToolFilter::default(),
        )
        .await;
        ok(&call(&client, "read_file", json!({"path": "f.txt"})).await);
        t.store.revoke_workspace_key(&a, &id).unwrap();
        let r = call(&client, "read_file", json!({"path": "f.txt"})).await;
        assert_eq!(err_status(&r), 401);
        let r = call(
            &client,
            "write_file",
            json!({"path": "g.txt", "content": "y"}),
        )
        .await;
        assert_eq!(err_status(&r), 401);
        assert!(!ws.root().join("g.txt").exists());
    }
}

/// A keystore that cannot be opened is a 503, never a 401.
#[tokio::test]
async fn unreachable_keystore_is_503_not_401() {
    let ws = Workspace::new();
    let pin = PinConfig {
        api_key: Some(SecretString::from("vibn_sk_whatever".to_string())),
        expected_workspace: None,
        keystore: Some("/dev/null/not-a-dir/keystore.db".into()),
        keyring: None,
    };
    let client = serve_workspace(pinned_config(&ws, pin), &ToolFilter::default()).await;
    let r = call(&client, "list_directory", json!({})).await;
    assert_eq!(err_status(&r), 503);
}

/// An unreachable PostgreSQL keystore is a 503 too, and its password is never shown.
#[tokio::test]
async fn unreachable_postgres_keystore_is_503_and_hides_its_password() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ws = Workspace::new();
    let pin = PinConfig {
        api_key: Some(SecretString::from("vibn_sk_whatever".to_string())),
        expected_workspace: None,
        keystore: Some(format!("postgres://vibn:pw-never-shown@127.0.0.1:{closed}/ks").into()),
        keyring: None,
    };
    let client = serve_workspace(pinned_config(&ws, pin), &ToolFilter::default()).await;
    let r = call(&client, "list_directory", json!({})).await;
    assert_eq!(err_status(&r), 503);
    let body = crate::support::err_body(&r).to_string();
    assert!(!body.contains("pw-never-shown"), "{body}");
    assert!(body.contains("vibn:***@"), "{body}");
}

/// Write calls are audited with the workspace and key hint; reads are not.
#[tokio::test]
async fn write_calls_are_audited_with_the_key_hint() {
    for t in Tenant::each() {
        eprintln!("-- keystore: {}", t.location.display());
        let a = t.store.create_workspace("a@x.io", None).unwrap().slug;
        let (_, token) = t.key(&a);
        let ws = Workspace::new();
        let client = serve_workspace(
            pinned_config(&ws, t.pin(&token, None)),
            &ToolFilter::default(),
        )
        .await;
        ok(&call(
            &client,
            "write_file",
            json!({"path": "a.txt", "content": "a"}),
        )
        .await);
        ok(&call(&client, "read_file", json!({"path": "a.txt"})).await);
        let r = call(
            &client,
            "write_file",
            json!({"path": "../evil", "content": "a"}),
        )
        .await;
        assert_eq!(err_status(&r), 403);
        ok(&call(&client, "execute_command", json!({"command": "true"})).await);
        let events = t.store.list_audit(Some(&a), 10).unwrap();
        let seen: Vec<(String, String, String)> = events
            .iter()
            .rev()
            .map(|e| (e.tool.clone(), e.target.clone(), e.outcome.clone()))
            .collect();
        assert_eq!(
            seen,
            [
                ("write_file".into(), "a.txt".into(), "ok".into()),
                ("write_file".into(), "../evil".into(), "error 403".into()),
                ("execute_command".into(), "true".into(), "ok".into()),
            ]
        );
        assert!(
            events
                .iter()
                .all(|e| e.key_hint.as_deref() == Some(&token[..16]))
        );
        assert!(events.iter().all(|e| !e.target.contains(&token)));
    }
}

/// A pinned workspace server pushes only to repositories of the workspace's Gitea org.
#[tokio::test]
async fn pinned_push_is_confined_to_the_workspace_org() {
    let t = Tenant::new();
    let slug = t.store.create_workspace("acme@x.io", None).unwrap().slug;
    let org = t.store.require_workspace(&slug).unwrap().gitea_org;
    let (_, token) = t.key(&slug);
    let repos = tempfile::tempdir().unwrap();
    let state = GitHttpState::new(repos.path(), "bot", "gitea-token-1234");
    let own = state.create_repo(&format!("{org}/site")).unwrap();
    state.create_repo("vibn-other/site").unwrap();
    let addr = git_http::spawn(state.clone(), 0).await.unwrap();
    let base = format!("http://{addr}");

    let ws = Workspace::new();
    git(&ws.root(), &["init", "-q", "-b", "main"]);
    git(&ws.root(), &["config", "user.email", "d@x.io"]);
    git(&ws.root(), &["config", "user.name", "D"]);
    git(
        &ws.root(),
        &[
            "remote",
            "add",
            "origin",
            &format!("{base}/vibn-other/site.git"),
        ],
    );
    let ring = crate::support::test_keyring();
    t.store
        .set_bot_token(
            &slug,
            "bot",
            &SecretString::from("gitea-token-1234".to_string()),
            &ring,
        )
        .unwrap();
    // Operator credentials are present too; the pinned push must go as the bot.
    let mut config = WorkspaceConfig::new(
        &ws.root(),
        vibn::config::GiteaConfig {
            url: Some(base.clone()),
            operator: Some(crate::support::gitea(&base, "operator", "operator-token-9")),
        },
        ProtectedList::empty(),
    )
    .unwrap();
    config.pin = t.pin(&token, None);
    config.pin.keyring = Some(std::sync::Arc::new(ring));
    let client = serve_workspace(config, &ToolFilter::default()).await;

    ws.write("index.html", "hi");
    let r = call(&client, "git_commit_and_push", json!({"message": "x"})).await;
    assert_eq!(err_status(&r), 403);
    assert!(
        state.attempts().is_empty(),
        "nothing may reach the other org's repository"
    );
    git(
        &ws.root(),
        &[
            "remote",
            "set-url",
            "origin",
            &format!("{base}/{org}/site.git"),
        ],
    );
    let r = call(&client, "git_commit_and_push", json!({"message": "x"})).await;
    let out = ok(&r);
    assert_eq!(out["pushed"], true);
    assert_eq!(out["repo"], format!("{org}/site"));
    let users: Vec<Option<String>> = state.attempts().into_iter().map(|a| a.username).collect();
    assert!(
        !users.is_empty() && users.iter().all(|u| u.as_deref() == Some("bot")),
        "the push carried the bot's credentials, never the operator's: {users:?}"
    );
    assert!(
        own.join("refs/heads/main").exists()
            || std::process::Command::new("git")
                .args(["rev-parse", "main"])
                .current_dir(&own)
                .status()
                .unwrap()
                .success()
    );
}

/// The real binary, pinned by VIBN_API_KEY, rejects its key right after `vibn keys revoke`.
#[test]
fn running_pinned_binary_rejects_a_key_revoked_after_start() {
    for t in Tenant::each() {
        eprintln!("-- keystore: {}", t.location.display());
        let slug = t.store.create_workspace("a@x.io", None).unwrap().slug;
        let (id, token) = t.key(&slug);
        let ws = Workspace::new();
        ws.write("f.txt", "x");
        let bin = env!("CARGO_BIN_EXE_vibn");
        let mut server = Command::new(bin)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("VIBN_API_KEY", &token)
            .env("VIBN_KEYSTORE", t.keystore_path())
            .args(["mcp", "workspace", "--root"])
            .arg(ws.root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = server.stdin.take().unwrap();
        let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
        let mut send = |id: u64, line: String| -> Value {
            writeln!(stdin, "{line}").unwrap();
            loop {
                let reply: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
                if reply["id"] == id {
                    return reply;
                }
            }
        };
        send(1, r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#.into());
        let read = |id: u64| {
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"read_file","arguments":{{"path":"f.txt"}}}}}}"#
            )
        };
        let before = send(2, read(2));
        assert_eq!(before["result"]["isError"], false, "{before}");
        let revoke = Command::new(bin)
            .env_clear()
            .env("VIBN_KEYSTORE", t.keystore_path())
            .args(["keys", "revoke", "--workspace", &slug, &id])
            .output()
            .unwrap();
        assert!(revoke.status.success());
        let after = send(3, read(3));
        assert_eq!(after["result"]["isError"], true, "{after}");
        let body: Value =
            serde_json::from_str(after["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(body["status"], 401, "{after}");
        drop(stdin);
        assert!(server.wait().unwrap().success());
    }
}

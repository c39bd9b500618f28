//! `vibn doctor` against the stand-ins: a healthy setup passes every check, and each
//! thing an operator gets wrong — a non-admin Gitea token, a refused Coolify token, a
//! proxy-less or build server, a world-readable keystore, the wrong secrets key, a
//! service that is down — is one failed check naming the remedy. The doctor writes
//! nothing (no keystore created or migrated, no key recorded).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use secrecy::SecretString;
use serde_json::Value;
use vibn::api::doctor::{self, Check, Report, Status};
use vibn::clients::http::HttpConfig;
use vibn::config::{DoctorConfig, SearchProvider, Setting, Upstream};
use vibn::keystore::{Keyring, SecretKey, Store};
use vibn_sandbox::runner::RunnerSandbox;
use vibn_sandbox::search::SearchSandbox;

use crate::coolify_support::Coolify;
use crate::gitea_support::Gitea;

const BIN: &str = env!("CARGO_BIN_EXE_vibn");

/// A healthy set of stand-ins and a keystore, and a doctor configuration for them.
struct Setup {
    gitea: Gitea,
    coolify: Coolify,
    _runner: RunnerSandbox,
    _search: SearchSandbox,
    dir: tempfile::TempDir,
    config: DoctorConfig,
}

fn ring() -> Keyring {
    Keyring::new(
        SecretKey::parse("VIBN_SECRETS_KEY", &SecretKey::generate_base64()).unwrap(),
        None,
    )
}

fn http() -> HttpConfig {
    HttpConfig {
        connect_timeout: std::time::Duration::from_secs(2),
        timeout: std::time::Duration::from_secs(5),
        retries: 0,
        backoff: std::time::Duration::from_millis(10),
    }
}

impl Setup {
    async fn healthy() -> Setup {
        let gitea = Gitea::start().await;
        let coolify = Coolify::start().await;
        let runner = RunnerSandbox::start(0).await.unwrap();
        let search = SearchSandbox::start(0).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let keystore = dir.path().join("ks/keystore.db");
        let store = Store::open(&keystore).unwrap();
        let secrets = ring();
        store.check_keyring(&secrets).unwrap();
        drop(store);
        let config = DoctorConfig {
            keystore: Setting::Set((keystore, true)),
            secrets: Setting::Set(secrets),
            gitea: Setting::Set(Upstream {
                url: crate::contract::gitea_base(&gitea.sandbox.api_url()),
                username: Some(gitea.sandbox.admin_login()),
                token: Some(SecretString::from(gitea.sandbox.admin_token())),
            }),
            coolify: Setting::Set(Upstream {
                url: crate::contract::coolify_base(&coolify.sandbox.api_url()),
                username: None,
                token: Some(SecretString::from(coolify.sandbox.root_token())),
            }),
            coolify_server: None,
            runner: Setting::Set(Upstream {
                url: runner.base_url(),
                username: None,
                token: None,
            }),
            search: Setting::Set(SearchProvider::Searxng {
                url: search.base_url(),
            }),
            sandbox: Some(PathBuf::from(BIN)),
            http: http(),
        };
        Setup {
            gitea,
            coolify,
            _runner: runner,
            _search: search,
            dir,
            config,
        }
    }

    fn keystore(&self) -> PathBuf {
        self.dir.path().join("ks/keystore.db")
    }

    async fn run(&self) -> Report {
        doctor::run(&self.config).await
    }
}

fn check<'a>(report: &'a Report, name: &str) -> &'a Check {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {report:#?}"))
}

fn failed<'a>(report: &'a Report, name: &str) -> &'a Check {
    let c = check(report, name);
    assert_eq!(c.status, Status::Fail, "{c:#?}");
    assert!(c.remedy.is_some(), "a failure names its remedy: {c:#?}");
    assert!(!report.healthy());
    c
}

#[tokio::test]
async fn a_healthy_setup_passes_every_check() {
    let s = Setup::healthy().await;
    let report = s.run().await;
    for c in &report.checks {
        // The sandbox may be unavailable on a CI machine; it is checked on its own below.
        if c.name != "sandbox" {
            assert_eq!(c.status, Status::Ok, "{c:#?}");
        }
    }
    assert!(check(&report, "gitea admin").detail.contains("site admin"));
    assert!(
        check(&report, "coolify server")
            .detail
            .contains("not a build server")
    );
}

#[tokio::test]
async fn a_gitea_token_that_is_not_a_site_admins_fails() {
    let mut s = Setup::healthy().await;
    let state = s.gitea.state();
    state.create_user("dev", "dev@example.com", "pw-123456789", false, false);
    let token = state.create_token("dev", "t", &["all"]);
    if let Setting::Set(up) = &mut s.config.gitea {
        up.username = Some("dev".into());
        up.token = Some(SecretString::from(token));
    }
    let c = failed(&s.run().await, "gitea admin").clone();
    assert!(c.detail.contains("not a site admin"), "{c:#?}");
}

#[tokio::test]
async fn a_refused_coolify_token_fails() {
    let mut s = Setup::healthy().await;
    if let Setting::Set(up) = &mut s.config.coolify {
        up.token = Some(SecretString::from("1|not-a-token".to_string()));
    }
    let report = s.run().await;
    assert!(failed(&report, "coolify").detail.contains("refused"));
}

#[tokio::test]
async fn a_server_without_a_proxy_fails_because_domains_would_be_dropped() {
    let s = Setup::healthy().await;
    s.coolify.state().set_server_proxy(false);
    let report = s.run().await;
    let c = failed(&report, "coolify server");
    assert!(c.detail.contains("no proxy"), "{c:#?}");
}

#[tokio::test]
async fn a_build_server_fails_because_domains_would_be_dropped() {
    let s = Setup::healthy().await;
    s.coolify.state().set_build_server(true);
    let report = s.run().await;
    assert!(
        failed(&report, "coolify server")
            .detail
            .contains("build server")
    );
}

#[tokio::test]
async fn an_unknown_coolify_server_uuid_fails() {
    let mut s = Setup::healthy().await;
    s.config.coolify_server = Some("nope".into());
    let report = s.run().await;
    assert!(
        failed(&report, "coolify server")
            .detail
            .contains("no server nope")
    );
}

#[tokio::test]
async fn a_world_readable_keystore_fails() {
    let s = Setup::healthy().await;
    std::fs::set_permissions(s.keystore(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let report = s.run().await;
    assert!(
        failed(&report, "keystore")
            .detail
            .contains("readable by other users")
    );
}

#[tokio::test]
async fn the_wrong_secrets_key_fails() {
    let mut s = Setup::healthy().await;
    s.config.secrets = Setting::Set(ring());
    let report = s.run().await;
    assert!(
        failed(&report, "secrets key")
            .detail
            .contains("not the key")
    );
}

#[tokio::test]
async fn a_missing_keystore_is_reported_and_not_created() {
    let mut s = Setup::healthy().await;
    let path = s.dir.path().join("elsewhere/keystore.db");
    s.config.keystore = Setting::Set((path.clone(), true));
    let report = s.run().await;
    assert!(failed(&report, "keystore").detail.contains("no keystore"));
    assert!(!path.exists() && !path.parent().unwrap().exists());
}

#[tokio::test]
async fn the_doctor_records_no_key_in_the_keystore() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("keystore.db");
    drop(Store::open(&keystore).unwrap());
    let secrets = ring();
    let config = DoctorConfig {
        keystore: Setting::Set((keystore.clone(), true)),
        secrets: Setting::Set(secrets),
        gitea: Setting::Unset,
        coolify: Setting::Unset,
        coolify_server: None,
        runner: Setting::Unset,
        search: Setting::Unset,
        sandbox: None,
        http: http(),
    };
    for _ in 0..2 {
        let report = doctor::run(&config).await;
        assert!(check(&report, "secrets key").detail.contains("records it"));
    }
    let other = ring();
    Store::open(&keystore)
        .unwrap()
        .check_keyring(&other)
        .expect("no key was recorded by the doctor, so any key is still accepted first");
}

#[tokio::test]
async fn a_service_that_is_down_fails_with_its_variable() {
    let mut s = Setup::healthy().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    if let Setting::Set(up) = &mut s.config.runner {
        up.url = format!("http://127.0.0.1:{closed}");
    }
    let report = s.run().await;
    let c = failed(&report, "runner");
    assert!(c.remedy.as_deref().unwrap().contains("AGENT_RUNNER_URL"));
}

#[tokio::test]
async fn the_sandbox_check_runs_a_command_inside_the_sandbox() {
    let s = Setup::healthy().await;
    let report = s.run().await;
    let c = check(&report, "sandbox");
    // Where the kernel refuses user namespaces the check fails with the way out.
    match c.status {
        Status::Ok => assert!(c.detail.contains("sandboxed")),
        _ => assert!(c.remedy.as_deref().unwrap().contains("--exec-sandbox off")),
    }
}

/// The binary: one line per check, `--json` for scripts, exit 1 when a check fails.
#[test]
fn the_binary_exits_1_on_a_failed_check_and_speaks_json() {
    let dir = tempfile::tempdir().unwrap();
    let run = |json: bool| {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", dir.path())
            .env("VIBN_EXEC_SANDBOX", "off")
            .env("COOLIFY_API_URL", "ftp://nope")
            .arg("doctor");
        if json {
            c.arg("--json");
        }
        c.output().unwrap()
    };
    let out = run(false);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("COOLIFY_API_URL")),
        "{text}"
    );
    let out = run(true);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"keystore") && names.contains(&"sandbox"),
        "{names:?}"
    );
    assert!(
        !dir.path().join(".local").exists(),
        "no keystore was created"
    );
}

/// A PostgreSQL keystore (`VIBN_KEYSTORE=postgres://…`): the doctor names the backend,
/// checks its schema and secrets key like a file's, shows the URL without its
/// password, and calls a database without the keystore's schema "no keystore"
/// without creating one.
#[tokio::test]
async fn a_postgres_keystore_is_checked_and_its_password_never_shown() {
    let Some(server) = vibn_sandbox::postgres::shared() else {
        return;
    };
    // Trust authentication ignores the password; it is here to prove it is never shown.
    let with_password = |url: String| url.replacen("postgres@", "postgres:pw-never-shown@", 1);
    let keystore = PathBuf::from(with_password(server.fresh_database()));
    let secrets = ring();
    // Opened from async code, as the CLI does: the store's blocking calls are safe here.
    let store = Store::open(&keystore).unwrap();
    store.create_workspace("pg@x.io", None).unwrap();
    store.check_keyring(&secrets).unwrap();
    drop(store);
    let mut config = DoctorConfig {
        keystore: Setting::Set((keystore, true)),
        secrets: Setting::Set(secrets),
        gitea: Setting::Unset,
        coolify: Setting::Unset,
        coolify_server: None,
        runner: Setting::Unset,
        search: Setting::Unset,
        sandbox: None,
        http: http(),
    };
    let report = doctor::run(&config).await;
    let ks = check(&report, "keystore");
    assert_eq!(ks.status, Status::Ok, "{ks:#?}");
    assert!(
        ks.detail.starts_with("PostgreSQL postgres://postgres:***@"),
        "{ks:#?}"
    );
    assert!(ks.detail.contains("1 workspace"), "{ks:#?}");
    assert!(check(&report, "secrets key").detail.contains("matches"));
    assert!(!format!("{report:?}").contains("pw-never-shown"));

    let empty = PathBuf::from(with_password(server.fresh_database()));
    config.keystore = Setting::Set((empty.clone(), true));
    let report = doctor::run(&config).await;
    let ks = failed(&report, "keystore");
    assert!(ks.detail.contains("no keystore"), "{ks:#?}");
    assert!(!format!("{report:?}").contains("pw-never-shown"));
    assert!(
        matches!(
            Store::open_existing(&empty),
            Err(vibn::keystore::KeystoreError::Missing { .. })
        ),
        "the doctor created nothing"
    );
}

//! The provisioning commands through the real binary (issue 12 items 1, 2, 4, 5):
//! `workspace create` idempotent per owner (`--another`, `--provision`), `workspace
//! provision` against the stand-ins, missing settings named, `workspace credentials`
//! showing the token only with `--show-secret`, `workspace rotate-bot-token`. No secret
//! on stderr, ever; on stdout only when asked for.

use std::process::Output;

use serde_json::Value;
use vibn::keystore::SecretKey;

use crate::coolify_support::Coolify;
use crate::gitea_support::Gitea;
use crate::keystore_cli::Store;

/// Stand-ins and the environment the binary needs to reach them.
struct Upstreams {
    gitea: Gitea,
    coolify: Coolify,
    key: String,
}

impl Upstreams {
    async fn start() -> Upstreams {
        Upstreams {
            gitea: Gitea::start().await,
            coolify: Coolify::start().await,
            key: SecretKey::generate_base64(),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("GITEA_API_URL".into(), self.gitea.api_base()),
            ("GITEA_USERNAME".into(), self.gitea.sandbox.admin_login()),
            ("GITEA_API_TOKEN".into(), self.gitea.sandbox.admin_token()),
            (
                "COOLIFY_API_URL".into(),
                crate::contract::coolify_base(&self.coolify.sandbox.api_url()),
            ),
            (
                "COOLIFY_API_TOKEN".into(),
                self.coolify.sandbox.root_token(),
            ),
            ("VIBN_SECRETS_KEY".into(), self.key.clone()),
        ]
    }
}

/// Run `vibn args` with `env` off the async runtime (the stand-ins serve on it).
async fn run(store: &Store, args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = store.cmd(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Item 2: the same owner gets the same workspace; `--another` makes the next slug.
#[test]
fn create_is_idempotent_per_owner() {
    let s = Store::new();
    let first = s.json(&["workspace", "create", "--owner-email", "Mark@x.io"]);
    assert_eq!(
        (first["slug"].as_str(), first["created"].as_bool()),
        (Some("mark"), Some(true))
    );
    let again = s.json(&["workspace", "create", "--owner-email", "mark@x.io"]);
    assert_eq!(
        (again["slug"].as_str(), again["created"].as_bool()),
        (Some("mark"), Some(false))
    );
    let text = s.ok(&["workspace", "create", "--owner-email", "mark@x.io"]);
    assert!(text.contains("already has workspace mark"), "{text}");
    let another = s.json(&[
        "workspace",
        "create",
        "--owner-email",
        "mark@x.io",
        "--another",
    ]);
    assert_eq!(another["slug"], "mark-2");
    assert_eq!(s.json(&["workspace", "list"]).as_array().unwrap().len(), 2);
}

/// Missing operator settings are named, all at once, and nothing is provisioned.
#[test]
fn provision_names_every_missing_setting() {
    let s = Store::new();
    let slug = s.create("mark@x.io");
    let out = s.run(&["workspace", "provision", &slug]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    for var in [
        "GITEA_API_URL",
        "GITEA_USERNAME",
        "GITEA_API_TOKEN",
        "COOLIFY_API_URL",
        "COOLIFY_API_TOKEN",
        "VIBN_SECRETS_KEY",
    ] {
        assert!(err.contains(var), "{var} missing from: {err}");
    }
    let out = s.run(&["workspace", "credentials", &slug]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("GITEA_API_URL"));
    // `create --provision` checks the settings before creating anything.
    let out = s.run(&[
        "workspace",
        "create",
        "--owner-email",
        "new@x.io",
        "--provision",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(s.json(&["workspace", "list"]).as_array().unwrap().len(), 1);
}

/// The whole flow through the binary: create --provision, provision again (ready,
/// nothing written), credentials with and without the token, rotation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_credentials_and_rotation_through_the_binary() {
    let up = Upstreams::start().await;
    let env = up.env();
    let s = Store::new();
    let out = run(
        &s,
        &[
            "workspace",
            "create",
            "--owner-email",
            "mark@x.io",
            "--provision",
            "--json",
        ],
        &env,
    )
    .await;
    let report = json_of(&out);
    assert_eq!(report["status"], "ready", "{report:#}");
    assert_eq!(report["created"], true);
    assert_eq!(report["workspace"]["slug"], "mark");
    let mut outputs = vec![out];

    up.gitea.state().clear_requests();
    up.coolify.state().clear_requests();
    let out = run(&s, &["workspace", "provision", "mark"], &env).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("workspace mark: ready") && text.contains("verified"),
        "{text}"
    );
    let writes = up
        .gitea
        .state()
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .count()
        + up.coolify
            .state()
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .count();
    assert_eq!(writes, 0);
    outputs.push(out);

    let out = run(&s, &["workspace", "credentials", "mark", "--json"], &env).await;
    let hidden = json_of(&out);
    assert_eq!(hidden["bot"]["username"], "vibn-bot-mark");
    assert!(hidden["bot"]["token"].is_null());
    assert!(
        hidden["gitea"]["cloneUrlTemplate"]
            .as_str()
            .unwrap()
            .contains("vibn-bot-mark:{{token}}@")
    );
    outputs.push(out);
    let out = run(
        &s,
        &[
            "workspace",
            "credentials",
            "mark",
            "--json",
            "--show-secret",
        ],
        &env,
    )
    .await;
    let shown = json_of(&out);
    let token = shown["bot"]["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 40);
    // Stdout of the --show-secret call is the only place the token appears.
    let shown_out = out;

    let out = run(
        &s,
        &["workspace", "rotate-bot-token", "mark", "--json"],
        &env,
    )
    .await;
    let rotated = json_of(&out);
    assert_eq!(rotated["deleted_token_ids"].as_array().unwrap().len(), 1);
    outputs.push(out);
    let out = run(
        &s,
        &[
            "workspace",
            "credentials",
            "mark",
            "--json",
            "--show-secret",
        ],
        &env,
    )
    .await;
    let new_token = json_of(&out)["bot"]["token"].as_str().unwrap().to_string();
    assert_ne!(new_token, token);
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&new_token));

    let show = s.json(&["workspace", "show", "mark"]);
    assert_eq!(show["provision_status"], "ready");
    for out in outputs.iter().chain([&shown_out]) {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains(&token) && !err.contains(&new_token), "{err}");
        assert!(!err.contains("PRIVATE KEY"), "{err}");
    }
    for out in &outputs {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains(&token) && !stdout.contains(&new_token));
        assert!(!stdout.contains("PRIVATE KEY"));
    }
}

/// A run that stops at a step exits 1, prints what it did and where it stopped, and
/// the row keeps the step and the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_exits_1_and_says_where_it_stopped() {
    let up = Upstreams::start().await;
    up.coolify.state().add_server("second");
    let s = Store::new();
    let slug = s.create("mark@x.io");
    let out = run(&s, &["workspace", "provision", &slug], &up.env()).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stopped at coolify_server") && err.contains("COOLIFY_SERVER_UUID"),
        "{err}"
    );
    let show = s.json(&["workspace", "show", &slug]);
    assert_eq!(show["provision_status"], "error");
    assert_eq!(show["provision_step"], "coolify_server");
}

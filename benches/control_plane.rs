//! Control-plane cost per call (issue 13 item 6): `apps_get` — a tenancy check (the
//! app, then the workspace project's environment ids) and nothing else — against the
//! Coolify and Gitea stand-ins, with the environment-id cache off (`scope_ttl` 0: the
//! project is read on every call, the "before") and on (`SCOPE_TTL`, the "after").
//! Each call is a real one: the workspace key validated, the keystore read, Coolify
//! asked over HTTP. Also with a delay injected on every Coolify request, standing in for
//! the round trip to a real Coolify.
//!
//! Run with `cargo bench --bench control_plane`. Prints a table; nothing is asserted.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use vibn::api::caller::Pinning;
use vibn::api::control_plane_api::{AppRef, AppsCreateParams, ControlPlaneApi, Settings};
use vibn::api::provision::Provisioner;
use vibn::clients::coolify::CoolifyClient;
use vibn::clients::gitea::GiteaClient;
use vibn::clients::http::HttpConfig;
use vibn::config::{PinConfig, SCOPE_TTL};
use vibn::keystore::{Keyring, Keystore, SecretKey, Store};
use vibn_sandbox::coolify::{CoolifySandbox, Fault};
use vibn_sandbox::gitea::GiteaSandbox;

const CALLS: usize = 400;
const CONCURRENCY: usize = 8;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let data = tempfile::tempdir().unwrap();
    let gitea = GiteaSandbox::start(&data.path().join("gitea"), 0)
        .await
        .unwrap();
    gitea.state().set_root_url("https://git.vibn.test");
    let coolify = CoolifySandbox::start(0).await.unwrap();
    let path = data.path().join("keystore.db");
    let store = Store::open(&path).unwrap();
    let slug = store
        .create_workspace("mark@example.com", None)
        .unwrap()
        .slug;
    let key = store
        .mint_workspace_key(&slug, "bench", None, "cli")
        .unwrap()
        .token
        .expose_secret()
        .to_string();
    let secrets = SecretKey::generate_base64();
    let ring = Arc::new(Keyring::new(
        SecretKey::parse("VIBN_SECRETS_KEY", &secrets).unwrap(),
        None,
    ));
    let gitea_admin = GiteaClient::new(
        &gitea.api_url(),
        SecretString::from(gitea.admin_token()),
        HttpConfig::default(),
    );
    let coolify_client = CoolifyClient::new(
        &coolify.api_url(),
        SecretString::from(coolify.root_token()),
        HttpConfig::default(),
    );
    Provisioner::new(
        gitea_admin.clone(),
        &gitea.admin_login(),
        coolify_client.clone(),
        None,
        Keystore::from_store(Store::open(&path).unwrap()),
        ring.clone(),
    )
    .provision(&slug)
    .await
    .unwrap();
    let pinning = Pinning::from_config(&PinConfig {
        api_key: Some(SecretString::from(key)),
        expected_workspace: None,
        keystore: Some(path.clone()),
        keyring: Some(ring),
    });
    let api = |ttl: Duration| {
        ControlPlaneApi::with_clients(
            Some(coolify_client.clone()),
            Some(gitea_admin.clone()),
            Some(gitea.admin_login()),
            Settings {
                gitea_url: Some(gitea.base_url()),
                server_uuid: None,
                base_domain: "vibnai.com".into(),
                scope_ttl: ttl,
            },
        )
    };
    let setup = api(SCOPE_TTL);
    gitea
        .state()
        .create_repo(&format!("vibn-{slug}"), "site", true)
        .unwrap();
    let caller = pinning
        .caller("control-plane", "apps_create")
        .await
        .unwrap();
    let created = setup
        .apps_create(
            &caller,
            serde_json::from_value::<AppsCreateParams>(serde_json::json!({"repo": "site"}))
                .unwrap(),
        )
        .await
        .unwrap();
    let uuid = created.app.uuid.clone();

    println!(
        "apps_get against the stand-ins: {CALLS} calls, each with key validation and a tenancy check"
    );
    println!(
        "{:>18} {:>12} {:>6} {:>10} {:>10} {:>16}",
        "Coolify delay", "env-id cache", "conc.", "calls/s", "p50 ms", "Coolify req/call"
    );
    for delay in [Duration::ZERO, Duration::from_millis(5)] {
        coolify.state().clear_faults();
        if !delay.is_zero() {
            coolify.state().inject_fault(Fault::Delay {
                path_prefix: "/api/v1/".into(),
                delay,
                times: u32::MAX,
            });
        }
        for (label, ttl) in [("off (before)", Duration::ZERO), ("on (after)", SCOPE_TTL)] {
            for concurrency in [1, CONCURRENCY] {
                let api = api(ttl);
                // Warm up (and fill the cache, when on).
                for _ in 0..5 {
                    one_call(&api, &pinning, &uuid).await;
                }
                coolify.state().clear_requests();
                let started = Instant::now();
                let mut latencies: Vec<f64> = futures::stream::iter(0..CALLS)
                    .map(|_| one_call(&api, &pinning, &uuid))
                    .buffer_unordered(concurrency)
                    .collect()
                    .await;
                let elapsed = started.elapsed().as_secs_f64();
                latencies.sort_by(f64::total_cmp);
                let requests = coolify.state().requests().len() as f64 / CALLS as f64;
                println!(
                    "{:>15} ms {:>12} {:>6} {:>10.0} {:>10.2} {:>16.2}",
                    delay.as_millis(),
                    label,
                    concurrency,
                    CALLS as f64 / elapsed,
                    latencies[latencies.len() / 2],
                    requests
                );
            }
        }
    }
}

/// One `apps_get` as a tool call makes it: a caller (key validated), then the call.
/// Returns its latency in ms.
async fn one_call(api: &ControlPlaneApi, pinning: &Pinning, uuid: &str) -> f64 {
    let started = Instant::now();
    let caller = pinning.caller("control-plane", "apps_get").await.unwrap();
    let got = api
        .apps_get(
            &caller,
            AppRef {
                uuid: uuid.to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(got.app.uuid, uuid);
    started.elapsed().as_secs_f64() * 1000.0
}

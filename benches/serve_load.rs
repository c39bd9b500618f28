//! Load and isolation of `vibn serve` (issue 16 part 3), bounded and loopback only: the
//! Gitea and Coolify stand-ins in this process, M provisioned workspaces (set up with the
//! real CLI, so any keystore backend works), two `vibn serve` replicas on one keystore,
//! and N clients spread over the workspaces and replicas calling for a fixed time:
//!
//! - `mcp apps_list`: MCP tools/call over Streamable HTTP (2026-07-28, stateless);
//! - `rest apps`: `GET /api/workspaces/{slug}/apps`;
//! - `rest describe`: `GET /api/workspaces/{slug}` (keystore only, no upstream).
//!
//! Every answer is checked to be the caller's own (its workspace's single app, its slug):
//! any other is counted as a cross-tenant result, which must stay 0. Then a key is
//! revoked through replica A and replica B must refuse it on its next request. Last, the
//! same `apps_list` against the stdio server (`vibn mcp control-plane`, one process per
//! workspace key) for comparison. Prints req/s, p50 and p99 per endpoint; exits 1 on a
//! cross-tenant result or a revocation not seen. A benchmark, not a timed test.
//!
//! ```sh
//! cargo build --release --bin vibn && cargo bench --bench serve_load
//! VIBN_BIN=target/debug/vibn SERVE_LOAD_SECS=5 SERVE_LOAD_CLIENTS=32 SERVE_LOAD_WORKSPACES=4 \
//!     cargo bench --bench serve_load
//! VIBN_KEYSTORE=postgres://… cargo bench --bench serve_load   # two replicas on PostgreSQL
//! ```
//!
//! `VIBN_KEYSTORE` (a `postgres://` URL, once the PostgreSQL keystore is merged) puts
//! both replicas and the setup CLI on that keystore; without it a fresh SQLite file is
//! shared by the two replicas (SQLite is safe across processes).
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods
)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use vibn_sandbox::coolify::CoolifySandbox;
use vibn_sandbox::gitea::GiteaSandbox;

const GITEA_ROOT: &str = "https://git.vibn.test";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One workspace of the run.
struct Ws {
    slug: String,
    key: String,
    key_id: String,
    app: String,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let bin = PathBuf::from(std::env::var("VIBN_BIN").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/vibn").to_string()
    }));
    assert!(
        bin.exists(),
        "{} is missing: cargo build --release --bin vibn, or set VIBN_BIN",
        bin.display()
    );
    let secs: u64 = env_or("SERVE_LOAD_SECS", 5);
    let clients: usize = env_or("SERVE_LOAD_CLIENTS", 32);
    // One workspace's key is revoked before the stdio part, which needs another.
    let workspaces: usize = env_or("SERVE_LOAD_WORKSPACES", 4).max(2);

    let data = tempfile::tempdir().unwrap();
    let gitea = GiteaSandbox::start(&data.path().join("gitea"), 0)
        .await
        .unwrap();
    gitea.state().set_root_url(GITEA_ROOT);
    let coolify = CoolifySandbox::start(0).await.unwrap();
    let keystore = std::env::var("VIBN_KEYSTORE")
        .ok()
        .filter(|k| k.starts_with("postgres://") || k.starts_with("postgresql://"))
        .unwrap_or_else(|| data.path().join("keystore.db").display().to_string());
    let backend = if keystore.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let mut env: Vec<(&str, String)> = vec![
        ("PATH", "/usr/bin:/bin".into()),
        ("HOME", data.path().display().to_string()),
        ("VIBN_KEYSTORE", keystore.clone()),
        (
            "VIBN_SECRETS_KEY",
            vibn::keystore::SecretKey::generate_base64(),
        ),
        ("COOLIFY_API_URL", coolify.api_url()),
        ("COOLIFY_API_TOKEN", coolify.root_token()),
        ("GITEA_API_URL", gitea.api_url()),
        ("RUST_LOG", "warn".into()),
    ];
    let cli = |args: &[&str], extra: &[(&str, String)]| {
        let mut c = std::process::Command::new(&bin);
        c.env_clear().args(args);
        for (k, v) in env.iter().chain(extra) {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "vibn {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let operator = [
        ("GITEA_USERNAME", gitea.admin_login()),
        ("GITEA_API_TOKEN", gitea.admin_token()),
    ];
    eprintln!("serve_load: provisioning {workspaces} workspaces on {backend}…");
    let mut wss = Vec::new();
    for i in 0..workspaces {
        let out = cli(
            &[
                "workspace",
                "create",
                "--owner-email",
                &format!("ws{i}@bench.test"),
                "--another",
                "--provision",
                "--json",
            ],
            &operator,
        );
        let slug = serde_json::from_str::<Value>(&out)
            .ok()
            .and_then(|v| {
                v.pointer("/workspace/slug")
                    .or_else(|| v.get("slug"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| panic!("no slug in {out}"));
        let minted: Value = serde_json::from_str(&cli(
            &[
                "keys",
                "mint",
                "--workspace",
                &slug,
                "--name",
                "bench",
                "--json",
            ],
            &[],
        ))
        .unwrap();
        gitea
            .state()
            .create_repo(&format!("vibn-{slug}"), "site", true)
            .unwrap();
        wss.push(Ws {
            slug,
            key: minted["token"].as_str().unwrap().to_string(),
            key_id: minted["id"].as_str().unwrap().to_string(),
            app: String::new(),
        });
    }
    let org_token = cli(&["org-tokens", "mint", "--name", "bench"], &[])
        .trim()
        .to_string();
    env.push(("VIBN_RATE_LIMIT", "1000000".into()));
    env.push(("VIBN_RATE_BURST", "1000000".into()));
    let (mut a, base_a) = serve(&bin, &env).await;
    let (mut b, base_b) = serve(&bin, &env).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    for ws in &mut wss {
        let r: Value = http
            .post(format!("{base_a}/api/workspaces/{}/apps", ws.slug))
            .bearer_auth(&ws.key)
            .json(&json!({"repo": "site", "instant_deploy": false}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ws.app = r["name"]
            .as_str()
            .unwrap_or_else(|| panic!("apps_create: {r}"))
            .to_string();
    }
    let wss = Arc::new(wss);

    println!(
        "vibn serve load: {clients} clients, {workspaces} workspaces, 2 replicas on one {backend} keystore, {secs}s, bin {}",
        bin.display()
    );
    let cross = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, wss, cross, failures) =
            (http.clone(), wss.clone(), cross.clone(), failures.clone());
        let base = if c % 2 == 0 {
            base_a.clone()
        } else {
            base_b.clone()
        };
        tasks.push(tokio::spawn(async move {
            let ws = &wss[c % wss.len()];
            let mut lat: HashMap<&'static str, Vec<Duration>> = HashMap::new();
            let mut n = c;
            while Instant::now() < deadline {
                n += 1;
                let t = Instant::now();
                let (endpoint, ok, own) = match n % 3 {
                    0 => {
                        let r = mcp_apps_list(&http, &base, &ws.key, n).await;
                        let own = r.as_ref().map(|apps| apps == &vec![ws.app.clone()]);
                        ("mcp apps_list", r.is_some(), own.unwrap_or(true))
                    }
                    1 => {
                        let r = rest(
                            &http,
                            &format!("{base}/api/workspaces/{}/apps", ws.slug),
                            &ws.key,
                        )
                        .await;
                        let apps = r.as_ref().map(|v| names(&v["apps"]));
                        (
                            "rest apps",
                            r.is_some(),
                            apps.map(|a| a == vec![ws.app.clone()]).unwrap_or(true),
                        )
                    }
                    _ => {
                        let r = rest(
                            &http,
                            &format!("{base}/api/workspaces/{}", ws.slug),
                            &ws.key,
                        )
                        .await;
                        let own = r.as_ref().map(|v| v["slug"] == ws.slug.as_str());
                        ("rest describe", r.is_some(), own.unwrap_or(true))
                    }
                };
                lat.entry(endpoint).or_default().push(t.elapsed());
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                if !own {
                    cross.fetch_add(1, Ordering::Relaxed);
                }
            }
            lat
        }));
    }
    let mut all: HashMap<&'static str, Vec<Duration>> = HashMap::new();
    for t in tasks {
        for (k, v) in t.await.unwrap() {
            all.entry(k).or_default().extend(v);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{:<16} {:>10} {:>10} {:>9} {:>9}",
        "endpoint", "requests", "req/s", "p50 ms", "p99 ms"
    );
    let mut keys: Vec<_> = all.keys().copied().collect();
    keys.sort_unstable();
    let endpoints: Vec<Value> = keys
        .into_iter()
        .map(|k| print_row(k, all.get_mut(k).unwrap(), elapsed))
        .collect();
    let mut everything: Vec<Duration> = all.values().flatten().copied().collect();
    let overall = print_row("all", &mut everything, elapsed);
    let cross = cross.load(Ordering::Relaxed);
    let failures = failures.load(Ordering::Relaxed);
    println!("cross-tenant results: {cross}; failed requests: {failures}");

    // Revocation through replica A, seen by replica B on its next request.
    let victim = &wss[0];
    let before = rest_status(
        &http,
        &format!("{base_b}/api/workspaces/{}/apps", victim.slug),
        &victim.key,
    )
    .await;
    let revoked = http
        .delete(format!(
            "{base_a}/api/workspaces/{}/keys/{}",
            victim.slug, victim.key_id
        ))
        .bearer_auth(&org_token)
        .send()
        .await
        .unwrap()
        .status();
    let t = Instant::now();
    let after = rest_status(
        &http,
        &format!("{base_b}/api/workspaces/{}/apps", victim.slug),
        &victim.key,
    )
    .await;
    let after_mcp = mcp_status(&http, &base_b, &victim.key).await;
    let revocation_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "revocation: key of {} revoked on replica A ({revoked}); replica B before {before}, next REST {after}, next MCP {after_mcp} ({:.1} ms after)",
        victim.slug, revocation_ms
    );
    let revocation_seen = before == 200 && after == 401 && after_mcp == 401;
    let _ = a.start_kill();
    let _ = b.start_kill();

    // The same apps_list over stdio, one server process per workspace key.
    let stdio = stdio_load(&bin, &env, &wss[1..], clients, secs.min(5)).await;
    let mut stdio = stdio;
    println!("stdio (vibn mcp control-plane, one process per workspace, rmcp client):");
    let stdio = print_row("stdio apps_list", &mut stdio.0, stdio.1);
    // One line for scripts/serve-load (and scripts/bench) to read.
    let summary = json!({
        "backend": backend, "clients": clients, "workspaces": workspaces, "secs": secs,
        "replicas": 2, "endpoints": endpoints, "all": overall, "stdio": stdio,
        "cross_tenant": cross, "failures": failures,
        "revocation_seen": revocation_seen, "revocation_ms": revocation_ms,
    });
    println!("serve_load json: {summary}");

    if cross > 0 || !revocation_seen {
        eprintln!("serve_load: FAILED (cross-tenant {cross}, revocation seen {revocation_seen})");
        std::process::exit(1);
    }
}

/// Prints one endpoint's row and returns it as JSON.
fn print_row(name: &str, v: &mut [Duration], elapsed: f64) -> Value {
    v.sort_unstable();
    let pct = |p: f64| {
        v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let (req_per_s, p50, p99) = (v.len() as f64 / elapsed, pct(0.50), pct(0.99));
    println!(
        "{:<16} {:>10} {:>10.0} {:>9.2} {:>9.2}",
        name,
        v.len(),
        req_per_s,
        p50,
        p99
    );
    json!({"endpoint": name, "requests": v.len(), "req_per_s": req_per_s, "p50_ms": p50, "p99_ms": p99})
}

async fn serve(bin: &PathBuf, env: &[(&str, String)]) -> (Child, String) {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next_line().await.unwrap().expect("vibn serve exited");
        if let Some(addr) = line.strip_prefix("vibn serve listening on ") {
            break addr.trim().to_string();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

fn names(apps: &Value) -> Vec<String> {
    apps.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn rest(http: &reqwest::Client, url: &str, key: &str) -> Option<Value> {
    let r = http.get(url).bearer_auth(key).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

async fn rest_status(http: &reqwest::Client, url: &str, key: &str) -> u16 {
    http.get(url)
        .bearer_auth(key)
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

fn modern_call(id: usize) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
        "name": "apps_list", "arguments": {},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}}}})
}

async fn mcp_post(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    id: usize,
) -> Option<(u16, String)> {
    let r = http
        .post(format!("{base}/mcp"))
        .bearer_auth(key)
        .header("Accept", "application/json, text/event-stream")
        .header("Content-Type", "application/json")
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", "tools/call")
        .header("Mcp-Name", "apps_list")
        .body(modern_call(id).to_string())
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.text().await.ok()?))
}

/// The app names of an MCP apps_list answer (`None` on any failure).
async fn mcp_apps_list(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    id: usize,
) -> Option<Vec<String>> {
    let (status, text) = mcp_post(http, base, key, id).await?;
    if status != 200 {
        return None;
    }
    let message: Value = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|m| m.get("id").is_some())
        .or_else(|| serde_json::from_str(&text).ok())?;
    let result = &message["result"];
    if result["isError"] == json!(true) {
        return None;
    }
    Some(names(&result["structuredContent"]["apps"]))
}

async fn mcp_status(http: &reqwest::Client, base: &str, key: &str) -> u16 {
    mcp_post(http, base, key, 1).await.map_or(0, |(s, _)| s)
}

/// `apps_list` over stdio from `clients` concurrent callers spread over one
/// `vibn mcp control-plane` per workspace, for `secs`: latencies and elapsed seconds.
async fn stdio_load(
    bin: &PathBuf,
    env: &[(&str, String)],
    wss: &[Ws],
    clients: usize,
    secs: u64,
) -> (Vec<Duration>, f64) {
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::TokioChildProcess;
    let mut servers = Vec::new();
    for ws in wss {
        let mut cmd = Command::new(bin);
        cmd.env_clear().args(["mcp", "control-plane"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.env("VIBN_API_KEY", &ws.key);
        let transport = TokioChildProcess::builder(cmd)
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
            .0;
        servers.push((Arc::new(().serve(transport).await.unwrap()), ws.app.clone()));
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, app) = servers[c % servers.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = client
                    .call_tool(CallToolRequestParams::new("apps_list"))
                    .await
                    .unwrap();
                lat.push(t.elapsed());
                let apps = r
                    .structured_content
                    .map(|s| names(&s["apps"]))
                    .unwrap_or_default();
                assert_eq!(apps, vec![app.clone()], "stdio apps_list");
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all, started.elapsed().as_secs_f64())
}

//! Sandbox benchmark: what confining a command costs. `execute_command{echo hi}`
//! through the workspace API, sandboxed (`vibn sandbox-exec`: namespaces, a fresh
//! /proc, Landlock) and unconfined (`--exec-sandbox off`), interleaved in one run,
//! beside the anchor of a bare `sh -c 'echo hi'` spawn.
//!
//! Run with `cargo bench --bench exec` (the sandbox helper is the bench profile's
//! `vibn` binary). Prints p50/p90 in milliseconds; nothing is asserted.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use serde_json::json;
use vibn::api::caller::Caller;
use vibn::api::workspace_api::WorkspaceApi;
use vibn::config::WorkspaceConfig;
use vibn::policy::protected::ProtectedList;
use vibn::sandbox_exec::{ExecMode, ExecPolicy};

const RUNS: usize = 100;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

fn api(root: &std::path::Path, exec: ExecPolicy) -> WorkspaceApi {
    let mut config = WorkspaceConfig::new(root, None, ProtectedList::empty()).unwrap();
    config.exec = exec;
    WorkspaceApi::open(config).unwrap()
}

async fn echo(api: &WorkspaceApi) -> f64 {
    let params = serde_json::from_value(json!({"command": "echo hi"})).unwrap();
    let t = Instant::now();
    let out = api
        .execute_command(&Caller::operator("workspace", "execute_command"), params)
        .await
        .unwrap();
    assert_eq!(out.stdout, "hi\n");
    t.elapsed().as_secs_f64() * 1e3
}

async fn bare_spawn() -> f64 {
    let t = Instant::now();
    let out = tokio::process::Command::new("/bin/sh")
        .args(["-c", "echo hi"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.stdout, b"hi\n");
    t.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let sandboxed = api(
        dir.path(),
        ExecPolicy::sandboxed(env!("CARGO_BIN_EXE_vibn")),
    );
    let unconfined = api(
        dir.path(),
        ExecPolicy {
            mode: ExecMode::Off,
            ..ExecPolicy::default()
        },
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut bare, mut off, mut on) = (Vec::new(), Vec::new(), Vec::new());
    runtime.block_on(async {
        for _ in 0..10 {
            echo(&sandboxed).await;
            echo(&unconfined).await;
        }
        for _ in 0..RUNS {
            bare.push(bare_spawn().await);
            off.push(echo(&unconfined).await);
            on.push(echo(&sandboxed).await);
        }
    });
    for samples in [&mut bare, &mut off, &mut on] {
        samples.sort_by(f64::total_cmp);
    }
    println!("execute_command {{echo hi}}, {RUNS} interleaved runs (ms)");
    println!("| run | p50 | p90 |");
    println!("|---|---|---|");
    for (name, s) in [
        ("bare sh -c spawn (anchor)", &bare),
        ("execute_command, --exec-sandbox off", &off),
        ("execute_command, sandboxed", &on),
    ] {
        println!(
            "| {name} | {:.2} | {:.2} |",
            percentile(s, 50.0),
            percentile(s, 90.0)
        );
    }
    println!(
        "sandbox cost at p50: +{:.2} ms over unconfined ({:.1}x the bare spawn)",
        percentile(&on, 50.0) - percentile(&off, 50.0),
        percentile(&on, 50.0) / percentile(&bare, 50.0)
    );
}

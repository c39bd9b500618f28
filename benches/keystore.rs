//! Keystore benchmark: workspace-key validation latency and mint throughput on a real
//! SQLite file, beside an anchor measured in the same run (a bare SQLite point lookup by
//! primary key on the same file), so the figures can be read as ratios.
//!
//! The validation is measured on the SQLite backend directly and through the async
//! `Keystore` façade servers use (the blocking-pool hop included).
//!
//! Run with `cargo bench --bench keystore`. Prints a table; nothing is asserted.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use vibn::keystore::tokens::{self, TokenKind};
use vibn::keystore::{Keystore, Store};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

fn time_each(n: usize, mut f: impl FnMut()) -> Vec<f64> {
    let mut samples: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench/keystore.db");
    let store = Store::open(&path).unwrap();
    let ws = store.create_workspace("bench@example.com", None).unwrap();
    // A realistic table: many keys, some revoked.
    let mut tokens = Vec::new();
    for i in 0..2000 {
        let k = store
            .mint_workspace_key(&ws.slug, &format!("k{i}"), None, "cli")
            .unwrap();
        if i % 10 == 0 {
            store.revoke_workspace_key(&ws.slug, &k.record.id).unwrap();
        } else {
            tokens.push(k.token.expose_secret().to_string());
        }
    }
    let n = 20_000;
    // Warm up the page cache and prepared statements.
    for t in tokens.iter().take(500) {
        store.validate_workspace_key(t, None).unwrap().unwrap();
    }
    let mut i = 0;
    let validate = time_each(n, || {
        let t = &tokens[i % tokens.len()];
        i += 1;
        assert!(
            store
                .validate_workspace_key(t, Some(&ws.slug))
                .unwrap()
                .is_some()
        );
    });
    // Well-formed (checksum-valid) keys that are not in the table: a full lookup.
    let unknown: Vec<String> = (0..1000)
        .map(|_| {
            tokens::mint(TokenKind::WorkspaceKey)
                .token
                .expose_secret()
                .to_string()
        })
        .collect();
    let mut j = 0;
    let rejected = time_each(n, || {
        j += 1;
        assert!(
            store
                .validate_workspace_key(&unknown[j % unknown.len()], None)
                .unwrap()
                .is_none()
        );
    });
    let mut m = 0;
    let malformed = time_each(n, || {
        m += 1;
        let fake = format!("vibn_sk_{m:043}AAAAAA");
        assert!(store.validate_workspace_key(&fake, None).unwrap().is_none());
    });

    // Through the async façade servers use: the same validation on the blocking pool,
    // awaited from a tokio worker (what every tool call pays).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let facade = Keystore::from_store(Store::open(&path).unwrap());
    let via_facade = runtime.block_on(async {
        let mut samples = Vec::with_capacity(n);
        for i in 0..n {
            let t = Instant::now();
            let valid = facade
                .validate_workspace_key(&tokens[i % tokens.len()], Some(&ws.slug))
                .await
                .unwrap();
            samples.push(t.elapsed().as_secs_f64() * 1e6);
            assert!(valid.is_some());
        }
        samples.sort_by(f64::total_cmp);
        samples
    });

    // Anchor: a bare point lookup on the same file through a plain connection.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let ids: Vec<String> = {
        let mut stmt = conn.prepare("SELECT id FROM api_keys").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let mut stmt = conn
        .prepare_cached("SELECT hint FROM api_keys WHERE id = ?1")
        .unwrap();
    let mut k = 0;
    let anchor = time_each(n, || {
        let id = &ids[k % ids.len()];
        k += 1;
        let _: String = stmt.query_row([id], |r| r.get(0)).unwrap();
    });

    // Mint throughput for two seconds (each mint is one durable BEGIN IMMEDIATE commit).
    let start = Instant::now();
    let mut minted = 0u32;
    while start.elapsed() < Duration::from_secs(2) {
        store
            .mint_workspace_key(&ws.slug, &format!("m{minted}"), None, "cli")
            .unwrap();
        minted += 1;
    }
    let mints_per_s = f64::from(minted) / start.elapsed().as_secs_f64();

    let p50 = |s: &[f64]| percentile(s, 50.0);
    let p99 = |s: &[f64]| percentile(s, 99.0);
    println!(
        "keystore benchmark ({} keys in the table, {n} samples each)",
        tokens.len() + 200
    );
    println!(
        "{:<44} {:>9} {:>9} {:>10}",
        "measure", "p50 µs", "p99 µs", "vs anchor"
    );
    println!(
        "{:<44} {:>9.2} {:>9.2} {:>10}",
        "anchor: SQLite point lookup by primary key",
        p50(&anchor),
        p99(&anchor),
        "1.0x"
    );
    for (name, s) in [
        ("validate_workspace_key (valid key)", &validate),
        ("  … through the async façade (blocking pool)", &via_facade),
        ("validate_workspace_key (unknown key)", &rejected),
        ("validate_workspace_key (bad checksum)", &malformed),
    ] {
        println!(
            "{:<44} {:>9.2} {:>9.2} {:>9.1}x",
            name,
            p50(s),
            p99(s),
            p50(s) / p50(&anchor)
        );
    }
    println!(
        "mint_workspace_key: {mints_per_s:.0} mints/s (synchronous=FULL, one fsync'd commit each)"
    );
    println!("target (DESIGN §9): key validation ≤ 50 µs");
}

//! Link-time settings for the `vibn` binary.
//!
//! On Linux with glibc the binary is linked with packed relative relocations (DT_RELR,
//! binutils ≥ 2.38, glibc ≥ 2.36): a position-independent binary keeps ASLR while its
//! relocation table shrinks from ~430 KB to ~5 KB, which the loader would otherwise read
//! in at every start (about 1.4 MB of peak RSS for an MCP server). Set
//! `VIBN_NO_PACKED_RELOCS=1` to link without it for an older toolchain.
//!
//! A release build on x86_64 Linux (where rustc links with its bundled lld) also lays out
//! its functions in the order of `link/startup.order`: the code a server runs to start,
//! answer `initialize` and `tools/list` and serve its first calls comes first, packed
//! together. The kernel maps a binary's pages 64 KB at a time around each one touched, so
//! start-up code scattered through 14 MB of text would otherwise pull in several MB of
//! pages it never runs. `scripts/startup-order` regenerates the list; a name the build no
//! longer has is skipped, so a stale list costs memory, never correctness. Set
//! `VIBN_NO_SYMBOL_ORDER=1` to link without it. A release build also writes the linker's map
//! to `target/release/vibn.map` (`VIBN_LINK_MAP=FILE` picks another place), which
//! `scripts/startup-order` reads to name the functions it saw run, and `scripts/bench` reads
//! to tell how much of the list this build still has. The names carry rustc's hashes, which
//! change when a dependency or a feature does: then the list needs regenerating.

#![allow(clippy::print_stdout, clippy::disallowed_methods)]

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/startup.order");
    println!("cargo:rerun-if-env-changed=VIBN_NO_PACKED_RELOCS");
    println!("cargo:rerun-if-env-changed=VIBN_NO_SYMBOL_ORDER");
    println!("cargo:rerun-if-env-changed=VIBN_LINK_MAP");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    let linux_gnu = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    if linux_gnu && !set("VIBN_NO_PACKED_RELOCS") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }

    // Only where rustc links with its own lld by default: GNU ld has no ordering option.
    let own_lld = var("TARGET") == "x86_64-unknown-linux-gnu"
        && !var("CARGO_ENCODED_RUSTFLAGS").contains("linker-features")
        && !var("CARGO_ENCODED_RUSTFLAGS").contains("fuse-ld");
    if !own_lld {
        return;
    }
    let release = var("PROFILE") == "release";
    let mut map = var("VIBN_LINK_MAP");
    if map.is_empty() && release {
        // OUT_DIR is <target>/release/build/vibn-<hash>/out.
        if let Some(dir) = Path::new(&var("OUT_DIR")).ancestors().nth(3) {
            map = dir.join("vibn.map").display().to_string();
        }
    }
    if !map.is_empty() {
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map}");
    }
    let order = Path::new(&var("CARGO_MANIFEST_DIR")).join("link/startup.order");
    if release && order.is_file() && !set("VIBN_NO_SYMBOL_ORDER") {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

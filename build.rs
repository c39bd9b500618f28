//! Link-time settings for the `vibn` binary.
//!
//! On Linux with glibc the binary is linked with packed relative relocations (DT_RELR,
//! binutils ≥ 2.38, glibc ≥ 2.36): a position-independent binary keeps ASLR while its
//! relocation table shrinks from ~430 KB to ~5 KB, which the loader would otherwise read
//! in at every start (about 1.4 MB of peak RSS for an MCP server). Set
//! `VIBN_NO_PACKED_RELOCS=1` to link without it for an older toolchain.

#![allow(clippy::print_stdout, clippy::disallowed_methods)]

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=VIBN_NO_PACKED_RELOCS");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let opted_out = std::env::var_os("VIBN_NO_PACKED_RELOCS").is_some_and(|v| v != "0");
    if os == "linux" && env == "gnu" && !opted_out {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

//! `vibn sandbox …`: the local stand-ins live in their own binary, `vibn-sandbox`, so
//! none of their code is linked into `vibn`. This runs the `vibn-sandbox` found next to
//! the running `vibn` (where `cargo build --workspace` and `cargo install` both place
//! it) with the same arguments; without one it says how to get it.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::output;

/// The stand-ins' binary.
pub const SANDBOX_BINARY: &str = "vibn-sandbox";

/// `vibn sandbox up` (see `sandbox_up`), or: replace this process with
/// `vibn-sandbox ARGS`; returns only when that fails.
pub fn run(args: Vec<OsString>) -> ExitCode {
    if args.first().is_some_and(|a| a == "up") {
        return super::sandbox_up::run(&args[1..]);
    }
    let Some(binary) = find_binary() else {
        output::error(&format!(
            "vibn sandbox needs the {SANDBOX_BINARY} binary next to vibn; build it \
             with `cargo build --release -p vibn-sandbox` (it is not part of vibn itself)"
        ));
        return ExitCode::from(2);
    };
    let error = std::process::Command::new(&binary).args(args).exec();
    output::error(&format!("cannot run {}: {error}", binary.display()));
    ExitCode::from(2)
}

/// `vibn-sandbox` beside the running binary.
pub fn find_binary() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(SANDBOX_BINARY)))
        .filter(|p| p.is_file())
}

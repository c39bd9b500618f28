//! `vibn doctor`: run every check of `api::doctor` and print one line per check (or the
//! report as JSON); exit 1 when one failed.

use std::process::ExitCode;

use crate::api::doctor::{self, Check, Status};
use crate::args::DoctorArgs;
use crate::config::DoctorConfig;

use super::output;

/// Run `vibn doctor`.
pub fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let config = DoctorConfig::resolve(&args);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(doctor::run(&config));
    if args.json {
        output::json(&report);
    } else {
        for check in &report.checks {
            output::line(&line(check));
        }
    }
    Ok(if report.healthy() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `ok    keystore        /path (…)`, with `— fix: …` when there is a remedy.
fn line(check: &Check) -> String {
    let status = match check.status {
        Status::Ok => "ok",
        Status::Warn => "warn",
        Status::Fail => "FAIL",
        Status::Skip => "skip",
    };
    let mut line = format!("{status:<5} {:<15} {}", check.name, check.detail);
    if let Some(remedy) = &check.remedy {
        line.push_str(" — fix: ");
        line.push_str(remedy);
    }
    line
}

//! `vibn sandbox …`: start a local stand-in in the foreground and print, one per line as
//! `KEY=value`, the environment that points vibn at it.

use std::process::ExitCode;

use rand::distr::{Alphanumeric, SampleString};

use crate::cli::args::{GitHttpArgs, SandboxCommand};
use crate::cli::output;
use crate::sandbox::git_http::{self, GitHttpState};

/// Run a sandbox subcommand until interrupted.
pub fn run(which: SandboxCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match which {
        SandboxCommand::GitHttp(args) => runtime.block_on(git_http_main(args)),
        SandboxCommand::Gitea(_) => fail("vibn sandbox gitea is not built yet"),
    }
}

async fn git_http_main(args: GitHttpArgs) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(&args.repos) {
        return fail(&format!("cannot create {}: {e}", args.repos.display()));
    }
    let token = Alphanumeric.sample_string(&mut rand::rng(), 40);
    let state = GitHttpState::new(&args.repos, &args.username, &token);
    for full_name in &args.create {
        if let Err(e) = state.create_repo(full_name) {
            return fail(&format!("cannot create repository {full_name}: {e}"));
        }
    }
    let addr = match git_http::spawn(state, args.port).await {
        Ok(addr) => addr,
        Err(e) => return fail(&format!("cannot listen on 127.0.0.1:{}: {e}", args.port)),
    };
    print_env(&[
        ("GITEA_API_URL", format!("http://{addr}")),
        ("GITEA_USERNAME", args.username.clone()),
        ("GITEA_API_TOKEN", token),
    ]);
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}

/// The sandbox's one output: `KEY=value` lines on stdout, flushed at once.
fn print_env(pairs: &[(&str, String)]) {
    for (key, value) in pairs {
        output::line(&format!("{key}={value}"));
    }
}

fn fail(message: &str) -> ExitCode {
    output::error(message);
    ExitCode::from(2)
}

//! `vibn-sandbox …` (also reached as `vibn sandbox …`): start a local stand-in in the
//! foreground and print, one per line as `KEY=value`, the environment that points vibn
//! at it. Values are shell-quoted where needed (a Coolify token is `1|…`), so every line
//! is safe to `eval` or source. Errors go to stderr; the process runs until Ctrl-C or
//! SIGTERM.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use rand::distr::{Alphanumeric, SampleString};

use vibn_sandbox::coolify::CoolifySandbox;
use vibn_sandbox::git_http::{self, GitHttpState};
use vibn_sandbox::gitea::GiteaSandbox;
use vibn_sandbox::google::GoogleSandbox;
use vibn_sandbox::opensrs::{Mode, OpenSrsSandbox};
use vibn_sandbox::runner::RunnerSandbox;
use vibn_sandbox::search::SearchSandbox;

/// vibn-sandbox: local stand-ins for vibn's upstream services, for tests and demos.
#[derive(Debug, Parser)]
#[command(name = "vibn-sandbox", version, about, long_about = None)]
struct Cli {
    /// Which stand-in.
    #[command(subcommand)]
    which: SandboxCommand,
}

/// Local stand-ins for upstream services.
#[derive(Debug, Subcommand)]
enum SandboxCommand {
    /// A git smart-HTTP server with Basic auth over bare repositories in a folder.
    GitHttp(GitHttpArgs),
    /// An in-memory Gitea stand-in (REST API and git over HTTP); prints GITEA_* lines.
    Gitea(GiteaSandboxArgs),
    /// An in-memory Coolify stand-in; prints COOLIFY_* lines.
    Coolify(CoolifySandboxArgs),
    /// A SearXNG-style search stand-in (also Brave's API shape); prints VIBN_SEARXNG_URL.
    Search(PortArgs),
    /// An agent runner stand-in; prints AGENT_RUNNER_URL.
    Runner(PortArgs),
    /// An OpenSRS XCP stand-in; prints OPENSRS_USERNAME, OPENSRS_KEY, OPENSRS_ENV.
    Opensrs(OpenSrsArgs),
    /// A Google Cloud stand-in (OAuth token endpoint, Cloud DNS, IAM, Cloud Storage);
    /// writes a service-account key file and prints GOOGLE_APPLICATION_CREDENTIALS,
    /// GCP_PROJECT, VIBN_GOOGLE_API_URL.
    Google(GoogleArgs),
    /// Gitea, Coolify, search, the runner, OpenSRS and Google together in one process
    /// (what `vibn sandbox up` starts); prints every one's lines, then
    /// `VIBN_SANDBOX_READY=1`.
    All(AllArgs),
}

/// Flags of `vibn-sandbox all`.
#[derive(Debug, Clone, Args)]
struct AllArgs {
    /// Gitea's public base (`ROOT_URL`) written into clone URLs; Coolify refuses git URLs
    /// on an IP address or localhost, so apps need a host name here.
    #[arg(long, value_name = "URL", default_value = "https://git.vibn.test")]
    gitea_root_url: String,
}

/// A port on 127.0.0.1.
#[derive(Debug, Clone, Args)]
struct PortArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

/// Flags of `vibn-sandbox google`.
#[derive(Debug, Clone, Args)]
struct GoogleArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Folder for `service-account.json` (default: a new temporary folder, removed on
    /// exit).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Flags of `vibn-sandbox opensrs`.
#[derive(Debug, Clone, Args)]
struct OpenSrsArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Behave as production (`live`) or as Horizon, the test environment (`test`: only
    /// its own nameservers are accepted).
    #[arg(long, value_name = "live|test", default_value = "live", value_parser = parse_mode)]
    mode: Mode,
}

fn parse_mode(raw: &str) -> Result<Mode, String> {
    match raw {
        "live" => Ok(Mode::Live),
        "test" => Ok(Mode::Test),
        other => Err(format!("expected live or test, got {other:?}")),
    }
}

/// Flags of `vibn-sandbox coolify`.
#[derive(Debug, Clone, Args)]
struct CoolifySandboxArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

/// Flags of `vibn-sandbox gitea`.
#[derive(Debug, Clone, Args)]
struct GiteaSandboxArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Folder for the bare repositories (default: a new temporary folder).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Repositories to create at start, as `owner/name` (the owner is created as an org
    /// when missing; repeatable).
    #[arg(long = "create", value_name = "OWNER/NAME")]
    create: Vec<String>,
}

/// Flags of `vibn-sandbox git-http`.
#[derive(Debug, Clone, Args)]
struct GitHttpArgs {
    /// Folder holding `owner/name.git` bare repositories (created when missing).
    #[arg(long, value_name = "DIR")]
    repos: PathBuf,
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// User that may push.
    #[arg(long, default_value = "sandbox-bot")]
    username: String,
    /// Repositories to create at start, as `owner/name` (repeatable).
    #[arg(long = "create", value_name = "OWNER/NAME")]
    create: Vec<String>,
}

fn main() -> ExitCode {
    run(Cli::parse().which)
}

/// Run a sandbox subcommand until interrupted.
fn run(which: SandboxCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match which {
        SandboxCommand::GitHttp(args) => runtime.block_on(git_http_main(args)),
        SandboxCommand::Gitea(args) => runtime.block_on(gitea_main(args)),
        SandboxCommand::Coolify(args) => runtime.block_on(coolify_main(args)),
        SandboxCommand::Search(args) => runtime.block_on(search_main(args)),
        SandboxCommand::Runner(args) => runtime.block_on(runner_main(args)),
        SandboxCommand::Opensrs(args) => runtime.block_on(opensrs_main(args)),
        SandboxCommand::Google(args) => runtime.block_on(google_main(args)),
        SandboxCommand::All(args) => runtime.block_on(all_main(args)),
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
    if let Err(e) = print_env(&[
        ("GITEA_API_URL", format!("http://{addr}")),
        ("GITEA_USERNAME", args.username.clone()),
        ("GITEA_API_TOKEN", token),
    ]) {
        return fail(&e);
    }
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}

/// `vibn sandbox gitea`: the Gitea stand-in in the foreground until Ctrl-C. Repositories
/// go under `--data` (default: a fresh temporary folder, removed on exit); `--create
/// owner/name` makes each repository with a README commit on `main`, creating the owner
/// as an org of the seeded admin when missing.
async fn gitea_main(args: GiteaSandboxArgs) -> ExitCode {
    let (data, temporary) = match &args.data {
        Some(dir) => (dir.clone(), false),
        None => {
            let name = Alphanumeric
                .sample_string(&mut rand::rng(), 12)
                .to_ascii_lowercase();
            (
                std::env::temp_dir().join(format!("vibn-gitea-{name}")),
                true,
            )
        }
    };
    let cleanup = || {
        if temporary {
            let _ = std::fs::remove_dir_all(&data);
        }
    };
    let sandbox = match GiteaSandbox::start(&data, args.port).await {
        Ok(s) => s,
        Err(e) => {
            cleanup();
            return fail(&format!(
                "cannot start the Gitea sandbox on 127.0.0.1:{} with data in {}: {e}",
                args.port,
                data.display()
            ));
        }
    };
    let state = sandbox.state();
    for full_name in &args.create {
        let parts = full_name
            .split_once('/')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'));
        let Some((owner, name)) = parts else {
            drop(sandbox);
            cleanup();
            return fail(&format!("--create expects owner/name, got {full_name:?}"));
        };
        let made = match state.find_account(owner) {
            Some(_) => Ok(()),
            None => state
                .try_create_org(owner, &sandbox.admin_login())
                .map(|_| ()),
        }
        .and_then(|()| {
            state
                .create_repo(owner, name, true)
                .map_err(|e| e.to_string())
        });
        if let Err(e) = made {
            drop(sandbox);
            cleanup();
            return fail(&format!("cannot create repository {full_name}: {e}"));
        }
    }
    if let Err(e) = print_env(&[
        ("GITEA_API_URL", sandbox.api_url()),
        ("GITEA_USERNAME", sandbox.admin_login()),
        ("GITEA_API_TOKEN", sandbox.admin_token()),
        ("GITEA_ADMIN_PASSWORD", sandbox.admin_password()),
    ]) {
        drop(sandbox);
        cleanup();
        return fail(&e);
    }
    interrupted().await;
    drop(sandbox);
    cleanup();
    ExitCode::SUCCESS
}

async fn coolify_main(args: CoolifySandboxArgs) -> ExitCode {
    let sandbox = match CoolifySandbox::start(args.port).await {
        Ok(s) => s,
        Err(e) => {
            return fail(&format!(
                "cannot start the Coolify sandbox on 127.0.0.1:{}: {e}",
                args.port
            ));
        }
    };
    if let Err(e) = print_env(&[
        ("COOLIFY_API_URL", sandbox.api_url()),
        ("COOLIFY_API_TOKEN", sandbox.root_token()),
    ]) {
        return fail(&e);
    }
    interrupted().await;
    ExitCode::SUCCESS
}

async fn search_main(args: PortArgs) -> ExitCode {
    let sandbox = match SearchSandbox::start(args.port).await {
        Ok(s) => s,
        Err(e) => {
            return fail(&format!(
                "cannot start the search sandbox on 127.0.0.1:{}: {e}",
                args.port
            ));
        }
    };
    if let Err(e) = print_env(&[
        ("VIBN_SEARXNG_URL", sandbox.base_url()),
        ("BRAVE_API_URL", sandbox.base_url()),
        ("BRAVE_API_KEY", sandbox.brave_key()),
    ]) {
        return fail(&e);
    }
    interrupted().await;
    ExitCode::SUCCESS
}

async fn runner_main(args: PortArgs) -> ExitCode {
    let sandbox = match RunnerSandbox::start(args.port).await {
        Ok(s) => s,
        Err(e) => {
            return fail(&format!(
                "cannot start the runner sandbox on 127.0.0.1:{}: {e}",
                args.port
            ));
        }
    };
    if let Err(e) = print_env(&[("AGENT_RUNNER_URL", sandbox.base_url())]) {
        return fail(&e);
    }
    interrupted().await;
    ExitCode::SUCCESS
}

/// `vibn sandbox opensrs`: the OpenSRS stand-in in the foreground until interrupted.
async fn opensrs_main(args: OpenSrsArgs) -> ExitCode {
    let sandbox = match OpenSrsSandbox::start(args.port).await {
        Ok(s) => s,
        Err(e) => {
            return fail(&format!(
                "cannot start the OpenSRS sandbox on 127.0.0.1:{}: {e}",
                args.port
            ));
        }
    };
    let mut settings = sandbox.state().settings();
    settings.mode = args.mode;
    sandbox.state().set_settings(settings);
    if let Err(e) = print_env(&opensrs_env(&sandbox)) {
        return fail(&e);
    }
    interrupted().await;
    ExitCode::SUCCESS
}

/// The lines that point vibn at an OpenSRS stand-in.
fn opensrs_env(sandbox: &OpenSrsSandbox) -> [(&'static str, String); 3] {
    [
        ("OPENSRS_USERNAME", sandbox.username()),
        ("OPENSRS_KEY", sandbox.key()),
        ("OPENSRS_ENV", sandbox.url()),
    ]
}

/// `vibn sandbox google`: the Google stand-in in the foreground until interrupted.
async fn google_main(args: GoogleArgs) -> ExitCode {
    let sandbox = match GoogleSandbox::start(args.port, args.dir.as_deref()).await {
        Ok(s) => s,
        Err(e) => {
            return fail(&format!(
                "cannot start the Google sandbox on 127.0.0.1:{}: {e}",
                args.port
            ));
        }
    };
    if let Err(e) = print_env(&google_env(&sandbox)) {
        return fail(&e);
    }
    interrupted().await;
    ExitCode::SUCCESS
}

/// The lines that point vibn at a Google stand-in.
fn google_env(sandbox: &GoogleSandbox) -> [(&'static str, String); 3] {
    [
        (
            "GOOGLE_APPLICATION_CREDENTIALS",
            sandbox.credentials_path().display().to_string(),
        ),
        ("GCP_PROJECT", sandbox.project_id()),
        ("VIBN_GOOGLE_API_URL", sandbox.api_url()),
    ]
}

/// Every stand-in vibn's servers use, in one process until interrupted; the Gitea data
/// folder is temporary and removed on exit.
async fn all_main(args: AllArgs) -> ExitCode {
    let name = Alphanumeric
        .sample_string(&mut rand::rng(), 12)
        .to_ascii_lowercase();
    let data = std::env::temp_dir().join(format!("vibn-gitea-{name}"));
    let cleanup = || {
        let _ = std::fs::remove_dir_all(&data);
    };
    let gitea = match GiteaSandbox::start(&data, 0).await {
        Ok(s) => s,
        Err(e) => {
            cleanup();
            return fail(&format!("cannot start the Gitea sandbox: {e}"));
        }
    };
    gitea.state().set_root_url(&args.gitea_root_url);
    let (coolify, search, runner, opensrs, google) = match tokio::try_join!(
        CoolifySandbox::start(0),
        SearchSandbox::start(0),
        RunnerSandbox::start(0),
        OpenSrsSandbox::start(0),
        GoogleSandbox::start(0, None),
    ) {
        Ok(started) => started,
        Err(e) => {
            drop(gitea);
            cleanup();
            return fail(&format!("cannot start the stand-ins: {e}"));
        }
    };
    let mut lines = vec![
        ("GITEA_API_URL", gitea.api_url()),
        ("GITEA_USERNAME", gitea.admin_login()),
        ("GITEA_API_TOKEN", gitea.admin_token()),
        ("GITEA_ADMIN_PASSWORD", gitea.admin_password()),
        ("COOLIFY_API_URL", coolify.api_url()),
        ("COOLIFY_API_TOKEN", coolify.root_token()),
        ("VIBN_SEARXNG_URL", search.base_url()),
        ("AGENT_RUNNER_URL", runner.base_url()),
    ];
    lines.extend(opensrs_env(&opensrs));
    lines.extend(google_env(&google));
    lines.push(("VIBN_SANDBOX_READY", "1".to_string()));
    let printed = print_env(&lines);
    if let Err(e) = printed {
        drop((gitea, coolify, search, runner, opensrs, google));
        cleanup();
        return fail(&e);
    }
    interrupted().await;
    drop((gitea, coolify, search, runner, opensrs, google));
    cleanup();
    ExitCode::SUCCESS
}

/// Ctrl-C, or SIGTERM (what `kill` and most scripts send), so the temporary data folder
/// is removed either way.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// The sandbox's one output: `KEY=value` lines on stdout, flushed at once, each value
/// quoted for a POSIX shell when it needs it. Nothing is printed when a value cannot be
/// quoted (a NUL byte), so a half-usable environment never reaches a script.
fn print_env(pairs: &[(&str, String)]) -> Result<(), String> {
    let lines = pairs
        .iter()
        .map(|(key, value)| env_line(key, value))
        .collect::<Result<Vec<_>, _>>()?;
    let mut stdout = std::io::stdout().lock();
    for line in lines {
        writeln!(stdout, "{line}").map_err(|e| format!("cannot print: {e}"))?;
    }
    stdout.flush().map_err(|e| format!("cannot print: {e}"))
}

/// `KEY=value` with `value` quoted so that `eval`ing the line sets exactly `value`.
fn env_line(key: &str, value: &str) -> Result<String, String> {
    shlex::try_quote(value)
        .map(|quoted| format!("{key}={quoted}"))
        .map_err(|e| format!("cannot print {key}: {e}"))
}

fn fail(message: &str) -> ExitCode {
    eprintln!("vibn-sandbox: {message}");
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines_quote_only_values_that_need_it() {
        assert_eq!(
            env_line("COOLIFY_API_URL", "http://127.0.0.1:4000/api/v1").unwrap(),
            "COOLIFY_API_URL=http://127.0.0.1:4000/api/v1"
        );
        assert_eq!(
            env_line("COOLIFY_API_TOKEN", "1|ab c").unwrap(),
            "COOLIFY_API_TOKEN='1|ab c'"
        );
        assert!(env_line("K", "a\0b").is_err());
    }
}

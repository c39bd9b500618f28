//! The `vibn` binary: parse → configure → dispatch → exit code. Nothing else.

mod libm_shim;

use std::process::ExitCode;

use clap::Parser;
use vibn::args::{Cli, Command, McpServer};
use vibn::{cli, config, logging, mcp};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Mcp { server } => run_mcp(server),
        Command::Call(args) => cli::call::run(args),
        Command::Demo => cli::demo::run(),
        Command::Doctor(args) => report(cli::doctor::run(args)),
        Command::Sandbox { args } => cli::sandbox::run(args),
        Command::SandboxExec(args) => vibn::sandbox_exec::helper::run(args.into()),
        Command::Workspace { action } => report(cli::admin::workspace(action)),
        Command::Keys { action } => report(cli::admin::keys(action)),
        Command::OrgTokens { action } => report(cli::admin::org_tokens(action)),
        Command::Secrets { action } => report(cli::admin::secrets(action)),
        Command::Audit(args) => report(cli::admin::audit(args)),
        Command::Schemas {
            action: vibn::args::SchemasAction::Export { dir, check },
        } => report(cli::schemas::export(&dir, check)),
        Command::Schemas {
            action: vibn::args::SchemasAction::Manifests { dir, check },
        } => report(cli::manifests::write(&dir, check)),
        Command::Schemas {
            action: vibn::args::SchemasAction::Size { tools, json },
        } => report(cli::schemas::size(tools, json)),
        Command::Setup(args) => report(cli::setup::run(args)),
        Command::Serve(args) => cli::serve::main(args),
    }
}

/// Exit code of a CLI command; errors print one line on stderr and exit 1.
fn report(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        cli::output::error(&format!("{e:#}"));
        ExitCode::from(1)
    })
}

/// Start one MCP server; start-up errors exit 2 with one line on stderr.
fn run_mcp(server: McpServer) -> ExitCode {
    limit_malloc_arenas();
    let common = server.common().clone();
    if let Err(e) = logging::init(&config::log_filter(&common), common.log_file.as_deref()) {
        return fail(&e);
    }
    let filter = config::ToolFilter::from_args(&common);
    let servable = match mcp::registry::start(&server, &filter) {
        Ok(servable) => servable,
        Err(e) => return fail(&e.to_string()),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(STDIO_BLOCKING_THREADS)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let served = runtime.block_on(async move { mcp::common::serve_stdio(servable).await });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("server stopped: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The stdio servers' blocking pool: stdin, stdout, the keystore's four connections and a
/// little room. Unbounded, a pipelined burst of keystore calls starts a thread per call (up
/// to 512, each with its own stack and allocator arena: 16 MB for 500 calls) while the
/// keystore still serves four at a time.
const STDIO_BLOCKING_THREADS: usize = 8;

/// glibc gives each new thread its own allocator arena, up to eight per core, and an arena's
/// freed pages stay resident; two arenas serve an MCP server's few threads with no measurable
/// contention and keep peak RSS down.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only sets an allocator parameter, and no other thread exists yet.
    unsafe {
        nix::libc::mallopt(nix::libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn fail(message: &str) -> ExitCode {
    cli::output::error(message);
    ExitCode::from(2)
}

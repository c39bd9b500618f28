//! The `vibn` binary: parse → configure → dispatch → exit code. Nothing else.

use std::process::ExitCode;

use clap::Parser;
use vibn::api::agent_api::AgentApi;
use vibn::api::coolify_api::CoolifyApi;
use vibn::api::gitea_api::GiteaApi;
use vibn::api::platform_api::PlatformApi;
use vibn::api::workspace_api::WorkspaceApi;
use vibn::args::{Cli, Command, McpServer};
use vibn::mcp::agent_server::AgentServer;
use vibn::mcp::coolify_server::CoolifyServer;
use vibn::mcp::gitea_server::GiteaServer;
use vibn::mcp::platform_server::PlatformServer;
use vibn::mcp::workspace_server::WorkspaceServer;
use vibn::{cli, config, logging, mcp};

/// A configured server, ready to serve.
enum Built {
    Workspace(WorkspaceServer),
    Gitea(GiteaServer),
    Coolify(CoolifyServer),
    Platform(PlatformServer),
    Agent(AgentServer),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Mcp { server } => run_mcp(server),
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
    }
}

/// Exit code of a CLI command; errors print one line on stderr and exit 1.
fn report(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        cli::output::error(&format!("{e:#}"));
        ExitCode::from(1)
    })
}

/// Start one MCP server; configuration errors exit 2 with one line on stderr.
fn run_mcp(server: McpServer) -> ExitCode {
    let common = server.common().clone();
    if let Err(e) = logging::init(&config::log_filter(&common), common.log_file.as_deref()) {
        return fail(&e);
    }
    let filter = config::ToolFilter::from_args(&common);
    let built = match &server {
        McpServer::Workspace(args) => config::WorkspaceConfig::resolve(args)
            .map_err(|e| e.to_string())
            .and_then(|cfg| WorkspaceApi::open(cfg).map_err(|e| e.to_string()))
            .and_then(|api| WorkspaceServer::new(api, &filter).map_err(|e| e.to_string()))
            .map(Built::Workspace),
        McpServer::Coolify(args) => config::CoolifyServerConfig::resolve(args)
            .map_err(|e| e.to_string())
            .and_then(|cfg| {
                CoolifyServer::new(CoolifyApi::new(cfg), &filter).map_err(|e| e.to_string())
            })
            .map(Built::Coolify),
        McpServer::Platform(args) => config::PlatformServerConfig::resolve(args)
            .map_err(|e| e.to_string())
            .and_then(|cfg| {
                PlatformServer::new(PlatformApi::new(cfg), &filter).map_err(|e| e.to_string())
            })
            .map(Built::Platform),
        McpServer::Agent(args) => config::AgentServerConfig::resolve(args)
            .map_err(|e| e.to_string())
            .and_then(|cfg| {
                AgentServer::new(AgentApi::new(cfg), &filter).map_err(|e| e.to_string())
            })
            .map(Built::Agent),
        McpServer::Gitea(args) => config::GiteaServerConfig::resolve(args)
            .map_err(|e| e.to_string())
            .and_then(|cfg| {
                GiteaServer::new(GiteaApi::new(cfg), &filter).map_err(|e| e.to_string())
            })
            .map(Built::Gitea),
        other => {
            return fail(&format!(
                "vibn mcp {} is not built yet; available: workspace, gitea, coolify, platform, agent",
                other.name()
            ));
        }
    };
    let server = match built {
        Ok(server) => server,
        Err(e) => return fail(&e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let served = runtime.block_on(async {
        match server {
            Built::Workspace(s) => mcp::common::serve_stdio(s).await,
            Built::Gitea(s) => mcp::common::serve_stdio(s).await,
            Built::Coolify(s) => mcp::common::serve_stdio(s).await,
            Built::Platform(s) => mcp::common::serve_stdio(s).await,
            Built::Agent(s) => mcp::common::serve_stdio(s).await,
        }
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("server stopped: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn fail(message: &str) -> ExitCode {
    cli::output::error(message);
    ExitCode::from(2)
}

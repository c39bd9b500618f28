//! The one list of vibn's MCP servers: name, summary, the environment each reads, its
//! tools and how to start it. Every entry point enumerates this list — `vibn mcp`
//! start-up, `vibn call`, `vibn schemas export`, the inventory tests — and later
//! `vibn serve`, `vibn setup` and the registry manifests; none keeps a list of its own.
//! A test checks clap's `vibn mcp` subcommands against it.

use super::agent_server::AgentServer;
use super::common::{Servable, UnknownTool};
use super::control_plane_server::ControlPlaneServer;
use super::coolify_server::CoolifyServer;
use super::gitea_server::GiteaServer;
use super::platform_server::PlatformServer;
use super::workspace_server::WorkspaceServer;
use crate::api::agent_api::AgentApi;
use crate::api::caller::Pinning;
use crate::api::control_plane_api::ControlPlaneApi;
use crate::api::coolify_api::CoolifyApi;
use crate::api::gitea_api::GiteaApi;
use crate::api::platform_api::PlatformApi;
use crate::api::workspace_api::WorkspaceApi;
use crate::args::McpServer;
use crate::config::{
    AgentServerConfig, ConfigError, ControlPlaneConfig, CoolifyServerConfig, GiteaServerConfig,
    PlatformServerConfig, ToolFilter, WorkspaceConfig,
};
use crate::env_vars as env;
use crate::error::ApiError;

/// Why `vibn mcp <server>` could not start (printed on one line; exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The flags or environment are unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `--tools` / `--exclude-tools` named a tool the server lacks.
    #[error(transparent)]
    UnknownTool(#[from] UnknownTool),
    /// Something the server opens at start (the workspace root) could not be opened.
    #[error("{}", .0.message())]
    Open(ApiError),
    /// A server the CLI knows but vibn does not build yet.
    #[error("vibn mcp {server} is not built yet; available: {available}")]
    NotBuilt {
        /// The server asked for.
        server: &'static str,
        /// The servers that are built.
        available: String,
    },
    /// The arguments parsed for one server were handed to another (a bug).
    #[error("vibn mcp {0}: arguments of another server")]
    WrongArguments(&'static str),
}

/// How to configure a server from its parsed arguments and tool filter.
pub type Start = fn(&McpServer, &ToolFilter) -> Result<Box<dyn Servable>, StartError>;

/// One MCP server vibn ships.
pub struct ServerEntry {
    /// `vibn mcp <name>`; serverInfo is `vibn-<name>`.
    pub name: &'static str,
    /// One line: what the server is for.
    pub summary: &'static str,
    /// The environment variables it reads (besides `RUST_LOG`).
    pub env: &'static [&'static str],
    /// Every tool as served without filters; empty while the server is not built.
    pub tools: fn() -> Vec<rmcp::model::Tool>,
    /// How to start it; `None` while it is not built.
    pub start: Option<Start>,
}

/// Variables every server reads (pinning, the keystore and the key its secrets are
/// sealed with, tool filtering).
const COMMON_ENV: [&str; 6] = [
    env::VIBN_API_KEY,
    env::VIBN_WORKSPACE,
    env::VIBN_KEYSTORE,
    env::VIBN_SECRETS_KEY,
    env::VIBN_READ_ONLY,
    env::VIBN_PROTECTED_REPOS,
];

/// Every server, in the order they are documented.
pub static SERVERS: [ServerEntry; 6] = [
    ServerEntry {
        name: "workspace",
        summary: "files, search, commands and git in one folder, commands sandboxed",
        env: &[
            env::WORKSPACE_ROOT,
            env::GITEA_API_URL,
            env::GITEA_USERNAME,
            env::GITEA_API_TOKEN,
            env::VIBN_EXEC_SANDBOX,
            env::VIBN_EXEC_NETWORK,
            env::VIBN_EXEC_WRITABLE,
        ],
        tools: WorkspaceServer::all_tools,
        start: Some(start_workspace),
    },
    ServerEntry {
        name: "gitea",
        summary: "repositories, issues and files on Gitea",
        env: &[
            env::GITEA_API_URL,
            env::GITEA_USERNAME,
            env::GITEA_API_TOKEN,
        ],
        tools: GiteaServer::all_tools,
        start: Some(start_gitea),
    },
    ServerEntry {
        name: "coolify",
        summary: "projects, applications, deploys and logs on Coolify",
        env: &[
            env::COOLIFY_API_URL,
            env::COOLIFY_API_TOKEN,
            env::VIBN_PROTECTED_APPS,
        ],
        tools: CoolifyServer::all_tools,
        start: Some(start_coolify),
    },
    ServerEntry {
        name: "platform",
        summary: "memory, skills, PRDs and web search",
        env: &[
            env::GITEA_API_URL,
            env::GITEA_USERNAME,
            env::GITEA_API_TOKEN,
            env::VIBN_SKILLS_DIR,
            env::VIBN_SKILLS_REPO,
            env::VIBN_SEARXNG_URL,
            env::BRAVE_API_KEY,
            env::BRAVE_API_URL,
            env::SESSION_KEY,
        ],
        tools: PlatformServer::all_tools,
        start: Some(start_platform),
    },
    ServerEntry {
        name: "agent",
        summary: "agent jobs on a runner: spawn, follow, list, cancel",
        env: &[env::AGENT_RUNNER_URL, env::AGENT_RUNNER_TOKEN],
        tools: AgentServer::all_tools,
        start: Some(start_agent),
    },
    ServerEntry {
        name: "control-plane",
        summary: "the tenant-safe control plane of one workspace (requires a workspace key)",
        env: &[
            env::COOLIFY_API_URL,
            env::COOLIFY_API_TOKEN,
            env::COOLIFY_SERVER_UUID,
            env::GITEA_API_URL,
            env::GITEA_USERNAME,
            env::GITEA_API_TOKEN,
            env::VIBN_BASE_DOMAIN,
        ],
        tools: ControlPlaneServer::all_tools,
        start: Some(start_control_plane),
    },
];

impl ServerEntry {
    /// Whether `vibn mcp <name>` starts a server yet.
    pub fn is_built(&self) -> bool {
        self.start.is_some()
    }

    /// The variables the server reads: its own and the ones every server reads.
    pub fn environment(&self) -> impl Iterator<Item = &'static str> {
        self.env.iter().copied().chain(COMMON_ENV)
    }
}

/// The entry named `name`.
pub fn find(name: &str) -> Option<&'static ServerEntry> {
    SERVERS.iter().find(|s| s.name == name)
}

/// The servers that start, in order.
pub fn built() -> impl Iterator<Item = &'static ServerEntry> {
    SERVERS.iter().filter(|s| s.is_built())
}

/// Configure the server `server` names, ready to serve (`common::serve_stdio`, or
/// `call::call_once` in process).
pub fn start(server: &McpServer, filter: &ToolFilter) -> Result<Box<dyn Servable>, StartError> {
    let entry = find(server.name()).ok_or(StartError::WrongArguments("unknown"))?;
    match entry.start {
        Some(start) => start(server, filter),
        None => Err(StartError::NotBuilt {
            server: entry.name,
            available: built().map(|s| s.name).collect::<Vec<_>>().join(", "),
        }),
    }
}

fn start_workspace(
    server: &McpServer,
    filter: &ToolFilter,
) -> Result<Box<dyn Servable>, StartError> {
    let McpServer::Workspace(args) = server else {
        return Err(StartError::WrongArguments("workspace"));
    };
    let config = WorkspaceConfig::resolve(args)?;
    let pinning = Pinning::from_config(&config.pin);
    let api = WorkspaceApi::open(config).map_err(StartError::Open)?;
    Ok(Box::new(WorkspaceServer::new(api, pinning, filter)?))
}

fn start_gitea(server: &McpServer, filter: &ToolFilter) -> Result<Box<dyn Servable>, StartError> {
    let McpServer::Gitea(args) = server else {
        return Err(StartError::WrongArguments("gitea"));
    };
    let config = GiteaServerConfig::resolve(args)?;
    let pinning = Pinning::from_config(&config.pin);
    let server = GiteaServer::new(GiteaApi::new(config), pinning, filter)?;
    Ok(Box::new(server))
}

fn start_coolify(server: &McpServer, filter: &ToolFilter) -> Result<Box<dyn Servable>, StartError> {
    let McpServer::Coolify(args) = server else {
        return Err(StartError::WrongArguments("coolify"));
    };
    let config = CoolifyServerConfig::resolve(args)?;
    let pinning = Pinning::from_config(&config.pin);
    let server = CoolifyServer::new(CoolifyApi::new(config), pinning, filter)?;
    Ok(Box::new(server))
}

fn start_platform(
    server: &McpServer,
    filter: &ToolFilter,
) -> Result<Box<dyn Servable>, StartError> {
    let McpServer::Platform(args) = server else {
        return Err(StartError::WrongArguments("platform"));
    };
    let config = PlatformServerConfig::resolve(args)?;
    let pinning = Pinning::from_config(&config.pin);
    let server = PlatformServer::new(PlatformApi::new(config), pinning, filter)?;
    Ok(Box::new(server))
}

fn start_agent(server: &McpServer, filter: &ToolFilter) -> Result<Box<dyn Servable>, StartError> {
    let McpServer::Agent(args) = server else {
        return Err(StartError::WrongArguments("agent"));
    };
    let config = AgentServerConfig::resolve(args)?;
    let pinning = Pinning::from_config(&config.pin);
    let server = AgentServer::new(AgentApi::new(config), pinning, filter)?;
    Ok(Box::new(server))
}

fn start_control_plane(
    server: &McpServer,
    filter: &ToolFilter,
) -> Result<Box<dyn Servable>, StartError> {
    let McpServer::ControlPlane(args) = server else {
        return Err(StartError::WrongArguments("control-plane"));
    };
    let config = ControlPlaneConfig::resolve(args)?;
    let pinning = Pinning::from_config(&config.pin);
    // Read on this thread before serving: on a thread of its own the read gained nothing
    // (it is longer than the rest of start-up) and cost 2 MB of RSS (the thread's stack and
    // malloc arena). The keystore opened for it stays open for the calls.
    let note = config
        .pin
        .api_key
        .as_ref()
        .and_then(|_| pinning.keystore_now())
        .and_then(|keystore| {
            crate::api::control_plane_api::pinned_workspace_note(&config, keystore.blocking_store())
        });
    let server = ControlPlaneServer::new(ControlPlaneApi::new(config), pinning, filter)?
        .with_workspace_note(note);
    Ok(Box::new(server))
}

//! MCP servers: one file per server, each a set of `#[tool]` wrappers that only
//! translate (params → `api` call → `Json` result or `isError`). Shared plumbing —
//! stdio serving, tool filtering, error conversion — lives in `common`.

pub mod agent_server;
pub mod common;
pub mod coolify_server;
pub mod gitea_server;
pub mod platform_server;
pub mod transport;
pub mod workspace_server;

/// Every built server with its tools as served (no filter), in a stable order.
pub fn inventory() -> Vec<(&'static str, Vec<rmcp::model::Tool>)> {
    vec![
        ("workspace", workspace_server::WorkspaceServer::all_tools()),
        ("gitea", gitea_server::GiteaServer::all_tools()),
        ("coolify", coolify_server::CoolifyServer::all_tools()),
        ("platform", platform_server::PlatformServer::all_tools()),
        ("agent", agent_server::AgentServer::all_tools()),
    ]
}

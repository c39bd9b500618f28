//! MCP servers: one file per server, each a set of `#[tool]` wrappers that only
//! translate (params → `api` call → `Json` result or `isError`). Shared plumbing —
//! stdio serving, tool filtering, error conversion, the `Caller` of each call — lives in
//! `common`; the one list of servers is `registry`.

pub mod agent_server;
pub mod call;
pub mod common;
pub mod control_plane_server;
pub mod coolify_server;
pub mod gitea_server;
pub mod platform_server;
pub mod registry;
pub mod transport;
pub mod workspace_server;

/// Every built server with its tools as served (no filter), in the registry's order.
pub fn inventory() -> Vec<(&'static str, Vec<rmcp::model::Tool>)> {
    registry::built().map(|s| (s.name, (s.tools)())).collect()
}

//! MCP servers: one file per server, each a set of `#[tool]` wrappers that only
//! translate (params → `api` call → `Json` result or `isError`). Shared plumbing —
//! stdio serving, tool filtering, error conversion — lives in `common`.

pub mod agent_server;
pub mod common;
pub mod coolify_server;
pub mod gitea_server;
pub mod platform_server;
pub mod workspace_server;

//! The `*_api` layer: typed params in, typed result or `ApiError` out. Every guard is
//! enforced here (by calling `policy/`), so the MCP wrappers and `vibn call` share them.
//! May import `policy`, `config`, `error`, `redact` and (later) `clients`, `keystore`;
//! never `mcp`.

pub mod agent_api;
pub mod caller;
pub mod control_plane_api;
pub mod coolify_api;
pub mod de;
pub mod doctor;
pub mod gitea_api;
pub mod limits;
pub mod paging;
pub mod platform_api;
pub mod provision;
pub mod text;
pub mod workspace_api;

/// Reports progress of a long call: a step number and a message. The MCP layer turns it
/// into progress notifications when the request carried a progress token. The report is
/// awaited so each notification is sent before the call's result (a client drops
/// progress for a request that has already finished).
pub type Progress =
    std::sync::Arc<dyn Fn(u32, String) -> futures::future::BoxFuture<'static, ()> + Send + Sync>;

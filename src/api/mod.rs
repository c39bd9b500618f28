//! The `*_api` layer: typed params in, typed result or `ApiError` out. Every guard is
//! enforced here (by calling `policy/`), so the MCP wrappers and `vibn call` share them.
//! May import `policy`, `config`, `error`, `redact` and (later) `clients`, `keystore`;
//! never `mcp`.

pub mod de;
pub mod gitea_api;
pub mod pin;
pub mod text;
pub mod workspace_api;

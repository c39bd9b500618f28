//! `/mcp`: the control-plane MCP server over Streamable HTTP through rmcp's
//! `StreamableHttpService`, both protocol eras — 2026-07-28 always stateless, the
//! 2025-11-25 era (`initialize`) in sessions kept by rmcp's `LocalSessionManager`. rmcp
//! puts each POST's HTTP parts (with the `RequestKey` `auth::authenticate` validated for
//! that very request) into the MCP request's extensions, and the server's per-request
//! `Pinning` makes the call's `Caller` from it: the same `ServerHandler` as stdio, pinned
//! per request instead of per process. `auth::mcp_gate` in front of it requires a key and
//! keeps each session to the workspace that opened it. Host and Origin are checked once
//! for every route (`guard`), so rmcp's own loopback-only Host check is turned off here.

use std::sync::Arc;

use axum::Router;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::auth::{SessionOwners, mcp_gate};
use crate::mcp::control_plane_server::ControlPlaneServer;

/// The `/mcp` service: `server` cloned per session (2025-11-25) or per request
/// (2026-07-28), closed when `stop` is cancelled.
pub(crate) fn service(
    server: ControlPlaneServer,
    max_body_bytes: usize,
    stop: CancellationToken,
    sessions: SessionOwners,
) -> Router {
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(stop)
        .with_max_request_body_bytes(max_body_bytes)
        .disable_allowed_hosts();
    let http = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::clone(&sessions.manager()),
        config,
    );
    Router::new()
        .fallback_service(http)
        .layer(axum::middleware::from_fn_with_state(sessions, mcp_gate))
}

//! `vibn serve` (DESIGN §11, issue 16): one HTTP process for every workspace. The
//! control plane over MCP Streamable HTTP at `/mcp` (both protocol eras, through rmcp's
//! `StreamableHttpService`), its REST surface at `/api/workspaces/…` (seed 003 §4), the
//! seed's `GET`/`POST /api/mcp`, `bootstrap.sh` and the org-token routes (seed 004).
//!
//! Every request is authenticated on its own (`auth`): its bearer is validated against
//! the keystore for that request, so a revoked key fails on the very next request, and
//! the call acts for that key's workspace alone — the `Caller` is made from the request's
//! key (`Pinning::per_request`), never from process state. REST handlers are thin
//! adapters: they build the same params the MCP tools take and call the same
//! `ControlPlaneApi` methods (`dispatch`), and an `ApiError` becomes the HTTP status of
//! DESIGN §4. Around it (`guard`): Host/Origin checks against DNS rebinding, per-key rate
//! limits, body size limits, timeouts, access logs without secrets, graceful shutdown.
//!
//! May import `api`, `mcp`, `keystore`, `config`, `error`; nothing imports it but `cli`.

mod admin;
mod auth;
mod dispatch;
mod guard;
mod mcp_http;
mod reply;
mod rest;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api::caller::LazyKeystore;
use crate::api::control_plane_api::ControlPlaneApi;
use crate::config::{ControlPlaneConfig, ToolFilter};
use crate::keystore::Keyring;
use crate::mcp::common::UnknownTool;
use crate::mcp::control_plane_server::ControlPlaneServer;

pub use dispatch::served_tool_names;

/// Everything `vibn serve` needs, resolved from flags and environment.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The control plane's upstreams and base domain (its pin is unused: every request
    /// brings its own key).
    pub control_plane: ControlPlaneConfig,
    /// The keystore every key is validated against.
    pub keystore: std::path::PathBuf,
    /// The secrets key the bots' tokens are sealed with.
    pub keyring: Option<Arc<Keyring>>,
    /// `--read-only`, `--tools`, `--exclude-tools`: the same tools over every route.
    pub filter: ToolFilter,
    /// Host names allowed besides loopback.
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed.
    pub allowed_origins: Vec<String>,
    /// The URL clients reach this server at.
    pub public_url: Option<String>,
    /// Sustained requests per second per key.
    pub rate_per_second: u32,
    /// Burst per key.
    pub rate_burst: u32,
    /// Largest body accepted.
    pub max_body_bytes: usize,
    /// Longest a REST request may take.
    pub request_timeout: Duration,
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_grace: Duration,
}

/// What every handler shares (cheap to clone).
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) api: ControlPlaneApi,
    pub(crate) store: Arc<LazyKeystore>,
    pub(crate) keyring: Option<Arc<Keyring>>,
    pub(crate) server: ControlPlaneServer,
    /// The tool names served (its filter applied), listed once.
    pub(crate) served: Arc<[String]>,
    pub(crate) pinning: crate::api::caller::Pinning,
    pub(crate) public_url: Arc<str>,
}

/// Why `vibn serve` could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A tool filter named a tool the control plane lacks.
    #[error(transparent)]
    UnknownTool(#[from] UnknownTool),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

/// Serve until SIGTERM or Ctrl-C (then in-flight requests finish, new connections are
/// refused). `ready` gets the bound address once the socket listens.
pub async fn run(
    config: ServeConfig,
    ready: impl FnOnce(SocketAddr) + Send,
) -> Result<(), ServeError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    let bound = listener.local_addr().map_err(ServeError::Serve)?;
    let shutdown = CancellationToken::new();
    let (router, in_flight) = router(&config, bound, shutdown.child_token())?;
    ready(bound);
    let stop = shutdown.clone();
    let grace = config.shutdown_grace;
    let signalled = CancellationToken::new();
    let on_signal = signalled.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!(
            "shutdown requested: refusing new connections, finishing in-flight requests"
        );
        on_signal.cancel();
        // In-flight calls (MCP calls run inside their streams) finish first; then the
        // MCP sessions and their idle streams are closed so the server can stop.
        in_flight.drained(grace).await;
        stop.cancel();
    });
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    // MCP answers are event streams written in several small pieces: without
    // TCP_NODELAY, Nagle's algorithm and the peer's delayed ACK add ~40 ms to each.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    });
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { signalled.cancelled().await });
    let hard_stop = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            // Connections that still hang on after the sessions closed get a moment.
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    };
    tokio::select! {
        result = served => result.map_err(ServeError::Serve)?,
        () = hard_stop => tracing::warn!("stopped with connections still open"),
    }
    tracing::info!("vibn serve stopped");
    Ok(())
}

/// The whole router over `config` (the rmcp service cancelled by `mcp_stop`), and the
/// in-flight request counter graceful shutdown waits on.
fn router(
    config: &ServeConfig,
    bound: SocketAddr,
    mcp_stop: CancellationToken,
) -> Result<(Router, guard::InFlight), ServeError> {
    let api = ControlPlaneApi::new(config.control_plane.clone());
    // Keys were minted in an existing keystore: a missing file is a wrong path (503 saying
    // so), never a fresh empty keystore that refuses every key.
    let store = Arc::new(LazyKeystore::existing(config.keystore.clone()));
    let pinning =
        crate::api::caller::Pinning::per_request(Arc::clone(&store), config.keyring.clone());
    let server = ControlPlaneServer::new(api.clone(), pinning.clone(), &config.filter)?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    let state = AppState {
        api,
        store,
        keyring: config.keyring.clone(),
        server: server.clone(),
        served: served_tool_names(&server).into(),
        pinning,
        public_url: public_url.trim_end_matches('/').into(),
    };
    let sessions = auth::SessionOwners::default();
    let mcp = mcp_http::service(server, config.max_body_bytes, mcp_stop, sessions.clone());
    let limits = guard::Guards::new(config, bound);
    let in_flight = limits.in_flight.clone();
    let app = Router::new()
        .merge(rest::routes())
        .merge(admin::routes())
        .nest_service("/mcp", mcp)
        .fallback(guard::not_found)
        .with_state(state.clone());
    Ok((guard::wrap(app, limits, state), in_flight))
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

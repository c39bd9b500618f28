//! An in-memory Coolify 4.3.11 stand-in on 127.0.0.1 for tests, smoke scripts and
//! `vibn sandbox coolify`: the REST API subset vibn uses under `/api/v1` (projects and
//! environments, servers, private keys, applications and their environment variables,
//! deploy and deployments, databases, one-click services). Behaviour follows the real controllers
//! as documented in `shared/reference/coolify.md` (controllers beat the OpenAPI spec):
//! statuses, error bodies (`message`, `errors` in all its shapes), Sanctum tokens and
//! abilities, secrets absent without `read:sensitive`, the 405 of GET lifecycle routes,
//! delete flags defaulting to true, env PATCH resets, deployment logs as a JSON string.
//!
//! Tests drive it over HTTP and steer it through [`CoolifyState`]'s controls (seeding,
//! proxy, statuses, deployment outcome and timing, faults, the request log). This
//! module owns no policy of vibn's and imports nothing from `api/`, `mcp/` or
//! `clients/`.
//!
//! Deployments progress with time (`queued` → `in_progress` → `finished`/`failed`),
//! computed from timestamps when read; there is no background task. Simplifications:
//! one team per token with admin rights (no member-role refusals, no API toggle), one
//! destination per server, no previews/tags API/backups/storages/scheduled tasks, no
//! `dockerfile`/`dockerimage`/`private-github-app` create endpoints, service and
//! database env endpoints, or service PATCH (they answer the router's 404); custom
//! `docker_compose_raw` services are parsed with a line scan.

mod api;
mod app_fields;
mod applications;
mod controls;
mod databases;
mod db_kinds;
mod deploy;
mod deployment;
mod domains;
mod envs;
mod http;
mod keys;
mod observe;
mod projects;
mod services;
mod state;
mod templates;
mod validate;

#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, Uri};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::faults;
use crate::plumbing::reason;

pub use crate::faults::{Edit, Fault};
pub use observe::RecordedRequest;
pub use state::{CoolifyState, DeployOutcome};

/// What `GET /api/v1/version` answers (plain text).
pub const COOLIFY_VERSION: &str = "4.3.11";

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct CoolifySandbox {
    addr: SocketAddr,
    state: Arc<CoolifyState>,
    root_token: String,
    task: JoinHandle<()>,
}

impl CoolifySandbox {
    /// Start on 127.0.0.1:`port` (0 = any), seeded with one localhost server (id 0,
    /// proxy on) and a token with the `root` ability. Returns once listening.
    pub async fn start(port: u16) -> io::Result<CoolifySandbox> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(CoolifyState::new(format!("http://{addr}")));
        let root_token = state.seed();
        let app = Router::new().fallback(entry).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(CoolifySandbox {
            addr,
            state,
            root_token,
            task,
        })
    }

    /// `http://127.0.0.1:PORT` (no `/api/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api/v1`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// The seeded token (`<id>|<secret>`, abilities `["root"]`).
    pub fn root_token(&self) -> String {
        self.root_token.clone()
    }

    /// The shared state: test controls, faults and the request log.
    pub fn state(&self) -> &Arc<CoolifyState> {
        &self.state
    }
}

impl Drop for CoolifySandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A Laravel-style body for an injected status (429 always with `Retry-After`).
fn fault_reply(status: u16, retry_after: Option<u64>) -> Response<Body> {
    let message = match status {
        429 => "Too Many Attempts.",
        500 => "Server Error",
        s => reason(s),
    };
    let reply = http::ApiErr::with(status, json!({ "message": message })).into_reply();
    faults::with_retry_after(reply, retry_after.or((status == 429).then_some(60)))
}

/// Every request: log it, apply an injected fault, then serve the API.
async fn entry(
    State(state): State<Arc<CoolifyState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    let record = RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        status: 0,
        body: faults::recorded_body(&method, &body),
    };
    let served = async { serve(&state, &method, &path, &query, &headers, &body) };
    state
        .observer
        .answer(record, &method, &path, fault_reply, served)
        .await
}

fn serve(
    state: &Arc<CoolifyState>,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Body> {
    if path == "/api" || path.starts_with("/api/") {
        return api::handle(state, method, path, query, headers, body);
    }
    http::text_reply(404, "Not Found")
}

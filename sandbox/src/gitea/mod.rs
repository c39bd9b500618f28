//! An in-memory Gitea 1.27 stand-in on 127.0.0.1 for tests, smoke scripts and
//! `vibn sandbox gitea`: the REST API subset vibn uses under `/api/v1` (users, tokens,
//! orgs, teams, repositories, contents, branches, issues, labels, comments) and git
//! smart HTTP at `/{owner}/{repo}.git`. Behaviour follows the real server as documented
//! in `shared/reference/gitea.md` (controllers beat the swagger spec): statuses, error
//! bodies, auth and token scopes, pagination headers, rename redirects. Repositories are
//! bare git repos under the data folder; everything else lives in memory.
//!
//! Tests drive it over HTTP and steer it through [`GiteaState`]'s controls (seeding,
//! faults, the request log). This module owns no policy of vibn's and imports nothing
//! from `api/`, `mcp/` or `clients/`.
//!
//! Where the real server is surprising, the sandbox is too: numbers in query strings
//! that are not numbers read as 0 (`FormInt`: default page/limit, no 400/422), a
//! non-numeric issue index is 404; label names are not unique and unknown label ids on
//! issue creation are silently dropped; `assignees` is null when empty; a Basic
//! credential whose password (or user name) is a token counts as Basic on the token
//! routes. Simplifications: a push without write access is refused with 403 (Gitea
//! rejects it in its pre-receive hook); a `PUT` of contents without `sha` creates and so
//! is 422 over an existing file; every repository write answers 423 when archived; no
//! `?token=` query auth, 2FA, milestones, `since`/`before` filters or collaborator API.

mod api;
mod auth;
mod branches;
mod contents;
mod controls;
mod convert;
mod files;
mod git;
mod githttp;
mod http;
mod issues;
mod observe;
mod orgs;
mod repos;
mod seed;
mod state;
mod users;

#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use rand::distr::{Alphanumeric, SampleString};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::faults;

pub use crate::faults::{Edit, Fault};
pub use observe::RecordedRequest;
pub use state::GiteaState;

/// What `GET /api/v1/version` answers.
pub const GITEA_VERSION: &str = "1.27.0";

/// Login of the site admin every sandbox starts with.
pub const ADMIN_LOGIN: &str = "sandbox-admin";

/// Largest request body accepted (a pushed pack).
const MAX_BODY: usize = 256 * 1024 * 1024;

/// A running sandbox. Dropping it stops the server (the data folder is left alone).
#[derive(Debug)]
pub struct GiteaSandbox {
    addr: SocketAddr,
    state: Arc<GiteaState>,
    admin_password: String,
    admin_token: String,
    task: JoinHandle<()>,
}

impl GiteaSandbox {
    /// Start on 127.0.0.1:`port` (0 = any) with repositories under `data_dir` (created
    /// when missing); seeds one site admin ([`ADMIN_LOGIN`], must-change-password off)
    /// with a random password and a token of scope `all`. Returns once listening.
    pub async fn start(data_dir: &Path, port: u16) -> io::Result<GiteaSandbox> {
        std::fs::create_dir_all(data_dir)?;
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(GiteaState::new(format!("http://{addr}"), data_dir));
        let admin_password = Alphanumeric.sample_string(&mut rand::rng(), 24);
        let admin_token = {
            let mut d = state.data();
            let uid = seed::insert_user(
                &mut d,
                ADMIN_LOGIN,
                "sandbox-admin@example.com",
                &admin_password,
                true,
                false,
            )
            .map_err(io::Error::other)?;
            seed::insert_token(&mut d, uid, "sandbox-admin", vec!["all".to_string()]).1
        };
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(GiteaSandbox {
            addr,
            state,
            admin_password,
            admin_token,
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

    /// The seeded site admin's login.
    pub fn admin_login(&self) -> String {
        ADMIN_LOGIN.to_string()
    }

    /// The seeded site admin's password (for the Basic-only token routes).
    pub fn admin_password(&self) -> String {
        self.admin_password.clone()
    }

    /// The seeded site admin's token (40 hex, scope `all`).
    pub fn admin_token(&self) -> String {
        self.admin_token.clone()
    }

    /// The shared state: test controls, faults and the request log.
    pub fn state(&self) -> &Arc<GiteaState> {
        &self.state
    }
}

impl Drop for GiteaSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The axum router of a sandbox over `state`.
fn router(state: Arc<GiteaState>) -> Router {
    Router::new()
        .fallback(entry)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Every request: log it, apply an injected fault, then serve the API or git.
async fn entry(
    State(state): State<Arc<GiteaState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    let creds = auth::credentials(&headers);
    let record = RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        auth: creds.kind().as_str().to_string(),
        user: auth::login_named(&state, &creds),
        status: 0,
    };
    let fault_reply = |code: u16, retry_after| {
        let reply = http::ApiErr::new(code, format!("injected fault: status {code}"))
            .into_reply(&state.base_url);
        faults::with_retry_after(reply, retry_after)
    };
    let served = serve(&state, method.clone(), &path, &query, &headers, body);
    state
        .observer
        .answer(record, &method, &path, fault_reply, served)
        .await
}

async fn serve(
    state: &Arc<GiteaState>,
    method: Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response<Body> {
    if path == "/api/v1" || path.starts_with("/api/v1/") {
        return api::handle(state, method, path, query, headers, body).await;
    }
    if let Some(reply) = githttp::handle(state, &method, path, query, headers, body).await {
        return reply;
    }
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .body(Body::from("Not found.\n"))
        .unwrap_or_default()
}

//! An agent-runner stand-in on 127.0.0.1 for tests, smoke scripts and
//! `vibn sandbox runner`: the runner contract that vibn's agent server speaks (DESIGN
//! §6 agent; the OpenAPI copy is `schemas/runner-api.openapi.json`):
//!
//! - `POST /api/agent/run` `{agent, task, repo?, project?, workspace?}` → 201
//!   `{jobId, status}` (and `Location: /api/jobs/{id}`); 400 `{error}` for bad JSON, a
//!   missing or mistyped field, or an agent not in the allowed list.
//! - `GET /api/jobs/{id}` → the job; 404 `{"error":"job not found"}`.
//! - `POST /api/jobs/{id}/cancel` → 200 the cancelled job; 409 when already final.
//! - `GET /api/jobs[?workspace=<slug>]` → `{jobs: [...]}`, newest first.
//!
//! Jobs progress with time (`queued` → `running` through progress steps →
//! `completed`/`failed`), computed from timestamps when read; there is no background
//! task. A job's workspace is the body's `workspace`, else the `X-Vibn-Workspace`
//! header. Started with a token, every request needs `Authorization: Bearer <token>`
//! (401 `{"error":"unauthorized"}`). Unknown paths are 404 and wrong methods 405, both
//! with an `error` body. Tests steer it through [`RunnerState`] (timing, failures,
//! agents, faults, the request log). This module owns no policy of vibn's and imports
//! nothing from `api/`, `mcp/` or `clients/`.

mod jobs;
mod state;

#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, Uri, header};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use crate::faults::{Edit, Fault};
pub use jobs::PROGRESS_STEPS;
pub use state::{DEFAULT_AGENTS, RecordedRequest, RunnerState};

use crate::faults;
use crate::plumbing::{Reply, json_reply, reason};
use jobs::RunRequest;

/// The header that carries the workspace slug when vibn is pinned.
pub const WORKSPACE_HEADER: &str = "x-vibn-workspace";

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct RunnerSandbox {
    addr: SocketAddr,
    state: Arc<RunnerState>,
    task: JoinHandle<()>,
}

impl RunnerSandbox {
    /// Start on 127.0.0.1:`port` (0 = any) without auth. Returns once listening.
    pub async fn start(port: u16) -> io::Result<RunnerSandbox> {
        RunnerSandbox::launch(port, None).await
    }

    /// Start on 127.0.0.1:`port` (0 = any); every request must carry
    /// `Authorization: Bearer <token>`. Returns once listening.
    pub async fn start_with_token(port: u16, token: &str) -> io::Result<RunnerSandbox> {
        RunnerSandbox::launch(port, Some(token.to_string())).await
    }

    async fn launch(port: u16, token: Option<String>) -> io::Result<RunnerSandbox> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(RunnerState::new(token));
        let app = Router::new().fallback(entry).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(RunnerSandbox { addr, state, task })
    }

    /// `http://127.0.0.1:PORT` (what `AGENT_RUNNER_URL` is set to; no `/api`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The shared state: test controls, faults and the request log.
    pub fn state(&self) -> &Arc<RunnerState> {
        &self.state
    }
}

impl Drop for RunnerSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `{"error": text}` with `status`.
fn error_reply(status: u16, text: &str) -> Reply {
    json_reply(status, &json!({ "error": text }))
}

/// Add a header (silently skipped when the value is not a valid header value).
fn with_header(mut reply: Reply, name: header::HeaderName, value: &str) -> Reply {
    if let Ok(v) = value.parse() {
        reply.headers_mut().insert(name, v);
    }
    reply
}

/// A header's value as text (lossy), if sent.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = header_text(headers, header::AUTHORIZATION.as_str())?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The answer to an injected status: `{"error": "<reason phrase>"}`.
fn fault_reply(status: u16, retry_after: Option<u64>) -> Reply {
    faults::with_retry_after(error_reply(status, reason(status)), retry_after)
}

/// Every request: log it, apply an injected fault, check the token, then route it.
async fn entry(
    State(state): State<Arc<RunnerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let path = uri.path().to_string();
    let workspace_header = header_text(&headers, WORKSPACE_HEADER);
    let presented = bearer(&headers);
    let record = RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or_default().to_string(),
        body: faults::recorded_body(&method, &body),
        workspace_header: workspace_header.clone(),
        bearer: presented.clone(),
        status: 0,
    };
    let served = async {
        match state.token() {
            Some(expected) if presented.as_deref() != Some(expected.as_str()) => with_header(
                error_reply(401, "unauthorized"),
                header::WWW_AUTHENTICATE,
                "Bearer",
            ),
            _ => route(&state, &method, &uri, workspace_header.as_deref(), &body),
        }
    };
    state
        .observer
        .answer(record, &method, &path, fault_reply, served)
        .await
}

/// The routes of the runner contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    Run,
    List,
    Job(&'a str),
    Cancel(&'a str),
}

impl<'a> Route<'a> {
    fn parse(path: &'a str) -> Option<Route<'a>> {
        let segment = |s: &str| !s.is_empty() && !s.contains('/');
        match path {
            "/api/agent/run" => Some(Route::Run),
            "/api/jobs" => Some(Route::List),
            _ => {
                let rest = path.strip_prefix("/api/jobs/")?;
                match rest.strip_suffix("/cancel") {
                    Some(id) if segment(id) => Some(Route::Cancel(id)),
                    _ if segment(rest) => Some(Route::Job(rest)),
                    _ => None,
                }
            }
        }
    }

    /// The one method this route answers.
    fn method(self) -> Method {
        match self {
            Route::Run | Route::Cancel(_) => Method::POST,
            Route::List | Route::Job(_) => Method::GET,
        }
    }
}

/// `GET /api/jobs` query.
#[derive(Debug, Deserialize)]
struct ListQuery {
    workspace: Option<String>,
}

fn route(
    state: &RunnerState,
    method: &Method,
    uri: &Uri,
    workspace_header: Option<&str>,
    body: &[u8],
) -> Reply {
    let Some(route) = Route::parse(uri.path()) else {
        return error_reply(404, "not found");
    };
    if *method != route.method() {
        return with_header(
            error_reply(405, "method not allowed"),
            header::ALLOW,
            route.method().as_str(),
        );
    }
    let answer = match route {
        Route::Run => RunRequest::parse(body)
            .map_err(|e| (400, e))
            .and_then(|req| state.spawn(req, workspace_header))
            .map(|job| {
                let id = job["id"].as_str().unwrap_or_default().to_string();
                let accepted = json!({ "jobId": id, "status": job["status"] });
                with_header(
                    json_reply(201, &accepted),
                    header::LOCATION,
                    &format!("/api/jobs/{id}"),
                )
            }),
        Route::List => match Query::<ListQuery>::try_from_uri(uri) {
            Ok(Query(q)) => {
                let workspace = q.workspace.as_deref().filter(|w| !w.is_empty());
                Ok(json_reply(200, &json!({ "jobs": state.list(workspace) })))
            }
            Err(e) => Err((400, format!("invalid query: {e}"))),
        },
        Route::Job(id) => state.job(id).map(|job| json_reply(200, &job)),
        Route::Cancel(id) => state.cancel(id).map(|job| json_reply(200, &job)),
    };
    answer.unwrap_or_else(|(status, text)| error_reply(status, &text))
}

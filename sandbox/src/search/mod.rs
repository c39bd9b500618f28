//! A search-provider stand-in on 127.0.0.1 for tests, smoke scripts and
//! `vibn sandbox search`, so that both of `web_search`'s providers can be exercised
//! without the internet: SearXNG's search API (`GET|POST /search` and `/`, JSON only
//! when `format=json`) and, on a second route, the Brave Search API
//! (`GET /res/v1/web/search` with `X-Subscription-Token`). Behaviour follows the real
//! services: SearXNG answers 403 for a format its `search.formats` lacks and
//! `{"error": "No query"}` with 400 for an empty query; Brave checks the token first
//! (401 `SUBSCRIPTION_TOKEN_INVALID`), then validates (`count` 1–20, `offset` 0–9, `q`
//! 1–400 characters: 422 `VALIDATION` listing every problem), wraps matched words of
//! descriptions in `<strong>` unless `text_decorations` is false, and leaves out `web`
//! when nothing matched.
//!
//! Results are deterministic: a built-in corpus of ~30 short programming documents
//! (plus any added with [`SearchState::add_document`]) ranked by `corpus::rank`. Tests
//! steer it through [`SearchState`] (documents, JSON on/off, faults, the request log).
//! This module owns no policy of vibn's and imports nothing from `api/`, `mcp/` or
//! `clients/`. Simplifications: SearXNG never answers HTML (a request without
//! `format=json` gets the 403 of an instance without that format); without
//! `categories` every document is searched, with it only documents of the known
//! categories listed (unknown names are ignored as SearXNG does); 10 results a page.

mod brave;
mod corpus;
mod searxng;
mod state;

#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use rand::distr::{Alphanumeric, SampleString};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use crate::faults::{Edit, Fault};
pub use state::{RecordedRequest, SearchState};

pub(crate) use crate::plumbing::{Reply, json_reply, reason};
use crate::{faults, plumbing};

/// The Brave route.
const BRAVE_PATH: &str = "/res/v1/web/search";

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct SearchSandbox {
    addr: SocketAddr,
    state: Arc<SearchState>,
    task: JoinHandle<()>,
}

impl SearchSandbox {
    /// Start on 127.0.0.1:`port` (0 = any) with the built-in corpus, SearXNG's JSON
    /// format enabled and a random Brave subscription key. Returns once listening.
    pub async fn start(port: u16) -> io::Result<SearchSandbox> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let key = format!("BSA{}", Alphanumeric.sample_string(&mut rand::rng(), 28));
        let state = Arc::new(SearchState::new(key));
        let app = Router::new().fallback(entry).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(SearchSandbox { addr, state, task })
    }

    /// `http://127.0.0.1:PORT`: the SearXNG base URL (`/search` below it) and the Brave
    /// API base (`/res/v1/web/search` below it).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The key the Brave route accepts in `X-Subscription-Token`.
    pub fn brave_key(&self) -> String {
        self.state.brave_key()
    }

    /// The shared state: test controls, faults and the request log.
    pub fn state(&self) -> &Arc<SearchState> {
        &self.state
    }
}

impl Drop for SearchSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Request parameters (`application/x-www-form-urlencoded` pairs); the last value of a
/// name wins.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Parse `a=1&b=x+y%21` (invalid escapes stay as they are).
    pub(crate) fn parse(raw: &str) -> Params {
        Params(plumbing::query_pairs(raw))
    }

    /// Add `other`'s pairs after these (so they win).
    pub(crate) fn merge(mut self, other: Params) -> Params {
        self.0.extend(other.0);
        self
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A plain-text answer.
pub(crate) fn text_reply(status: u16, text: &str) -> Reply {
    plumbing::reply(status, "text/plain; charset=utf-8", text.to_string())
}

/// `scheme`, `netloc` and `path` of an absolute URL (empty parts when it is not one).
pub(crate) fn url_parts(url: &str) -> (String, String, String) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (netloc, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    (scheme.to_string(), netloc.to_string(), path.to_string())
}

/// The answer to an injected status.
fn fault_reply(path: &str, status: u16, retry_after: Option<u64>) -> Reply {
    let reply = if path.starts_with("/res/") {
        brave::error_reply(status)
    } else {
        text_reply(status, reason(status))
    };
    faults::with_retry_after(reply, retry_after)
}

/// Every request: log it, apply an injected fault, then serve it.
async fn entry(
    State(state): State<Arc<SearchState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    let token = headers
        .get("x-subscription-token")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let record = RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        body: (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned()),
        subscription_token: token.clone(),
        status: 0,
    };
    let injected = |status, retry_after| fault_reply(&path, status, retry_after);
    let served = async { serve(&state, &method, &path, &query, token.as_deref(), &body) };
    state
        .observer
        .answer(record, &method, &path, injected, served)
        .await
}

fn serve(
    state: &SearchState,
    method: &Method,
    path: &str,
    query: &str,
    token: Option<&str>,
    body: &[u8],
) -> Reply {
    let get_or_post = matches!(*method, Method::GET | Method::POST);
    match path {
        "/" | "/search" if get_or_post => {
            let mut params = Params::parse(query);
            if *method == Method::POST {
                params = params.merge(Params::parse(&String::from_utf8_lossy(body)));
            }
            searxng::search(state, &params)
        }
        "/healthz" if *method == Method::GET => text_reply(200, "OK"),
        BRAVE_PATH if *method == Method::GET => {
            brave::web_search(state, &Params::parse(query), token)
        }
        "/" | "/search" | "/healthz" | BRAVE_PATH => text_reply(405, "Method Not Allowed"),
        _ => text_reply(404, "Not Found"),
    }
}

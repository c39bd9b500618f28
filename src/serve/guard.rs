//! What stands around every route of `vibn serve`, outermost first:
//!
//! - **access log**: one `vibn::access` line per request — method, path (never the
//!   query, which can carry names), status, milliseconds, the key's display hint; never
//!   a header or a body, so no secret;
//! - **in flight**: requests are counted until their answer is fully sent (an MCP call's
//!   event stream included), so a shutdown lets them finish; once shutting down, a new
//!   request on a kept-alive connection is refused (503, `Connection: close`);
//! - **timeouts**: a REST request that takes longer than `--request-timeout` is 504 (MCP
//!   answers stream; their upstream calls are bounded by the HTTP clients' timeouts);
//! - **Host and Origin** (the DNS-rebinding guard the MCP spec asks for, on every route):
//!   `Host` must be loopback or an `--allowed-host`; an `Origin`, when sent, must be an
//!   `--allowed-origin` (none by default: agents are not browsers) — 403 otherwise;
//! - **body size**: bodies over `--max-body` are 413 (REST through axum's limit, `/mcp`
//!   through rmcp's, set to the same number);
//! - **authentication** (`auth::authenticate`), then **rate limits** per key (per client
//!   address without a valid one, so guessing keys is throttled as well) with
//!   `governor`'s GCRA: 429 with `Retry-After`; then a refused bearer's 401/503.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Notify;

use super::auth::{Bearer, Refused, authenticate};
use super::reply::{error_response, status_response};
use super::{AppState, ServeConfig};
use crate::error::ApiError;

/// Requests being answered, and whether the server is shutting down.
#[derive(Clone, Default)]
pub(crate) struct InFlight {
    inner: Arc<InFlightInner>,
}

#[derive(Default)]
struct InFlightInner {
    count: AtomicUsize,
    draining: AtomicBool,
    idle: Notify,
}

/// One request in flight; dropped when its answer is fully sent.
struct Ticket(Arc<InFlightInner>);

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl InFlight {
    fn enter(&self) -> Option<Ticket> {
        if self.inner.draining.load(Ordering::SeqCst) {
            return None;
        }
        self.inner.count.fetch_add(1, Ordering::SeqCst);
        Some(Ticket(Arc::clone(&self.inner)))
    }

    /// Refuse new requests, then wait until none is in flight (at most `grace`).
    pub(crate) async fn drained(&self, grace: Duration) {
        self.inner.draining.store(true, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let idle = self.inner.idle.notified();
            let count = self.inner.count.load(Ordering::SeqCst);
            if count == 0 {
                return;
            }
            tracing::info!(in_flight = count, "waiting for in-flight requests");
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                tracing::warn!(
                    in_flight = self.inner.count.load(Ordering::SeqCst),
                    "shutdown grace over with requests still in flight"
                );
                return;
            }
        }
    }
}

/// The limits and checks of one server.
#[derive(Clone)]
pub(crate) struct Guards {
    allowed_hosts: Arc<Vec<String>>,
    allowed_origins: Arc<Vec<String>>,
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    max_body_bytes: usize,
    timeout: Duration,
    pub(crate) in_flight: InFlight,
}

impl Guards {
    /// The guards `config` asks for on a server bound to `bound`.
    pub(crate) fn new(config: &ServeConfig, bound: SocketAddr) -> Self {
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .into_iter()
            .map(String::from)
            .collect();
        hosts.push(bound.ip().to_string());
        hosts.extend(
            config
                .allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty()),
        );
        let origins = config
            .allowed_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect();
        let rate = NonZeroU32::new(config.rate_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.rate_burst).unwrap_or(rate);
        let limiter = Arc::new(RateLimiter::keyed(
            Quota::per_second(rate).allow_burst(burst),
        ));
        // Keys idle long enough to be back at full burst are dropped now and then, so
        // the table does not grow with every key ever seen.
        let sweep = Arc::downgrade(&limiter);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                match sweep.upgrade() {
                    Some(limiter) => limiter.retain_recent(),
                    None => return,
                }
            }
        });
        Guards {
            allowed_hosts: Arc::new(hosts),
            allowed_origins: Arc::new(origins),
            limiter,
            max_body_bytes: config.max_body_bytes,
            timeout: config.request_timeout,
            in_flight: InFlight::default(),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let bare = strip_port(&host);
        self.allowed_hosts
            .iter()
            .any(|allowed| *allowed == host || *allowed == bare)
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        self.allowed_origins.contains(&origin)
    }
}

/// `host` without its port (`[::1]:80` → `::1`, `a.b:8080` → `a.b`).
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

/// `app` with every guard around it.
pub(crate) fn wrap(app: Router, guards: Guards, state: AppState) -> Router {
    app.layer(from_fn_with_state(guards.clone(), rate_limit))
        .layer(from_fn_with_state(state, authenticate))
        .layer(DefaultBodyLimit::max(guards.max_body_bytes))
        .layer(from_fn_with_state(guards.clone(), host_and_origin))
        .layer(from_fn_with_state(guards, in_flight_and_timeout))
        .layer(from_fn(access_log))
}

async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let key = response
        .extensions()
        .get::<KeyHint>()
        .map_or("-", |k| k.0.as_str())
        .to_string();
    tracing::info!(
        target: "vibn::access",
        %method,
        path = %crate::error::cut(&path, 200),
        status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        key = %key,
        "request"
    );
    response
}

/// The key hint of the request, handed back up to the access log.
#[derive(Clone)]
struct KeyHint(String);

async fn in_flight_and_timeout(
    State(guards): State<Guards>,
    request: Request,
    next: Next,
) -> Response {
    let Some(ticket) = guards.in_flight.enter() else {
        let mut response = error_response(
            &ApiError::not_provisioned("the server is shutting down")
                .with_hint("retry in a moment (another replica, or this one once restarted)"),
        );
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    };
    let is_mcp = request.uri().path() == "/mcp" || request.uri().path().starts_with("/mcp/");
    let response = if is_mcp {
        next.run(request).await
    } else {
        match tokio::time::timeout(guards.timeout, next.run(request)).await {
            Ok(response) => response,
            Err(_) => status_response(
                StatusCode::GATEWAY_TIMEOUT,
                &format!("the request took longer than {}s", guards.timeout.as_secs()),
                "retry later; a write may still have happened, so list first",
            ),
        }
    };
    let streams = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !streams {
        return response;
    }
    // An event stream is in flight until its last event is sent.
    let (parts, body) = response.into_parts();
    let body = Body::from_stream(body.into_data_stream().map(move |chunk| {
        let _held = &ticket;
        chunk
    }));
    Response::from_parts(parts, body)
}

async fn host_and_origin(State(guards): State<Guards>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(ToString::to_string));
    match host {
        Some(host) if guards.host_allowed(&host) => {}
        _ => {
            tracing::warn!("refused a request for a host that is not allowed (DNS rebinding?)");
            return error_response(
                &ApiError::forbidden("the Host header is not one this server answers to")
                    .with_hint("the operator lists public names with --allowed-host"),
            );
        }
    }
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let allowed = origin.to_str().is_ok_and(|o| guards.origin_allowed(o));
        if !allowed {
            tracing::warn!("refused a request from an origin that is not allowed");
            return error_response(
                &ApiError::forbidden("requests from this Origin are not allowed")
                    .with_hint("the operator lists browser origins with --allowed-origin"),
            );
        }
    }
    next.run(request).await
}

async fn rate_limit(State(guards): State<Guards>, request: Request, next: Next) -> Response {
    let bearer = request.extensions().get::<Bearer>().cloned();
    let key = match &bearer {
        Some(b) => b.limit_key(),
        None => request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "addr:?".to_string(), |c| format!("addr:{}", c.0.ip())),
    };
    let refused = request.extensions().get::<Refused>().cloned();
    if let Err(not_until) = guards.limiter.check_key(&key) {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut response = status_response(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("too many requests from this key; retry in {seconds}s"),
            "slow down: wait Retry-After seconds, then retry",
        );
        if let Ok(v) = HeaderValue::from_str(&seconds.max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return with_hint(response, bearer.as_ref());
    }
    if let Some(Refused(e)) = refused {
        return error_response(&e);
    }
    let response = next.run(request).await;
    with_hint(response, bearer.as_ref())
}

fn with_hint(mut response: Response, bearer: Option<&Bearer>) -> Response {
    if let Some(b) = bearer {
        response
            .extensions_mut()
            .insert(KeyHint(b.hint().to_string()));
    }
    response
}

/// 404 for every path no route answers.
pub(crate) async fn not_found() -> impl IntoResponse {
    error_response(&ApiError::not_found("no such route").with_hint(
        "GET /api/mcp describes this server; the REST routes are /api/workspaces/{slug}/…",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("a.b:8080"), "a.b");
        assert_eq!(strip_port("a.b"), "a.b");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("127.0.0.1:1"), "127.0.0.1");
    }
}

//! Shared HTTP plumbing for every upstream client.
//!
//! - One reqwest client (rustls, ring) per upstream, built on first use.
//! - Timeouts: connect and total per attempt.
//! - Retries: only for idempotent reads (GET/HEAD), only on connect failures, timeouts,
//!   429, 502, 503 and 504; at most `retries` more attempts with jittered exponential
//!   backoff, honouring `Retry-After` (capped). Writes are never retried.
//! - Redirects are followed for GET/HEAD only; a redirected write is an error, never a
//!   silent GET (real clients turn a 301'd POST into a GET and drop the body).
//! - Errors carry the method, the path (never a credential) and the upstream's message.
//! - Answers are read tolerantly (`decode`): `null` reads like absent, and an answer that
//!   still does not fit names the endpoint and the field, and is logged at warn.

pub mod decode;
mod errors;
pub mod tls;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rand::Rng;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

pub use decode::Undecodable;
use errors::root_cause;
pub use errors::{ClientError, Failure, error_message};

use crate::redact;

/// Longest wait honoured from a `Retry-After` header.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

/// How an upstream client behaves on the wire.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Total time allowed for one attempt.
    pub timeout: Duration,
    /// Extra attempts for idempotent reads.
    pub retries: u32,
    /// First backoff step (doubled each retry, jittered).
    pub backoff: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            retries: 2,
            backoff: Duration::from_millis(200),
        }
    }
}

/// How requests authenticate.
#[derive(Clone)]
pub enum Auth {
    /// `Authorization: token <t>` (Gitea).
    Token(SecretString),
    /// `Authorization: Bearer <t>` (Coolify, runner).
    Bearer(SecretString),
    /// HTTP Basic with a password.
    Basic {
        user: String,
        password: SecretString,
    },
    /// No credentials.
    None,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Auth::Token(_) => "token",
            Auth::Bearer(_) => "bearer",
            Auth::Basic { .. } => "basic",
            Auth::None => "none",
        };
        write!(f, "Auth({kind}, [REDACTED])")
    }
}

impl Auth {
    fn header(&self) -> Option<HeaderValue> {
        let raw = match self {
            Auth::Token(t) => format!("token {}", t.expose_secret()),
            Auth::Bearer(t) => format!("Bearer {}", t.expose_secret()),
            Auth::Basic { user, password } => {
                use base64::Engine as _;
                let pair = format!("{user}:{}", password.expose_secret());
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            Auth::None => return None,
        };
        let mut value = HeaderValue::from_str(&raw).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    fn secret(&self) -> Option<&str> {
        match self {
            Auth::Token(t) | Auth::Bearer(t) => Some(t.expose_secret()),
            Auth::Basic { password, .. } => Some(password.expose_secret()),
            Auth::None => None,
        }
    }
}

/// A successful answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: bytes::Bytes,
}

impl Answer {
    /// Read the body as JSON (tolerantly, see `decode`).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Undecodable> {
        decode::parse(&self.body).and_then(decode::from_value)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One upstream: base URL, credentials and the lazily built clients.
pub struct Http {
    upstream: &'static str,
    base: String,
    auth: Auth,
    config: HttpConfig,
    following: OnceLock<Result<reqwest::Client, String>>,
    not_following: OnceLock<Result<reqwest::Client, String>>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("upstream", &self.upstream)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Call {
    /// Method.
    pub method: Method,
    /// Path segments after the base URL; each is percent-encoded as one segment
    /// (a segment may itself contain `/` when `raw_path` is set).
    pub segments: Vec<String>,
    /// Query pairs.
    pub query: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<serde_json::Value>,
    /// A body sent byte for byte with its content type (XML, forms), instead of JSON.
    pub raw: Option<(String, bytes::Bytes)>,
    /// Credentials other than the client's own, for this call only.
    pub auth: Option<Auth>,
    /// Extra headers (values never logged).
    pub headers: Vec<(String, String)>,
}

impl Call {
    /// A call with `method` to the path made of `segments`.
    pub fn new(method: Method, segments: &[&str]) -> Call {
        Call {
            method,
            segments: segments.iter().map(|s| s.to_string()).collect(),
            query: Vec::new(),
            body: None,
            raw: None,
            auth: None,
            headers: Vec::new(),
        }
    }

    /// Add a header (its value is marked sensitive and never logged).
    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Add a query pair.
    pub fn query(mut self, key: &str, value: impl ToString) -> Call {
        self.query.push((key.to_string(), value.to_string()));
        self
    }

    /// Set a JSON body.
    pub fn json(mut self, body: serde_json::Value) -> Call {
        self.body = Some(body);
        self
    }

    /// Set a body sent exactly as given (signed bodies must reach the wire unchanged).
    pub fn raw(mut self, content_type: &str, body: impl Into<bytes::Bytes>) -> Call {
        self.raw = Some((content_type.to_string(), body.into()));
        self
    }

    /// Use other credentials for this call.
    pub fn auth(mut self, auth: Auth) -> Call {
        self.auth = Some(auth);
        self
    }
}

impl Http {
    /// An upstream at `base` (e.g. `https://git.example.com/api/v1`) with `auth`.
    pub fn new(upstream: &'static str, base: &str, auth: Auth, config: HttpConfig) -> Arc<Http> {
        Arc::new(Http {
            upstream,
            base: base.trim_end_matches('/').to_string(),
            auth,
            config,
            following: OnceLock::new(),
            not_following: OnceLock::new(),
        })
    }

    /// The same upstream and settings with other credentials.
    pub fn with_auth(&self, auth: Auth) -> Arc<Http> {
        Http::new(self.upstream, &self.base, auth, self.config.clone())
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn client(&self, follow: bool) -> Result<&reqwest::Client, String> {
        let cell = if follow {
            &self.following
        } else {
            &self.not_following
        };
        cell.get_or_init(|| {
            let policy = if follow {
                reqwest::redirect::Policy::limited(5)
            } else {
                reqwest::redirect::Policy::none()
            };
            tls::client_builder()?
                .user_agent(concat!("vibn/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(self.config.connect_timeout)
                .timeout(self.config.timeout)
                .redirect(policy)
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    fn url(&self, call: &Call) -> Result<reqwest::Url, String> {
        let mut url = reqwest::Url::parse(&self.base)
            .map_err(|e| format!("{} URL {:?} is not valid: {e}", self.upstream, self.base))?;
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| format!("{} URL {:?} cannot take a path", self.upstream, self.base))?;
            path.pop_if_empty();
            for segment in &call.segments {
                path.push(segment);
            }
        }
        if !call.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(call.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        Ok(url)
    }

    /// Send `call`; a non-2xx answer is an error. Reads are retried as documented above.
    pub async fn send(&self, call: Call) -> Result<Answer, ClientError> {
        let idempotent = matches!(call.method, Method::GET | Method::HEAD);
        let shown_path = {
            let mut p = format!("/{}", call.segments.join("/"));
            if !call.query.is_empty() {
                let q: Vec<String> = call.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
                p.push('?');
                p.push_str(&q.join("&"));
            }
            p
        };
        let fail = |failure: Failure| ClientError {
            upstream: self.upstream,
            method: call.method.to_string(),
            path: shown_path.clone(),
            failure,
        };
        let url = self.url(&call).map_err(|e| fail(Failure::Config(e)))?;
        let client = self
            .client(idempotent)
            .map_err(|e| fail(Failure::Config(e)))?;
        let auth = call.auth.as_ref().unwrap_or(&self.auth);
        let attempts = if idempotent {
            self.config.retries + 1
        } else {
            1
        };
        let mut last = Failure::Timeout;
        let mut next_wait: Option<Duration> = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                let wait = next_wait
                    .take()
                    .unwrap_or_else(|| backoff(self.config.backoff, attempt));
                tracing::debug!(upstream = self.upstream, path = %shown_path, attempt, ?wait, "retrying");
                tokio::time::sleep(wait).await;
            }
            let mut request = client
                .request(call.method.clone(), url.clone())
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(value) = auth.header() {
                request = request.header(AUTHORIZATION, value);
            }
            for (name, value) in &call.headers {
                if let Ok(mut value) = HeaderValue::from_str(value) {
                    value.set_sensitive(true);
                    request = request.header(name.as_str(), value);
                }
            }
            if let Some(body) = &call.body {
                request = request.json(body);
            } else if let Some((content_type, bytes)) = &call.raw {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                    .body(bytes.clone());
            }
            let started = std::time::Instant::now();
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    last = self.transport_failure(&e, auth, &call.headers);
                    continue;
                }
            };
            let status = response.status();
            let headers = response.headers().clone();
            let body = match response.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    last = self.transport_failure(&e, auth, &call.headers);
                    continue;
                }
            };
            tracing::debug!(
                upstream = self.upstream,
                method = %call.method,
                path = %shown_path,
                status = status.as_u16(),
                ms = started.elapsed().as_millis() as u64,
                "upstream call"
            );
            if status.is_success() {
                return Ok(Answer {
                    status: status.as_u16(),
                    headers,
                    body,
                });
            }
            if status.is_redirection() {
                let location = headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(redact::urls)
                    .unwrap_or_default();
                return Err(fail(Failure::Redirect {
                    status: status.as_u16(),
                    location,
                }));
            }
            last = Failure::Status {
                status: status.as_u16(),
                message: self.clean(&error_message(&body), auth, &call.headers),
                body: serde_json::from_slice(&body).ok().map(Box::new),
            };
            if !retryable_status(status) {
                break;
            }
            next_wait = retry_after(&headers);
        }
        Err(fail(last))
    }

    /// Send and read a JSON body into `T`.
    pub async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, ClientError> {
        self.json_shaped(call, decode::from_value).await
    }

    /// Send and read a JSON body with `read`, for answers that come in more than one
    /// documented shape (a file or a listing; a page object or a bare array).
    pub async fn json_shaped<T>(
        &self,
        call: Call,
        read: impl FnOnce(serde_json::Value) -> Result<T, Undecodable>,
    ) -> Result<T, ClientError> {
        let method = call.method.to_string();
        let path = format!("/{}", call.segments.join("/"));
        let answer = self.send(call).await?;
        decode::parse(&answer.body)
            .and_then(read)
            .map_err(|why| ClientError::undecodable(self.upstream, method, path, why))
    }

    fn transport_failure(
        &self,
        e: &reqwest::Error,
        auth: &Auth,
        headers: &[(String, String)],
    ) -> Failure {
        if e.is_timeout() {
            Failure::Timeout
        } else {
            Failure::Connect(self.clean(&root_cause(e), auth, headers))
        }
    }

    /// Remove credentials (tokens, header values) from text that may come back from the
    /// upstream.
    fn clean(&self, text: &str, auth: &Auth, headers: &[(String, String)]) -> String {
        let mut text = redact::urls(text);
        let header_values = headers.iter().map(|(_, v)| v.as_str());
        for secret in [self.auth.secret(), auth.secret()]
            .into_iter()
            .flatten()
            .chain(header_values)
        {
            text = redact::secret(&text, secret);
        }
        text
    }
}

fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// Exponential backoff with jitter: a random wait between half and all of
/// `base * 2^(attempt-1)`.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let ceiling = base * (1u32 << attempt.saturating_sub(1).min(6));
    let half = ceiling / 2;
    half + Duration::from_millis(rand::rng().random_range(0..=half.as_millis().max(1) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn auth_debug_hides_the_secret() {
        let auth = Auth::Token(SecretString::from("sekrit".to_string()));
        assert!(!format!("{auth:?}").contains("sekrit"));
        let header = auth.header().unwrap();
        assert!(header.is_sensitive());
    }

    #[test]
    fn only_transient_statuses_are_retried() {
        for (status, retry) in [
            (429, true),
            (502, true),
            (503, true),
            (504, true),
            (500, false),
            (404, false),
            (422, false),
        ] {
            assert_eq!(
                retryable_status(StatusCode::from_u16(status).unwrap()),
                retry,
                "{status}"
            );
        }
    }

    #[test]
    fn urls_are_built_from_encoded_segments() {
        let http = Http::new(
            "Gitea",
            "http://h:1/api/v1/",
            Auth::None,
            HttpConfig::default(),
        );
        let call = Call::new(
            Method::GET,
            &["repos", "o", "r", "contents", "dir", "a b#?.md", "../x"],
        )
        .query("ref", "main");
        let url = http.url(&call).unwrap();
        assert_eq!(
            url.as_str(),
            "http://h:1/api/v1/repos/o/r/contents/dir/a%20b%23%3F.md/..%2Fx?ref=main"
        );
    }

    #[test]
    fn backoff_grows_and_stays_jittered_within_bounds() {
        for attempt in 1..4 {
            let ceiling = Duration::from_millis(100) * (1 << (attempt - 1));
            for _ in 0..50 {
                let wait = backoff(Duration::from_millis(100), attempt);
                assert!(
                    wait >= ceiling / 2 && wait <= ceiling,
                    "{wait:?} for attempt {attempt}"
                );
            }
        }
    }
}

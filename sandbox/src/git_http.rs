//! A git smart-HTTP server: real `git http-backend` (CGI) over bare repositories in a
//! folder, behind HTTP Basic auth, as Gitea serves `/{owner}/{name}.git`. Every request
//! is required to authenticate (like a private repository), and each authentication
//! attempt is recorded so tests can see what credentials arrived.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri, header};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// Largest request body accepted (a pushed pack).
const MAX_BODY: usize = 256 * 1024 * 1024;

/// One authentication attempt seen by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthAttempt {
    /// The user name sent, if any.
    pub username: Option<String>,
    /// True when user and token matched.
    pub accepted: bool,
}

/// Configuration and observations of one git HTTP server.
#[derive(Debug)]
pub struct GitHttpState {
    repos: PathBuf,
    username: String,
    token: String,
    attempts: Mutex<Vec<AuthAttempt>>,
}

impl GitHttpState {
    /// Serve the bare repositories under `repos`, accepting `username` with `token`.
    pub fn new(repos: &Path, username: &str, token: &str) -> Arc<Self> {
        Arc::new(GitHttpState {
            repos: repos.to_path_buf(),
            username: username.to_string(),
            token: token.to_string(),
            attempts: Mutex::new(Vec::new()),
        })
    }

    /// Authentication attempts so far.
    pub fn attempts(&self) -> Vec<AuthAttempt> {
        self.attempts.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// Create the bare repository `owner/name` (idempotent).
    pub fn create_repo(&self, full_name: &str) -> std::io::Result<PathBuf> {
        let path = self.repos.join(format!("{full_name}.git"));
        if path.join("HEAD").exists() {
            return Ok(path);
        }
        std::fs::create_dir_all(&path)?;
        let status = std::process::Command::new("git")
            .args(["init", "--bare", "--quiet", "--initial-branch=main"])
            .arg(&path)
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other(format!(
                "git init --bare {full_name} failed"
            )));
        }
        Ok(path)
    }

    fn check_auth(&self, headers: &HeaderMap) -> bool {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b64| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .ok()
            })
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|pair| {
                pair.split_once(':')
                    .map(|(u, p)| (u.to_string(), p.to_string()))
            });
        let Some((user, pass)) = sent else {
            return false;
        };
        let accepted = user == self.username && pass == self.token;
        if let Ok(mut log) = self.attempts.lock() {
            log.push(AuthAttempt {
                username: Some(user),
                accepted,
            });
        }
        accepted
    }
}

/// The axum router serving git smart HTTP for `state`.
pub fn router(state: Arc<GitHttpState>) -> Router {
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Bind 127.0.0.1:`port` (0 = any) and serve in the background; returns the address.
pub async fn spawn(state: Arc<GitHttpState>, port: u16) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(state)).await;
    });
    Ok(addr)
}

async fn handle(
    State(state): State<Arc<GitHttpState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    if !state.check_auth(&headers) {
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header(header::WWW_AUTHENTICATE, "Basic realm=\"Gitea\"")
            .body(Body::from("Unauthorized\n"))
            .unwrap_or_default();
    }
    match run_backend(&state, &method, &uri, &headers, body).await {
        Ok(response) => response,
        Err(e) => Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body(Body::from(format!("git http-backend failed: {e}\n")))
            .unwrap_or_default(),
    }
}

async fn run_backend(
    state: &GitHttpState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> std::io::Result<Response<Body>> {
    let request = CgiRequest {
        method,
        path_info: uri.path(),
        query: uri.query().unwrap_or_default(),
        headers,
        remote_user: &state.username,
    };
    cgi(&state.repos, &request, body).await
}

/// One request for `git http-backend`: what it needs besides the body.
pub(crate) struct CgiRequest<'a> {
    pub method: &'a Method,
    /// `/owner/name.git/info/refs`, relative to the project root.
    pub path_info: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    /// The authenticated user (`REMOTE_USER`; receive-pack needs one).
    pub remote_user: &'a str,
}

/// Run `git http-backend` (CGI) over the bare repositories under `project_root` with a
/// cleared environment, feeding `body` on stdin while reading its output.
pub(crate) async fn cgi(
    project_root: &Path,
    req: &CgiRequest<'_>,
    body: Bytes,
) -> std::io::Result<Response<Body>> {
    let header_str = |name: header::HeaderName| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut child = tokio::process::Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", project_root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REMOTE_USER", req.remote_user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("REQUEST_METHOD", req.method.as_str())
        .env("PATH_INFO", req.path_info)
        .env("QUERY_STRING", req.query)
        .env("CONTENT_TYPE", header_str(header::CONTENT_TYPE))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env(
            "HTTP_CONTENT_ENCODING",
            header_str(header::CONTENT_ENCODING),
        )
        .env(
            "GIT_PROTOCOL",
            req.headers
                .get("git-protocol")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    // Feed stdin concurrently so a large response cannot stall a large request.
    let writer = child.stdin.take().map(|mut stdin| {
        tokio::spawn(async move {
            let _ = stdin.write_all(&body).await;
        })
    });
    let output = child.wait_with_output().await?;
    if let Some(w) = writer {
        let _ = w.await;
    }
    Ok(cgi_response(&output.stdout))
}

/// Turn CGI output (headers, blank line, body) into an HTTP response.
fn cgi_response(raw: &[u8]) -> Response<Body> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            raw.windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        });
    let Some((head_end, body_start)) = split else {
        return Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::from("malformed CGI output\n"))
            .unwrap_or_default();
    };
    let mut builder = Response::builder().status(StatusCode::OK);
    for line in String::from_utf8_lossy(&raw[..head_end]).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value
                .split_whitespace()
                .next()
                .and_then(|c| c.parse::<u16>().ok());
            if let Some(status) = code.and_then(|c| StatusCode::from_u16(c).ok()) {
                builder = builder.status(status);
            }
        } else {
            builder = builder.header(name.trim(), value);
        }
    }
    builder
        .body(Body::from(raw[body_start..].to_vec()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgi_status_headers_and_body_are_carried_over() {
        let r = cgi_response(b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/plain");
        let r = cgi_response(b"Content-Type: application/x-git\n\nPACK");
        assert_eq!(r.status(), StatusCode::OK);
    }
}

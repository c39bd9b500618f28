//! An in-memory Google Cloud stand-in on 127.0.0.1 for tests, smoke scripts and `vibn
//! sandbox google`, following `shared/reference/providers.md` (Google part) and the
//! discovery documents in `shared/specs/google/`. One listener serves, under their real
//! paths, Cloud DNS (`/dns/v1/…`: managed zones with apex SOA + NS and output-only
//! `nameServers`, record sets, changes), IAM (`/v1/…`: service accounts and their keys)
//! and Cloud Storage (`/storage/v1/…`: buckets with global names, bucket IAM policies
//! with etags, HMAC keys whose secret only the create answer carries), plus the OAuth
//! token endpoint `POST /token` (JWT-bearer; every API call needs its bearer token).
//!
//! At start it mints an RSA service-account key for the project's operator account and
//! writes the key file. Every API request is checked against the discovery documents
//! ([`validate`]); violations are refused with 400 and listed at `/_sandbox/violations`.
//! Tests steer it through [`GoogleState`] or the HTTP controls under `/_sandbox/`
//! ([`controls`]): request log, faults per operation, token expiry, foreign buckets.
//! Errors use Google's envelopes ([`errors`]).

mod controls;
mod dns;
pub mod errors;
mod iam;
mod state;
mod storage;
pub mod token;
pub mod validate;

#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Response, Uri, header};
use rand::Rng;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::plumbing::{Reply, json_reply, percent_decode, query_pairs, reply};
use errors::{Style, default_reason, error, error_body};

pub use state::{GoogleFault, GoogleState, RecordedRequest};
pub use validate::{Validator, Violation};

/// A running Google stand-in. Dropping it stops the server (and removes the key file's
/// folder when it made a temporary one).
#[derive(Debug)]
pub struct GoogleSandbox {
    addr: SocketAddr,
    state: Arc<GoogleState>,
    task: JoinHandle<()>,
    credentials: PathBuf,
    client_email: String,
    temporary_dir: Option<PathBuf>,
}

static VALIDATOR_OFF: Once = Once::new();

impl GoogleSandbox {
    /// Start on 127.0.0.1:`port` (0 = any) with a fresh project and its operator
    /// service account, and write the account's key file as `dir/service-account.json`
    /// (`dir` created when missing; a temporary folder when `None`).
    pub async fn start(port: u16, dir: Option<&Path>) -> io::Result<GoogleSandbox> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let mut rng = rand::rng();
        let project_id = format!(
            "vibn-sandbox-{}",
            Alphanumeric.sample_string(&mut rng, 6).to_ascii_lowercase()
        );
        let project_number = rng
            .random_range(100_000_000_000u64..999_999_999_999)
            .to_string();
        let discovery = validate::configured_dir();
        let validator = match Validator::load(&discovery) {
            Ok(v) => Some(v),
            Err(e) => {
                VALIDATOR_OFF.call_once(|| {
                    #[allow(clippy::print_stderr)]
                    {
                        // The sandbox has no logger; this is its one diagnostic line.
                        eprintln!("vibn-sandbox: Google contract validation is off: {e}");
                    }
                });
                None
            }
        };
        let state = Arc::new(GoogleState::new(
            &project_id,
            &project_number,
            &format!("http://{addr}/token"),
            validator,
            discovery.display().to_string(),
        ));
        let client_email = format!("vibn-operator@{project_id}.iam.gserviceaccount.com");
        let unique_id = iam::insert_account(&state, "vibn-operator", "vibn operator", "");
        let minted =
            token::mint_key(&state, &client_email, &unique_id).map_err(io::Error::other)?;
        let (dir, temporary_dir) = match dir {
            Some(d) => (d.to_path_buf(), None),
            None => {
                let d = std::env::temp_dir().join(format!(
                    "vibn-google-{}",
                    Alphanumeric
                        .sample_string(&mut rng, 12)
                        .to_ascii_lowercase()
                ));
                (d.clone(), Some(d))
            }
        };
        std::fs::create_dir_all(&dir)?;
        let credentials = dir.join("service-account.json");
        write_private(
            &credentials,
            &serde_json::to_vec_pretty(&minted.key_file).unwrap_or_default(),
        )?;
        let app = Router::new().fallback(entry).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(GoogleSandbox {
            addr,
            state,
            task,
            credentials,
            client_email,
            temporary_dir,
        })
    }

    /// `http://127.0.0.1:PORT/` — `VIBN_GOOGLE_API_URL` (append servicePath + path).
    pub fn api_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// `http://127.0.0.1:PORT/token`.
    pub fn token_url(&self) -> String {
        self.state.token_url.clone()
    }

    /// The key file (`GOOGLE_APPLICATION_CREDENTIALS`).
    pub fn credentials_path(&self) -> &Path {
        &self.credentials
    }

    /// The project id (`GCP_PROJECT`).
    pub fn project_id(&self) -> String {
        self.state.project_id.clone()
    }

    /// The project number (what buckets report as `projectNumber`).
    pub fn project_number(&self) -> String {
        self.state.project_number.clone()
    }

    /// The operator service account's email.
    pub fn client_email(&self) -> String {
        self.client_email.clone()
    }

    /// The shared state: controls, faults, the request log and violations.
    pub fn state(&self) -> &Arc<GoogleState> {
        &self.state
    }
}

impl Drop for GoogleSandbox {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(d) = &self.temporary_dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Write `bytes` to `path` readable by the owner only (it holds a private key).
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

/// Which API a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    Dns,
    Iam,
    Storage,
}

impl Api {
    fn style(self) -> Style {
        match self {
            Api::Iam => Style::OnePlatform,
            _ => Style::JsonApi,
        }
    }

    /// The scopes (after `https://www.googleapis.com/auth/`) that allow a call.
    fn scopes(self, read: bool) -> Vec<String> {
        let mut names = vec!["cloud-platform"];
        match self {
            Api::Dns => names.push("ndev.clouddns.readwrite"),
            Api::Storage => names.extend(["devstorage.full_control", "devstorage.read_write"]),
            Api::Iam => {}
        }
        if read {
            names.push("cloud-platform.read-only");
            match self {
                Api::Dns => names.push("ndev.clouddns.readonly"),
                Api::Storage => names.push("devstorage.read_only"),
                Api::Iam => {}
            }
        }
        names
            .into_iter()
            .map(|n| format!("https://www.googleapis.com/auth/{n}"))
            .collect()
    }
}

/// One authenticated API call, as the handlers see it.
pub(crate) struct Call<'a> {
    pub state: &'a GoogleState,
    pub op: &'static str,
    pub segs: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: Value,
    pub principal: String,
}

impl Call<'_> {
    /// A query parameter.
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `project` (id or number) is the stand-in's project.
    pub fn own_project(&self, project: &str) -> bool {
        project == self.state.project_id || project == self.state.project_number
    }
}

/// The discovery id and API of a method + path the stand-in serves.
fn route(method: &Method, segs: &[String]) -> Option<(&'static str, Api)> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = method.as_str();
    let found = match s.as_slice() {
        ["dns", "v1", "projects", _, "managedZones", rest @ ..] => (
            match (m, rest) {
                ("POST", []) => "dns.managedZones.create",
                ("GET", []) => "dns.managedZones.list",
                ("GET", [_]) => "dns.managedZones.get",
                ("DELETE", [_]) => "dns.managedZones.delete",
                ("POST", [_, "rrsets"]) => "dns.resourceRecordSets.create",
                ("GET", [_, "rrsets"]) => "dns.resourceRecordSets.list",
                ("GET", [_, "rrsets", _, _]) => "dns.resourceRecordSets.get",
                ("PATCH", [_, "rrsets", _, _]) => "dns.resourceRecordSets.patch",
                ("DELETE", [_, "rrsets", _, _]) => "dns.resourceRecordSets.delete",
                ("POST", [_, "changes"]) => "dns.changes.create",
                ("GET", [_, "changes", _]) => "dns.changes.get",
                _ => return None,
            },
            Api::Dns,
        ),
        ["v1", "projects", _, "serviceAccounts", rest @ ..] => (
            match (m, rest) {
                ("POST", []) => "iam.projects.serviceAccounts.create",
                ("GET", []) => "iam.projects.serviceAccounts.list",
                ("GET", [_]) => "iam.projects.serviceAccounts.get",
                ("DELETE", [_]) => "iam.projects.serviceAccounts.delete",
                ("POST", [_, "keys"]) => "iam.projects.serviceAccounts.keys.create",
                ("GET", [_, "keys"]) => "iam.projects.serviceAccounts.keys.list",
                ("GET", [_, "keys", _]) => "iam.projects.serviceAccounts.keys.get",
                ("DELETE", [_, "keys", _]) => "iam.projects.serviceAccounts.keys.delete",
                _ => return None,
            },
            Api::Iam,
        ),
        ["storage", "v1", "b", rest @ ..] => (
            match (m, rest) {
                ("POST", []) => "storage.buckets.insert",
                ("GET", [_]) => "storage.buckets.get",
                ("GET", [_, "iam"]) => "storage.buckets.getIamPolicy",
                ("PUT", [_, "iam"]) => "storage.buckets.setIamPolicy",
                _ => return None,
            },
            Api::Storage,
        ),
        ["storage", "v1", "projects", _, "hmacKeys", rest @ ..] => (
            match (m, rest) {
                ("POST", []) => "storage.projects.hmacKeys.create",
                ("GET", []) => "storage.projects.hmacKeys.list",
                ("GET", [_]) => "storage.projects.hmacKeys.get",
                ("PUT", [_]) => "storage.projects.hmacKeys.update",
                ("DELETE", [_]) => "storage.projects.hmacKeys.delete",
                _ => return None,
            },
            Api::Storage,
        ),
        _ => return None,
    };
    Some(found)
}

/// The API a path belongs to by its prefix (for error shapes of unmatched paths).
fn api_of_path(path: &str) -> Api {
    if path.starts_with("/v1/") {
        Api::Iam
    } else if path.starts_with("/storage/") {
        Api::Storage
    } else {
        Api::Dns
    }
}

async fn entry(
    State(state): State<Arc<GoogleState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    if let Some(rest) = path.strip_prefix("/_sandbox/") {
        return controls::handle(&state, &method, rest, &body);
    }
    let mut record = RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        operation: String::new(),
        principal: String::new(),
        status: 0,
        body: Value::Null,
        faulted: false,
    };
    let answer = if path == "/token" {
        record.operation = "token".into();
        token_call(&state, &method, &body, &mut record).await
    } else {
        api_call(&state, &method, &path, &query, &headers, &body, &mut record).await
    };
    record.status = answer.status().as_u16();
    state.record(record);
    answer
}

async fn token_call(
    state: &GoogleState,
    method: &Method,
    body: &[u8],
    record: &mut RecordedRequest,
) -> Reply {
    if method != Method::POST {
        return json_reply(
            405,
            &json!({ "error": "invalid_request", "error_description": "The token endpoint takes POST" }),
        );
    }
    if let Some(f) = state.take_fault("token") {
        record.faulted = true;
        let mut f = f;
        if f.body.is_none() {
            // The token endpoint's errors are OAuth's `{error, error_description}`.
            let status = f.status.unwrap_or(503);
            let error = f.reason.clone().unwrap_or_else(|| {
                if status >= 500 {
                    "temporarily_unavailable"
                } else {
                    "invalid_request"
                }
                .to_string()
            });
            let description = f
                .message
                .clone()
                .unwrap_or_else(|| crate::plumbing::reason(status).to_string());
            f.body = Some(json!({ "error": error, "error_description": description }));
        }
        return fault_answer(&f, Style::JsonApi, None).await;
    }
    let (answer, principal) = token::token_endpoint(state, body);
    record.principal = principal;
    answer
}

#[allow(clippy::too_many_arguments)]
async fn api_call(
    state: &GoogleState,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    record: &mut RecordedRequest,
) -> Reply {
    let contract = state
        .validator
        .as_ref()
        .map(|v| v.check(method.as_str(), path, query, body));
    let full_path = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    if let Some(c) = &contract {
        let found = c
            .problems
            .iter()
            .map(|reason| Violation {
                method: method.to_string(),
                path: full_path.clone(),
                reason: reason.clone(),
            })
            .collect();
        state.add_violations(found);
    }
    if !matches!(*method, Method::GET | Method::HEAD) && !body.is_empty() {
        record.body = serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    }
    let segs: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let Some((op, api)) = route(method, &segs) else {
        let style = api_of_path(path).style();
        return match contract.and_then(|c| c.method_id) {
            Some(id) => error(
                style,
                501,
                "notImplemented",
                &format!("{id} is not implemented by the vibn Google stand-in"),
            ),
            None => error(
                style,
                404,
                "notFound",
                &format!("Not Found: {method} {path}"),
            ),
        };
    };
    record.operation = op.to_string();
    let style = api.style();
    if let Some(problems) = contract.map(|c| c.problems).filter(|p| !p.is_empty()) {
        return error(
            style,
            400,
            "invalid",
            &format!("Invalid request: {}", problems.join("; ")),
        );
    }
    let read = matches!(*method, Method::GET);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = match token::check_bearer(
        state,
        authorization,
        &api.scopes(read)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    ) {
        Ok(p) => p,
        Err(problem) => return bearer_refusal(style, problem),
    };
    record.principal = principal.clone();
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return error(style, 400, "parseError", "Parse Error"),
        }
    };
    let call = Call {
        state,
        op,
        segs,
        query: query_pairs(query),
        body: parsed,
        principal,
    };
    let fault = state.take_fault(op);
    if let Some(f) = &fault {
        record.faulted = true;
        let served = f.apply.then(|| serve(api, &call));
        return fault_answer(f, style, served).await;
    }
    serve(api, &call)
}

fn serve(api: Api, call: &Call<'_>) -> Reply {
    match api {
        Api::Dns => dns::handle(call),
        Api::Iam => iam::handle(call),
        Api::Storage => storage::handle(call),
    }
}

/// The answer of an injected fault (after its delay; `served` is the real answer that
/// was thrown away when the fault applies the call first).
async fn fault_answer(f: &GoogleFault, style: Style, served: Option<Reply>) -> Reply {
    drop(served);
    if f.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
    }
    let status = f.status.unwrap_or(503);
    let body = f.body.clone().unwrap_or_else(|| {
        let reason = f
            .reason
            .clone()
            .unwrap_or_else(|| default_reason(status).to_string());
        let message = f
            .message
            .clone()
            .unwrap_or_else(|| crate::plumbing::reason(status).to_string());
        error_body(style, status, &reason, &message, None)
    });
    json_reply(status, &body)
}

fn bearer_refusal(style: Style, problem: token::BearerProblem) -> Reply {
    let (status, reason, message, challenge) = match problem {
        token::BearerProblem::Missing => (
            401,
            "required",
            "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            "Bearer realm=\"https://accounts.google.com/\"",
        ),
        token::BearerProblem::Invalid => (
            401,
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
        ),
        token::BearerProblem::Scope => (
            403,
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
            "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\"",
        ),
    };
    let mut answer = error(style, status, reason, message);
    if let Ok(v) = HeaderValue::from_str(challenge) {
        answer.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    answer
}

/// 204 with no body (what Google answers to deletes).
pub(crate) fn no_content() -> Reply {
    reply(204, "application/json", Body::empty())
}

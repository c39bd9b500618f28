//! An in-memory OpenSRS (Tucows) XCP stand-in on 127.0.0.1 for tests, smoke scripts and
//! `vibn sandbox opensrs`, following `shared/reference/providers.md` (OpenSRS part).
//! `POST /` takes an OPS envelope with `X-Username` and `X-Signature` =
//! `md5_hex(md5_hex(body + key) + key)`; a wrong user or signature gets the XCP 401
//! "Authentication Failed" envelope, a malformed envelope a 400 envelope, an unknown
//! attribute 465 — every refusal is logged. Commands: LOOKUP, NAME_SUGGEST (the `lookup`
//! service), GET_PRICE, SW_REGISTER (`.ai` 2–10 years, `.ca` CIRA fields), ADVANCED_UPDATE_
//! NAMESERVERS (405 while locked, Horizon's refusal of unknown hosts in test mode),
//! MODIFY data=status, GET type=status|all_info|nameservers. Error replies are HTTP 200
//! envelopes, as clients parse the body whatever the status.
//!
//! Tests and scripts steer it in Rust through [`OpenSrsState`] or over HTTP under
//! `/_sandbox/` (see [`controls`]): the request log, faults per action (a code instead of
//! the answer, `forced_pending` for SW_REGISTER, an HTTP failure, a delay, an answer lost
//! after the command ran), settings (live/test mode, refusal while locked) and the
//! registry's contents.

mod commands;
mod controls;
mod domains;
mod queries;
mod register;
mod state;
pub mod xcp;

#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, Uri};
use md5::{Digest, Md5};
use rand::distr::{Alphanumeric, SampleString};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::plumbing::{reason, reply};
use commands::Answer;
use xcp::Data;

pub use state::{Domain, Mode, OpenSrsState, PendingOrder, RecordedCall, Settings, XcpFault};

/// A running OpenSRS stand-in. Dropping it stops the server.
#[derive(Debug)]
pub struct OpenSrsSandbox {
    addr: SocketAddr,
    state: Arc<OpenSrsState>,
    task: JoinHandle<()>,
}

impl OpenSrsSandbox {
    /// Start on 127.0.0.1:`port` (0 = any) with a random reseller user and key, in live
    /// mode. Returns once listening.
    pub async fn start(port: u16) -> io::Result<OpenSrsSandbox> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let mut rng = rand::rng();
        let username = format!(
            "vibn{}",
            Alphanumeric.sample_string(&mut rng, 8).to_ascii_lowercase()
        );
        let key = Alphanumeric.sample_string(&mut rng, 64);
        let state = Arc::new(OpenSrsState::new(&username, &key));
        let app = Router::new().fallback(entry).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(OpenSrsSandbox { addr, state, task })
    }

    /// `http://127.0.0.1:PORT` — the XCP endpoint (`POST /`), what `OPENSRS_ENV` holds.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The reseller user (`OPENSRS_USERNAME`).
    pub fn username(&self) -> String {
        self.state.username.clone()
    }

    /// The reseller private key (`OPENSRS_KEY`).
    pub fn key(&self) -> String {
        self.state.key.clone()
    }

    /// The shared state: controls, faults and the request log.
    pub fn state(&self) -> &Arc<OpenSrsState> {
        &self.state
    }
}

impl Drop for OpenSrsSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `X-Signature` for `body` signed with `key`: `md5_hex(md5_hex(body + key) + key)`.
pub fn signature(body: &[u8], key: &str) -> String {
    let inner = Md5::new()
        .chain_update(body)
        .chain_update(key.as_bytes())
        .finalize();
    let outer = Md5::new()
        .chain_update(format!("{inner:x}").as_bytes())
        .chain_update(key.as_bytes())
        .finalize();
    format!("{outer:x}")
}

async fn entry(
    State(state): State<Arc<OpenSrsState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let path = uri.path();
    if let Some(rest) = path.strip_prefix("/_sandbox/") {
        return controls::handle(&state, &method, rest, &body);
    }
    if path != "/" {
        return reply(404, "text/plain", "Not Found");
    }
    if method != Method::POST {
        return reply(405, "text/plain", reason(405));
    }
    xcp_call(&state, &headers, &body).await
}

/// One XCP request: authenticate, parse, apply faults, run, log, answer.
async fn xcp_call(state: &OpenSrsState, headers: &HeaderMap, body: &[u8]) -> Response<Body> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let username = header("x-username");
    let signature_ok = username == state.username
        && header("x-signature").eq_ignore_ascii_case(&signature(body, &state.key));
    let mut call = RecordedCall {
        username,
        signature_ok,
        action: String::new(),
        object: String::new(),
        attributes: serde_json::Value::Null,
        write: false,
        response_code: 0,
        is_success: false,
        error: None,
        faulted: false,
    };
    if !signature_ok {
        return refuse(
            state,
            call,
            401,
            "Authentication Failed",
            "wrong X-Username or X-Signature",
        );
    }
    let block = match xcp::parse_envelope(body) {
        Ok(b) => b,
        Err(why) => {
            let text = format!("Unable to parse the XML request: {why}");
            return refuse(state, call, 400, &text, &why);
        }
    };
    call.action = block
        .text("action")
        .unwrap_or_default()
        .to_ascii_uppercase();
    call.object = block
        .text("object")
        .unwrap_or_default()
        .to_ascii_uppercase();
    call.attributes = block
        .get("attributes")
        .map(Data::to_json)
        .unwrap_or_default();
    call.write = commands::is_write(&call.action);
    if let Some(bad) = envelope_problem(&block) {
        return refuse(state, call, bad.code, &bad.text, &bad.text);
    }
    let attributes = block
        .get("attributes")
        .cloned()
        .unwrap_or(Data::Assoc(Vec::new()));
    let top_domain = block.text("domain");
    let fault = state.take_fault(&call.action);
    let mut answer = None;
    if let Some(f) = &fault {
        call.faulted = true;
        if f.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
        }
        if f.apply || (f.response_code.is_none() && f.http_status.is_none() && !f.pending) {
            answer = Some(commands::run(
                state,
                &call.action,
                &call.object,
                &attributes,
                top_domain,
            ));
        }
        if let Some(status) = f.http_status {
            state.record(call);
            return reply(status, "text/plain", reason(status));
        }
        if f.pending && call.action == "SW_REGISTER" {
            answer = Some(register::save_pending(state, &attributes));
        } else if let Some(code) = f.response_code {
            answer = Some(Answer {
                code,
                text: f
                    .response_text
                    .clone()
                    .unwrap_or_else(|| default_text(code).into()),
                success: f.is_success,
                attributes: f.attributes.as_ref().map(commands::json_to_data),
            });
        }
    }
    let answer = answer.unwrap_or_else(|| {
        commands::run(state, &call.action, &call.object, &attributes, top_domain)
    });
    call.response_code = answer.code;
    call.is_success = answer.success;
    state.record(call);
    envelope_reply(&answer, true)
}

/// What is wrong with the top level of a request, if anything.
fn envelope_problem(block: &Data) -> Option<Answer> {
    const TOP: &[&str] = &[
        "protocol",
        "action",
        "object",
        "attributes",
        "registrant_ip",
        "cookie",
        "domain",
    ];
    if let Some(k) = block.keys().into_iter().find(|k| !TOP.contains(k)) {
        return Some(Answer::err(
            465,
            format!("Invalid data: unknown item '{k}'"),
        ));
    }
    if !block
        .text("protocol")
        .is_some_and(|p| p.eq_ignore_ascii_case("XCP"))
    {
        return Some(Answer::err(430, "Invalid command: protocol must be XCP"));
    }
    for key in ["action", "object"] {
        if block.text(key).is_none_or(str::is_empty) {
            return Some(Answer::err(
                460,
                format!("Missing required field: '{key}' not provided"),
            ));
        }
    }
    if block.get("cookie").is_some() {
        return Some(Answer::err(
            415,
            "Authentication failed: invalid or expired cookie",
        ));
    }
    if block
        .get("attributes")
        .is_some_and(|a| !matches!(a, Data::Assoc(_)))
    {
        return Some(Answer::err(
            465,
            "Invalid data: attributes must be a dt_assoc",
        ));
    }
    None
}

/// Log a refused request and answer its error envelope.
fn refuse(
    state: &OpenSrsState,
    mut call: RecordedCall,
    code: u16,
    text: &str,
    why: &str,
) -> Response<Body> {
    call.response_code = code;
    call.error = Some(why.to_string());
    let with_object = code != 401 && code != 400;
    state.record(call);
    envelope_reply(&Answer::err(code, text), with_object)
}

fn default_text(code: u16) -> &'static str {
    match code {
        400 => "Internal server error",
        405 => "Registry error: domain's nameserver not updated.",
        415 => "Authentication failed",
        430 => "Invalid command",
        435 => "Permission denied",
        437 => "Another request is already waiting on this domain",
        460 => "Missing required field",
        465 => "Invalid data supplied",
        480 => "Item not found",
        485 => "Domain taken",
        486 => "Entity already exists in a processing state; try again in a minute",
        705 => "Timed out, resubmit request.",
        _ => "Command failed",
    }
}

/// The reply envelope of `answer` (HTTP 200, `text/xml`).
fn envelope_reply(answer: &Answer, with_object: bool) -> Response<Body> {
    let mut items = vec![
        ("protocol".to_string(), Data::text_of("XCP")),
        ("action".to_string(), Data::text_of("REPLY")),
    ];
    if with_object {
        items.push(("object".into(), Data::text_of("DOMAIN")));
    }
    items.extend([
        (
            "is_success".to_string(),
            Data::text_of(if answer.success { "1" } else { "0" }),
        ),
        (
            "response_code".to_string(),
            Data::text_of(answer.code.to_string()),
        ),
        (
            "response_text".to_string(),
            Data::text_of(answer.text.clone()),
        ),
    ]);
    if let Some(attributes) = &answer.attributes {
        items.push(("attributes".into(), attributes.clone()));
    }
    reply(200, "text/xml", xcp::write_envelope(&Data::Assoc(items)))
}

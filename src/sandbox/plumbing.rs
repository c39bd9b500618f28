//! HTTP plumbing that every sandbox does the same way: building a reply, the reason
//! phrase of a status, splitting and percent-decoding a query string. What differs
//! between the real servers (content types, which of repeated keys wins, time formats)
//! stays in each sandbox.

use axum::body::Body;
use axum::http::{Response, StatusCode, header};
use serde_json::Value;

/// An HTTP answer.
pub(crate) type Reply = Response<Body>;

/// `status` as a status code (500 when it is not one).
pub(crate) fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An answer with `status`, a `Content-Type` and a body.
pub(crate) fn reply(status: u16, content_type: &str, body: impl Into<Body>) -> Reply {
    Response::builder()
        .status(status_code(status))
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap_or_default()
}

/// An `application/json` answer with `status`.
pub(crate) fn json_reply(status: u16, body: &Value) -> Reply {
    reply(status, "application/json", body.to_string())
}

/// The reason phrase of `status` (`"Error"` when it has none).
pub(crate) fn reason(status: u16) -> &'static str {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|c| c.canonical_reason())
        .unwrap_or("Error")
}

/// The decoded `key=value` pairs of a raw query string, in order (`+` is a space; a
/// pair without `=` has an empty value).
pub(crate) fn query_pairs(raw: &str) -> Vec<(String, String)> {
    let decode = |s: &str| percent_decode(&s.replace('+', " "));
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// Percent-decode one path segment or query part (invalid escapes kept as they are).
pub(crate) fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

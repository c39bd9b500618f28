//! HTTP plumbing that every sandbox does the same way: building a reply, the reason
//! phrase of a status, splitting and percent-decoding a query string. What differs
//! between the real servers (content types, which of repeated keys wins, time formats)
//! stays in each sandbox.

use axum::body::Body;
use axum::http::{Response, StatusCode, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
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
    form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Percent-decode one path segment or query part (invalid escapes kept as they are).
pub(crate) fn percent_decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encode one path segment, as PHP's `rawurlencode` and Go's `PathEscape` of a
/// segment do (everything but unreserved characters).
pub(crate) fn percent_encode(segment: &str) -> String {
    utf8_percent_encode(segment, NOT_UNRESERVED).to_string()
}

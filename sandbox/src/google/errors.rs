//! Google's JSON error envelopes (providers.md Google §2): Cloud DNS and Cloud Storage
//! answer `{"error":{"code","message","errors":[{"message","domain":"global","reason"}]}}`;
//! IAM (One Platform) adds `"status"` (`ALREADY_EXISTS`, …) and may carry `details`.

use serde_json::{Value, json};

use crate::plumbing::{Reply, json_reply};

/// Which envelope an API answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Cloud DNS, Cloud Storage.
    JsonApi,
    /// IAM: adds `status`.
    OnePlatform,
}

/// The canonical status name of an HTTP code (google.rpc.Code).
pub fn status_name(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

/// The usual `reason` of an HTTP code in the JSON API family.
pub fn default_reason(code: u16) -> &'static str {
    match code {
        400 => "invalid",
        401 => "authError",
        403 => "forbidden",
        404 => "notFound",
        409 => "conflict",
        412 => "conditionNotMet",
        429 => "rateLimitExceeded",
        503 => "backendError",
        _ => "internalError",
    }
}

/// The error body.
pub fn error_body(
    style: Style,
    code: u16,
    reason: &str,
    message: &str,
    details: Option<Value>,
) -> Value {
    let mut error = json!({
        "code": code,
        "message": message,
        "errors": [{ "message": message, "domain": "global", "reason": reason }],
    });
    if style == Style::OnePlatform {
        error["status"] = json!(status_name(code));
        if let Some(d) = details {
            error["details"] = d;
        }
    }
    json!({ "error": error })
}

/// An error answer.
pub fn error(style: Style, code: u16, reason: &str, message: &str) -> Reply {
    json_reply(code, &error_body(style, code, reason, message, None))
}

/// An error answer with `details` (One Platform only).
pub fn error_with_details(
    style: Style,
    code: u16,
    reason: &str,
    message: &str,
    details: Value,
) -> Reply {
    json_reply(
        code,
        &error_body(style, code, reason, message, Some(details)),
    )
}

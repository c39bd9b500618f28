//! What a failed upstream call carries, and how upstream error bodies are read: every
//! shape the upstreams send (`message`, `error`, `errors` as string, list or map).

use super::decode::Undecodable;
use crate::redact;

/// Most bytes of an upstream error body quoted in a message.
const MAX_ERROR_TEXT: usize = 300;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The upstream answered with an error status; `body` is its JSON, when it sent some.
    Status {
        status: u16,
        message: String,
        body: Option<Box<serde_json::Value>>,
    },
    /// The upstream answered a write with a redirect.
    Redirect { status: u16, location: String },
    /// No answer in time.
    Timeout,
    /// The upstream could not be reached.
    Connect(String),
    /// The answer could not be read: which field (empty for the whole answer) and why.
    Decode(Undecodable),
    /// The client is not configured (bad base URL).
    Config(String),
}

/// A failed upstream call: which upstream, what request, what went wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{upstream} {method} {path}: {}", describe(.failure, .upstream))]
pub struct ClientError {
    /// The upstream's display name (`Gitea`, `Coolify`).
    pub upstream: &'static str,
    /// The HTTP method.
    pub method: String,
    /// The path and query (no credentials).
    pub path: String,
    /// What went wrong.
    pub failure: Failure,
}

impl ClientError {
    /// An answer of `method path` that could not be read. Logged here at warn, once per
    /// failure, because it means the upstream speaks a shape vibn does not know (a new
    /// release, a proxy in between) and retrying will not change it.
    pub fn undecodable(
        upstream: &'static str,
        method: String,
        path: String,
        why: Undecodable,
    ) -> ClientError {
        tracing::warn!(
            upstream,
            %method,
            path = %path,
            field = %why.field,
            error = %why.message,
            "upstream answer not understood"
        );
        ClientError {
            upstream,
            method,
            path,
            failure: Failure::Decode(why),
        }
    }

    /// The upstream status, if it answered.
    pub fn status(&self) -> Option<u16> {
        match &self.failure {
            Failure::Status { status, .. } | Failure::Redirect { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn describe(failure: &Failure, upstream: &str) -> String {
    match failure {
        Failure::Status {
            status, message, ..
        } if message.is_empty() => {
            format!("{upstream} answered {status}")
        }
        Failure::Status {
            status, message, ..
        } => format!("{upstream} answered {status}: {message}"),
        Failure::Redirect { status, location } => {
            format!(
                "{upstream} answered {status} redirecting to {location}; writes are not redirected"
            )
        }
        Failure::Timeout => format!("{upstream} did not answer in time"),
        Failure::Connect(e) => format!("cannot reach {upstream}: {e}"),
        Failure::Decode(why) => format!("unexpected answer from {upstream}: {why}"),
        Failure::Config(e) => e.clone(),
    }
}

/// The upstream's own words: `message` or `error` from a JSON body (string, list or
/// map of lists, as Coolify sends), else the text, cut short.
pub fn error_message(body: &[u8]) -> String {
    let cut = |s: &str| -> String {
        let s = s.trim();
        match s.char_indices().nth(MAX_ERROR_TEXT) {
            Some((i, _)) => format!("{}…", &s[..i]),
            None => s.to_string(),
        }
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return cut(&String::from_utf8_lossy(body));
    };
    let mut parts = Vec::new();
    for key in ["message", "error"] {
        match value.get(key) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => parts.push(s.clone()),
            Some(other @ (serde_json::Value::Array(_) | serde_json::Value::Object(_))) => {
                parts.push(flatten(other))
            }
            _ => {}
        }
    }
    if let Some(errors) = value.get("errors") {
        parts.push(flatten(errors));
    }
    if parts.is_empty() {
        return cut(&value.to_string());
    }
    cut(&parts.join("; "))
}

fn flatten(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items.iter().map(flatten).collect::<Vec<_>>().join("; "),
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}: {}", flatten(v)))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

pub(super) fn root_cause(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    redact::urls(&source.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_read_from_every_upstream_shape() {
        let table: [(&str, &str); 7] = [
            (r#"{"message":"not found","url":"x"}"#, "not found"),
            (
                r#"{"message":"Validation failed.","errors":{"name":["The name field is required."]}}"#,
                "Validation failed.; name: The name field is required.",
            ),
            (r#"{"errors":{"domains":"bad"}}"#, "domains: bad"),
            (r#"{"error":"Unauthenticated."}"#, "Unauthenticated."),
            (r#"{"errors":["a","b"]}"#, "a; b"),
            ("plain text error", "plain text error"),
            (r#"{"ok":false}"#, r#"{"ok":false}"#),
        ];
        for (body, want) in table {
            assert_eq!(error_message(body.as_bytes()), want, "{body}");
        }
    }

    #[test]
    fn long_error_bodies_are_cut() {
        let body = "x".repeat(1000);
        assert!(error_message(body.as_bytes()).chars().count() <= MAX_ERROR_TEXT + 1);
    }
}

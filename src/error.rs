//! `ApiError`: the one error type that crosses layers (DESIGN §4).
//!
//! Every failure a tool can report is an `ApiError` with a kind (which fixes the
//! status), a message for the model and an optional hint saying what to do next.
//! This module does no I/O and knows nothing about MCP; `mcp::common` turns an
//! `ApiError` into an `isError` tool result in exactly one place.

use std::fmt;

use serde::Serialize;

/// What went wrong, as the model should understand it; each kind has one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Invalid parameters: fix and retry.
    BadRequest,
    /// No, unknown, revoked, expired or malformed key: ask the user for a new key.
    Unauthorized,
    /// Outside this tenant, protected, or outside the allowed namespace: stop and ask.
    Forbidden,
    /// No such resource: re-list.
    NotFound,
    /// A destructive call without the exact confirmation: fetch the name and retry.
    ConfirmRequired,
    /// The upstream rejected the request as invalid.
    Unprocessable,
    /// The upstream failed, timed out or could not be reached.
    Upstream,
    /// The workspace is not provisioned, or the keystore is unavailable.
    NotProvisioned,
    /// A local failure that is nobody's input error (disk full, a bug).
    Internal,
}

impl ErrorKind {
    /// The HTTP-style status carried in every error result.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::ConfirmRequired => 409,
            ErrorKind::Unprocessable => 422,
            ErrorKind::Upstream => 502,
            ErrorKind::NotProvisioned => 503,
            ErrorKind::Internal => 500,
        }
    }
}

/// A failure reported to the model: kind (status), message and an optional hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
}

impl ApiError {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    /// 400: the parameters are invalid.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    /// 401: the key is not valid (always the same message, whatever the reason).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }

    /// 403: refused by policy.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// 404: no such resource.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// 409: a destructive call needs the exact name as confirmation.
    pub fn confirm_required(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ConfirmRequired, message)
    }

    /// 422: the upstream rejected the request.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unprocessable, message)
    }

    /// 502: the upstream failed or could not be reached.
    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Upstream, message)
    }

    /// 503: not provisioned, or the keystore is unavailable.
    pub fn not_provisioned(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotProvisioned, message)
    }

    /// 500: a local failure that is not the caller's fault.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Attach a hint telling the model what to do next.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The status of the kind (400, 401, 403, …).
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The message for the model.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hint, if any.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.status())?;
        if let Some(hint) = &self.hint {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Characters of an argument quoted in a message; the rest is cut (DESIGN §3: messages
/// quote user input only cut short).
pub const QUOTE_CHARS: usize = 200;

/// `text` cut to at most `max` characters, ending in `…` when something was cut.
pub fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(text),
        Some((end, _)) => {
            let keep = text[..end]
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(end, |(i, _)| i);
            std::borrow::Cow::Owned(format!("{}…", &text[..keep]))
        }
    }
}

/// A user-supplied value for a message: quoted like `{:?}`, cut to `QUOTE_CHARS`
/// characters with `…` (and its length) when longer.
pub fn quote(value: &str) -> String {
    match value.char_indices().nth(QUOTE_CHARS) {
        None => format!("{value:?}"),
        Some((end, _)) => format!(
            "{:?}… ({} characters)",
            &value[..end],
            value.chars().count()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_the_status_of_the_design_table() {
        let table = [
            (ErrorKind::BadRequest, 400),
            (ErrorKind::Unauthorized, 401),
            (ErrorKind::Forbidden, 403),
            (ErrorKind::NotFound, 404),
            (ErrorKind::ConfirmRequired, 409),
            (ErrorKind::Unprocessable, 422),
            (ErrorKind::Upstream, 502),
            (ErrorKind::NotProvisioned, 503),
            (ErrorKind::Internal, 500),
        ];
        for (kind, status) in table {
            assert_eq!(kind.status(), status, "{kind:?}");
        }
    }

    #[test]
    fn quote_cuts_long_values_and_says_how_long_they_were() {
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        let long = "é".repeat(5000);
        let q = quote(&long);
        assert!(
            q.starts_with(&format!("\"{}\"…", "é".repeat(QUOTE_CHARS))),
            "{q}"
        );
        assert!(q.ends_with("(5000 characters)"), "{q}");
    }

    #[test]
    fn cut_keeps_at_most_max_characters() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("ééééé", 5), "ééééé");
        assert_eq!(cut("éééééé", 5).chars().count(), 5);
    }

    #[test]
    fn display_carries_message_status_and_hint() {
        let e = ApiError::not_found("no file x").with_hint("call list_directory");
        assert_eq!(e.to_string(), "no file x (404); hint: call list_directory");
    }
}

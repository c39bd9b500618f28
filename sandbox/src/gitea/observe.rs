//! What tests observe and steer on a running sandbox: the request log (every request,
//! its auth kind and the status answered) and injected faults (a status instead of the
//! answer, a delay before it, or the answer rewritten), kept by the shared
//! [`faults::Observer`]. No HTTP handling here.

use super::state::GiteaState;
use crate::faults::{self, Fault};

/// One API or git request the sandbox answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path as sent (e.g. `/api/v1/repos/acme/site`).
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    /// How it authenticated: `token`, `bearer`, `basic` or `none` (by the header sent,
    /// whether or not the credentials were valid).
    pub auth: String,
    /// The login the credentials name (a token's owner, or a Basic user), if any.
    pub user: Option<String>,
    /// The status answered; 0 while still running (or when the client gave up first).
    pub status: u16,
}

faults::observer_controls!(
    GiteaState,
    RecordedRequest,
    Fault,
    "A `Status` fault answers Gitea's `{\"message\": \"injected fault: status N\", \"url\": …}`; \
    prefixes match as sent (`/api/v1/repos/…`) or relative to `/api/v1` (`/repos/…`)."
);

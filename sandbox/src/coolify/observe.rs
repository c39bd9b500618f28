//! What tests observe and steer on a running Coolify sandbox: the request log (every
//! request, its JSON body for writes and the status answered) and injected faults (a
//! status instead of the answer, e.g. Laravel's 429 with `Retry-After`, a delay before
//! it, or the answer rewritten into a shape the spec allows), kept by the shared
//! [`crate::faults::Observer`]. No HTTP handling here.

use serde_json::Value;

use super::state::CoolifyState;
use crate::faults::{self, Fault};

/// One request the sandbox answered.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path as sent (e.g. `/api/v1/applications`).
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    /// The status answered; 0 while still running (or when the client gave up first).
    pub status: u16,
    /// The body of a write (`POST`/`PATCH`/`PUT`/`DELETE`): the JSON sent, or the raw
    /// text as a JSON string when it was not JSON; `None` for reads and empty bodies.
    pub body: Option<Value>,
}

faults::observer_controls!(
    CoolifyState,
    RecordedRequest,
    Fault,
    "A `Status` fault answers 429 with Laravel's `{\"message\":\"Too Many Attempts.\"}` \
    and `Retry-After` (`retry_after`, default 60), other statuses a Laravel-style \
    `{\"message\": …}`; prefixes match as sent (`/api/v1/deploy`) or relative to \
    `/api/v1` (`/deploy`)."
);

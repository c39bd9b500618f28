//! Thin HTTP clients for the upstreams (Gitea; later Coolify, the agent runner and a
//! search provider). One method per upstream endpoint, upstream-shaped structs, no
//! policy. Shared plumbing — timeouts, retries for idempotent calls only, redirect
//! handling, error parsing, redaction — lives once in `http`.
//! May import `error` and `redact`; never `api`, `mcp` or `policy`.

pub mod coolify;
pub mod gitea;
pub mod google;
pub mod http;
pub mod opensrs;
pub mod runner;
pub mod search;

use crate::error::ApiError;
use http::{ClientError, Failure};

impl From<ClientError> for ApiError {
    /// The one mapping from an upstream failure to what the model should do.
    fn from(e: ClientError) -> Self {
        let upstream = e.upstream;
        let text = e.to_string();
        match &e.failure {
            Failure::Status { status, .. } => match status {
                400 | 405 => ApiError::bad_request(text),
                401 => ApiError::upstream(text).with_hint(format!(
                    "{upstream} refused vibn's own credentials; ask the operator to check the \
                     configured token"
                )),
                403 | 423 => ApiError::forbidden(text),
                404 | 410 => ApiError::not_found(text),
                409 | 412 | 422 => ApiError::unprocessable(text),
                429 => ApiError::upstream(text).with_hint("rate limited; retry in a little while"),
                _ => ApiError::upstream(text).with_hint("retry later"),
            },
            Failure::Redirect { .. } => ApiError::unprocessable(text)
                .with_hint("the resource moved (renamed or transferred); use its new name"),
            Failure::Timeout | Failure::Connect(_) => {
                ApiError::upstream(text).with_hint("retry later")
            }
            Failure::Decode(why) => {
                let at = if why.field.is_empty() {
                    String::new()
                } else {
                    format!(" at `{}`", why.field)
                };
                ApiError::upstream(text).with_hint(format!(
                    "{upstream} answered in a shape vibn does not read{at}; retrying will not \
                     help: tell the user, whose {upstream} release may differ from what vibn \
                     supports"
                ))
            }
            Failure::Config(_) => ApiError::not_provisioned(text),
        }
    }
}

//! What tests observe and steer on a running Coolify sandbox: the request log (every
//! request, its JSON body for writes and the status answered) and injected faults (a
//! status instead of the answer, e.g. Laravel's 429 with `Retry-After`, or a delay
//! before it). No HTTP handling here.

use std::time::Duration;

use axum::http::Method;
use serde_json::Value;

use super::state::{CoolifyState, relock};

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

/// A failure to inject into upcoming requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer `status` instead of handling the request. 429 answers Laravel's
    /// `{"message":"Too Many Attempts."}` with `Retry-After` (`retry_after`, default 60);
    /// other statuses a Laravel-style `{"message": …}`.
    Status {
        /// Only this method, e.g. `"POST"` (`None` = any; case-insensitive).
        method: Option<String>,
        /// Requests whose path starts with this, either as sent (`/api/v1/deploy`) or
        /// relative to `/api/v1` (`/deploy`).
        path_prefix: String,
        status: u16,
        /// How many matching requests get it.
        times: u32,
        /// Seconds for a `Retry-After` header (always sent on 429).
        retry_after: Option<u64>,
    },
    /// Wait `delay` before handling the request (a slow or hung upstream).
    Delay {
        /// Same matching as for `Status`.
        path_prefix: String,
        delay: Duration,
        /// How many matching requests get it.
        times: u32,
    },
}

/// What to do with a request after the fault table was consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultAction {
    None,
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    Delay(Duration),
}

impl CoolifyState {
    /// Every request seen so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        relock(&self.requests).clone()
    }

    /// Forget the request log.
    pub fn clear_requests(&self) {
        relock(&self.requests).clear();
    }

    /// Log a request as it arrives; returns its slot for [`Self::finish_request`].
    pub(crate) fn start_request(
        &self,
        method: &str,
        path: &str,
        query: &str,
        body: Option<Value>,
    ) -> usize {
        let mut log = relock(&self.requests);
        log.push(RecordedRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            status: 0,
            body,
        });
        log.len() - 1
    }

    /// Record the status answered to request `slot`.
    pub(crate) fn finish_request(&self, slot: usize, status: u16) {
        // clear_requests may have run meanwhile: then the slot is gone or reused.
        if let Some(r) = relock(&self.requests)
            .get_mut(slot)
            .filter(|r| r.status == 0)
        {
            r.status = status;
        }
    }

    /// Inject a fault into upcoming requests (consulted in insertion order).
    pub fn inject_fault(&self, fault: Fault) {
        relock(&self.faults).push(fault);
    }

    /// Remove every pending fault.
    pub fn clear_faults(&self) {
        relock(&self.faults).clear();
    }

    /// Consume the first fault matching this request, if any.
    pub(crate) fn take_fault(&self, method: &Method, path: &str) -> FaultAction {
        let api_rel = path.strip_prefix("/api/v1").filter(|p| p.starts_with('/'));
        let matches = |prefix: &str| {
            path.starts_with(prefix) || api_rel.is_some_and(|rel| rel.starts_with(prefix))
        };
        let mut faults = relock(&self.faults);
        let mut action = FaultAction::None;
        for fault in faults.iter_mut() {
            match fault {
                Fault::Status {
                    method: m,
                    path_prefix,
                    status,
                    times,
                    retry_after,
                } if *times > 0
                    && m.as_deref()
                        .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
                    && matches(path_prefix) =>
                {
                    *times -= 1;
                    action = FaultAction::Status {
                        status: *status,
                        retry_after: *retry_after,
                    };
                }
                Fault::Delay {
                    path_prefix,
                    delay,
                    times,
                } if *times > 0 && matches(path_prefix) => {
                    *times -= 1;
                    action = FaultAction::Delay(*delay);
                }
                _ => continue,
            }
            break;
        }
        faults.retain(|f| match f {
            Fault::Status { times, .. } | Fault::Delay { times, .. } => *times > 0,
        });
        action
    }
}

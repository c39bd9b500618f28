//! The search sandbox's state and test controls: the corpus, the Brave subscription key,
//! whether SearXNG's JSON format is enabled, the request log and injected faults. No
//! HTTP here.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::http::Method;

use super::corpus::{self, Document};

/// One request the sandbox answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path as sent (e.g. `/search`, `/res/v1/web/search`).
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    /// The raw form body of a `POST /search` (`None` for reads and empty bodies).
    pub body: Option<String>,
    /// The `X-Subscription-Token` header sent (Brave's credential), if any.
    pub subscription_token: Option<String>,
    /// The status answered; 0 while still running (or when the client gave up first).
    pub status: u16,
}

/// A failure to inject into upcoming requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer `status` instead of handling the request: on the Brave route Brave's
    /// `ErrorResponse` (429 → `RATE_LIMITED`), elsewhere the status text as SearXNG's
    /// limiter and proxies answer it. A `Retry-After` header is sent when
    /// `retry_after` is set.
    Status {
        /// Only this method, e.g. `"GET"` (`None` = any; case-insensitive).
        method: Option<String>,
        /// Requests whose path starts with this (e.g. `/search`, `/res/v1/`).
        path_prefix: String,
        status: u16,
        /// How many matching requests get it.
        times: u32,
        /// Seconds for a `Retry-After` header.
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

/// The whole sandbox state, shared by the server and the test that started it.
#[derive(Debug)]
pub struct SearchState {
    brave_key: String,
    docs: Mutex<Vec<Document>>,
    json_enabled: Mutex<bool>,
    requests: Mutex<Vec<RecordedRequest>>,
    faults: Mutex<Vec<Fault>>,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SearchState {
    /// The built-in corpus, JSON enabled, Brave key `brave_key`.
    pub(crate) fn new(brave_key: String) -> SearchState {
        SearchState {
            brave_key,
            docs: Mutex::new(corpus::builtin()),
            json_enabled: Mutex::new(true),
            requests: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
        }
    }

    /// The key the Brave route accepts in `X-Subscription-Token` (random per start).
    pub fn brave_key(&self) -> String {
        self.brave_key.clone()
    }

    /// Add a document after the others (engine `sandbox`, category `general`, no age);
    /// it is found like the built-in ones.
    pub fn add_document(&self, title: &str, url: &str, text: &str) {
        relock(&self.docs).push(Document {
            title: title.to_string(),
            url: url.to_string(),
            text: text.to_string(),
            engine: "sandbox".to_string(),
            category: "general".to_string(),
            age: None,
        });
    }

    /// Remove every document, built-in ones included (then only added ones are found).
    pub fn clear_documents(&self) {
        relock(&self.docs).clear();
    }

    /// How many documents can be found.
    pub fn document_count(&self) -> usize {
        relock(&self.docs).len()
    }

    /// Enable or disable SearXNG's `json` output format (enabled at start); disabled,
    /// `format=json` answers 403 like an instance whose `search.formats` lacks it.
    pub fn set_json_enabled(&self, enabled: bool) {
        *relock(&self.json_enabled) = enabled;
    }

    pub(crate) fn json_enabled(&self) -> bool {
        *relock(&self.json_enabled)
    }

    /// A snapshot of the corpus (no lock held afterwards).
    pub(crate) fn documents(&self) -> Vec<Document> {
        relock(&self.docs).clone()
    }

    /// Every request seen so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        relock(&self.requests).clone()
    }

    /// Forget the request log.
    pub fn clear_requests(&self) {
        relock(&self.requests).clear();
    }

    /// Log a request as it arrives; returns its slot for [`Self::finish_request`].
    pub(crate) fn start_request(&self, request: RecordedRequest) -> usize {
        let mut log = relock(&self.requests);
        log.push(request);
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
                    && path.starts_with(path_prefix.as_str()) =>
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
                } if *times > 0 && path.starts_with(path_prefix.as_str()) => {
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

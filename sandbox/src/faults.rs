//! What tests observe and steer on a running sandbox, the same for every sandbox: the
//! request log (each request as it arrived, with the status answered) and injected
//! faults (a status instead of the answer, a delay before it, or the answer rewritten
//! into a shape the real server's spec allows but the stand-in does not produce), and
//! a lost answer (the request is handled — its effect happens — and the client gets a
//! status instead, as when a proxy times out after the upstream committed), and
//! the step of the entry point that applies them. Each sandbox keeps its own `RecordedRequest` (what it
//! logs besides the status) and renders an injected status in its own error shape.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Response, header};
use serde_json::Value;

use super::plumbing::Reply;
use super::relock;

/// A failure to inject into upcoming requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer `status` instead of handling the request, in the sandbox's own error
    /// shape (see its `inject_fault`), with a `Retry-After` header when `retry_after`
    /// is set.
    Status {
        /// Only this method, e.g. `"POST"` (`None` = any; case-insensitive).
        method: Option<String>,
        /// Requests whose path starts with this, as sent (`/api/v1/repos/…`); on the
        /// Gitea and Coolify sandboxes also relative to `/api/v1` (`/repos/…`).
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
    /// Handle the request (its effect happens), then answer `status` instead of the real
    /// answer, in the sandbox's own error shape: a response lost on the way back, as
    /// when a proxy gives up after the upstream committed the write.
    Lost {
        /// Only this method (`None` = any; case-insensitive).
        method: Option<String>,
        /// Same matching as for `Status`.
        path_prefix: String,
        status: u16,
        /// How many matching requests get it.
        times: u32,
    },
    /// Handle the request, then change its JSON answer: the values and shapes the real
    /// server or its spec allows that this stand-in never produces itself (another
    /// release's shape, a negative count, a state it does not know). A body that is not
    /// JSON passes unchanged.
    Rewrite {
        /// Only this method (`None` = any; case-insensitive).
        method: Option<String>,
        /// Same matching as for `Status`.
        path_prefix: String,
        /// The change.
        edit: Edit,
        /// How many matching requests get it.
        times: u32,
    },
}

/// A change to a JSON answer at a JSON pointer (RFC 6901, `""` = the whole answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Set the member or item at `pointer` (its parent must exist) to `value`.
    Set { pointer: String, value: Value },
    /// Remove the member or item at `pointer`.
    Remove { pointer: String },
    /// Answer only what is at `pointer` (e.g. `/deployments` of `{count, deployments}`).
    Take { pointer: String },
}

impl Edit {
    /// Apply the change to `doc`; a pointer that leads nowhere changes nothing.
    fn apply(&self, doc: &mut Value) {
        match self {
            Edit::Take { pointer } => {
                if let Some(part) = doc.pointer(pointer) {
                    *doc = part.clone();
                }
            }
            Edit::Set { pointer, value } => match split_pointer(pointer) {
                None => *doc = value.clone(),
                Some((parent, key)) => match doc.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.insert(key, value.clone());
                    }
                    Some(Value::Array(items)) => {
                        if let Some(item) = key.parse::<usize>().ok().and_then(|i| items.get_mut(i))
                        {
                            *item = value.clone();
                        }
                    }
                    _ => {}
                },
            },
            Edit::Remove { pointer } => {
                if let Some((parent, key)) = split_pointer(pointer) {
                    match doc.pointer_mut(parent) {
                        Some(Value::Object(map)) => {
                            map.remove(&key);
                        }
                        Some(Value::Array(items)) => {
                            if let Some(i) = key.parse::<usize>().ok().filter(|i| *i < items.len())
                            {
                                items.remove(i);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// A pointer's parent and its last token (unescaped); `None` for the whole document.
fn split_pointer(pointer: &str) -> Option<(&str, String)> {
    let (parent, last) = pointer.rsplit_once('/')?;
    Some((parent, last.replace("~1", "/").replace("~0", "~")))
}

/// `reply` with its JSON body changed by `edit`.
async fn rewritten(reply: Reply, edit: &Edit) -> Reply {
    let (mut parts, body) = reply.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut doc) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    edit.apply(&mut doc);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(doc.to_string()))
}

/// What to do with a request after the fault table was consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FaultAction {
    None,
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    Delay(Duration),
    Rewrite(Edit),
    Lost(u16),
}

/// A sandbox's `RecordedRequest`: logged with status 0, which is filled in once
/// answered.
pub(crate) trait Recorded: Clone {
    /// The status answered (0 while still running).
    fn status_mut(&mut self) -> &mut u16;
}

/// One sandbox's request log and pending faults.
#[derive(Debug)]
pub(crate) struct Observer<R> {
    requests: Mutex<Vec<R>>,
    faults: Mutex<Vec<Fault>>,
    /// The API root (`/api/v1`) below which prefixes match too, if any.
    api_root: Option<&'static str>,
}

impl<R: Recorded> Observer<R> {
    /// Fault prefixes match the path as sent.
    pub(crate) fn new() -> Observer<R> {
        Observer {
            requests: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            api_root: None,
        }
    }

    /// Fault prefixes match the path as sent or relative to `api_root`.
    pub(crate) fn below(api_root: &'static str) -> Observer<R> {
        Observer {
            api_root: Some(api_root),
            ..Observer::new()
        }
    }

    /// Every request seen so far, oldest first.
    pub(crate) fn requests(&self) -> Vec<R> {
        relock(&self.requests).clone()
    }

    /// Forget the request log.
    pub(crate) fn clear_requests(&self) {
        relock(&self.requests).clear();
    }

    /// Inject a fault into upcoming requests (consulted in insertion order).
    pub(crate) fn inject_fault(&self, fault: impl Into<Fault>) {
        relock(&self.faults).push(fault.into());
    }

    /// Remove every pending fault.
    pub(crate) fn clear_faults(&self) {
        relock(&self.faults).clear();
    }

    /// The entry step of every request: log `request`, then answer the first pending
    /// fault matching `method` and `path` (`fault_reply` renders an injected status;
    /// a delay is waited out before `serve`), else `serve`; record the status answered.
    pub(crate) async fn answer(
        &self,
        request: R,
        method: &Method,
        path: &str,
        fault_reply: impl FnOnce(u16, Option<u64>) -> Reply,
        serve: impl Future<Output = Reply>,
    ) -> Reply {
        let slot = self.start_request(request);
        let reply = match self.take_fault(method, path) {
            FaultAction::Status {
                status,
                retry_after,
            } => fault_reply(status, retry_after),
            FaultAction::Delay(delay) => {
                tokio::time::sleep(delay).await;
                serve.await
            }
            FaultAction::Rewrite(edit) => rewritten(serve.await, &edit).await,
            FaultAction::Lost(status) => {
                // The effect happens; only the answer is lost.
                drop(serve.await);
                fault_reply(status, None)
            }
            FaultAction::None => serve.await,
        };
        self.finish_request(slot, reply.status().as_u16());
        reply
    }

    /// Log a request as it arrives; returns its slot for [`Self::finish_request`].
    fn start_request(&self, request: R) -> usize {
        let mut log = relock(&self.requests);
        log.push(request);
        log.len() - 1
    }

    /// Record the status answered to request `slot`.
    fn finish_request(&self, slot: usize, status: u16) {
        // clear_requests may have run meanwhile: then the slot is gone or reused.
        if let Some(s) = relock(&self.requests)
            .get_mut(slot)
            .map(R::status_mut)
            .filter(|s| **s == 0)
        {
            *s = status;
        }
    }

    /// Consume the first fault matching this request, if any.
    fn take_fault(&self, method: &Method, path: &str) -> FaultAction {
        let below_root = self
            .api_root
            .and_then(|root| path.strip_prefix(root))
            .filter(|p| p.starts_with('/'));
        let matches = |prefix: &str| {
            path.starts_with(prefix) || below_root.is_some_and(|rel| rel.starts_with(prefix))
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
                Fault::Rewrite {
                    method: m,
                    path_prefix,
                    edit,
                    times,
                } if *times > 0
                    && m.as_deref()
                        .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
                    && matches(path_prefix) =>
                {
                    *times -= 1;
                    action = FaultAction::Rewrite(edit.clone());
                }
                Fault::Lost {
                    method: m,
                    path_prefix,
                    status,
                    times,
                } if *times > 0
                    && m.as_deref()
                        .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
                    && matches(path_prefix) =>
                {
                    *times -= 1;
                    action = FaultAction::Lost(*status);
                }
                _ => continue,
            }
            break;
        }
        faults.retain(|f| match f {
            Fault::Status { times, .. }
            | Fault::Delay { times, .. }
            | Fault::Rewrite { times, .. }
            | Fault::Lost { times, .. } => *times > 0,
        });
        action
    }
}

/// The test controls of a sandbox state whose `observer` field is an
/// `Observer<$record>`: `requests`, `clear_requests`, `inject_fault` (taking `$fault`,
/// anything `Into<Fault>`; `$answers` tells how the sandbox answers a `Status` fault
/// and how prefixes match) and `clear_faults`; and `$record` as [`Recorded`] (its
/// `status` field).
macro_rules! observer_controls {
    ($state:ty, $record:ty, $fault:ty, $answers:literal) => {
        impl $crate::faults::Recorded for $record {
            fn status_mut(&mut self) -> &mut u16 {
                &mut self.status
            }
        }

        impl $state {
            /// Every request seen so far, oldest first.
            pub fn requests(&self) -> Vec<$record> {
                self.observer.requests()
            }

            /// Forget the request log.
            pub fn clear_requests(&self) {
                self.observer.clear_requests();
            }

            /// Inject a fault into upcoming requests (consulted in insertion order).
            #[doc = $answers]
            pub fn inject_fault(&self, fault: $fault) {
                self.observer.inject_fault(fault);
            }

            /// Remove every pending fault.
            pub fn clear_faults(&self) {
                self.observer.clear_faults();
            }
        }
    };
}

pub(crate) use observer_controls;

/// `reply` with `Retry-After: <secs>` when `secs` is set.
pub(crate) fn with_retry_after(mut reply: Reply, secs: Option<u64>) -> Reply {
    if let Some(v) = secs.and_then(|s| s.to_string().parse().ok()) {
        reply.headers_mut().insert(header::RETRY_AFTER, v);
    }
    reply
}

/// The body of a write as recorded: the JSON sent, or the raw text as a JSON string
/// when it was not JSON; `None` for reads (`GET`/`HEAD`/`OPTIONS`) and empty bodies.
pub(crate) fn recorded_body(method: &Method, body: &[u8]) -> Option<Value> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) || body.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn edits_set_remove_and_take_at_json_pointers() {
        let doc = json!({"count": 2, "deployments": [{"status": "queued"}, {"a/b": 1}]});
        let set = |pointer: &str, value: Value| Edit::Set {
            pointer: pointer.into(),
            value,
        };
        let table = [
            (
                set("/deployments/0/status", json!("x")),
                json!({"count": 2, "deployments": [{"status": "x"}, {"a/b": 1}]}),
            ),
            (
                set("/deployments/1/a~1b", json!(-1)),
                json!({"count": 2, "deployments": [{"status": "queued"}, {"a/b": -1}]}),
            ),
            (set("/nowhere/x", json!(1)), doc.clone()),
            (set("", json!([])), json!([])),
            (
                Edit::Remove {
                    pointer: "/count".into(),
                },
                json!({"deployments": [{"status": "queued"}, {"a/b": 1}]}),
            ),
            (
                Edit::Take {
                    pointer: "/deployments".into(),
                },
                json!([{"status": "queued"}, {"a/b": 1}]),
            ),
        ];
        for (edit, want) in table {
            let mut got = doc.clone();
            edit.apply(&mut got);
            assert_eq!(got, want, "{edit:?}");
        }
    }
}

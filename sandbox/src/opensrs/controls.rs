//! The OpenSRS stand-in's HTTP controls under `/_sandbox/` (no auth; 127.0.0.1 only):
//!
//! * `GET /_sandbox/requests` — the request log (`RecordedCall`s, oldest first);
//!   `DELETE` forgets it.
//! * `POST /_sandbox/faults` — one [`XcpFault`] or an array of them, e.g.
//!   `{"action":"SW_REGISTER","pending":true}` or
//!   `{"action":"SW_REGISTER","nth":2,"response_code":705,"apply":true}`;
//!   `DELETE` removes every pending fault.
//! * `GET /_sandbox/settings`, `POST /_sandbox/settings` — [`Settings`]; a POST changes
//!   only the members it carries (`{"mode":"test"}`).
//! * `POST /_sandbox/taken` `{"domain":"x.com"}` — a name registered elsewhere.
//! * `GET /_sandbox/domains` (or `/_sandbox/domains/NAME`) — what is registered here.
//! * `GET /_sandbox/orders` — pending orders; `POST /_sandbox/orders/ID/process`
//!   registers one now.

use axum::body::Body;
use axum::http::{Method, Response};
use serde_json::{Value, json};

use super::register;
use super::state::{OpenSrsState, Settings, XcpFault};
use crate::plumbing::json_reply;

/// Serve one control request (`rest` is the path after `/_sandbox/`).
pub(super) fn handle(
    state: &OpenSrsState,
    method: &Method,
    rest: &str,
    body: &[u8],
) -> Response<Body> {
    let parsed = || {
        serde_json::from_slice::<Value>(body).map_err(|e| bad(&format!("body is not JSON: {e}")))
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let result = match (method.as_str(), segments.as_slice()) {
        ("GET", ["requests"]) => Ok(json!(state.requests())),
        ("DELETE", ["requests"]) => {
            state.clear_requests();
            Ok(json!({}))
        }
        ("POST", ["faults"]) => parsed().and_then(|v| {
            let faults: Vec<XcpFault> = match v {
                Value::Array(_) => serde_json::from_value(v),
                other => serde_json::from_value(other).map(|f| vec![f]),
            }
            .map_err(|e| bad(&format!("not a fault: {e}")))?;
            let n = faults.len();
            faults.into_iter().for_each(|f| state.inject_fault(f));
            Ok(json!({ "injected": n }))
        }),
        ("DELETE", ["faults"]) => {
            state.clear_faults();
            Ok(json!({}))
        }
        ("GET", ["settings"]) => Ok(json!(state.settings())),
        ("POST", ["settings"]) => parsed().and_then(|v| {
            let mut merged = json!(state.settings());
            match (merged.as_object_mut(), v) {
                (Some(m), Value::Object(patch)) => {
                    for (k, val) in patch {
                        if !m.contains_key(&k) {
                            return Err(bad(&format!("unknown setting {k:?}")));
                        }
                        m.insert(k, val);
                    }
                }
                _ => return Err(bad("settings are a JSON object")),
            }
            let settings: Settings =
                serde_json::from_value(merged).map_err(|e| bad(&format!("bad settings: {e}")))?;
            state.set_settings(settings.clone());
            Ok(json!(settings))
        }),
        ("POST", ["taken"]) => parsed().and_then(|v| {
            let domain = v["domain"]
                .as_str()
                .filter(|d| d.contains('.'))
                .ok_or_else(|| bad("expected {\"domain\": \"name.tld\"}"))?;
            state.add_taken(domain);
            Ok(json!({ "taken": domain.to_ascii_lowercase() }))
        }),
        ("GET", ["domains"]) => Ok(json!(state.domains())),
        ("GET", ["domains", name]) => state
            .domain(name)
            .map(|d| json!(d))
            .ok_or_else(|| (404, format!("{name} is not registered here"))),
        ("GET", ["orders"]) => Ok(json!(state.pending_orders())),
        ("POST", ["orders", id, "process"]) => id
            .parse::<u64>()
            .map_err(|_| bad("order ids are numbers"))
            .and_then(|id| register::process_pending(state, id).map_err(|e| (409, e)))
            .map(|a| json!({ "response_code": a.code, "response_text": a.text })),
        _ => Err((404, "unknown sandbox control".to_string())),
    };
    match result {
        Ok(v) => json_reply(200, &v),
        Err((status, message)) => json_reply(status, &json!({ "error": message })),
    }
}

/// A 400 control error.
fn bad(message: &str) -> (u16, String) {
    (400, message.to_string())
}

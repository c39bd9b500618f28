//! The Google stand-in's HTTP controls under `/_sandbox/` (no auth; 127.0.0.1 only):
//!
//! * `GET /_sandbox/requests` — the request log (`RecordedRequest`s); `DELETE` forgets.
//! * `POST /_sandbox/faults` — one `GoogleFault` or an array, e.g.
//!   `{"operation":"storage.buckets.insert","nth":2,"status":503}` or
//!   `{"operation":"dns.managedZones.create","status":504,"apply":true}`;
//!   `DELETE` removes every pending fault.
//! * `GET /_sandbox/violations` — `{"enabled", "discovery_dir", "violations": [{method,
//!   path, reason}]}`; `DELETE` forgets them.
//! * `POST /_sandbox/tokens/expire` — every token minted so far stops working.
//! * `POST /_sandbox/tokens/lifetime` `{"seconds": N}` — how long new tokens live.
//! * `POST /_sandbox/foreign-buckets` `{"name": "…"}` — a bucket of another project.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Response};
use serde_json::{Value, json};

use super::state::{GoogleFault, GoogleState};
use crate::plumbing::json_reply;

/// Serve one control request (`rest` is the path after `/_sandbox/`).
pub(super) fn handle(
    state: &GoogleState,
    method: &Method,
    rest: &str,
    body: &[u8],
) -> Response<Body> {
    let parsed = || {
        serde_json::from_slice::<Value>(body).map_err(|e| (400, format!("body is not JSON: {e}")))
    };
    let result: Result<Value, (u16, String)> = match (method.as_str(), rest.trim_end_matches('/')) {
        ("GET", "requests") => Ok(json!(state.requests())),
        ("DELETE", "requests") => {
            state.clear_requests();
            Ok(json!({}))
        }
        ("POST", "faults") => parsed().and_then(|v| {
            let faults: Vec<GoogleFault> = match v {
                Value::Array(_) => serde_json::from_value(v),
                other => serde_json::from_value(other).map(|f| vec![f]),
            }
            .map_err(|e| (400, format!("not a fault: {e}")))?;
            let n = faults.len();
            faults.into_iter().for_each(|f| state.inject_fault(f));
            Ok(json!({ "injected": n }))
        }),
        ("DELETE", "faults") => {
            state.clear_faults();
            Ok(json!({}))
        }
        ("GET", "violations") => Ok(json!({
            "enabled": state.validator_enabled(),
            "discovery_dir": state.discovery_dir,
            "violations": state.violations().unwrap_or_default(),
        })),
        ("DELETE", "violations") => {
            state.clear_violations();
            Ok(json!({}))
        }
        ("POST", "tokens/expire") => {
            state.expire_tokens();
            Ok(json!({}))
        }
        ("POST", "tokens/lifetime") => parsed().and_then(|v| {
            let secs = v["seconds"]
                .as_u64()
                .ok_or((400, "expected {\"seconds\": N}".to_string()))?;
            state.set_token_lifetime(Duration::from_secs(secs));
            Ok(json!({ "seconds": secs }))
        }),
        ("POST", "foreign-buckets") => parsed().and_then(|v| {
            let name = v["name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .ok_or((400, "expected {\"name\": \"bucket\"}".to_string()))?;
            state.add_foreign_bucket(name);
            Ok(json!({ "name": name }))
        }),
        _ => Err((404, "unknown sandbox control".to_string())),
    };
    match result {
        Ok(v) => json_reply(200, &v),
        Err((status, message)) => json_reply(status, &json!({ "error": message })),
    }
}

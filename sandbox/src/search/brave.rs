//! The Brave Search API's web search (`GET /res/v1/web/search`): the subscription token
//! check (401 `SUBSCRIPTION_TOKEN_INVALID`), parameter validation in Brave's
//! pydantic-shaped 422 (`VALIDATION`, every problem under `meta.errors`), the result
//! page and Brave's `ErrorResponse` bodies. No routing, no logging.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use serde_json::{Map, Value, json};

use super::corpus;
use super::state::SearchState;
use super::{Params, Reply, json_reply, reason, url_parts};

/// Largest `count` Brave accepts (and its default).
pub(crate) const MAX_COUNT: i64 = 20;

/// Largest `offset` (in pages) Brave accepts.
pub(crate) const MAX_OFFSET: i64 = 9;

/// Longest query Brave accepts, in characters.
const MAX_QUERY_CHARS: usize = 400;

/// `{"type":"ErrorResponse","error":{…},"time":…}`.
fn error_body(status: u16, code: &str, detail: &str, meta: Option<Value>) -> Value {
    let mut rng = rand::rng();
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        rng.random::<u32>(),
        rng.random::<u16>(),
        rng.random::<u16>() & 0x0fff,
        (rng.random::<u16>() & 0x3fff) | 0x8000,
        rng.random::<u64>() & 0xffff_ffff_ffff
    );
    let mut error = Map::new();
    error.insert("id".into(), Value::String(id));
    error.insert("status".into(), json!(status));
    error.insert("code".into(), Value::String(code.into()));
    error.insert("detail".into(), Value::String(detail.into()));
    if let Some(meta) = meta {
        error.insert("meta".into(), meta);
    }
    let time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    json!({ "type": "ErrorResponse", "error": error, "time": time })
}

/// Brave's answer to a status it produces without handling the search (faults).
pub(crate) fn error_reply(status: u16) -> Reply {
    let body = match status {
        401 => unauthorized_body(),
        429 => error_body(
            429,
            "RATE_LIMITED",
            "Request rate limit exceeded for plan.",
            Some(json!({
                "plan": "Free",
                "rate_limit": 1,
                "rate_current": 2,
                "quota_limit": 2000,
                "quota_current": 2,
                "component": "rate_limiter",
            })),
        ),
        s => {
            let code = reason(s).to_uppercase().replace([' ', '-'], "_");
            error_body(s, &code, reason(s), None)
        }
    };
    json_reply(status, &body)
}

fn unauthorized_body() -> Value {
    error_body(
        401,
        "SUBSCRIPTION_TOKEN_INVALID",
        "The provided subscription token is invalid.",
        Some(json!({ "component": "authentication" })),
    )
}

/// One pydantic validation error.
fn problem(kind: &str, field: &str, msg: &str, input: Value, ctx: Option<Value>) -> Value {
    let mut p = json!({ "type": kind, "loc": ["query", field], "msg": msg, "input": input });
    if let (Some(ctx), Some(obj)) = (ctx, p.as_object_mut()) {
        obj.insert("ctx".into(), ctx);
    }
    p
}

/// An integer parameter within `[min, max]` (`default` when absent), or its problem.
fn int_param(params: &Params, field: &str, default: i64, min: i64, max: i64) -> Result<i64, Value> {
    let Some(raw) = params.get(field) else {
        return Ok(default);
    };
    let Ok(n) = raw.trim().parse::<i64>() else {
        return Err(problem(
            "int_parsing",
            field,
            "Input should be a valid integer, unable to parse string as an integer",
            json!(raw),
            None,
        ));
    };
    if n < min {
        return Err(problem(
            "greater_than_equal",
            field,
            &format!("Input should be greater than or equal to {min}"),
            json!(raw),
            Some(json!({ "ge": min })),
        ));
    }
    if n > max {
        return Err(problem(
            "less_than_equal",
            field,
            &format!("Input should be less than or equal to {max}"),
            json!(raw),
            Some(json!({ "le": max })),
        ));
    }
    Ok(n)
}

/// A boolean parameter as pydantic reads it (`true`/`false`, `1`/`0`, `yes`/`no`,
/// `on`/`off`), or its problem.
fn bool_param(params: &Params, field: &str, default: bool) -> Result<bool, Value> {
    match params.get(field).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on" | "t" | "y") => Ok(true),
        Some("false" | "0" | "no" | "off" | "f" | "n") => Ok(false),
        Some(_) => Err(problem(
            "bool_parsing",
            field,
            "Input should be a valid boolean, unable to interpret input",
            json!(params.get(field)),
            None,
        )),
    }
}

/// `GET /res/v1/web/search`.
pub(crate) fn web_search(state: &SearchState, params: &Params, token: Option<&str>) -> Reply {
    if token != Some(state.brave_key().as_str()) {
        return json_reply(401, &unauthorized_body());
    }
    let mut problems = Vec::new();
    let query = match params.get("q") {
        None => {
            problems.push(problem("missing", "q", "Field required", Value::Null, None));
            ""
        }
        Some("") => {
            problems.push(problem(
                "string_too_short",
                "q",
                "String should have at least 1 character",
                json!(""),
                Some(json!({ "min_length": 1 })),
            ));
            ""
        }
        Some(q) if q.chars().count() > MAX_QUERY_CHARS => {
            problems.push(problem(
                "string_too_long",
                "q",
                &format!("String should have at most {MAX_QUERY_CHARS} characters"),
                json!(q),
                Some(json!({ "max_length": MAX_QUERY_CHARS })),
            ));
            ""
        }
        Some(q) => q,
    };
    let count = int_param(params, "count", MAX_COUNT, 1, MAX_COUNT).unwrap_or_else(|p| {
        problems.push(p);
        0
    });
    let offset = int_param(params, "offset", 0, 0, MAX_OFFSET).unwrap_or_else(|p| {
        problems.push(p);
        0
    });
    let decorate = bool_param(params, "text_decorations", true).unwrap_or_else(|p| {
        problems.push(p);
        true
    });
    if !problems.is_empty() {
        let body = error_body(
            422,
            "VALIDATION",
            "Unable to validate request parameter(s)",
            Some(json!({ "errors": problems })),
        );
        return json_reply(422, &body);
    }
    let (count, offset) = (count as usize, offset as usize);
    let docs = state.documents();
    let terms = corpus::query_terms(query);
    let hits = corpus::rank(&docs, &terms);
    let results: Vec<Value> = hits
        .iter()
        .skip(offset * count)
        .take(count)
        .map(|hit| {
            let d = hit.doc;
            let (scheme, netloc, path) = url_parts(&d.url);
            let description = if decorate {
                corpus::highlight(&d.text, &terms)
            } else {
                d.text.clone()
            };
            let mut r = json!({
                "type": "search_result",
                "title": d.title,
                "url": d.url,
                "description": description,
                "is_source_local": false,
                "is_source_both": false,
                "language": "en",
                "family_friendly": true,
                "meta_url": {
                    "scheme": scheme,
                    "netloc": netloc,
                    "hostname": netloc,
                    "path": path,
                },
            });
            if let (Some(age), Some(obj)) = (&d.age, r.as_object_mut()) {
                obj.insert("age".into(), json!(age));
            }
            r
        })
        .collect();
    let more = hits.len() > (offset + 1) * count;
    let mut body = json!({
        "type": "search",
        "query": {
            "original": query,
            "show_strict_warning": false,
            "is_navigational": false,
            "spellcheck_off": true,
            "more_results_available": more,
        },
        "mixed": {
            "type": "mixed",
            "main": (0..results.len())
                .map(|i| json!({ "type": "web", "index": i, "all": false }))
                .collect::<Vec<_>>(),
            "top": [],
            "side": [],
        },
    });
    // Brave leaves the section out when it has nothing for it.
    if let (false, Some(obj)) = (results.is_empty(), body.as_object_mut()) {
        obj.insert(
            "web".into(),
            json!({ "type": "search", "results": results, "family_friendly": true }),
        );
    }
    json_reply(200, &body)
}

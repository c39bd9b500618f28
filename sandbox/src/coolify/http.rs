//! Plumbing shared by the Coolify sandbox handlers: Laravel-shaped replies and error
//! bodies, query parsing, the request input as Laravel sees it (JSON body merged over
//! the query string, strings trimmed and `""` turned into null by the global
//! middleware), `validateIncomingRequest()`, `$request->boolean()` and time formatting.
//! No state, no routing.

use std::time::SystemTime;

use axum::http::{HeaderMap, header};
use serde_json::{Map, Value, json};

pub(crate) use crate::plumbing::{Reply, json_reply, percent_decode};
use crate::plumbing::{query_pairs, reply};

/// What a handler answers.
pub(crate) type ApiResult = Result<Reply, ApiErr>;

/// The request input (`$request->all()`).
pub(crate) type Input = Map<String, Value>;

/// Where the catch-all route points (`docs` key of the router's 404).
pub(crate) const DOCS_URL: &str = "https://coolify.io/docs";

/// A refusal: a status, a JSON body and extra headers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiErr {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
}

impl ApiErr {
    /// `{"message": …}` with `status`.
    pub(crate) fn msg(status: u16, message: impl Into<String>) -> Self {
        ApiErr::with(status, json!({ "message": message.into() }))
    }

    /// Any JSON body with `status`.
    pub(crate) fn with(status: u16, body: Value) -> Self {
        ApiErr {
            status,
            body,
            headers: Vec::new(),
        }
    }

    /// 422 `{"message":"Validation failed.","errors": …}`.
    pub(crate) fn validation(errors: Value) -> Self {
        ApiErr::with(
            422,
            json!({ "message": "Validation failed.", "errors": errors }),
        )
    }

    /// 422 with one hand-built `errors.<field> = "<text>"` (a string, not a list).
    pub(crate) fn field(field: &str, text: impl Into<String>) -> Self {
        let mut errors = Map::new();
        errors.insert(field.to_string(), Value::String(text.into()));
        ApiErr::validation(Value::Object(errors))
    }

    /// The router's catch-all: 404 `{"message":"Not found.","docs":…}`.
    pub(crate) fn route_not_found() -> Self {
        ApiErr::with(404, json!({ "message": "Not found.", "docs": DOCS_URL }))
    }

    /// Add a header.
    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The HTTP answer.
    pub(crate) fn into_reply(self) -> Reply {
        let mut reply = json_reply(self.status, &self.body);
        for (name, value) in self.headers {
            if let Ok(v) = value.parse() {
                reply.headers_mut().insert(name, v);
            }
        }
        reply
    }
}

/// A plain-text answer (`response('OK')`: Laravel labels it text/html).
pub(crate) fn text_reply(status: u16, text: &str) -> Reply {
    reply(status, "text/html; charset=UTF-8", text.to_string())
}

/// `Ok` JSON answer.
pub(crate) fn ok(status: u16, body: Value) -> ApiResult {
    Ok(json_reply(status, &body))
}

/// 200 `{"message": …}`.
pub(crate) fn ok_message(message: &str) -> ApiResult {
    ok(200, json!({ "message": message }))
}

/// The query string of a request, parsed once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    /// Decoded pairs in order.
    pub pairs: Vec<(String, String)>,
}

impl Query {
    /// Parse a raw query string (`a=1&b=x`).
    pub(crate) fn parse(raw: &str) -> Query {
        Query {
            pairs: query_pairs(raw),
        }
    }

    /// The last value of `key` (PHP keeps the last of repeated keys).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The query as input: trimmed, `""` → null (Laravel's global middleware).
    pub(crate) fn input(&self) -> Input {
        let mut input = Map::new();
        for (k, v) in &self.pairs {
            input.insert(k.clone(), clean(k, Value::String(v.clone())));
        }
        input
    }

    /// `$request->boolean(key, default)` on the query.
    pub(crate) fn boolean(&self, key: &str, default: bool) -> bool {
        match self.get(key) {
            Some(v) => php_filter_bool(v.trim()),
            None => default,
        }
    }
}

/// PHP's `FILTER_VALIDATE_BOOLEAN` (with null on failure treated as false).
pub(crate) fn php_filter_bool(s: &str) -> bool {
    matches!(s.to_ascii_lowercase().as_str(), "1" | "true" | "on" | "yes")
}

/// `$request->boolean(key, default)` on the input.
pub(crate) fn input_bool(input: &Input, key: &str, default: bool) -> bool {
    match input.get(key) {
        None => default,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f == 1.0),
        Some(Value::String(s)) => php_filter_bool(s),
        Some(_) => false,
    }
}

/// PHP truthiness of an input value (`if ($request->x)`).
pub(crate) fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty() && s != "0",
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// Laravel's `blank()` / not `filled()`.
pub(crate) fn blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    }
}

/// A scalar as PHP's string cast sees it (numbers as their text, `true` as `1`).
pub(crate) fn value_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(true) => Some("1".to_string()),
        _ => None,
    }
}

/// A string input value (numbers read as their text, like PHP).
pub(crate) fn input_str(input: &Input, key: &str) -> Option<String> {
    input.get(key).and_then(value_str)
}

/// TrimStrings + ConvertEmptyStringsToNull, recursively (password fields untrimmed).
fn clean(key: &str, v: Value) -> Value {
    match v {
        Value::String(s) => {
            let s = if matches!(
                key,
                "password" | "current_password" | "password_confirmation"
            ) {
                s
            } else {
                s.trim().to_string()
            };
            if s.is_empty() {
                Value::Null
            } else {
                Value::String(s)
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|i| clean("", i)).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = clean(&k, v);
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

/// `$request->isJson()`: the Content-Type mentions `/json` or `+json`.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("/json") || ct.contains("+json"))
}

/// `Accept` asks for JSON (Laravel's `expectsJson()` without X-Requested-With).
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split(',').next())
        .is_some_and(|first| first.contains("/json") || first.contains("+json"))
}

/// The body as JSON input, or `None` when the request is not JSON or the body is not
/// decodable (Laravel then sees no body fields).
fn body_input(headers: &HeaderMap, body: &[u8]) -> Option<Input> {
    if !is_json(headers) {
        return None;
    }
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(map) => Some(map),
        Value::Array(items) => Some(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
        ),
        Value::Null => None,
        scalar => Some(std::iter::once(("0".to_string(), scalar)).collect()),
    }
}

/// `$request->all()`: the JSON body over the query string, cleaned by the global
/// middleware. Never fails (endpoints without `validateIncomingRequest()` use it).
pub(crate) fn request_input(headers: &HeaderMap, query: &Query, body: &[u8]) -> Input {
    let mut input = query.input();
    if let Some(Value::Object(json)) =
        body_input(headers, body).map(|m| clean("", Value::Object(m)))
    {
        input.extend(json);
    }
    input
}

/// `validateIncomingRequest()` then `$request->all()`: 400 for a non-JSON Content-Type,
/// a body PHP's `json_decode` finds falsy (invalid, `[]`, `0`, `null`…) or `{}`.
pub(crate) fn validated_input(
    headers: &HeaderMap,
    query: &Query,
    body: &[u8],
) -> Result<Input, ApiErr> {
    let invalid = |error: &str| {
        ApiErr::with(
            400,
            json!({ "message": "Invalid request.", "error": error }),
        )
    };
    if !is_json(headers) {
        return Err(invalid("Content-Type must be application/json."));
    }
    let decoded: Option<Value> = serde_json::from_slice(body).ok();
    let falsy = match &decoded {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => !b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f == 0.0),
        Some(Value::String(s)) => s.is_empty() || s == "0",
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(_)) => false,
    };
    if falsy {
        return Err(invalid("Invalid JSON."));
    }
    if matches!(&decoded, Some(Value::Object(o)) if o.is_empty()) {
        return Err(invalid("Empty JSON."));
    }
    Ok(request_input(headers, query, body))
}

/// Laravel's JSON date format (`2026-08-22T10:00:00.000000Z`).
pub(crate) fn fmt_time(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn input_is_trimmed_and_empty_strings_become_null() {
        let q = Query::parse("a=+x+&b=&c=1");
        let input = q.input();
        assert_eq!(input["a"], "x");
        assert_eq!(input["b"], Value::Null);
        assert_eq!(input["c"], "1");
        assert!(q.boolean("c", false));
        assert!(!q.boolean("a", true));
        assert!(q.boolean("missing", true));
    }
}

//! What the stdio transport makes of one line: an rmcp message, or the JSON-RPC error
//! the line deserves (JSON-RPC 2.0 §5.1: `-32700` for text that is not JSON, `-32600` for
//! JSON that is not a request, `-32602` for a request whose params do not fit its method),
//! with the request's `id` when one can be read and `null` otherwise.
//!
//! Pure functions, no I/O. The line's content never goes into a log; what the peer is told
//! quotes at most a cut parser message.

use std::borrow::Cow;

use rmcp::model::{
    CallToolRequestParams, ClientJsonRpcMessage, ClientRequest, ErrorCode, InitializeRequestParams,
    JsonRpcMessage, RequestId,
};
use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde_json::{Value, json};

use crate::error::cut;

/// UTF-8 byte order mark, which RFC 8259 §8.1 lets a parser ignore.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Longest parser message quoted back to the peer.
const MAX_DETAIL_CHARS: usize = 200;

/// A JSON-RPC error answer the transport writes itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The id of the request it answers; `None` is written as `"id": null`.
    pub id: Option<RequestId>,
    /// The JSON-RPC error code.
    pub code: ErrorCode,
    /// What went wrong, for the peer.
    pub message: String,
}

impl Reply {
    /// A reply with `code` and `message` to `id`.
    pub fn new(id: Option<RequestId>, code: ErrorCode, message: impl Into<String>) -> Self {
        Reply {
            id,
            code,
            message: message.into(),
        }
    }

    /// The reply as one line of JSON, with its `\n`.
    pub fn to_line(&self) -> Vec<u8> {
        let id = self
            .id
            .clone()
            .map_or(Value::Null, RequestId::into_json_value);
        let body = json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": self.code.0, "message": self.message},
        });
        let mut line = body.to_string().into_bytes();
        line.push(b'\n');
        line
    }
}

/// What one line is.
#[derive(Debug)]
pub enum Verdict {
    /// A message rmcp can take.
    Message(Box<ClientJsonRpcMessage>),
    /// A line that gets this error answer instead.
    Reply(Reply),
    /// A line to skip without an answer (blank, or a notification that cannot be used:
    /// JSON-RPC forbids answering a notification); the reason is for the log.
    Skip(&'static str),
}

/// Classify one line (without its `\n`).
pub fn classify(line: &[u8]) -> Verdict {
    let line = line.strip_prefix(BOM).unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Skip("blank line");
    }
    match serde_json::from_slice::<ClientJsonRpcMessage>(line) {
        Ok(JsonRpcMessage::Request(r)) if is_misparsed(&r.request) => {
            return Verdict::Reply(invalid_params(r.id, &r.request));
        }
        Ok(message) => return Verdict::Message(Box::new(message)),
        Err(e) if e.is_syntax() || e.is_eof() => return Verdict::Reply(not_json(line, &e)),
        Err(_) => {}
    }
    // Valid JSON text, but not a message rmcp takes: find out what is wrong with it.
    match serde_json::from_slice::<Value>(line) {
        Ok(value) => invalid_message(value),
        Err(e) => Verdict::Reply(not_json(line, &e)),
    }
}

/// The answer to a line that is not JSON text: `-32700`, to the request's id when a
/// lenient parse can still read it (a string holding a lone UTF-16 surrogate escape or
/// invalid UTF-8, as a client produces by cutting an emoji in half), else to `null`.
fn not_json(line: &[u8], e: &serde_json::Error) -> Reply {
    let id = lenient_id(line);
    let reason = if std::str::from_utf8(line).is_err() {
        "the line is not valid UTF-8"
    } else {
        "the line is not valid JSON"
    };
    Reply::new(
        id,
        ErrorCode::PARSE_ERROR,
        format!(
            "Parse error: {reason} ({})",
            cut(&e.to_string(), MAX_DETAIL_CHARS)
        ),
    )
}

/// The id of a line whose only fault is the content of its strings: serde ignores the
/// values of fields it skips without decoding them, so a lone surrogate escape or
/// invalid UTF-8 in `params` does not stop it from reading `id`.
fn lenient_id(line: &[u8]) -> Option<RequestId> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(default)]
        id: Option<Value>,
    }
    let envelope: Envelope = serde_json::from_slice(line).ok()?;
    envelope.id.and_then(read_id)
}

/// An id as rmcp reads one: a string, or an integer that fits in i64.
fn read_id(value: Value) -> Option<RequestId> {
    RequestId::deserialize(value).ok()
}

/// The answer to JSON that rmcp does not take as a message.
fn invalid_message(value: Value) -> Verdict {
    let invalid = |id, message: &str| {
        Verdict::Reply(Reply::new(
            id,
            ErrorCode::INVALID_REQUEST,
            format!("Invalid Request: {message}"),
        ))
    };
    let object = match value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return invalid(
                None,
                "batches (JSON arrays) are not supported; MCP removed JSON-RPC batching in \
                 2025-06-18, send one message per line",
            );
        }
        _ => return invalid(None, "a message must be a JSON object"),
    };
    let id = match object.get("id") {
        None => None,
        Some(raw) => match read_id(raw.clone()) {
            Some(id) => Some(id),
            None => return invalid(None, "id must be a string or an integer"),
        },
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid(id, "jsonrpc must be \"2.0\"");
    }
    let method = match object.get("method") {
        Some(Value::String(method)) => method.clone(),
        Some(_) => return invalid(id, "method must be a string"),
        None if object.contains_key("result") || object.contains_key("error") => {
            return invalid(
                id,
                "a response must have an id and exactly one of result or error",
            );
        }
        None => return invalid(id, "a request needs a method"),
    };
    if object.contains_key("result") || object.contains_key("error") {
        return invalid(id, "a request cannot carry result or error");
    }
    let Some(id) = id else {
        return Verdict::Skip("a notification whose params do not fit its method");
    };
    // The envelope is fine, so the params are what rmcp refused.
    let params = object.get("params").cloned().unwrap_or(Value::Null);
    Verdict::Reply(params_reply(id, &method, params))
}

/// Request methods of the MCP spec that rmcp 3.9 parses into their own types. rmcp reads
/// such a request whose params do not fit as a `CustomRequest` and answers "method not
/// found", which misleads the client; it gets `-32602` instead.
const SPEC_METHODS: &[&str] = &[
    "ping",
    "initialize",
    "server/discover",
    "completion/complete",
    "logging/setLevel",
    "prompts/get",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/directory/read",
    "subscriptions/listen",
    "resources/subscribe",
    "resources/unsubscribe",
    "tools/call",
    "tools/list",
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
    "skills/list",
    "skills/get",
];

/// A spec method whose params did not fit, parsed by rmcp as a custom request.
fn is_misparsed(request: &ClientRequest) -> bool {
    matches!(request, ClientRequest::CustomRequest(c) if SPEC_METHODS.contains(&c.method.as_str()))
}

fn invalid_params(id: RequestId, request: &ClientRequest) -> Reply {
    let ClientRequest::CustomRequest(c) = request else {
        return Reply::new(Some(id), ErrorCode::INVALID_PARAMS, "Invalid params");
    };
    params_reply(id, &c.method, c.params.clone().unwrap_or(Value::Null))
}

/// `-32602` for `method` with `params`, saying why where the method's params type can.
fn params_reply(id: RequestId, method: &str, params: Value) -> Reply {
    let detail = match method {
        "tools/call" => serde_json::from_value::<CallToolRequestParams>(params).err(),
        "initialize" => serde_json::from_value::<InitializeRequestParams>(params).err(),
        _ => None,
    }
    .map_or_else(
        || "they do not match the method's params".to_string(),
        |e| e.to_string(),
    );
    Reply::new(
        Some(id),
        ErrorCode::INVALID_PARAMS,
        format!(
            "Invalid params for {}: {}",
            cut(method, 100),
            cut(&detail, MAX_DETAIL_CHARS)
        ),
    )
}

/// The id of a line too long to parse, from what was kept of it: a top-level `"id"`
/// member before the first cut-off point (most clients write it early), or one written
/// last (the TypeScript SDK writes `{method, params, jsonrpc, id}`).
pub fn id_of_cut_line(head: &[u8], tail: &[u8]) -> Option<RequestId> {
    id_in_head(head).or_else(|| id_at_end(tail))
}

/// The first top-level `"id"` of a JSON object's opening bytes, if it comes before they end.
fn id_in_head(head: &[u8]) -> Option<RequestId> {
    struct Seeker<'a>(&'a mut Option<Value>);
    impl<'de> Visitor<'de> for Seeker<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                if key == "id" {
                    *self.0 = Some(map.next_value()?);
                    // Stop here: the rest of the object was cut off.
                    return Ok(());
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    let head = head.strip_prefix(BOM).unwrap_or(head);
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(head);
    // The parse ends in an error at the cut; what matters is whether `id` came first.
    let _ = serde::Deserializer::deserialize_map(&mut de, Seeker(&mut found));
    found.and_then(read_id)
}

/// An `"id": value` member that is the last one of the top-level object: the line ends
/// with it and a single `}` (a nested object would end with `}}` or `]}`).
fn id_at_end(tail: &[u8]) -> Option<RequestId> {
    let end = tail
        .iter()
        .rposition(|b| !b.is_ascii_whitespace() && *b != b'\r')?;
    if tail[end] != b'}' {
        return None;
    }
    let body = &tail[..end];
    let mut search_end = body.len();
    while let Some(at) = find_last(&body[..search_end], b"\"id\"") {
        search_end = at;
        let before = body[..at].iter().rev().find(|b| !b.is_ascii_whitespace());
        if !matches!(before, Some(b',' | b'{')) {
            continue;
        }
        let rest = &body[at + 4..];
        let Some(colon) = rest.iter().position(|b| !b.is_ascii_whitespace()) else {
            continue;
        };
        if rest[colon] != b':' {
            continue;
        }
        let mut values = serde_json::Deserializer::from_slice(&rest[colon + 1..]).into_iter();
        let Some(Ok(value)) = values.next() else {
            continue;
        };
        let after = &rest[colon + 1 + values.byte_offset()..];
        if after.iter().all(u8::is_ascii_whitespace) {
            return read_id(value);
        }
    }
    None
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// True when `message` is a request whose method is `initialize`.
pub fn is_initialize(message: &ClientJsonRpcMessage) -> bool {
    matches!(
        message,
        JsonRpcMessage::Request(r)
            if matches!(r.request, ClientRequest::InitializeRequest(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(line: &[u8]) -> Reply {
        match classify(line) {
            Verdict::Reply(r) => r,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    fn num(n: i64) -> Option<RequestId> {
        Some(RequestId::Number(n))
    }

    #[test]
    fn a_valid_request_is_a_message() {
        let v = classify(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
        assert!(matches!(v, Verdict::Message(_)), "{v:?}");
    }

    #[test]
    fn lines_that_are_not_json_are_parse_errors_to_null() {
        for line in [
            &b"this is not json"[..],
            b"{\"jsonrpc\":\"2.0\",",
            b"\xff\xfe",
            b"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"} trailing",
        ] {
            let r = reply(line);
            assert_eq!(r.code, ErrorCode::PARSE_ERROR, "{line:?}");
            assert_eq!(r.id, None, "{line:?}");
        }
    }

    #[test]
    fn a_lone_surrogate_or_bad_utf8_in_a_string_is_answered_to_the_id() {
        let surrogate = br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"a\ud800"}}}"#;
        let r = reply(surrogate);
        assert_eq!((r.code, r.id), (ErrorCode::PARSE_ERROR, num(5)));
        let mut utf8 = br#"{"jsonrpc":"2.0","params":{"path":"a"#.to_vec();
        utf8.extend_from_slice(b"\xff\"},\"id\":\"s\",\"method\":\"x\"}");
        let r = reply(&utf8);
        assert_eq!(r.id, Some(RequestId::String("s".into())));
        assert!(r.message.contains("UTF-8"), "{}", r.message);
    }

    #[test]
    fn json_that_is_not_a_request_is_invalid_request() {
        let table: [(&[u8], Option<RequestId>); 8] = [
            (br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, None),
            (br#"[]"#, None),
            (br#""just a string""#, None),
            (br#"null"#, None),
            (br#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#, None),
            (br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#, None),
            (br#"{"id":9,"method":"ping"}"#, num(9)),
            (
                br#"{"jsonrpc":"1.0","id":"k","method":"ping"}"#,
                Some(RequestId::String("k".into())),
            ),
        ];
        for (line, id) in table {
            let r = reply(line);
            assert_eq!(
                r.code,
                ErrorCode::INVALID_REQUEST,
                "{}",
                String::from_utf8_lossy(line)
            );
            assert_eq!(r.id, id, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn params_that_do_not_fit_the_method_are_invalid_params_to_the_id() {
        let r = reply(
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read_file","arguments":"not an object"}}"#,
        );
        assert_eq!((r.code, r.id), (ErrorCode::INVALID_PARAMS, num(3)));
        assert!(
            r.message.starts_with("Invalid params for tools/call"),
            "{}",
            r.message
        );
    }

    #[test]
    fn a_notification_that_cannot_be_used_is_skipped_not_answered() {
        let v = classify(br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":7}"#);
        assert!(matches!(v, Verdict::Skip(_)), "{v:?}");
        assert!(matches!(classify(b"  \r"), Verdict::Skip(_)));
    }

    #[test]
    fn the_reply_line_carries_a_null_id_when_none_was_read() {
        let line = Reply::new(None, ErrorCode::PARSE_ERROR, "x").to_line();
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["id"], Value::Null);
        assert!(v.as_object().unwrap().contains_key("id"));
        assert_eq!(v["error"]["code"], -32700);
        assert_eq!(line.last(), Some(&b'\n'));
    }

    #[test]
    fn the_id_of_a_cut_line_is_read_from_its_start_or_its_end() {
        let head = br#"{"jsonrpc":"2.0","id":41,"method":"tools/call","params":{"arguments":{"content":"xxxx"#;
        assert_eq!(id_of_cut_line(head, b"xx\"}}}"), num(41));
        let tail = br#"xxxx"}},"jsonrpc":"2.0","id":"t-2"}"#;
        let head = br#"{"method":"tools/call","params":{"arguments":{"content":"xxxx"#;
        assert_eq!(
            id_of_cut_line(head, tail),
            Some(RequestId::String("t-2".into()))
        );
        // An "id" inside params is not the request's.
        assert_eq!(
            id_of_cut_line(b"{\"params\":{\"x\":\"", br#"x","id":5}}"#),
            None
        );
        assert_eq!(id_of_cut_line(b"{\"params\":\"", br#"xx"x"#), None);
    }
}

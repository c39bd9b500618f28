//! Reading an upstream's JSON answer tolerantly, and naming the field when it still fails.
//!
//! The real servers and their specs allow more variation than one release shows: PHP and
//! Go send `null` for empty columns where another release leaves the key out, Coolify
//! hides sensitive fields, counts are signed 64-bit integers in both specs. Every answer is
//! parsed to a `serde_json::Value` first and its `null` object members are dropped, so
//! "absent" and "null" read the same into the `#[serde(default)]` structs of the clients;
//! then it is deserialized through `serde_path_to_error`, so a failure says which field
//! (`[0].open_issues_count`) did not fit instead of a line and column of a body nobody
//! sees. No HTTP and no logging here: `ClientError::undecodable` logs.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Most characters of a non-JSON body quoted in the message.
const MAX_QUOTED: usize = 80;
/// Most characters of serde's message kept (it quotes the offending value, which an
/// upstream may send megabytes of).
const MAX_MESSAGE: usize = 300;

/// Why an answer could not be read: the field path (empty for the whole answer) and what
/// did not fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecodable {
    /// Path of the field, e.g. `[0].comments` or `deployments[2].status`; empty when the
    /// answer as a whole was the problem.
    pub field: String,
    /// What was wrong with it.
    pub message: String,
}

impl Undecodable {
    /// A failure of the answer as a whole.
    pub fn whole(message: impl Into<String>) -> Self {
        Undecodable {
            field: String::new(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Undecodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "field `{}`: {}", self.field, self.message)
        }
    }
}

/// Parse a body as JSON with every `null` object member removed.
pub fn parse(body: &[u8]) -> Result<Value, Undecodable> {
    let mut value: Value = serde_json::from_slice(body).map_err(|e| {
        let text = String::from_utf8_lossy(body);
        let quoted: String = text.trim().chars().take(MAX_QUOTED).collect();
        Undecodable::whole(format!("not JSON ({e}): {quoted:?}"))
    })?;
    drop_nulls(&mut value);
    Ok(value)
}

/// Deserialize a parsed answer, naming the field that does not fit.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Undecodable> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        Undecodable {
            field: if path == "." { String::new() } else { path },
            message: cut(&e.into_inner().to_string(), MAX_MESSAGE),
        }
    })
}

/// `text` cut to `max` characters, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// The JSON kind of a value, for messages about an answer's shape.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Remove `null` members of every object (array items stay, so indices keep their
/// meaning in error paths).
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Row {
        name: String,
        count: i64,
        note: Option<String>,
    }

    #[test]
    fn null_members_read_like_absent_ones() {
        let rows: Vec<Row> =
            from_value(parse(br#"[{"name":null,"count":null,"note":null},{}]"#).unwrap()).unwrap();
        assert_eq!(rows, vec![Row::default(), Row::default()]);
    }

    #[test]
    fn failures_name_the_field_path() {
        let err = from_value::<Vec<Row>>(parse(br#"[{"count":1},{"count":"many"}]"#).unwrap())
            .unwrap_err();
        assert_eq!(err.field, "[1].count");
        assert!(err.message.contains("expected i64"), "{err}");
    }

    #[test]
    fn a_wrong_top_level_shape_names_no_field() {
        let err = from_value::<Vec<Row>>(parse(br#"{"rows":[]}"#).unwrap()).unwrap_err();
        assert_eq!(err.field, "");
        assert!(err.to_string().starts_with("invalid type: map"), "{err}");
    }

    #[test]
    fn a_huge_offending_value_is_not_quoted_whole() {
        let body = format!(r#"[{{"count":"{}"}}]"#, "9".repeat(100_000));
        let err = from_value::<Vec<Row>>(parse(body.as_bytes()).unwrap()).unwrap_err();
        assert_eq!(err.field, "[0].count");
        assert!(
            err.message.chars().count() <= MAX_MESSAGE + 1,
            "{}",
            err.message.len()
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_quoted_short() {
        let body = format!("<html>{}</html>", "x".repeat(500));
        let err = parse(body.as_bytes()).unwrap_err();
        assert!(err.message.starts_with("not JSON"), "{err}");
        assert!(err.message.len() < 250, "{err}");
    }
}

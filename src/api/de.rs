//! Lenient parameter decoding shared by every tool: numbers and booleans that models
//! often send as strings (`"20"`, `"true"`) are accepted as either, while the published
//! schema stays a plain `integer` / `boolean`.

use schemars::{Schema, SchemaGenerator, json_schema};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrString {
    Number(u64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BoolOrString {
    Bool(bool),
    Text(String),
}

/// An optional non-negative integer, given as a number or a numeric string.
pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<NumberOrString>::deserialize(d)? {
        None => Ok(None),
        Some(NumberOrString::Number(n)) => Ok(Some(n)),
        Some(NumberOrString::Text(s)) => s.trim().parse().map(Some).map_err(|_| {
            D::Error::custom(format!(
                "expected a non-negative integer, got {}",
                crate::error::quote(&s)
            ))
        }),
    }
}

/// A required non-negative integer, given as a number or a numeric string.
pub fn u64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    opt_u64(d)?.ok_or_else(|| D::Error::custom("expected a non-negative integer, got null"))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListOrString {
    List(Vec<String>),
    Text(String),
}

/// An optional list of strings, given as a JSON array or as one comma-separated string.
pub fn opt_string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let items = match Option::<ListOrString>::deserialize(d)? {
        None => return Ok(None),
        Some(ListOrString::List(items)) => items,
        Some(ListOrString::Text(text)) => text.split(',').map(str::to_string).collect(),
    };
    Ok(Some(
        items
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    ))
}

/// Schema of a list of strings.
pub fn string_list_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "array", "items": { "type": "string" } })
}

/// Schema of a required non-negative integer.
pub fn required_integer_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "minimum": 0 })
}

/// An optional boolean, given as a boolean or as `"true"`/`"false"`.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<BoolOrString>::deserialize(d)? {
        None => Ok(None),
        Some(BoolOrString::Bool(b)) => Ok(Some(b)),
        Some(BoolOrString::Text(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Some(true)),
            "false" | "0" | "no" => Ok(Some(false)),
            _ => Err(D::Error::custom(format!(
                "expected true or false, got {}",
                crate::error::quote(&s)
            ))),
        },
    }
}

/// Schema of an optional non-negative integer: plain `integer`, no vendor `format`.
pub fn integer_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "minimum": 0 })
}

/// Schema of an optional boolean: plain `boolean`.
pub fn boolean_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "boolean" })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct L {
        #[serde(default, deserialize_with = "super::opt_string_list")]
        l: Option<Vec<String>>,
    }

    #[test]
    fn lists_arrive_as_arrays_or_comma_separated_text() {
        let l: L = serde_json::from_str(r#"{"l": ["a", " b "]}"#).unwrap();
        assert_eq!(l.l, Some(vec!["a".to_string(), "b".to_string()]));
        let l: L = serde_json::from_str(r#"{"l": "bug, ui,,"}"#).unwrap();
        assert_eq!(l.l, Some(vec!["bug".to_string(), "ui".to_string()]));
        let l: L = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(l.l, None);
    }

    #[derive(Deserialize)]
    struct P {
        #[serde(default, deserialize_with = "super::opt_u64")]
        n: Option<u64>,
        #[serde(default, deserialize_with = "super::opt_bool")]
        b: Option<bool>,
    }

    fn parse(json: &str) -> Result<P, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn numbers_and_booleans_arrive_as_values_or_strings() {
        let p = parse(r#"{"n": 7, "b": true}"#).unwrap();
        assert_eq!((p.n, p.b), (Some(7), Some(true)));
        let p = parse(r#"{"n": " 12 ", "b": "false"}"#).unwrap();
        assert_eq!((p.n, p.b), (Some(12), Some(false)));
        let p = parse(r#"{}"#).unwrap();
        assert_eq!((p.n, p.b), (None, None));
        let p = parse(r#"{"n": null}"#).unwrap();
        assert_eq!(p.n, None);
    }

    #[test]
    fn non_numeric_strings_are_refused_with_the_value() {
        let err = parse(r#"{"n": "ten"}"#).err().unwrap().to_string();
        assert!(err.contains("\"ten\""), "{err}");
        assert!(parse(r#"{"n": -1}"#).is_err());
        assert!(parse(r#"{"b": "maybe"}"#).is_err());
    }
}

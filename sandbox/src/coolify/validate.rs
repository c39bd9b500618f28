//! A small Laravel validator for the sandbox: rules per field with Laravel's default
//! English messages (`The name field is required.`), collected into a MessageBag
//! (`field → [messages]`), plus the `$allowedFields` check every Coolify create/update
//! endpoint adds (`This field is not allowed.`). Pure functions over the input map.

use serde_json::{Map, Value};

use super::http::Input;

/// One validation rule.
#[derive(Clone, Copy)]
pub(crate) enum Rule {
    Required,
    /// `required` under `customApiValidator()`: `This field is required.`
    RequiredApi,
    /// `nullable`: a null value passes every other rule.
    Nullable,
    Str,
    Bool,
    Int,
    Numeric,
    Array,
    /// Length for strings, value for numbers.
    Max(usize),
    Min(usize),
    /// `regex:` (or any predicate over a string) with Laravel's default message.
    Format(fn(&str) -> bool),
    /// A predicate with a custom message (`:attribute` replaced).
    Check(fn(&str) -> bool, &'static str),
    /// `in:`/enum.
    In(&'static [&'static str]),
    /// A closure rule returning its own messages.
    Custom(fn(&Value) -> Vec<String>),
}

/// A Laravel MessageBag: field → list of messages, in insertion order of fields.
#[derive(Debug, Default, Clone)]
pub(crate) struct Errors {
    fields: Vec<(String, Vec<String>)>,
}

impl Errors {
    /// Add a message to `field`.
    pub(crate) fn add(&mut self, field: &str, message: impl Into<String>) {
        match self.fields.iter_mut().find(|(f, _)| f == field) {
            Some((_, list)) => list.push(message.into()),
            None => self.fields.push((field.to_string(), vec![message.into()])),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The bag as JSON (`{"field": ["…"]}`).
    pub(crate) fn to_value(&self) -> Value {
        let mut map = Map::new();
        for (f, list) in &self.fields {
            map.insert(
                f.clone(),
                Value::Array(list.iter().cloned().map(Value::String).collect()),
            );
        }
        Value::Object(map)
    }
}

/// `:attribute` as Laravel spells it: underscores become spaces.
pub(crate) fn attribute(field: &str) -> String {
    field.replace('_', " ")
}

fn is_numeric(v: &Value) -> bool {
    match v {
        Value::Number(_) => true,
        Value::String(s) => s.trim().parse::<f64>().is_ok(),
        _ => false,
    }
}

fn is_int(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_i64() || n.is_u64(),
        Value::String(s) => s.trim().parse::<i64>().is_ok(),
        _ => false,
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Apply `rules` to `field` of `input`, adding Laravel's messages to `errors`.
pub(crate) fn check(errors: &mut Errors, input: &Input, field: &str, rules: &[Rule]) {
    let a = attribute(field);
    let value = input.get(field);
    let missing = match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(v)) => v.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    };
    if missing {
        for rule in rules {
            match rule {
                Rule::Required => errors.add(field, format!("The {a} field is required.")),
                Rule::RequiredApi => errors.add(field, "This field is required."),
                _ => {}
            }
        }
    }
    let Some(value) = value else {
        return;
    };
    let nullable = rules.iter().any(|r| matches!(r, Rule::Nullable));
    if value.is_null() && nullable {
        return;
    }
    let numeric_rules = rules.iter().any(|r| matches!(r, Rule::Int | Rule::Numeric));
    for rule in rules {
        let failed: Option<String> = match *rule {
            Rule::Required | Rule::RequiredApi | Rule::Nullable => None,
            Rule::Str => (!value.is_string()).then(|| format!("The {a} field must be a string.")),
            Rule::Bool => {
                let okay = matches!(value, Value::Bool(_))
                    || matches!(value, Value::Number(n) if n.as_i64() == Some(0) || n.as_i64() == Some(1))
                    || matches!(value, Value::String(s) if s == "0" || s == "1");
                (!okay).then(|| format!("The {a} field must be true or false."))
            }
            Rule::Int => (!is_int(value)).then(|| format!("The {a} field must be an integer.")),
            Rule::Numeric => {
                (!is_numeric(value)).then(|| format!("The {a} field must be a number."))
            }
            Rule::Array => (!value.is_array() && !value.is_object())
                .then(|| format!("The {a} field must be an array.")),
            Rule::Max(n) => match value {
                Value::String(s) if !numeric_rules => (s.chars().count() > n)
                    .then(|| format!("The {a} field must not be greater than {n} characters.")),
                v if numeric_rules && is_numeric(v) => as_text(v)
                    .and_then(|t| t.trim().parse::<f64>().ok())
                    .filter(|f| *f > n as f64)
                    .map(|_| format!("The {a} field must not be greater than {n}.")),
                _ => None,
            },
            Rule::Min(n) => match value {
                Value::String(s) if !numeric_rules => (s.chars().count() < n)
                    .then(|| format!("The {a} field must be at least {n} characters.")),
                v if numeric_rules && is_numeric(v) => as_text(v)
                    .and_then(|t| t.trim().parse::<f64>().ok())
                    .filter(|f| *f < n as f64)
                    .map(|_| format!("The {a} field must be at least {n}.")),
                _ => None,
            },
            Rule::Format(pred) => match as_text(value) {
                Some(t) if pred(&t) => None,
                _ => Some(format!("The {a} field format is invalid.")),
            },
            Rule::Check(pred, message) => match as_text(value) {
                Some(t) if pred(&t) => None,
                _ => Some(message.replace(":attribute", &a)),
            },
            Rule::In(allowed) => match as_text(value) {
                Some(t) if allowed.contains(&t.as_str()) => None,
                _ => Some(format!("The selected {a} is invalid.")),
            },
            Rule::Custom(f) => {
                for m in f(value) {
                    errors.add(field, m);
                }
                None
            }
        };
        if let Some(m) = failed {
            errors.add(field, m);
        }
    }
}

/// Add `This field is not allowed.` for every input key outside `allowed`.
pub(crate) fn extra_fields(errors: &mut Errors, input: &Input, allowed: &[&str]) {
    for key in input.keys() {
        if !allowed.contains(&key.as_str()) {
            errors.add(key, "This field is not allowed.");
        }
    }
}

/// `ValidationPatterns::NAME_PATTERN`: letters, digits, spaces and `-_.@/&()#,:+`.
pub(crate) fn name_pattern(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c.is_whitespace() || "-_.@/&()#,:+".contains(c))
}

/// `ValidationPatterns::DESCRIPTION_PATTERN`.
pub(crate) fn description_pattern(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c.is_whitespace() || "-_.,!?()'\"+=*@/&".contains(c))
}

/// `^[A-Za-z_][A-Za-z0-9_.]*$` (environment variable keys).
pub(crate) fn env_key_pattern(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// `^[A-Za-z_][A-Za-z0-9_]{0,62}$` (database identifiers).
pub(crate) fn db_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `^[A-Za-z0-9!@#%^*()_+\-=\[\]{}:,.?/~]+$` (database passwords).
pub(crate) fn db_password(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!@#%^*()_+-=[]{}:,.?/~".contains(c))
}

/// Comma-separated numbers (`^(\d+)(,\d+)*$`).
pub(crate) fn ports_csv(s: &str) -> bool {
    s.split(',')
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input(v: Value) -> Input {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn laravel_messages_for_common_rules() {
        let i = input(json!({"name": "ab", "flag": "yes", "n": "x", "e": "zz", "s": 5}));
        let mut e = Errors::default();
        check(
            &mut e,
            &i,
            "name",
            &[Rule::Required, Rule::Str, Rule::Min(3)],
        );
        check(&mut e, &i, "flag", &[Rule::Bool]);
        check(&mut e, &i, "n", &[Rule::Numeric]);
        check(&mut e, &i, "e", &[Rule::In(&["a", "b"])]);
        check(&mut e, &i, "s", &[Rule::Str]);
        check(&mut e, &i, "project_uuid", &[Rule::Required, Rule::Str]);
        check(&mut e, &i, "absent", &[Rule::Str]);
        extra_fields(&mut e, &i, &["name", "flag", "n", "e"]);
        assert_eq!(
            e.to_value(),
            json!({
                "name": ["The name field must be at least 3 characters."],
                "flag": ["The flag field must be true or false."],
                "n": ["The n field must be a number."],
                "e": ["The selected e is invalid."],
                "s": ["The s field must be a string.", "This field is not allowed."],
                "project_uuid": ["The project uuid field is required."],
            })
        );
    }

    #[test]
    fn patterns_accept_and_refuse_like_coolify() {
        assert!(env_key_pattern("DATABASE_URL") && env_key_pattern("_a.b"));
        assert!(!env_key_pattern("1A") && !env_key_pattern("A B") && !env_key_pattern("A-B"));
        assert!(db_identifier("app_db") && !db_identifier("app-db"));
        assert!(db_password("S3cret!pw") && !db_password("a b") && !db_password("a$b"));
        assert!(ports_csv("80,443") && !ports_csv("80,") && !ports_csv("http"));
        assert!(name_pattern("My Project (1)") && !name_pattern("bad<name>"));
    }
}

//! The contract check of the Google stand-in: every API request is compared with the
//! discovery documents (`dns-v1.json`, `iam-v1.json`, `storage-v1.json` in
//! `VIBN_GOOGLE_DISCOVERY_DIR`, default `../shared/specs/google` beside the workspace).
//! A request must match a method's HTTP verb and path (servicePath + flatPath/path,
//! `{var}` one segment, `{+var}` one or more), carry its required query parameters and
//! no query parameter the method or the API does not define (enum values checked), and
//! send a body only to a method with a request schema, whose fields must all exist in
//! that schema (recursively, following `$ref`, with the JSON types it declares).

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::plumbing::query_pairs;

/// One request that broke the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The HTTP method sent.
    pub method: String,
    /// The path sent (with the query).
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// One discovery method.
#[derive(Debug)]
struct MethodSpec {
    id: String,
    http_method: String,
    pattern: Regex,
    literal_len: usize,
    parameters: Map<String, Value>,
    request: Option<String>,
    api: usize,
}

/// One discovery document's parts the check needs.
#[derive(Debug)]
struct Api {
    name: String,
    schemas: Map<String, Value>,
    global_parameters: Map<String, Value>,
}

/// The loaded discovery documents.
#[derive(Debug)]
pub struct Validator {
    apis: Vec<Api>,
    methods: Vec<MethodSpec>,
}

/// The outcome of checking one request.
#[derive(Debug, Default)]
pub struct Checked {
    /// The discovery method id matched, if any.
    pub method_id: Option<String>,
    /// What is wrong (empty: nothing).
    pub problems: Vec<String>,
}

/// The default discovery folder: `../shared/specs/google` relative to the workspace.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs/google")
}

/// The folder to load from: `VIBN_GOOGLE_DISCOVERY_DIR` or the default.
// The stand-in's one setting from the environment (vibn's own settings live in its
// config.rs; the sandbox has none).
#[allow(clippy::disallowed_methods)]
pub fn configured_dir() -> PathBuf {
    std::env::var_os("VIBN_GOOGLE_DISCOVERY_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(default_dir)
}

impl Validator {
    /// Load `dns-v1.json`, `iam-v1.json` and `storage-v1.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Validator, String> {
        let mut v = Validator {
            apis: Vec::new(),
            methods: Vec::new(),
        };
        for file in ["dns-v1.json", "iam-v1.json", "storage-v1.json"] {
            let path = dir.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let doc: Value = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
            v.add(&doc)?;
        }
        Ok(v)
    }

    fn add(&mut self, doc: &Value) -> Result<(), String> {
        let api = self.apis.len();
        let service_path = doc["servicePath"].as_str().unwrap_or_default().to_string();
        self.apis.push(Api {
            name: doc["name"].as_str().unwrap_or_default().to_string(),
            schemas: doc["schemas"].as_object().cloned().unwrap_or_default(),
            global_parameters: doc["parameters"].as_object().cloned().unwrap_or_default(),
        });
        let mut stack = vec![doc];
        while let Some(node) = stack.pop() {
            if let Some(methods) = node["methods"].as_object() {
                for m in methods.values() {
                    let template = m["flatPath"]
                        .as_str()
                        .or_else(|| m["path"].as_str())
                        .unwrap_or_default();
                    let (pattern, literal_len) =
                        template_regex(&format!("{service_path}{template}"))?;
                    self.methods.push(MethodSpec {
                        id: m["id"].as_str().unwrap_or_default().to_string(),
                        http_method: m["httpMethod"].as_str().unwrap_or_default().to_string(),
                        pattern,
                        literal_len,
                        parameters: m["parameters"].as_object().cloned().unwrap_or_default(),
                        request: m["request"]["$ref"].as_str().map(String::from),
                        api,
                    });
                }
            }
            if let Some(resources) = node["resources"].as_object() {
                stack.extend(resources.values());
            }
        }
        Ok(())
    }

    /// How many methods were loaded.
    pub fn method_count(&self) -> usize {
        self.methods.len()
    }

    /// Check one request: `path` without the query, `query` raw, `body` as sent.
    pub fn check(&self, method: &str, path: &str, query: &str, body: &[u8]) -> Checked {
        let relative = path.trim_start_matches('/');
        let matching: Vec<&MethodSpec> = self
            .methods
            .iter()
            .filter(|m| m.pattern.is_match(relative))
            .collect();
        let Some(spec) = matching
            .iter()
            .filter(|m| m.http_method.eq_ignore_ascii_case(method))
            .max_by_key(|m| m.literal_len)
        else {
            let problem = if matching.is_empty() {
                format!("no discovery method matches {method} /{relative}")
            } else {
                let allowed: Vec<&str> = matching.iter().map(|m| m.http_method.as_str()).collect();
                format!(
                    "method {method} does not apply to /{relative} (discovery: {})",
                    allowed.join(", ")
                )
            };
            return Checked {
                method_id: None,
                problems: vec![problem],
            };
        };
        let api = &self.apis[spec.api];
        let mut problems = Vec::new();
        let pairs = query_pairs(query);
        for (key, value) in &pairs {
            let param = spec
                .parameters
                .get(key)
                .filter(|p| p["location"] == "query")
                .or_else(|| api.global_parameters.get(key));
            let Some(param) = param else {
                problems.push(format!("{}: unknown query parameter {key:?}", spec.id));
                continue;
            };
            if param["repeated"] != true && pairs.iter().filter(|(k, _)| k == key).count() > 1 {
                problems.push(format!(
                    "{}: query parameter {key:?} is not repeated",
                    spec.id
                ));
            }
            if let Some(allowed) = param["enum"].as_array()
                && !allowed.iter().any(|a| a.as_str() == Some(value))
            {
                problems.push(format!(
                    "{}: {key}={value:?} is not one of the allowed values",
                    spec.id
                ));
            }
        }
        for (name, param) in &spec.parameters {
            if param["location"] == "query"
                && param["required"] == true
                && !pairs.iter().any(|(k, _)| k == name)
            {
                problems.push(format!(
                    "{}: required query parameter {name:?} is missing",
                    spec.id
                ));
            }
        }
        match (&spec.request, body.iter().all(u8::is_ascii_whitespace)) {
            (None, false) => {
                problems.push(format!("{}: the method takes no request body", spec.id))
            }
            (Some(schema), true) => problems.push(format!(
                "{}: the request body ({schema}) is missing",
                spec.id
            )),
            (Some(schema), false) => match serde_json::from_slice::<Value>(body) {
                Ok(value) => check_value(
                    api,
                    &value,
                    &Value::from(Map::from_iter([(
                        "$ref".to_string(),
                        Value::from(schema.as_str()),
                    )])),
                    schema,
                    &mut problems,
                    0,
                ),
                Err(e) => problems.push(format!("{}: the body is not JSON: {e}", spec.id)),
            },
            (None, true) => {}
        }
        let id = spec.id.clone();
        let problems = problems
            .into_iter()
            .map(|p| {
                if p.starts_with(&id) {
                    p
                } else {
                    format!("{id}: {p}")
                }
            })
            .collect();
        Checked {
            method_id: Some(id),
            problems,
        }
    }

    /// The name of the API a discovery id belongs to (`dns`, `iam`, `storage`).
    pub fn api_of(&self, method_id: &str) -> Option<&str> {
        self.methods
            .iter()
            .find(|m| m.id == method_id)
            .map(|m| self.apis[m.api].name.as_str())
    }
}

/// A regex for a path template and how many literal characters it has.
fn template_regex(template: &str) -> Result<(Regex, usize), String> {
    let mut out = String::from("^");
    let mut literal = 0;
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let (lit, tail) = rest.split_at(open);
        out.push_str(&regex::escape(lit));
        literal += lit.len();
        let close = tail
            .find('}')
            .ok_or_else(|| format!("unclosed {{ in {template}"))?;
        let var = &tail[1..close];
        out.push_str(if var.starts_with('+') {
            "(.+)"
        } else {
            "([^/]+)"
        });
        rest = &tail[close + 1..];
    }
    out.push_str(&regex::escape(rest));
    literal += rest.len();
    out.push('$');
    Regex::new(&out)
        .map(|r| (r, literal))
        .map_err(|e| format!("bad template {template}: {e}"))
}

/// Check `value` against `schema` (a discovery schema or `{"$ref": …}`); `at` names the
/// place for messages.
fn check_value(
    api: &Api,
    value: &Value,
    schema: &Value,
    at: &str,
    problems: &mut Vec<String>,
    depth: usize,
) {
    if depth > 32 || value.is_null() {
        return;
    }
    let schema = match schema["$ref"].as_str() {
        Some(name) => match api.schemas.get(name) {
            Some(s) => s,
            None => {
                problems.push(format!("{at}: unknown schema {name}"));
                return;
            }
        },
        None => schema,
    };
    let kind = schema["type"].as_str().unwrap_or("any");
    match kind {
        "object" => {
            let Some(object) = value.as_object() else {
                problems.push(format!("{at}: expected an object"));
                return;
            };
            let properties = schema["properties"].as_object();
            for (key, v) in object {
                let place = format!("{at}.{key}");
                match (
                    properties.and_then(|p| p.get(key)),
                    schema.get("additionalProperties"),
                ) {
                    (Some(prop), _) => check_value(api, v, prop, &place, problems, depth + 1),
                    (None, Some(extra)) => check_value(api, v, extra, &place, problems, depth + 1),
                    (None, None) => problems.push(format!("unknown field {place}")),
                }
            }
        }
        "array" => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check_value(
                        api,
                        item,
                        &schema["items"],
                        &format!("{at}[{i}]"),
                        problems,
                        depth + 1,
                    );
                }
            }
            None => problems.push(format!("{at}: expected an array")),
        },
        "string" if !value.is_string() => problems.push(format!("{at}: expected a string")),
        "boolean" if !value.is_boolean() => problems.push(format!("{at}: expected a boolean")),
        "integer" | "number" => {
            let numeric =
                value.is_number() || value.as_str().is_some_and(|s| s.parse::<f64>().is_ok());
            if !numeric {
                problems.push(format!("{at}: expected a number"));
            }
        }
        _ => {}
    }
}

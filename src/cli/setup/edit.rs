//! Merging vibn's server entries into a client's existing configuration text, keeping
//! everything else: pure text in, text out, no I/O. JSON is edited as JSONC through
//! `jsonc-parser`'s concrete syntax tree (comments, order and formatting kept), TOML
//! through `toml_edit` (same), YAML through `yaml-rust2`, which cannot keep comments
//! (Goose rewrites its file without them too; the caller keeps a backup). Text that
//! does not parse, or whose containers have the wrong shape, is refused.

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use serde_json::Value;

/// Why an existing configuration cannot be merged into.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The text does not parse in its format.
    #[error("it is not valid {format}: {reason}")]
    Malformed {
        /// JSON, TOML or YAML.
        format: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// A container vibn writes into exists with another type.
    #[error("{path} is not {expected}")]
    WrongShape {
        /// Where, e.g. `mcpServers`.
        path: String,
        /// What it should be.
        expected: &'static str,
    },
    /// Nesting deeper than any client writes (a guard against hostile files).
    #[error("it nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// YAML anchors or aliases (they could expand without bound; Goose never writes them).
    #[error("it uses YAML anchors or aliases, which vibn does not rewrite")]
    Aliases,
}

/// Deepest nesting accepted in an existing file.
pub const MAX_DEPTH: usize = 64;

/// JSONC as editors accept it: comments and trailing commas, nothing looser.
fn jsonc_options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_loose_object_property_names: false,
        allow_trailing_commas: true,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Refuse text nesting deeper than [`MAX_DEPTH`] before a recursive parser sees it.
/// Brackets inside strings and comments do not count.
fn check_depth(text: &str) -> Result<(), EditError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut star = false;
                for c in chars.by_ref() {
                    if star && c == '/' {
                        break;
                    }
                    star = c == '*';
                }
            }
            '{' | '[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(EditError::TooDeep);
                }
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The order an entry's fields are written in: how clients' own docs show them, the
/// rest alphabetical.
const FIELD_ORDER: [&str; 11] = [
    "type",
    "enabled",
    "name",
    "description",
    "command",
    "cmd",
    "args",
    "env",
    "envs",
    "envFile",
    "env_keys",
];

/// An entry's top-level fields in [`FIELD_ORDER`].
fn ordered(value: &Value) -> Vec<(&String, &Value)> {
    let Value::Object(map) = value else {
        return Vec::new();
    };
    let rank = |k: &str| {
        FIELD_ORDER
            .iter()
            .position(|f| *f == k)
            .unwrap_or(FIELD_ORDER.len())
    };
    let mut fields: Vec<(&String, &Value)> = map.iter().collect();
    fields.sort_by_key(|(k, _)| rank(k));
    fields
}

/// An entry as a CST input value, fields in [`FIELD_ORDER`].
fn cst_entry(value: &Value) -> CstInputValue {
    CstInputValue::Object(
        ordered(value)
            .into_iter()
            .map(|(k, v)| (k.clone(), cst_value(v)))
            .collect(),
    )
}

/// A `serde_json::Value` as a CST input value.
fn cst_value(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(cst_value).collect()),
        Value::Object(map) => {
            CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), cst_value(v))).collect())
        }
    }
}

/// The object at `path` below `object`, created when missing; a member of another type
/// is refused (never overwritten).
fn object_at(object: CstObject, path: &[&str]) -> Result<CstObject, EditError> {
    let mut current = object;
    for (i, key) in path.iter().enumerate() {
        current = current
            .object_value_or_create(key)
            .ok_or_else(|| EditError::WrongShape {
                path: path[..=i].join("."),
                expected: "an object",
            })?;
    }
    Ok(current)
}

/// Put `entries` (name → entry) into the JSON object at `path` of `text` (empty text:
/// a new document), replacing entries of the same name and keeping everything else.
pub fn merge_json(
    text: &str,
    path: &[&str],
    entries: &[(String, Value)],
) -> Result<String, EditError> {
    check_depth(text)?;
    let source = if text.trim().is_empty() { "{}\n" } else { text };
    let root = CstRootNode::parse(source, &jsonc_options()).map_err(|e| EditError::Malformed {
        format: "JSON",
        reason: e.to_string(),
    })?;
    let top = match root.value() {
        None => root.object_value_or_set(),
        Some(_) => root.object_value().ok_or(EditError::WrongShape {
            path: "the top level".into(),
            expected: "an object",
        })?,
    };
    let servers = object_at(top, path)?;
    for (name, entry) in entries {
        match servers.get(name) {
            Some(prop) => prop.set_value(cst_entry(entry)),
            None => {
                servers.append(name, cst_entry(entry));
            }
        }
    }
    let mut out = root.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// A JSON value as a TOML value (objects become inline tables; null has no TOML form
/// and is skipped by the caller's data, which has none).
fn toml_value(value: &Value) -> toml_edit::Value {
    match value {
        Value::Null => toml_edit::Value::from(""),
        Value::Bool(b) => toml_edit::Value::from(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml_edit::Value::from(i),
            None => toml_edit::Value::from(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => toml_edit::Value::from(s.as_str()),
        Value::Array(items) => {
            toml_edit::Value::Array(items.iter().map(toml_value).collect::<toml_edit::Array>())
        }
        Value::Object(map) => {
            let mut table = toml_edit::InlineTable::new();
            for (k, v) in map {
                table.insert(k, toml_value(v));
            }
            toml_edit::Value::InlineTable(table)
        }
    }
}

/// Put `entries` into the TOML table `table` (`[mcp_servers.<name>]`), replacing
/// entries of the same name and keeping everything else, comments included.
pub fn merge_toml(
    text: &str,
    table: &str,
    entries: &[(String, Value)],
) -> Result<String, EditError> {
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| EditError::Malformed {
                format: "TOML",
                reason: e.to_string().trim().to_string(),
            })?;
    let servers = doc
        .entry(table)
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| EditError::WrongShape {
            path: table.to_string(),
            expected: "a table",
        })?;
    for (name, entry) in entries {
        let mut t = toml_edit::Table::new();
        for (k, v) in ordered(entry) {
            t.insert(k, toml_edit::Item::Value(toml_value(v)));
        }
        servers.insert(name, toml_edit::Item::Table(t));
    }
    Ok(doc.to_string())
}

/// A JSON value as YAML.
fn yaml_value(value: &Value) -> yaml_rust2::Yaml {
    use yaml_rust2::Yaml;
    match value {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Integer(i),
            None => Yaml::Real(n.to_string()),
        },
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(items) => Yaml::Array(items.iter().map(yaml_value).collect()),
        Value::Object(map) => Yaml::Hash(
            map.iter()
                .map(|(k, v)| (Yaml::String(k.clone()), yaml_value(v)))
                .collect(),
        ),
    }
}

/// Counts alias events while parsing, without building (and expanding) anything.
#[derive(Default)]
struct AliasCounter(usize);

impl yaml_rust2::parser::EventReceiver for AliasCounter {
    fn on_event(&mut self, event: yaml_rust2::parser::Event) {
        if matches!(event, yaml_rust2::parser::Event::Alias(_)) {
            self.0 += 1;
        }
    }
}

/// Put `entries` into the YAML mapping `key` (`extensions:`), replacing entries of the
/// same name and keeping the other keys (comments are not kept).
pub fn merge_yaml(text: &str, key: &str, entries: &[(String, Value)]) -> Result<String, EditError> {
    use yaml_rust2::Yaml;
    let malformed = |reason: String| EditError::Malformed {
        format: "YAML",
        reason,
    };
    check_depth(text)?;
    let mut counter = AliasCounter::default();
    yaml_rust2::parser::Parser::new_from_str(text)
        .load(&mut counter, true)
        .map_err(|e| malformed(e.to_string()))?;
    if counter.0 > 0 {
        return Err(EditError::Aliases);
    }
    let mut docs =
        yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| malformed(e.to_string()))?;
    if docs.len() > 1 {
        return Err(malformed("it holds more than one document".into()));
    }
    let mut doc = match docs.pop() {
        None | Some(Yaml::Null) => Yaml::Hash(Default::default()),
        Some(doc) => doc,
    };
    let Yaml::Hash(top) = &mut doc else {
        return Err(EditError::WrongShape {
            path: "the top level".into(),
            expected: "a mapping",
        });
    };
    let slot = top
        .entry(Yaml::String(key.to_string()))
        .or_insert_with(|| Yaml::Hash(Default::default()));
    if matches!(slot, Yaml::Null) {
        *slot = Yaml::Hash(Default::default());
    }
    let Yaml::Hash(map) = slot else {
        return Err(EditError::WrongShape {
            path: key.to_string(),
            expected: "a mapping",
        });
    };
    for (name, entry) in entries {
        let fields = ordered(entry)
            .into_iter()
            .map(|(k, v)| (Yaml::String(k.clone()), yaml_value(v)))
            .collect();
        map.insert(Yaml::String(name.clone()), Yaml::Hash(fields));
    }
    let mut out = String::new();
    yaml_rust2::YamlEmitter::new(&mut out)
        .dump(&doc)
        .map_err(|e| malformed(format!("{e:?}")))?;
    let out = out.strip_prefix("---\n").unwrap_or(&out).to_string();
    Ok(out + "\n")
}

/// Markers of the block vibn owns in a user's Markdown or hints file.
pub const BLOCK_BEGIN: &str =
    "<!-- vibn:begin — written by `vibn setup`; edits inside are replaced -->";
/// End marker of vibn's block.
pub const BLOCK_END: &str = "<!-- vibn:end -->";

/// `text` with vibn's marked block replaced by `block` (or appended when there is
/// none); everything outside the markers is kept byte for byte.
pub fn upsert_block(text: &str, block: &str) -> String {
    let marked = format!("{BLOCK_BEGIN}\n{}\n{BLOCK_END}", block.trim_end());
    if let Some(start) = text.find(BLOCK_BEGIN)
        && let Some(len) = text[start..].find(BLOCK_END)
    {
        let end = start + len + BLOCK_END.len();
        return format!("{}{marked}{}", &text[..start], &text[end..]);
    }
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&marked);
    out.push('\n');
    out
}

/// `text` (a dotenv file) with `vars` set: existing `NAME=` lines of those names are
/// replaced in place, new ones appended; every other line is kept.
pub fn upsert_env_lines(text: &str, vars: &[(String, String)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for (name, value) in vars {
        let line = format!("{name}={value}");
        let existing = lines.iter().position(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("export ").unwrap_or(l);
            l.split_once('=').is_some_and(|(n, _)| n.trim() == name)
        });
        match existing {
            Some(i) => lines[i] = line,
            None => lines.push(line),
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry() -> Vec<(String, Value)> {
        vec![(
            "vibn-workspace".to_string(),
            json!({"command": "/bin/vibn", "args": ["mcp", "workspace"]}),
        )]
    }

    #[test]
    fn json_merge_keeps_comments_and_other_servers() {
        let text = "{\n  // mine\n  \"mcpServers\": {\n    \"other\": {\"command\": \"x\"}, // keep\n  },\n  \"theme\": \"dark\"\n}\n";
        let out = merge_json(text, &["mcpServers"], &entry()).unwrap();
        assert!(out.contains("// mine") && out.contains("// keep"), "{out}");
        assert!(
            out.contains("\"other\"") && out.contains("\"theme\": \"dark\""),
            "{out}"
        );
        assert!(out.contains("\"vibn-workspace\""), "{out}");
        let again = merge_json(&out, &["mcpServers"], &entry()).unwrap();
        assert_eq!(again, out, "merging twice changes nothing");
    }

    #[test]
    fn json_merge_replaces_an_existing_entry() {
        let text = r#"{"mcpServers": {"vibn-workspace": {"command": "old"}}}"#;
        let out = merge_json(text, &["mcpServers"], &entry()).unwrap();
        assert!(!out.contains("old"), "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["mcpServers"]["vibn-workspace"]["command"], "/bin/vibn");
    }

    #[test]
    fn json_refuses_malformed_and_wrong_shapes() {
        for bad in [
            "{\"mcpServers\": {\"a\": 1 \"b\": 2}}",
            "{'mcpServers': {}}",
            "{\"mcpServers\": ",
            "[1, 2]",
            "{\"mcpServers\": []}",
            "{\"mcpServers\": \"x\"}",
        ] {
            assert!(merge_json(bad, &["mcpServers"], &entry()).is_err(), "{bad}");
        }
        let deep = "[".repeat(10_000);
        assert!(matches!(
            merge_json(&deep, &["mcpServers"], &entry()),
            Err(EditError::TooDeep)
        ));
    }

    #[test]
    fn json_empty_text_is_a_new_document() {
        let out = merge_json("", &["projects", "/p", "mcpServers"], &entry()).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["projects"]["/p"]["mcpServers"]["vibn-workspace"]["args"][1],
            "workspace"
        );
    }

    #[test]
    fn toml_merge_keeps_comments_and_tables() {
        let text = "# my codex\nmodel = \"o3\"\n\n[mcp_servers.other]\ncommand = \"x\" # keep\n";
        let out = merge_toml(text, "mcp_servers", &entry()).unwrap();
        assert!(
            out.contains("# my codex") && out.contains("# keep"),
            "{out}"
        );
        assert!(out.contains("[mcp_servers.vibn-workspace]"), "{out}");
        let doc: toml_edit::DocumentMut = out.parse().unwrap();
        assert_eq!(
            doc["mcp_servers"]["vibn-workspace"]["args"][0].as_str(),
            Some("mcp")
        );
        assert!(merge_toml("model = [", "mcp_servers", &entry()).is_err());
        assert!(merge_toml("mcp_servers = 3", "mcp_servers", &entry()).is_err());
    }

    #[test]
    fn yaml_merge_keeps_other_keys_and_refuses_aliases() {
        let text = "GOOSE_PROVIDER: openai\nextensions:\n  developer:\n    enabled: true\n";
        let out = merge_yaml(text, "extensions", &entry()).unwrap();
        let doc = &yaml_rust2::YamlLoader::load_from_str(&out).unwrap()[0];
        assert_eq!(doc["GOOSE_PROVIDER"].as_str(), Some("openai"));
        assert_eq!(
            doc["extensions"]["developer"]["enabled"].as_bool(),
            Some(true)
        );
        assert_eq!(
            doc["extensions"]["vibn-workspace"]["command"].as_str(),
            Some("/bin/vibn")
        );
        let bomb = "a: &a [1, 2]\nb: [*a, *a]\n";
        assert!(matches!(
            merge_yaml(bomb, "extensions", &entry()),
            Err(EditError::Aliases)
        ));
        assert!(merge_yaml("extensions: [1]\n", "extensions", &entry()).is_err());
        assert!(merge_yaml("a: [\n", "extensions", &entry()).is_err());
    }

    #[test]
    fn block_is_replaced_and_user_text_kept() {
        let text = "# My project\n\nmy notes\n";
        let once = upsert_block(text, "rules v1");
        assert!(once.starts_with(text));
        let twice = upsert_block(&once, "rules v2");
        assert!(
            twice.starts_with(text) && twice.contains("rules v2") && !twice.contains("rules v1")
        );
        let with_after = format!("{twice}\nafter\n");
        assert!(upsert_block(&with_after, "rules v3").ends_with("\nafter\n"));
    }

    #[test]
    fn env_lines_replace_in_place_and_append() {
        let text = "# env\nFOO=1\nexport VIBN_API_KEY=old\n";
        let out = upsert_env_lines(
            text,
            &[
                ("VIBN_API_KEY".into(), "new".into()),
                ("VIBN_WORKSPACE".into(), "acme".into()),
            ],
        );
        assert_eq!(out, "# env\nFOO=1\nVIBN_API_KEY=new\nVIBN_WORKSPACE=acme\n");
    }
}

//! `vibn schemas export`: write the JSON Schema of every tool's input and output, one
//! file per server (`schemas/<server>.tools.json`), so schema changes show up in review;
//! `--check` fails when the checked-in copy is stale.
//!
//! Tool names are append-only within a major version (seed 003 §10: agents cache the
//! tool list): each file records the version series it belongs to, and neither
//! `export` nor `--check` lets a tool of that file disappear (or be renamed) until the
//! crate's major version — Cargo's rule: the first non-zero component — has moved on.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::Value;

use super::output;
use crate::mcp;

/// The file name of a server's tool schemas.
pub fn file_name(server: &str) -> String {
    format!("{server}.tools.json")
}

/// The suffix every tool-schema file has.
const SUFFIX: &str = ".tools.json";

/// The version series tool names are stable within: `1.x` for 1.4.2, `0.3.x` for
/// 0.3.1, `0.0.7` for 0.0.7 (Cargo's compatibility rule).
pub fn version_series(version: &str) -> String {
    let parts: Vec<&str> = version.split(['.', '-', '+']).take(3).collect();
    match parts.as_slice() {
        [major, ..] if *major != "0" => format!("{major}.x"),
        ["0", minor, ..] if *minor != "0" => format!("0.{minor}.x"),
        _ => version.to_string(),
    }
}

/// The series of this build.
fn current_series() -> String {
    version_series(env!("CARGO_PKG_VERSION"))
}

/// The exported document of every server: (file name, pretty JSON text).
pub fn documents() -> Vec<(String, String)> {
    mcp::inventory()
        .into_iter()
        .map(|(server, tools)| {
            let tools: Vec<Value> = tools
                .into_iter()
                .map(|t| {
                    serde_json::json!({
                        "name": t.name,
                        "title": t.title,
                        "description": t.description,
                        "annotations": t.annotations,
                        "inputSchema": t.input_schema,
                        "outputSchema": t.output_schema,
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "server": format!("vibn-{server}"),
                "version_series": current_series(),
                "tools": tools,
            });
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
            (file_name(server), text)
        })
        .collect()
}

/// Tools of a checked-in schema file that are gone from the servers although the
/// major version has not moved: (file, tool names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedTools {
    /// The schema file.
    pub file: String,
    /// The tools it lists that no server serves any more.
    pub tools: Vec<String>,
}

/// The tool names a schema document lists, and the series it records (documents
/// written before the series was recorded count as this build's series).
fn listed(text: &str) -> Option<(String, BTreeSet<String>)> {
    let doc: Value = serde_json::from_str(text).ok()?;
    let series = doc
        .get("version_series")
        .and_then(Value::as_str)
        .map_or_else(current_series, str::to_string);
    let names = doc
        .get("tools")?
        .as_array()?
        .iter()
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    Some((series, names))
}

/// Every tool the files under `dir` list for this build's series that the servers
/// no longer serve (a file of a server that is no longer built counts whole).
pub fn removed_tools(dir: &Path) -> anyhow::Result<Vec<RemovedTools>> {
    let fresh: Vec<(String, BTreeSet<String>)> = documents()
        .into_iter()
        .map(|(file, text)| (file, listed(&text).map(|(_, n)| n).unwrap_or_default()))
        .collect();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut files: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.ends_with(SUFFIX))
        .collect();
    files.sort();
    let series = current_series();
    let mut removed = Vec::new();
    for file in files {
        let path = dir.join(&file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let Some((old_series, old_names)) = listed(&text) else {
            continue;
        };
        if old_series != series {
            continue;
        }
        let now = fresh
            .iter()
            .find(|(f, _)| *f == file)
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        let gone: Vec<String> = old_names.difference(&now).cloned().collect();
        if !gone.is_empty() {
            removed.push(RemovedTools { file, tools: gone });
        }
    }
    Ok(removed)
}

/// Write (or with `check`, compare) the schemas under `dir`. Either way, a tool that
/// disappeared within the major version is refused (exit 1) and nothing is written.
pub fn export(dir: &Path, check: bool) -> anyhow::Result<ExitCode> {
    let removed = removed_tools(dir)?;
    if !removed.is_empty() {
        for r in &removed {
            output::error(&format!(
                "{}: tool{} {} no longer served",
                r.file,
                if r.tools.len() == 1 { "" } else { "s" },
                r.tools.join(", ")
            ));
        }
        output::error(&format!(
            "tool names are append-only within a major version (vibn {}): keep the tools \
             (an alias for a renamed one), or bump the major version in Cargo.toml",
            current_series()
        ));
        return Ok(ExitCode::from(1));
    }
    let mut stale = Vec::new();
    for (name, text) in documents() {
        let path = dir.join(&name);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == text {
            continue;
        }
        if check {
            stale.push(name);
        } else {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            output::line(&format!("wrote {}", path.display()));
        }
    }
    if stale.is_empty() {
        if check {
            output::line("tool schemas are up to date");
        }
        return Ok(ExitCode::SUCCESS);
    }
    output::error(&format!(
        "stale tool schemas in {}: {}; run `vibn schemas export`",
        dir.display(),
        stale.join(", ")
    ));
    Ok(ExitCode::from(1))
}

/// Bytes per token assumed for the estimate (the usual rule of thumb for English prose
/// and JSON with BPE tokenizers; real counts vary by model by about ±20 %).
pub const BYTES_PER_TOKEN: usize = 4;

/// What one server's (or tool's) part of `tools/list` costs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Size {
    /// The server (or tool) name.
    pub name: String,
    /// How many tools.
    pub tools: usize,
    /// Bytes of the compact JSON a client receives.
    pub bytes: usize,
    /// Approximate tokens (`bytes / BYTES_PER_TOKEN`, rounded up).
    pub tokens: usize,
}

fn measured(name: String, tools: usize, value: &impl serde::Serialize) -> Size {
    let bytes = serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or_default();
    Size {
        name,
        tools,
        bytes,
        tokens: bytes.div_ceil(BYTES_PER_TOKEN),
    }
}

/// The size of every built server's `tools/list` result as served unfiltered, and of
/// each of its tools.
pub fn sizes() -> Vec<(Size, Vec<Size>)> {
    mcp::inventory()
        .into_iter()
        .map(|(server, tools)| {
            let mut each: Vec<Size> = tools
                .iter()
                .map(|t| measured(t.name.to_string(), 1, t))
                .collect();
            each.sort_by_key(|s| std::cmp::Reverse(s.bytes));
            let result = rmcp::model::ListToolsResult::with_all_items(tools.clone());
            (measured(server.to_string(), tools.len(), &result), each)
        })
        .collect()
}

/// `vibn schemas size`: print what each server's tool list costs a model.
pub fn size(per_tool: bool, json: bool) -> anyhow::Result<ExitCode> {
    let all = sizes();
    if json {
        let doc: Vec<Value> = all
            .iter()
            .map(|(server, tools)| {
                let mut v = serde_json::to_value(server).unwrap_or_default();
                if per_tool {
                    v["per_tool"] = serde_json::to_value(tools).unwrap_or_default();
                }
                v
            })
            .collect();
        output::json(&doc);
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = Vec::new();
    for (server, tools) in &all {
        rows.push(vec![
            server.name.clone(),
            server.tools.to_string(),
            server.bytes.to_string(),
            format!("~{}", server.tokens),
        ]);
        if per_tool {
            for t in tools {
                rows.push(vec![
                    format!("  {}", t.name),
                    String::new(),
                    t.bytes.to_string(),
                    format!("~{}", t.tokens),
                ]);
            }
        }
    }
    output::table(&["server", "tools", "bytes", "tokens"], &rows);
    output::note(&format!(
        "tokens estimated as bytes/{BYTES_PER_TOKEN}; the compact JSON of tools/list as served"
    ));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_series_follows_cargo_compatibility() {
        for (version, series) in [
            ("1.4.2", "1.x"),
            ("2.0.0-rc.1", "2.x"),
            ("0.3.1", "0.3.x"),
            ("0.1.0", "0.1.x"),
            ("0.0.7", "0.0.7"),
        ] {
            assert_eq!(version_series(version), series, "{version}");
        }
    }

    #[test]
    fn listed_reads_names_and_series() {
        let text = r#"{"version_series": "0.0.1", "tools": [{"name": "a"}, {"name": "b"}]}"#;
        let (series, names) = listed(text).unwrap();
        assert_eq!(series, "0.0.1");
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["a", "b"]);
        let (series, _) = listed(r#"{"tools": []}"#).unwrap();
        assert_eq!(series, current_series(), "no series: this build's");
        assert!(listed("not json").is_none());
    }
}

//! `vibn schemas export`: write the JSON Schema of every tool's input and output, one
//! file per server (`schemas/<server>.tools.json`), so schema changes show up in review;
//! `--check` fails when the checked-in copy is stale.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::output;
use crate::mcp;

/// The file name of a server's tool schemas.
pub fn file_name(server: &str) -> String {
    format!("{server}.tools.json")
}

/// The exported document of every server: (file name, pretty JSON text).
pub fn documents() -> Vec<(String, String)> {
    mcp::inventory()
        .into_iter()
        .map(|(server, tools)| {
            let tools: Vec<serde_json::Value> = tools
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
            let doc = serde_json::json!({ "server": format!("vibn-{server}"), "tools": tools });
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
            (file_name(server), text)
        })
        .collect()
}

/// Write (or with `check`, compare) the schemas under `dir`.
pub fn export(dir: &Path, check: bool) -> anyhow::Result<ExitCode> {
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

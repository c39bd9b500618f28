//! `vibn schemas manifests`: the MCP Registry entry of every server
//! (`servers/<name>/server.json`, schema 2025-12-11) and example client configurations
//! beside it, all generated from the one server registry (`mcp::registry`) and the
//! client renderers of `vibn setup` — never written by hand; `--check` fails when the
//! checked-in copies are stale.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Value, json};

use super::output;
use crate::env_vars;
use crate::mcp::registry::{self, ServerEntry};

/// The `$schema` every server.json declares.
pub const REGISTRY_SCHEMA: &str =
    "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";

/// The reverse-DNS namespace of vibn's registry names (the product's domain).
pub const REGISTRY_NAMESPACE: &str = "com.vibnai";

/// The crate the registry installs the servers from (`cargo install vibn`).
pub const CARGO_PACKAGE: &str = env!("CARGO_PKG_NAME");

/// A server's name in the MCP Registry, e.g. `com.vibnai/vibn-workspace`; the README
/// carries one `mcp-name:` line for each (the registry's proof for a cargo package).
pub fn registry_name(server: &str) -> String {
    format!("{REGISTRY_NAMESPACE}/vibn-{server}")
}

/// The README line the registry looks for, for one server.
pub fn mcp_name_line(server: &str) -> String {
    format!("<!-- mcp-name: {} -->", registry_name(server))
}

/// The server.json of one server.
pub fn server_json(entry: &ServerEntry) -> Value {
    let version = env!("CARGO_PKG_VERSION");
    let environment: Vec<Value> = entry
        .environment()
        .map(|name| {
            let mut var = json!({ "name": name });
            if let Some(purpose) = env_vars::purpose(name) {
                var["description"] = json!(purpose);
            }
            if env_vars::is_secret(name) {
                var["isSecret"] = json!(true);
            }
            var
        })
        .collect();
    let mut summary = entry.summary.to_string();
    if let Some(first) = summary.get(..1) {
        summary = first.to_uppercase() + &summary[1..];
    }
    json!({
        "$schema": REGISTRY_SCHEMA,
        "name": registry_name(entry.name),
        "title": format!("vibn {}", entry.name),
        "description": summary,
        "version": version,
        "packages": [{
            "registryType": "cargo",
            "registryBaseUrl": "https://crates.io",
            "identifier": CARGO_PACKAGE,
            "version": version,
            "transport": { "type": "stdio" },
            "packageArguments": [
                { "type": "positional", "value": "mcp", "valueHint": "mcp" },
                { "type": "positional", "value": entry.name, "valueHint": "server" },
            ],
            "environmentVariables": environment,
        }],
    })
}

/// Every generated file under the servers folder: (path relative to it, text). One
/// folder per server in the registry, built or not.
pub fn documents() -> Vec<(String, String)> {
    let mut docs = Vec::new();
    for entry in registry::SERVERS.iter() {
        let text = serde_json::to_string_pretty(&server_json(entry)).unwrap_or_default() + "\n";
        docs.push((format!("{}/server.json", entry.name), text));
        for (file, text) in super::setup::examples(entry) {
            docs.push((format!("{}/{file}", entry.name), text));
        }
    }
    docs
}

/// Write (or with `check`, compare) the manifests under `dir`.
pub fn write(dir: &Path, check: bool) -> anyhow::Result<ExitCode> {
    let mut stale = Vec::new();
    for (name, text) in documents() {
        let path = dir.join(&name);
        if std::fs::read_to_string(&path).is_ok_and(|current| current == text) {
            continue;
        }
        if check {
            stale.push(name);
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        output::line(&format!("wrote {}", path.display()));
    }
    if stale.is_empty() {
        if check {
            output::line("server manifests are up to date");
        }
        return Ok(ExitCode::SUCCESS);
    }
    output::error(&format!(
        "stale server manifests in {}: {}; run `vibn schemas manifests`",
        dir.display(),
        stale.join(", ")
    ));
    Ok(ExitCode::from(1))
}

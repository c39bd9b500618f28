//! The registry manifests (issue 14 item 5): `servers/<name>/server.json` for every
//! server of the registry, valid against the pinned MCP Registry schema 2025-12-11,
//! generated (never hand-edited) together with the example client configurations, and
//! the README's `mcp-name:` lines the registry checks for a cargo package.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

const SCHEMA_SHA256: &str = "3fba09590c99f61735d234822279f4223fab9e300c0a81e81c91ab62a4114de0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The pinned schema is the exact published file (its bytes hash to the published
/// digest).
#[test]
fn the_pinned_registry_schema_is_the_published_one() {
    let bytes = std::fs::read(root().join("tests/data/mcp-server-2025-12-11.schema.json")).unwrap();
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(digest, SCHEMA_SHA256);
}

/// Every server of the registry, built or not, has a server.json that validates
/// against the pinned schema and names the server, its crate and `vibn mcp <name>`.
#[test]
fn every_server_json_validates_against_the_registry_schema() {
    let schema: Value = serde_json::from_str(&read(
        &root().join("tests/data/mcp-server-2025-12-11.schema.json"),
    ))
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for entry in vibn::mcp::registry::SERVERS.iter() {
        let path = root().join("servers").join(entry.name).join("server.json");
        let doc: Value = serde_json::from_str(&read(&path)).unwrap();
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        assert_eq!(doc["$schema"], vibn::cli::manifests::REGISTRY_SCHEMA);
        assert_eq!(doc["name"], vibn::cli::manifests::registry_name(entry.name));
        assert_eq!(doc["version"], env!("CARGO_PKG_VERSION"));
        let package = &doc["packages"][0];
        assert_eq!(package["registryType"], "cargo");
        assert_eq!(package["identifier"], env!("CARGO_PKG_NAME"));
        assert_eq!(package["packageArguments"][1]["value"], entry.name);
    }
}

/// A document missing what the registry requires fails the same validation (the
/// check can fail).
#[test]
fn the_schema_rejects_an_incomplete_server_json() {
    let schema: Value = serde_json::from_str(&read(
        &root().join("tests/data/mcp-server-2025-12-11.schema.json"),
    ))
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let bad = serde_json::json!({"name": "no-slash", "description": "x"});
    assert!(!validator.is_valid(&bad));
}

/// The checked-in manifests and examples are what `vibn schemas manifests` generates
/// from the registry (regenerate with `cargo run -- schemas manifests`).
#[test]
fn checked_in_manifests_are_current() {
    for (name, text) in vibn::cli::manifests::documents() {
        let current =
            std::fs::read_to_string(root().join("servers").join(&name)).unwrap_or_default();
        assert!(
            current == text,
            "servers/{name} is stale: run `cargo run -- schemas manifests`"
        );
    }
}

/// Every example parses in its client's format and starts `vibn mcp <server>`.
#[test]
fn example_configs_parse() {
    for entry in vibn::mcp::registry::SERVERS.iter() {
        for (file, text) in vibn::cli::setup::examples(entry) {
            let what = format!("{}/{file}", entry.name);
            if file.ends_with(".json") {
                let v: Value =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
                let servers = v.get("mcpServers").or(v.get("servers")).unwrap();
                assert_eq!(
                    servers[format!("vibn-{}", entry.name)]["args"][1],
                    entry.name,
                    "{what}"
                );
            } else if file.ends_with(".toml") {
                let doc: toml_edit::DocumentMut = text.parse().unwrap();
                assert!(
                    doc["mcp_servers"][&format!("vibn-{}", entry.name)].is_table(),
                    "{what}"
                );
            } else {
                let doc = &yaml_rust2::YamlLoader::load_from_str(&text).unwrap()[0];
                assert_eq!(
                    doc["extensions"][format!("vibn-{}", entry.name).as_str()]["cmd"].as_str(),
                    Some("vibn"),
                    "{what}"
                );
            }
        }
    }
}

/// The README carries the `mcp-name:` line of every server (the registry's proof of
/// ownership for a cargo package).
#[test]
fn readme_names_every_server_for_the_registry() {
    let readme = read(&root().join("README.md"));
    for entry in vibn::mcp::registry::SERVERS.iter() {
        let line = vibn::cli::manifests::mcp_name_line(entry.name);
        assert!(readme.contains(&line), "README lacks {line}");
    }
}

/// Every variable a server reads is described for the people configuring it.
#[test]
fn every_server_variable_has_a_purpose() {
    for entry in vibn::mcp::registry::SERVERS.iter() {
        for var in entry.environment() {
            assert!(
                vibn::env_vars::purpose(var).is_some(),
                "{}: {var}",
                entry.name
            );
        }
    }
}

/// Every variable declared in `src/env_vars.rs` has a one-line purpose there, so a new
/// one is described where server.json and `vibn setup` read it.
#[test]
fn every_declared_variable_has_a_purpose() {
    let source = read(&root().join("src/env_vars.rs"));
    let declared: Vec<&str> = source
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .filter_map(|l| l.split(':').next())
        .collect();
    assert!(declared.len() > 20);
    for name in declared {
        assert!(
            vibn::env_vars::purpose(name).is_some(),
            "{name} has no purpose"
        );
    }
}

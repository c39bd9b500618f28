//! Guardrails over every tool of every built server: metadata complete, names portable,
//! schemas plain objects; and the `--read-only` / `--tools` / `--exclude-tools` filter.

use rmcp::model::Tool;
use serde_json::Value;
use vibn::config::ToolFilter;
use vibn::mcp::agent_server::AgentServer;
use vibn::mcp::control_plane_server::ControlPlaneServer;
use vibn::mcp::coolify_server::CoolifyServer;
use vibn::mcp::gitea_server::GiteaServer;
use vibn::mcp::platform_server::PlatformServer;
use vibn::mcp::workspace_server::WorkspaceServer;

use crate::support::{Workspace, serve_workspace};

fn all_tools() -> Vec<Tool> {
    vibn::mcp::inventory()
        .into_iter()
        .flat_map(|(_, tools)| tools)
        .collect()
}

/// The checked-in `schemas/` match what the servers serve (regenerate with
/// `vibn schemas export` after changing a tool on purpose).
#[test]
fn checked_in_schemas_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    for (name, text) in vibn::cli::schemas::documents() {
        let current = std::fs::read_to_string(dir.join(&name)).unwrap_or_default();
        assert!(
            current == text,
            "schemas/{name} is stale: run `cargo run -- schemas export`"
        );
    }
}

/// Every tool has a title, a one-line description and all four hints set explicitly.
#[test]
fn every_tool_has_title_description_and_all_four_hints() {
    for tool in all_tools() {
        let name = &tool.name;
        assert!(
            tool.title.as_deref().is_some_and(|t| !t.is_empty()),
            "{name}: title"
        );
        let description = tool.description.as_deref().unwrap_or_default();
        assert!(
            !description.is_empty() && !description.contains('\n'),
            "{name}: one-line description"
        );
        let a = tool
            .annotations
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: annotations"));
        assert!(a.read_only_hint.is_some(), "{name}: read_only_hint");
        assert!(a.destructive_hint.is_some(), "{name}: destructive_hint");
        assert!(a.idempotent_hint.is_some(), "{name}: idempotent_hint");
        assert!(a.open_world_hint.is_some(), "{name}: open_world_hint");
    }
}

/// Names are snake_case `[a-z0-9_]`, which every model API accepts.
#[test]
fn tool_names_are_snake_case() {
    for tool in all_tools() {
        assert!(
            tool.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{}",
            tool.name
        );
    }
}

/// Input and output schemas are objects without top-level combinators.
#[test]
fn schemas_are_plain_objects() {
    for tool in all_tools() {
        let input = &tool.input_schema;
        assert_eq!(
            input.get("type").and_then(|t| t.as_str()),
            Some("object"),
            "{}",
            tool.name
        );
        for key in ["anyOf", "oneOf", "allOf"] {
            assert!(!input.contains_key(key), "{}: top-level {key}", tool.name);
        }
        let output = tool
            .output_schema
            .as_ref()
            .unwrap_or_else(|| panic!("{}: output schema", tool.name));
        assert_eq!(
            output.get("type").and_then(|t| t.as_str()),
            Some("object"),
            "{}",
            tool.name
        );
    }
}

/// Every params field is documented, so the model knows what to send.
#[test]
fn every_parameter_is_documented() {
    for tool in all_tools() {
        let props = tool
            .input_schema
            .get("properties")
            .and_then(|p| p.as_object())
            .cloned()
            .unwrap_or_default();
        for (field, schema) in props {
            assert!(
                schema.get("description").is_some(),
                "{}.{field} has no description",
                tool.name
            );
        }
    }
}

/// Every string parameter (and every string in a list parameter) documents its maximum
/// length, in the schema and in its description (issue 10); enums need none.
#[test]
fn every_string_parameter_documents_its_maximum_length() {
    for tool in all_tools() {
        let props = tool
            .input_schema
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (field, schema) in props {
            let what = format!("{}.{field}", tool.name);
            let description = schema["description"].as_str().unwrap_or_default();
            match schema["type"].as_str() {
                Some("string") if schema.get("enum").is_none() => {
                    assert!(schema["maxLength"].is_u64(), "{what}: maxLength");
                    assert!(description.contains("At most"), "{what}: {description}");
                }
                Some("array") if schema["items"]["type"] == "string" => {
                    assert!(schema["maxItems"].is_u64(), "{what}: maxItems");
                    assert!(schema["items"]["maxLength"].is_u64(), "{what}: items");
                    assert!(description.contains("At most"), "{what}: {description}");
                }
                Some(_) => {}
                // A `$ref` here is an enum of strings (checked below).
                None => assert!(schema.get("$ref").is_some(), "{what}: no single type"),
            }
        }
    }
}

/// No schema uses an `enum` or `const` that is not a string (some clients' validators
/// and model APIs accept only string enums).
#[test]
fn enums_and_consts_are_strings() {
    fn walk(value: &Value, what: &str) {
        match value {
            Value::Object(map) => {
                if let Some(values) = map.get("enum") {
                    let all = values
                        .as_array()
                        .is_some_and(|v| v.iter().all(|x| x.is_string()));
                    assert!(all, "{what}: enum {values}");
                }
                if let Some(c) = map.get("const") {
                    assert!(c.is_string(), "{what}: const {c}");
                }
                map.values().for_each(|v| walk(v, what));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, what)),
            _ => {}
        }
    }
    for tool in all_tools() {
        walk(&Value::Object((*tool.input_schema).clone()), &tool.name);
        let output = tool.output_schema.clone().unwrap();
        walk(&Value::Object((*output).clone()), &tool.name);
    }
}

/// Every output schema compiles, and the check every test's successful call goes
/// through (`support::check_output`) rejects content the schema does not allow.
#[test]
fn structured_content_is_checked_against_the_output_schema() {
    for (server, tools) in vibn::mcp::inventory() {
        for tool in tools {
            let schema = Value::Object((*tool.output_schema.unwrap()).clone());
            assert!(
                jsonschema::validator_for(&schema).is_ok(),
                "{server} {}",
                tool.name
            );
        }
    }
    let wrong = serde_json::json!({"path": 5});
    assert!(!crate::support::output_errors("vibn-workspace", "read_file", &wrong).is_empty());
}

/// No tool costs more than 3 KiB of `tools/list` (about 750 tokens), so descriptions
/// and schemas stay at what a model needs (issue 14 item 8; `vibn schemas size`).
#[test]
fn every_tool_fits_the_token_budget() {
    for (server, tools) in vibn::cli::schemas::sizes() {
        assert_eq!(server.tokens, server.bytes.div_ceil(4), "{}", server.name);
        assert_eq!(server.tools, tools.len());
        for tool in tools {
            assert!(
                tool.bytes <= 3072,
                "{}.{} takes {} bytes of tools/list",
                server.name,
                tool.name,
                tool.bytes
            );
        }
    }
}

/// No served schema mentions null (optional means absent; `Option` fields are never
/// sent as null), so strict validators and model APIs see plain types.
#[test]
fn no_schema_mentions_null() {
    fn walk(value: &Value, what: &str) {
        match value {
            Value::Object(map) => {
                if let Some(t) = map.get("type") {
                    let null =
                        t == "null" || t.as_array().is_some_and(|a| a.iter().any(|x| x == "null"));
                    assert!(!null, "{what}: type {t}");
                }
                if let Some(Value::Array(values)) = map.get("enum") {
                    assert!(!values.iter().any(Value::is_null), "{what}: null in enum");
                }
                map.values().for_each(|v| walk(v, what));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, what)),
            _ => {}
        }
    }
    for tool in all_tools() {
        walk(&Value::Object((*tool.input_schema).clone()), &tool.name);
        walk(
            &Value::Object((*tool.output_schema.clone().unwrap()).clone()),
            &tool.name,
        );
    }
}

/// The start-up name list matches the router exactly.
#[test]
fn tool_name_lists_match_the_routers() {
    let mut names = WorkspaceServer::router_tool_names();
    names.sort();
    assert_eq!(names, vibn::mcp::workspace_server::TOOL_NAMES);
    let mut names = GiteaServer::router_tool_names();
    names.sort();
    assert_eq!(names, vibn::mcp::gitea_server::TOOL_NAMES);
    let mut names = CoolifyServer::router_tool_names();
    names.sort();
    assert_eq!(names, vibn::mcp::coolify_server::TOOL_NAMES);
    let mut names = PlatformServer::router_tool_names();
    names.sort();
    assert_eq!(names, vibn::mcp::platform_server::TOOL_NAMES);
    let mut names = AgentServer::router_tool_names();
    names.sort();
    assert_eq!(names, vibn::mcp::agent_server::TOOL_NAMES);
    let mut names = ControlPlaneServer::router_tool_names();
    names.sort();
    assert_eq!(names, vibn::mcp::control_plane_server::TOOL_NAMES);
}

/// Schemas carry no `$schema` (old validators trip on it); output schemas keep their
/// shape (types, properties, required) without per-field prose.
#[test]
fn served_schemas_are_compact() {
    for tool in all_tools() {
        assert!(!tool.input_schema.contains_key("$schema"), "{}", tool.name);
        let output = Value::Object((*tool.output_schema.clone().unwrap()).clone());
        assert!(output.get("properties").is_some(), "{}", tool.name);
        assert!(
            !output.to_string().contains("\"format\":\"uint"),
            "{}",
            tool.name
        );
    }
}

/// The workspace server has the eight tools of DESIGN §6, plus git_clone and git_pull
/// (issue 12 item 6).
#[test]
fn workspace_server_has_the_ten_tools() {
    let mut names: Vec<String> = WorkspaceServer::all_tools()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "execute_command",
            "find_files",
            "git_clone",
            "git_commit_and_push",
            "git_pull",
            "list_directory",
            "read_file",
            "replace_in_file",
            "search_code",
            "write_file"
        ]
    );
}

async fn listed(filter: ToolFilter) -> Vec<String> {
    let ws = Workspace::new();
    let client = serve_workspace(ws.config(), &filter).await;
    let tools = client.list_all_tools().await.unwrap();
    tools.iter().map(|t| t.name.to_string()).collect()
}

/// `--read-only` leaves exactly the tools annotated read-only.
#[tokio::test]
async fn read_only_serves_only_read_only_tools() {
    let names = listed(ToolFilter {
        read_only: true,
        ..Default::default()
    })
    .await;
    assert_eq!(
        names,
        ["find_files", "list_directory", "read_file", "search_code"]
    );
}

/// `--tools` keeps only the named tools; `--exclude-tools` removes the named ones.
#[tokio::test]
async fn tools_and_exclude_tools_narrow_the_list() {
    let only = ToolFilter {
        only: vec!["read_file".into(), "write_file".into()],
        ..Default::default()
    };
    assert_eq!(listed(only).await, ["read_file", "write_file"]);
    let exclude = ToolFilter {
        exclude: vec!["execute_command".into()],
        ..Default::default()
    };
    let names = listed(exclude).await;
    assert_eq!(names.len(), 9);
    assert!(!names.contains(&"execute_command".to_string()));
    let both = ToolFilter {
        read_only: true,
        only: vec!["read_file".into(), "write_file".into()],
        ..Default::default()
    };
    assert_eq!(listed(both).await, ["read_file"]);
}

/// A filtered-out tool cannot be called: it is not merely hidden.
#[tokio::test]
async fn a_removed_tool_cannot_be_called() {
    let ws = Workspace::new();
    let filter = ToolFilter {
        read_only: true,
        ..Default::default()
    };
    let client = serve_workspace(ws.config(), &filter).await;
    let args = serde_json::json!({"path": "x.txt", "content": "x"});
    let Some(map) = args.as_object().cloned() else {
        unreachable!()
    };
    let result = client
        .call_tool(rmcp::model::CallToolRequestParams::new("write_file").with_arguments(map))
        .await;
    assert!(
        result.is_err(),
        "write_file must be unknown in read-only mode"
    );
    assert!(!ws.root().join("x.txt").exists());
}

/// An unknown name in `--tools` is refused with the list of valid names.
#[test]
fn unknown_tool_in_filter_is_refused_with_the_valid_names() {
    let ws = Workspace::new();
    let api = vibn::api::workspace_api::WorkspaceApi::open(ws.config()).unwrap();
    let filter = ToolFilter {
        only: vec!["reed_file".into()],
        ..Default::default()
    };
    let Err(err) = WorkspaceServer::new(api, vibn::api::caller::Pinning::operator(), &filter)
    else {
        panic!("must fail")
    };
    let text = err.to_string();
    assert!(
        text.contains("reed_file") && text.contains("read_file"),
        "{text}"
    );
}

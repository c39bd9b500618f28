//! Plumbing every MCP server shares: server identity, the one place tools are filtered
//! (`--read-only`, `--tools`, `--exclude-tools`), the one place an `ApiError` becomes an
//! `isError` result, and stdio serving (over `transport`) with a clean exit on EOF.
//!
//! No guards and no domain logic here; those live in `api/` and `policy/`.

use std::sync::{Arc, OnceLock};

use futures::future::BoxFuture;

use rmcp::RoleServer;
use rmcp::handler::server::common::schema_for_input;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::{IntoCallToolResult, ToolCallContext};
use rmcp::model::ProgressNotificationParam;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::schemars::JsonSchema;
use rmcp::service::{RequestContext, ServerInitializeError};
use rmcp::{ServerHandler, ServiceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};

use super::transport::StdioTransport;
use crate::api::caller::{Pinning, RequestKey};
use crate::api::limits::{Limit, Limited};
use crate::config::ToolFilter;
use crate::error::{ApiError, cut};

/// serverInfo and capabilities of `vibn-<server>`, with usage instructions for the model.
pub fn server_config(server: &str, instructions: &str) -> ServerConfig {
    ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        .with_server_info(Implementation::new(
            format!("vibn-{server}"),
            env!("CARGO_PKG_VERSION"),
        ))
        .with_instructions(instructions.to_string())
}

/// `--tools` or `--exclude-tools` named a tool the server does not have.
#[derive(Debug, thiserror::Error)]
#[error("unknown tool {name:?} in {flag}; vibn-{server} has: {available}")]
pub struct UnknownTool {
    /// The name given.
    pub name: String,
    /// The flag it was given to.
    pub flag: &'static str,
    /// The server.
    pub server: String,
    /// Every tool name the server has, comma-separated.
    pub available: String,
}

/// Refuse a filter naming a tool that `known` (the server's tool names) lacks. Runs at
/// start-up, before any schema is generated.
pub fn check_tool_names(
    server: &str,
    known: &[&str],
    filter: &ToolFilter,
) -> Result<(), UnknownTool> {
    for (flag, names) in [
        ("--tools", &filter.only),
        ("--exclude-tools", &filter.exclude),
    ] {
        if let Some(name) = names.iter().find(|n| !known.contains(&n.as_str())) {
            return Err(UnknownTool {
                name: name.clone(),
                flag,
                server: server.to_string(),
                available: known.join(", "),
            });
        }
    }
    Ok(())
}

/// Remove the routes `filter` excludes, then compact the schemas. The tool's
/// `read_only_hint` annotation is the only source of truth for `--read-only`; an unset
/// hint counts as a write tool.
pub fn prepare_router<S: Send + Sync + 'static>(router: &mut ToolRouter<S>, filter: &ToolFilter) {
    for tool in router.list_all() {
        let read_only = tool.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true);
        let name = tool.name.as_ref();
        let allowed_by_mode = read_only || !filter.read_only;
        let listed = filter.only.is_empty() || filter.only.iter().any(|n| n == name);
        let excluded = filter.exclude.iter().any(|n| n == name);
        if !(allowed_by_mode && listed && !excluded) {
            router.remove_route(name);
        }
    }
    for route in router.map.values_mut() {
        let input = Arc::make_mut(&mut route.attr.input_schema);
        input.remove("$schema");
        inline_single_use_defs(input);
        portable_schema(input);
        if let Some(output) = route.attr.output_schema.as_mut() {
            let output = Arc::make_mut(output);
            output.remove("$schema");
            strip_keys(output, &["description", "format", "minimum"]);
            inline_single_use_defs(output);
            portable_schema(output);
        }
    }
}

/// Rewrite schema idioms some clients reject into plain equivalents, recursively:
/// an optional property's `"type": ["T", "null"]` becomes `"T"` and its
/// `"anyOf": [X, {"type": "null"}]` becomes `X` (absence already says optional; vibn
/// never sends or expects null), `"default": null` goes, null leaves every `enum`, a
/// `oneOf` of string constants becomes an `enum`, and an `enum` or `const` that is not
/// all strings becomes its plain type with the values in the description — some clients
/// reject the whole tool list for one non-string enum (issue 14 item 6).
fn portable_schema(schema: &mut JsonObject) {
    if schema.get("default").is_some_and(Value::is_null) {
        schema.remove("default");
    }
    if let Some(Value::Array(types)) = schema.get("type") {
        let non_null: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if non_null.len() == 1 {
            schema.insert("type".into(), non_null[0].clone());
        }
    }
    unwrap_nullable(schema);
    // schemars names Rust's integer widths (`uint32`, `int64`, `double`…) as formats;
    // they are not JSON Schema formats, and strict validators (ajv, as the TypeScript
    // SDK v1 runs it) refuse the whole schema for an unknown one. `minimum` keeps the sign.
    if schema
        .get("type")
        .is_some_and(|t| t == "integer" || t == "number")
    {
        schema.remove("format");
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    plain_non_string_constants(schema);
    if let Some(Value::Array(variants)) = schema.get("oneOf") {
        let constants: Option<Vec<Value>> = variants
            .iter()
            .map(|v| match v.as_object() {
                Some(o)
                    if o.get("type").is_some_and(|t| t == "string")
                        && o.keys()
                            .all(|k| ["type", "const", "description"].contains(&k.as_str())) =>
                {
                    o.get("const").filter(|c| c.is_string()).cloned()
                }
                _ => None,
            })
            .collect();
        if let Some(constants) = constants {
            let described: Vec<String> = variants
                .iter()
                .filter_map(|v| {
                    let value = v.get("const")?.as_str()?;
                    let d = v.get("description")?.as_str()?;
                    Some(format!("{value}: {}", d.trim_end_matches('.')))
                })
                .collect();
            schema.remove("oneOf");
            schema.insert("type".into(), Value::from("string"));
            schema.insert("enum".into(), Value::Array(constants));
            if !described.is_empty() {
                let values = format!("{}.", described.join("; "));
                let description = match schema.get("description").and_then(Value::as_str) {
                    Some(d) => format!("{} {values}", d.trim_end()),
                    None => values,
                };
                schema.insert("description".into(), description.into());
            }
        }
    }
    for value in schema.values_mut() {
        match value {
            Value::Object(child) => portable_schema(child),
            Value::Array(items) => items.iter_mut().for_each(|item| {
                if let Value::Object(child) = item {
                    portable_schema(child);
                }
            }),
            _ => {}
        }
    }
}

/// `"anyOf"`/`"oneOf"`: `[X, {"type": "null"}]` (schemars' `Option<T>` of a named
/// type) becomes `X`'s keywords on the schema itself, keeping the schema's own
/// description.
fn unwrap_nullable(schema: &mut JsonObject) {
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(variants)) = schema.get(key) else {
            continue;
        };
        let is_null = |v: &Value| {
            v.get("type").is_some_and(|t| t == "null")
                && v.as_object().is_some_and(|o| o.len() == 1)
        };
        let rest: Vec<&Value> = variants.iter().filter(|v| !is_null(v)).collect();
        if rest.len() != 1 || rest.len() == variants.len() {
            continue;
        }
        let Some(Value::Object(only)) = rest.first().map(|v| (*v).clone()) else {
            continue;
        };
        schema.remove(key);
        for (k, v) in only {
            schema.entry(k).or_insert(v);
        }
    }
}

/// An `enum` or `const` with a value that is not a string becomes the values' plain
/// JSON type (when they share one), the values moving into the description.
fn plain_non_string_constants(schema: &mut JsonObject) {
    let values: Vec<Value> = match (schema.get("enum"), schema.get("const")) {
        (Some(Value::Array(values)), _) if !values.iter().all(Value::is_string) => values.clone(),
        (_, Some(value)) if !value.is_string() => vec![value.clone()],
        _ => return,
    };
    schema.remove("enum");
    schema.remove("const");
    let types: std::collections::BTreeSet<&str> = values.iter().map(json_type).collect();
    if let ([only], false) = (
        types.iter().copied().collect::<Vec<_>>().as_slice(),
        schema.contains_key("type"),
    ) {
        schema.insert("type".into(), Value::from(*only));
    }
    let listed: Vec<String> = values.iter().map(Value::to_string).collect();
    let sentence = format!("One of: {}.", listed.join(", "));
    let description = match schema.get("description").and_then(Value::as_str) {
        Some(d) => format!("{} {sentence}", d.trim_end()),
        None => sentence,
    };
    schema.insert("description".into(), description.into());
}

/// The JSON Schema type name of a value.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Inline every `$defs` entry that is referenced exactly once and refers to no other
/// definition (repeated until nothing changes, so chains inline too): the reference's
/// own keywords (its description) win over the definition's. Saves the `$defs`
/// wrapper per type and suits clients that do not resolve `$ref`; recursive or shared
/// definitions stay.
fn inline_single_use_defs(schema: &mut JsonObject) {
    fn count_refs(value: &Value, target: &str) -> usize {
        match value {
            Value::Object(map) => {
                usize::from(map.get("$ref").and_then(Value::as_str) == Some(target))
                    + map.values().map(|v| count_refs(v, target)).sum::<usize>()
            }
            Value::Array(items) => items.iter().map(|v| count_refs(v, target)).sum(),
            _ => 0,
        }
    }
    fn has_ref(value: &Value) -> bool {
        match value {
            Value::Object(map) => map.contains_key("$ref") || map.values().any(has_ref),
            Value::Array(items) => items.iter().any(has_ref),
            _ => false,
        }
    }
    fn replace_ref(value: &mut Value, target: &str, body: &JsonObject) -> bool {
        match value {
            Value::Object(map) => {
                if map.get("$ref").and_then(Value::as_str) == Some(target) {
                    map.remove("$ref");
                    for (k, v) in body {
                        map.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                    return true;
                }
                map.values_mut().any(|v| replace_ref(v, target, body))
            }
            Value::Array(items) => items.iter_mut().any(|v| replace_ref(v, target, body)),
            _ => false,
        }
    }
    loop {
        let Some(Value::Object(defs)) = schema.get("$defs") else {
            return;
        };
        let whole = Value::Object(schema.clone());
        let candidate = defs.iter().find_map(|(name, body)| {
            let target = format!("#/$defs/{name}");
            let body = body.as_object()?;
            (count_refs(&whole, &target) == 1 && !has_ref(&Value::Object(body.clone())))
                .then(|| (name.clone(), target, body.clone()))
        });
        let Some((name, target, body)) = candidate else {
            return;
        };
        if let Some(Value::Object(defs)) = schema.get_mut("$defs") {
            defs.remove(&name);
        }
        for value in schema.values_mut() {
            if replace_ref(value, &target, &body) {
                break;
            }
        }
        if schema
            .get("$defs")
            .and_then(Value::as_object)
            .is_some_and(|d| d.is_empty())
        {
            schema.remove("$defs");
        }
    }
}

/// Remove the schema keywords `keys` everywhere; only keyword values go (a property
/// *named* "description" or "minimum" is an object, so it is kept).
fn strip_keys(object: &mut JsonObject, keys: &[&str]) {
    for key in keys {
        if object.get(*key).is_some_and(|v| !v.is_object()) {
            object.remove(*key);
        }
    }
    for value in object.values_mut() {
        match value {
            Value::Object(child) => strip_keys(child, keys),
            Value::Array(items) => items.iter_mut().for_each(|item| {
                if let Value::Object(child) = item {
                    strip_keys(child, keys);
                }
            }),
            _ => {}
        }
    }
}

/// The input schema of params type `P`, with its string limits (`api::limits`) written in:
/// `maxLength` (and `maxItems` for lists) plus a sentence in the property's description,
/// for models and clients that read only the prose. Used as `#[tool(input_schema = …)]`.
pub fn limited_input<P: JsonSchema + Limited + 'static>() -> Arc<JsonObject> {
    let mut schema = match schema_for_input::<P>() {
        Ok(schema) => (*schema).clone(),
        // The same failure rmcp's own `#[tool]` expansion reports: a params type whose
        // schema is not an object is a programming error caught by every test run.
        Err(e) => panic!(
            "invalid input schema for {}: {e}",
            std::any::type_name::<P>()
        ),
    };
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        for (name, limit) in P::LIMITS {
            if let Some(Value::Object(property)) = properties.get_mut(*name) {
                write_limit(property, limit);
            }
        }
    }
    Arc::new(schema)
}

fn write_limit(property: &mut JsonObject, limit: &Limit) {
    let is_list = property.get("type").is_some_and(|t| {
        t == "array" || t.as_array().is_some_and(|a| a.iter().any(|t| t == "array"))
    });
    let sentence = if is_list {
        if let Some(Value::Object(items)) = property.get_mut("items") {
            items.insert("maxLength".into(), limit.max.into());
        }
        property.insert("maxItems".into(), limit.max_items.into());
        format!(
            "At most {} items of at most {} each.",
            limit.max_items,
            limit.describe()
        )
    } else {
        property.insert("maxLength".into(), limit.max.into());
        format!("At most {}.", limit.describe())
    };
    let description = match property.get("description").and_then(Value::as_str) {
        Some(d) => format!("{} {sentence}", d.trim_end()),
        None => sentence,
    };
    property.insert("description".into(), description.into());
}

/// Every tool `build` makes, prepared as served without filters (for the inventory).
pub fn served_tools<S: Send + Sync + 'static>(build: fn() -> ToolRouter<S>) -> Vec<Tool> {
    let mut router = build();
    prepare_router(&mut router, &ToolFilter::default());
    router.list_all()
}

/// The names of the tools `build` makes, unprepared (to check a server's `TOOL_NAMES`).
pub fn built_tool_names<S: Send + Sync + 'static>(build: fn() -> ToolRouter<S>) -> Vec<String> {
    build()
        .list_all()
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect()
}

/// A server's tool router, built on first use (schema generation is the bulk of a
/// server's start-up work) with the filter applied.
pub struct LazyRouter<S> {
    cell: Arc<OnceLock<ToolRouter<S>>>,
    build: fn() -> ToolRouter<S>,
    filter: Arc<ToolFilter>,
}

impl<S> Clone for LazyRouter<S> {
    fn clone(&self) -> Self {
        LazyRouter {
            cell: self.cell.clone(),
            build: self.build,
            filter: self.filter.clone(),
        }
    }
}

impl<S: Send + Sync + 'static> LazyRouter<S> {
    /// A router made by `build` and narrowed by `filter` when first needed; the filter's
    /// names must already have been checked against `known`.
    pub fn new(
        server: &str,
        known: &[&str],
        build: fn() -> ToolRouter<S>,
        filter: &ToolFilter,
    ) -> Result<Self, UnknownTool> {
        check_tool_names(server, known, filter)?;
        Ok(LazyRouter {
            cell: Arc::new(OnceLock::new()),
            build,
            filter: Arc::new(filter.clone()),
        })
    }

    /// The router, built now if this is the first use.
    pub fn get(&self) -> &ToolRouter<S> {
        self.cell.get_or_init(|| {
            let mut router = (self.build)();
            prepare_router(&mut router, &self.filter);
            router
        })
    }
}

/// A progress reporter for a request: progress notifications when the request carried
/// a progress token, nothing otherwise.
pub fn progress_reporter(ctx: &RequestContext<RoleServer>) -> Option<crate::api::Progress> {
    let token = ctx.meta.get_progress_token()?;
    let peer = ctx.peer.clone();
    Some(Arc::new(move |step: u32, message: String| {
        let param =
            ProgressNotificationParam::new(token.clone(), f64::from(step)).with_message(message);
        let peer = peer.clone();
        Box::pin(async move {
            // A client that went away cannot be told; the call itself goes on.
            let _ = peer.notify_progress(param).await;
        })
    }))
}

/// The one conversion of an `ApiError` into a tool result: `isError: true` with the JSON
/// `{error, status, hint}` as its text, and no `structuredContent`. A tool's
/// `outputSchema` describes its success result; structured content that does not match
/// it makes clients discard the whole answer (Inspector CLI reports only schema errors,
/// TS SDK v1 throws `-32602`), while every client (Inspector, TS SDK v1 and v2, Python
/// SDK) accepts an error result without it and shows its text.
impl IntoCallToolResult for ApiError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        Ok(CallToolResult::error(vec![ContentBlock::text(error_text(&self))]).into())
    }
}

/// Longest error message put into a tool result (a safety net: messages quote user
/// input only cut short, see `error::quote`).
const MAX_ERROR_CHARS: usize = 2000;

/// The text of an error result: `{"error", "status", "hint"}` as JSON.
pub fn error_text(e: &ApiError) -> String {
    json!({
        "error": cut(e.message(), MAX_ERROR_CHARS),
        "status": e.status(),
        "hint": e.hint().map(|h| cut(h, MAX_ERROR_CHARS)),
    })
    .to_string()
}

/// Call a tool of `server` through `router`. First the call's `Caller` is made — the
/// one place it is made over stdio: the server's key validated now (401/503 before
/// anything runs), the request's progress token and cancellation — and handed to the
/// tool as an extension. Then every failure gets the shape of an `ApiError` result:
/// rmcp turns arguments that do not deserialize into a plain-text error that quotes the
/// offending value whole (`invalid type: string "…5 MiB…"`); here it becomes a 400
/// with the message cut short.
pub async fn call_tool<S: Send + Sync + 'static>(
    service: &S,
    router: &ToolRouter<S>,
    pinning: &Pinning,
    server: &'static str,
    request: CallToolRequestParams,
    mut context: RequestContext<RoleServer>,
) -> Result<CallToolResponse, rmcp::ErrorData> {
    if router.has_route(&request.name) {
        // Over HTTP (`vibn serve`) the request's own key, validated by the HTTP layer,
        // rides in the request's parts; over stdio there are none.
        let request_key = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<RequestKey>())
            .cloned();
        match pinning
            .caller_for(server, &request.name, request_key.as_ref())
            .await
        {
            Ok(caller) => {
                let caller = caller
                    .with_progress(progress_reporter(&context))
                    .with_cancel(context.ct.clone());
                context.extensions.insert(caller);
            }
            Err(e) => return e.into_call_tool_result(),
        }
    }
    let response = router
        .call(ToolCallContext::new(service, request, context))
        .await?;
    let CallToolResponse::Complete(result) = response else {
        return Ok(response);
    };
    if result.is_error != Some(true) || result.structured_content.is_some() {
        return Ok(CallToolResponse::Complete(result));
    }
    let text: String = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
        .collect();
    if serde_json::from_str::<Value>(&text).is_ok_and(|v| v.get("status").is_some()) {
        // Already an ApiError result.
        return Ok(CallToolResponse::Complete(result));
    }
    let e = ApiError::bad_request(cut(&text, 600))
        .with_hint("the arguments do not match the tool's input schema; fix them and retry");
    Ok(CallToolResult::error(vec![ContentBlock::text(error_text(&e))]).into())
}

/// The read half a server is served on.
pub type BoxRead = Box<dyn AsyncRead + Unpin + Send>;
/// The write half a server answers on.
pub type BoxWrite = Box<dyn AsyncWrite + Unpin + Send>;
/// A server serving until its peer closes the read half.
pub type Serving = BoxFuture<'static, anyhow::Result<()>>;

/// A configured server, ready to serve MCP over any pair of byte streams: stdio for
/// `vibn mcp`, an in-process pipe for `vibn call`. Both go through the same transport and
/// handler, so a call made either way meets the same guards.
pub trait Servable: Send {
    /// Serve newline-delimited JSON-RPC on `read`/`write` until `read` ends.
    fn serve_on(self: Box<Self>, read: BoxRead, write: BoxWrite) -> Serving;
}

impl<S: ServerHandler> Servable for S {
    fn serve_on(self: Box<Self>, read: BoxRead, write: BoxWrite) -> Serving {
        Box::pin(async move {
            let running = match (*self).serve(StdioTransport::new(read, write)).await {
                Ok(running) => running,
                Err(ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            running.waiting().await?;
            Ok(())
        })
    }
}

/// Serve on stdin/stdout until stdin closes (a clean exit when the client goes away).
pub fn serve_stdio(server: Box<dyn Servable>) -> Serving {
    let (read, write) = rmcp::transport::stdio_pipes();
    server.serve_on(Box::new(read), Box::new(write))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(v: Value) -> JsonObject {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn nullable_optionals_become_plain_types() {
        let mut s = object(json!({
            "type": "object",
            "properties": {
                "path": {"type": ["string", "null"], "default": null, "description": "d"},
                "both": {"type": ["string", "integer"]},
                "default": {"type": "string"}
            }
        }));
        portable_schema(&mut s);
        assert_eq!(
            s["properties"]["path"],
            json!({"type": "string", "description": "d"})
        );
        assert_eq!(
            s["properties"]["both"],
            json!({"type": ["string", "integer"]})
        );
        assert_eq!(
            s["properties"]["default"],
            json!({"type": "string"}),
            "a property named default stays"
        );
    }

    #[test]
    fn integer_width_formats_go_and_string_formats_stay() {
        let mut s = object(json!({
            "type": "object",
            "properties": {
                "period": {"type": ["integer", "null"], "format": "uint32", "minimum": 0},
                "ratio": {"type": "number", "format": "double"},
                "email": {"type": "string", "format": "email"}
            }
        }));
        portable_schema(&mut s);
        assert_eq!(
            s["properties"]["period"],
            json!({"type": "integer", "minimum": 0})
        );
        assert_eq!(s["properties"]["ratio"], json!({"type": "number"}));
        assert_eq!(
            s["properties"]["email"],
            json!({"type": "string", "format": "email"})
        );
    }

    #[test]
    fn one_of_string_constants_becomes_an_enum() {
        let mut s = object(json!({"oneOf": [
            {"const": "file", "type": "string"},
            {"const": "dir", "type": "string"}
        ]}));
        portable_schema(&mut s);
        assert_eq!(
            Value::Object(s),
            json!({"type": "string", "enum": ["file", "dir"]})
        );
        let mut mixed =
            object(json!({"oneOf": [{"const": "a", "type": "string"}, {"type": "integer"}]}));
        portable_schema(&mut mixed);
        assert!(mixed.contains_key("oneOf"), "a mixed oneOf is left alone");
    }

    #[test]
    fn nullable_named_types_become_the_type() {
        let mut s = object(json!({"properties": {
            "kind": {"description": "which", "anyOf": [{"$ref": "#/$defs/Kind"}, {"type": "null"}]},
            "two": {"anyOf": [{"type": "string"}, {"type": "integer"}]}
        }}));
        portable_schema(&mut s);
        assert_eq!(
            s["properties"]["kind"],
            json!({"description": "which", "$ref": "#/$defs/Kind"})
        );
        assert!(
            s["properties"]["two"].get("anyOf").is_some(),
            "a real union stays"
        );
    }

    #[test]
    fn null_leaves_enums() {
        let mut s = object(json!({"type": ["string", "null"], "enum": ["a", "b", null]}));
        portable_schema(&mut s);
        assert_eq!(
            Value::Object(s),
            json!({"type": "string", "enum": ["a", "b"]})
        );
    }

    #[test]
    fn non_string_enums_and_consts_become_plain_types() {
        let mut s = object(json!({"properties": {
            "level": {"enum": [1, 2, 3], "description": "How loud."},
            "flag": {"const": true},
            "mixed": {"enum": ["a", 1]},
            "word": {"const": "x", "type": "string"}
        }}));
        portable_schema(&mut s);
        assert_eq!(
            s["properties"]["level"],
            json!({"type": "integer", "description": "How loud. One of: 1, 2, 3."})
        );
        assert_eq!(
            s["properties"]["flag"],
            json!({"type": "boolean", "description": "One of: true."})
        );
        assert_eq!(
            s["properties"]["mixed"],
            json!({"description": "One of: \"a\", 1."})
        );
        assert_eq!(
            s["properties"]["word"],
            json!({"const": "x", "type": "string"}),
            "string constants stay"
        );
    }

    #[test]
    fn single_use_defs_are_inlined_and_shared_ones_kept() {
        let mut s = object(json!({
            "$defs": {
                "State": {"description": "which", "type": "string", "enum": ["a", "b"]},
                "Item": {"type": "object", "properties": {"n": {"type": "integer"}}},
                "Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}
            },
            "properties": {
                "state": {"$ref": "#/$defs/State", "description": "a or b"},
                "one": {"$ref": "#/$defs/Item"},
                "two": {"$ref": "#/$defs/Item"},
                "node": {"$ref": "#/$defs/Node"}
            }
        }));
        inline_single_use_defs(&mut s);
        assert_eq!(
            s["properties"]["state"],
            json!({"description": "a or b", "type": "string", "enum": ["a", "b"]})
        );
        assert_eq!(s["properties"]["one"], json!({"$ref": "#/$defs/Item"}));
        assert_eq!(s["properties"]["node"], json!({"$ref": "#/$defs/Node"}));
        let defs = s["$defs"].as_object().unwrap();
        assert!(
            defs.contains_key("Item") && defs.contains_key("Node") && !defs.contains_key("State")
        );
    }

    #[test]
    fn described_string_constants_become_an_enum_with_the_descriptions() {
        let mut s = object(json!({"description": "Which.", "oneOf": [
            {"const": "open", "description": "Open ones.", "type": "string"},
            {"const": "all", "description": "Both.", "type": "string"}
        ]}));
        portable_schema(&mut s);
        assert_eq!(
            Value::Object(s),
            json!({"type": "string", "enum": ["open", "all"],
                   "description": "Which. open: Open ones; all: Both."})
        );
    }

    #[test]
    fn strip_keys_removes_keywords_not_properties() {
        let mut s = object(json!({
            "description": "root",
            "properties": {"description": {"type": "string", "description": "x", "format": "uint"}}
        }));
        strip_keys(&mut s, &["description", "format"]);
        assert_eq!(
            Value::Object(s),
            json!({"properties": {"description": {"type": "string"}}})
        );
    }
}

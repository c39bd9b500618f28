//! Plumbing every MCP server shares: server identity, the one place tools are filtered
//! (`--read-only`, `--tools`, `--exclude-tools`), the one place an `ApiError` becomes an
//! `isError` result, and stdio serving with a clean exit on EOF.
//!
//! No guards and no domain logic here; those live in `api/` and `policy/`.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{
    CallToolResponse, CallToolResult, Implementation, ServerCapabilities, ServerConfig,
};
use rmcp::service::ServerInitializeError;
use rmcp::{ServerHandler, ServiceExt};
use serde_json::json;

use crate::config::ToolFilter;
use crate::error::ApiError;

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

/// Remove the routes `filter` excludes. The tool's `read_only_hint` annotation is the
/// only source of truth for `--read-only`; an unset hint counts as a write tool.
pub fn filter_tools<S: Send + Sync + 'static>(
    server: &str,
    router: &mut ToolRouter<S>,
    filter: &ToolFilter,
) -> Result<(), UnknownTool> {
    let all: Vec<String> = router
        .list_all()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    for (flag, names) in [
        ("--tools", &filter.only),
        ("--exclude-tools", &filter.exclude),
    ] {
        if let Some(name) = names.iter().find(|n| !all.contains(n)) {
            return Err(UnknownTool {
                name: name.clone(),
                flag,
                server: server.to_string(),
                available: all.join(", "),
            });
        }
    }
    for tool in router.list_all() {
        let read_only = tool.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true);
        let name = tool.name.as_ref();
        let allowed_by_mode = read_only || !filter.read_only;
        let listed = filter.only.is_empty() || filter.only.iter().any(|n| n == name);
        let excluded = filter.exclude.iter().any(|n| n == name);
        let keep = allowed_by_mode && listed && !excluded;
        if !keep {
            router.remove_route(name);
        }
    }
    Ok(())
}

/// The one conversion of an `ApiError` into a tool result: `isError: true` with
/// structured content `{error, status, hint}` (and the same JSON as text).
impl IntoCallToolResult for ApiError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        let body = json!({
            "error": self.message(),
            "status": self.status(),
            "hint": self.hint(),
        });
        Ok(CallToolResult::structured_error(body).into())
    }
}

/// Serve `server` over stdin/stdout until the client closes stdin. EOF before any
/// request (a probe, `</dev/null`) is a clean exit too.
pub async fn serve_stdio<S: ServerHandler>(server: S) -> anyhow::Result<()> {
    let running = match server.serve(rmcp::transport::stdio_pipes()).await {
        Ok(running) => running,
        Err(ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    running.waiting().await?;
    Ok(())
}

//! The benchmark floor: a bare rmcp stdio server with one tool, `echo`, and nothing else —
//! no logging, no configuration, no keystore. `scripts/bench` measures it in the same run as
//! every vibn server, so "vibn costs N× the floor" separates vibn's own work from rmcp's,
//! tokio's and the harness's. It uses the same runtime (multi-thread tokio) and the same
//! stdio transport rmcp offers for pipes as a server launched by an MCP client gets.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, ServiceExt, tool, tool_handler, tool_router};

/// The `echo` tool's input.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct EchoParams {
    /// The text to send back.
    text: String,
}

/// The `echo` tool's result.
#[derive(serde::Serialize, schemars::JsonSchema)]
struct EchoOut {
    /// The text received.
    text: String,
}

/// The server: only its tool router, built once at start (the macro's default would
/// rebuild it on every request).
#[derive(Clone)]
struct Floor {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Floor {
    #[tool(
        title = "Echo",
        description = "Return the text it is given.",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn echo(&self, Parameters(p): Parameters<EchoParams>) -> Json<EchoOut> {
        Json(EchoOut { text: p.text })
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Floor {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let floor = Floor {
        tool_router: Floor::tool_router(),
    };
    // Served until the client closes stdin, like every stdio MCP server.
    let running = floor.serve(rmcp::transport::io::stdio_pipes()).await?;
    running.waiting().await?;
    Ok(())
}

//! `vibn mcp agent`: agent jobs on a runner as thin wrappers over `api::agent_api`.

use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{CallToolRequestParams, CallToolResponse, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool, tool_handler, tool_router};

use super::common::{LazyRouter, UnknownTool, call_tool, limited_input, server_config};
use crate::api::agent_api::*;
use crate::api::caller::{Caller, Pinning};
use crate::config::ToolFilter;
use crate::error::ApiError;

const INSTRUCTIONS: &str = "Run agents (coder, pm, …) on tasks through the agent runner. \
spawn_agent returns a job_id; follow it with get_job_status (wait_s up to 50 waits with \
progress), see past jobs with list_jobs, stop one with cancel_job.";

/// The names of this server's tools (checked against the router by a test).
pub const TOOL_NAMES: [&str; 4] = ["cancel_job", "get_job_status", "list_jobs", "spawn_agent"];

/// The agent MCP server.
#[derive(Clone)]
pub struct AgentServer {
    pinning: Pinning,
    api: AgentApi,
    router: LazyRouter<Self>,
}

impl AgentServer {
    /// A server over `api` exposing the tools `filter` allows.
    pub fn new(api: AgentApi, pinning: Pinning, filter: &ToolFilter) -> Result<Self, UnknownTool> {
        let router = LazyRouter::new("agent", &TOOL_NAMES, Self::agent_router, filter)?;
        Ok(AgentServer {
            pinning,
            api,
            router,
        })
    }

    /// Every tool of this server as served without filters.
    pub fn all_tools() -> Vec<rmcp::model::Tool> {
        super::common::served_tools(Self::agent_router)
    }

    /// The tool names the router really has (to check `TOOL_NAMES`).
    pub fn router_tool_names() -> Vec<String> {
        super::common::built_tool_names(Self::agent_router)
    }
}

#[tool_router(router = agent_router)]
impl AgentServer {
    /// Start an agent on a task; returns the job id to follow.
    #[tool(
        input_schema = limited_input::<SpawnAgentParams>(),
        title = "Spawn agent",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn spawn_agent(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<SpawnAgentParams>,
    ) -> Result<Json<SpawnAgentOut>, ApiError> {
        Ok(Json(self.api.spawn_agent(&caller, p).await?))
    }

    /// Read a job's status; with wait_s, wait for it to finish while reporting progress.
    #[tool(
        input_schema = limited_input::<GetJobStatusParams>(),
        title = "Get job status",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_job_status(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<GetJobStatusParams>,
    ) -> Result<Json<JobOut>, ApiError> {
        Ok(Json(self.api.get_job_status(&caller, p).await?))
    }

    /// List the jobs spawned from this workspace, newest first.
    #[tool(
        input_schema = limited_input::<ListJobsParams>(),
        title = "List jobs",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_jobs(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ListJobsParams>,
    ) -> Result<Json<ListJobsOut>, ApiError> {
        Ok(Json(self.api.list_jobs(&caller, p).await?))
    }

    /// Cancel a job that has not finished.
    #[tool(
        input_schema = limited_input::<CancelJobParams>(),
        title = "Cancel job",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn cancel_job(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<CancelJobParams>,
    ) -> Result<Json<JobOut>, ApiError> {
        Ok(Json(self.api.cancel_job(&caller, p).await?))
    }
}

#[tool_handler(router = self.router.get())]
impl ServerHandler for AgentServer {
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        call_tool(
            self,
            self.router.get(),
            &self.pinning,
            "agent",
            request,
            context,
        )
        .await
    }

    fn get_info(&self) -> ServerConfig {
        server_config("agent", INSTRUCTIONS)
    }
}

//! `vibn mcp coolify`: the Coolify tools as thin wrappers over `api::coolify_api`.

use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{CallToolRequestParams, CallToolResponse, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool, tool_handler, tool_router};

use super::common::{
    LazyRouter, UnknownTool, call_tool, limited_input, progress_reporter, server_config,
};
use crate::api::coolify_api::*;
use crate::config::ToolFilter;
use crate::error::ApiError;

const INSTRUCTIONS: &str = "Coolify projects, applications and deployments of this workspace. \
Start with list_all_apps. deploy_app takes a name or uuid; with wait=true it follows the \
deployment (with progress) and returns before the client's time limit, handing back the \
deployment uuid to poll with get_deployment if it is still running.";

/// The names of this server's tools (checked against the router by a test).
pub const TOOL_NAMES: [&str; 9] = [
    "deploy",
    "deploy_app",
    "get_app_status",
    "get_deployment",
    "get_logs",
    "list_all_apps",
    "list_applications",
    "list_deployments",
    "list_projects",
];

/// The Coolify MCP server.
#[derive(Clone)]
pub struct CoolifyServer {
    api: CoolifyApi,
    router: LazyRouter<Self>,
}

impl CoolifyServer {
    /// A server over `api` exposing the tools `filter` allows.
    pub fn new(api: CoolifyApi, filter: &ToolFilter) -> Result<Self, UnknownTool> {
        let router = LazyRouter::new("coolify", &TOOL_NAMES, Self::coolify_router, filter)?;
        Ok(CoolifyServer { api, router })
    }

    /// Every tool of this server as served without filters.
    pub fn all_tools() -> Vec<rmcp::model::Tool> {
        super::common::served_tools(Self::coolify_router)
    }

    /// The tool names the router really has (to check `TOOL_NAMES`).
    pub fn router_tool_names() -> Vec<String> {
        super::common::built_tool_names(Self::coolify_router)
    }
}

#[tool_router(router = coolify_router)]
impl CoolifyServer {
    /// List the Coolify projects you can use.
    #[tool(
        input_schema = limited_input::<ListProjectsParams>(),
        title = "List projects",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_projects(
        &self,
        Parameters(p): Parameters<ListProjectsParams>,
    ) -> Result<Json<ListProjectsOut>, ApiError> {
        Ok(Json(self.api.list_projects(p).await?))
    }

    /// List the applications of one project.
    #[tool(
        input_schema = limited_input::<ListApplicationsParams>(),
        title = "List applications",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_applications(
        &self,
        Parameters(p): Parameters<ListApplicationsParams>,
    ) -> Result<Json<ListApplicationsOut>, ApiError> {
        Ok(Json(self.api.list_applications(p).await?))
    }

    /// List every application you can use, grouped by project.
    #[tool(
        input_schema = limited_input::<ListAllAppsParams>(),
        title = "List all apps",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_all_apps(
        &self,
        Parameters(p): Parameters<ListAllAppsParams>,
    ) -> Result<Json<ListAllAppsOut>, ApiError> {
        Ok(Json(self.api.list_all_apps(p).await?))
    }

    /// Show an application's status, URLs and latest deployment.
    #[tool(
        input_schema = limited_input::<GetAppStatusParams>(),
        title = "Get app status",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_app_status(
        &self,
        Parameters(p): Parameters<GetAppStatusParams>,
    ) -> Result<Json<AppStatusOut>, ApiError> {
        Ok(Json(self.api.get_app_status(p).await?))
    }

    /// Read the newest runtime log lines of an application.
    #[tool(
        input_schema = limited_input::<GetLogsParams>(),
        title = "Get logs",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_logs(
        &self,
        Parameters(p): Parameters<GetLogsParams>,
    ) -> Result<Json<GetLogsOut>, ApiError> {
        Ok(Json(self.api.get_logs(p).await?))
    }

    /// Queue a deployment of an application by uuid; returns the deployment uuid.
    #[tool(
        input_schema = limited_input::<DeployParams>(),
        title = "Deploy",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn deploy(
        &self,
        Parameters(p): Parameters<DeployParams>,
    ) -> Result<Json<DeployOut>, ApiError> {
        Ok(Json(self.api.deploy(p).await?))
    }

    /// Deploy an application by name or uuid; with wait, follow it to the end with progress.
    #[tool(
        input_schema = limited_input::<DeployAppParams>(),
        title = "Deploy app",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn deploy_app(
        &self,
        Parameters(p): Parameters<DeployAppParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<DeployAppOut>, ApiError> {
        Ok(Json(
            self.api
                .deploy_app(p, progress_reporter(&ctx), ctx.ct.clone())
                .await?,
        ))
    }

    /// List an application's deployments, newest first.
    #[tool(
        input_schema = limited_input::<ListDeploymentsParams>(),
        title = "List deployments",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_deployments(
        &self,
        Parameters(p): Parameters<ListDeploymentsParams>,
    ) -> Result<Json<ListDeploymentsOut>, ApiError> {
        Ok(Json(self.api.list_deployments(p).await?))
    }

    /// Show a deployment's status and its build log, paged by lines.
    #[tool(
        input_schema = limited_input::<GetDeploymentParams>(),
        title = "Get deployment",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_deployment(
        &self,
        Parameters(p): Parameters<GetDeploymentParams>,
    ) -> Result<Json<GetDeploymentOut>, ApiError> {
        Ok(Json(self.api.get_deployment(p).await?))
    }
}

#[tool_handler(router = self.router.get())]
impl ServerHandler for CoolifyServer {
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        call_tool(
            self.router.get(),
            ToolCallContext::new(self, request, context),
        )
        .await
    }

    fn get_info(&self) -> ServerConfig {
        server_config("coolify", INSTRUCTIONS)
    }
}

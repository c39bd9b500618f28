//! `vibn mcp coolify`: the Coolify tools as thin wrappers over `api::coolify_api`.

use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{CallToolRequestParams, CallToolResponse, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool, tool_handler, tool_router};

use super::common::{LazyRouter, UnknownTool, call_tool, limited_input, server_config};
use crate::api::caller::{Caller, Pinning};
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
    pinning: Pinning,
    api: CoolifyApi,
    router: LazyRouter<Self>,
}

impl CoolifyServer {
    /// A server over `api` exposing the tools `filter` allows.
    pub fn new(
        api: CoolifyApi,
        pinning: Pinning,
        filter: &ToolFilter,
    ) -> Result<Self, UnknownTool> {
        let router = LazyRouter::new("coolify", &TOOL_NAMES, Self::coolify_router, filter)?;
        Ok(CoolifyServer {
            pinning,
            api,
            router,
        })
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
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ListProjectsParams>,
    ) -> Result<Json<ListProjectsOut>, ApiError> {
        Ok(Json(self.api.list_projects(&caller, p).await?))
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
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ListApplicationsParams>,
    ) -> Result<Json<ListApplicationsOut>, ApiError> {
        Ok(Json(self.api.list_applications(&caller, p).await?))
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
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ListAllAppsParams>,
    ) -> Result<Json<ListAllAppsOut>, ApiError> {
        Ok(Json(self.api.list_all_apps(&caller, p).await?))
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
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<GetAppStatusParams>,
    ) -> Result<Json<AppStatusOut>, ApiError> {
        Ok(Json(self.api.get_app_status(&caller, p).await?))
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
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<GetLogsParams>,
    ) -> Result<Json<GetLogsOut>, ApiError> {
        Ok(Json(self.api.get_logs(&caller, p).await?))
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
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<DeployParams>,
    ) -> Result<Json<DeployOut>, ApiError> {
        Ok(Json(self.api.deploy(&caller, p).await?))
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
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<DeployAppParams>,
    ) -> Result<Json<DeployAppOut>, ApiError> {
        Ok(Json(self.api.deploy_app(&caller, p).await?))
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
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ListDeploymentsParams>,
    ) -> Result<Json<ListDeploymentsOut>, ApiError> {
        Ok(Json(self.api.list_deployments(&caller, p).await?))
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
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<GetDeploymentParams>,
    ) -> Result<Json<GetDeploymentOut>, ApiError> {
        Ok(Json(self.api.get_deployment(&caller, p).await?))
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
            self,
            self.router.get(),
            &self.pinning,
            "coolify",
            request,
            context,
        )
        .await
    }

    fn get_info(&self) -> ServerConfig {
        server_config("coolify", INSTRUCTIONS)
    }
}

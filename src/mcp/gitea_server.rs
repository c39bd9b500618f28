//! `vibn mcp gitea`: the six Gitea tools as thin wrappers over `api::gitea_api`.

use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{CallToolRequestParams, CallToolResponse, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool, tool_handler, tool_router};

use super::common::{LazyRouter, UnknownTool, call_tool, limited_input, server_config};
use crate::api::caller::{Caller, Pinning};
use crate::api::gitea_api::*;
use crate::config::ToolFilter;
use crate::error::ApiError;

const INSTRUCTIONS: &str = "Gitea repositories, issues and files of this workspace. A repo is \
`owner/name`, or a bare name in the workspace org. Lists are paged: pass next_page to read on. \
Use list_all_issues for an overview across repositories, list_issues to page one repository, \
read_repo_file to read code without cloning.";

/// The names of this server's tools (checked against the router by a test).
pub const TOOL_NAMES: [&str; 6] = [
    "close_issue",
    "create_issue",
    "list_all_issues",
    "list_issues",
    "list_repos",
    "read_repo_file",
];

/// The Gitea MCP server.
#[derive(Clone)]
pub struct GiteaServer {
    pinning: Pinning,
    api: GiteaApi,
    router: LazyRouter<Self>,
}

impl GiteaServer {
    /// A server over `api` exposing the tools `filter` allows.
    pub fn new(api: GiteaApi, pinning: Pinning, filter: &ToolFilter) -> Result<Self, UnknownTool> {
        let router = LazyRouter::new("gitea", &TOOL_NAMES, Self::gitea_router, filter)?;
        Ok(GiteaServer {
            pinning,
            api,
            router,
        })
    }

    /// Every tool of this server as served without filters.
    pub fn all_tools() -> Vec<rmcp::model::Tool> {
        super::common::served_tools(Self::gitea_router)
    }

    /// The tool names the router really has (to check `TOOL_NAMES`).
    pub fn router_tool_names() -> Vec<String> {
        super::common::built_tool_names(Self::gitea_router)
    }
}

#[tool_router(router = gitea_router)]
impl GiteaServer {
    /// List repositories of an owner (default: the workspace org), one page at a time.
    #[tool(
        input_schema = limited_input::<ListReposParams>(),
        title = "List repositories",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_repos(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ListReposParams>,
    ) -> Result<Json<ListReposOut>, ApiError> {
        Ok(Json(self.api.list_repos(&caller, p).await?))
    }

    /// List a repository's issues (not pull requests), filtered by state and labels.
    #[tool(
        input_schema = limited_input::<ListIssuesParams>(),
        title = "List issues",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_issues(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ListIssuesParams>,
    ) -> Result<Json<ListIssuesOut>, ApiError> {
        Ok(Json(self.api.list_issues(&caller, p).await?))
    }

    /// List issues across every repository of the workspace, newest first.
    #[tool(
        input_schema = limited_input::<ListAllIssuesParams>(),
        title = "List all issues",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_all_issues(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ListAllIssuesParams>,
    ) -> Result<Json<ListAllIssuesOut>, ApiError> {
        Ok(Json(self.api.list_all_issues(&caller, p).await?))
    }

    /// Open an issue in a repository, with optional labels (by name).
    #[tool(
        input_schema = limited_input::<CreateIssueParams>(),
        title = "Create issue",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn create_issue(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<CreateIssueParams>,
    ) -> Result<Json<CreateIssueOut>, ApiError> {
        Ok(Json(self.api.create_issue(&caller, p).await?))
    }

    /// Close an issue, optionally adding a comment first.
    #[tool(
        input_schema = limited_input::<CloseIssueParams>(),
        title = "Close issue",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn close_issue(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<CloseIssueParams>,
    ) -> Result<Json<CloseIssueOut>, ApiError> {
        Ok(Json(self.api.close_issue(&caller, p).await?))
    }

    /// Read a file of a repository by lines, at a branch, tag or commit.
    #[tool(
        input_schema = limited_input::<ReadRepoFileParams>(),
        title = "Read repository file",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn read_repo_file(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ReadRepoFileParams>,
    ) -> Result<Json<ReadRepoFileOut>, ApiError> {
        Ok(Json(self.api.read_repo_file(&caller, p).await?))
    }
}

#[tool_handler(router = self.router.get())]
impl ServerHandler for GiteaServer {
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        call_tool(
            self,
            self.router.get(),
            &self.pinning,
            "gitea",
            request,
            context,
        )
        .await
    }

    fn get_info(&self) -> ServerConfig {
        server_config("gitea", INSTRUCTIONS)
    }
}

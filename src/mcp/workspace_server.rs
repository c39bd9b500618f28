//! `vibn mcp workspace`: the ten workspace tools as thin wrappers over
//! `api::workspace_api`. Each wrapper only translates; every check lives in the API.

use rmcp::handler::server::common::Extension;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{CallToolRequestParams, CallToolResponse, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool, tool_handler, tool_router};

use super::common::{LazyRouter, UnknownTool, call_tool, limited_input, server_config};
use crate::api::caller::{Caller, Pinning};
use crate::api::workspace_api::*;
use crate::config::ToolFilter;
use crate::error::ApiError;

const INSTRUCTIONS: &str = "Work inside one folder (the workspace root). Paths are relative \
to it; nothing outside it can be read or written. Explore with list_directory, find_files and \
search_code; read with read_file (paged by lines); edit with replace_in_file (dry_run first for \
big changes) or write_file; run builds and tests with execute_command; finish with \
git_commit_and_push. Get a repository from Gitea with git_clone and update it with git_pull: \
they authenticate for you, so never put a token in a command or a URL.";

/// The names of this server's tools, checked against the router by a test; used to
/// validate `--tools`/`--exclude-tools` at start-up without generating any schema.
pub const TOOL_NAMES: [&str; 10] = [
    "execute_command",
    "find_files",
    "git_clone",
    "git_commit_and_push",
    "git_pull",
    "list_directory",
    "read_file",
    "replace_in_file",
    "search_code",
    "write_file",
];

/// The workspace MCP server.
#[derive(Clone)]
pub struct WorkspaceServer {
    pinning: Pinning,
    api: WorkspaceApi,
    router: LazyRouter<Self>,
}

impl WorkspaceServer {
    /// A server over `api` exposing the tools `filter` allows.
    pub fn new(
        api: WorkspaceApi,
        pinning: Pinning,
        filter: &ToolFilter,
    ) -> Result<Self, UnknownTool> {
        let build = if api.config().exec.is_off() {
            Self::unconfined_router
        } else {
            Self::workspace_router
        };
        let router = LazyRouter::new("workspace", &TOOL_NAMES, build, filter)?;
        Ok(WorkspaceServer {
            pinning,
            api,
            router,
        })
    }

    /// The router of a server started with `--exec-sandbox off`: the tools that start
    /// processes say so in their description, so the model and the user see it.
    fn unconfined_router() -> ToolRouter<Self> {
        let mut router = Self::workspace_router();
        for name in [
            "execute_command",
            "git_clone",
            "git_commit_and_push",
            "git_pull",
        ] {
            if let Some(route) = router.map.get_mut(name) {
                let description = route.attr.description.as_deref().unwrap_or_default();
                route.attr.description = Some(
                    format!(
                        "{description} UNSANDBOXED: this server was started with \
                         --exec-sandbox off, so processes run with the server's own \
                         privileges."
                    )
                    .into(),
                );
            }
        }
        router
    }

    /// Every tool of this server as served without filters (for inventories and schemas).
    pub fn all_tools() -> Vec<rmcp::model::Tool> {
        super::common::served_tools(Self::workspace_router)
    }

    /// The tool names the router really has (to check `TOOL_NAMES`).
    pub fn router_tool_names() -> Vec<String> {
        super::common::built_tool_names(Self::workspace_router)
    }
}

#[tool_router(router = workspace_router)]
impl WorkspaceServer {
    /// Read a text file by lines; says when it is truncated and where to read on.
    #[tool(
        input_schema = limited_input::<ReadFileParams>(),
        title = "Read file",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn read_file(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ReadFileParams>,
    ) -> Result<Json<ReadFileOut>, ApiError> {
        Ok(Json(self.api.read_file(&caller, p).await?))
    }

    /// Write a whole file atomically, creating parent folders.
    #[tool(
        input_schema = limited_input::<WriteFileParams>(),
        title = "Write file",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn write_file(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<WriteFileParams>,
    ) -> Result<Json<WriteFileOut>, ApiError> {
        Ok(Json(self.api.write_file(&caller, p).await?))
    }

    /// Replace exact text in a file (must occur exactly `count` times) and return the diff.
    #[tool(
        input_schema = limited_input::<ReplaceInFileParams>(),
        title = "Replace in file",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn replace_in_file(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ReplaceInFileParams>,
    ) -> Result<Json<ReplaceInFileOut>, ApiError> {
        Ok(Json(self.api.replace_in_file(&caller, p).await?))
    }

    /// List a folder's entries (honours .gitignore), optionally several levels deep.
    #[tool(
        input_schema = limited_input::<ListDirectoryParams>(),
        title = "List directory",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_directory(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ListDirectoryParams>,
    ) -> Result<Json<ListDirectoryOut>, ApiError> {
        Ok(Json(self.api.list_directory(&caller, p).await?))
    }

    /// Find files by gitignore-style glob (honours .gitignore).
    #[tool(
        input_schema = limited_input::<FindFilesParams>(),
        title = "Find files",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn find_files(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<FindFilesParams>,
    ) -> Result<Json<FindFilesOut>, ApiError> {
        Ok(Json(self.api.find_files(&caller, p).await?))
    }

    /// Search file contents for text or a regex, with optional context lines.
    #[tool(
        input_schema = limited_input::<SearchCodeParams>(),
        title = "Search code",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn search_code(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<SearchCodeParams>,
    ) -> Result<Json<SearchCodeOut>, ApiError> {
        Ok(Json(self.api.search_code(&caller, p).await?))
    }

    /// Run a shell command in the workspace with a timeout; returns exit code and output.
    #[tool(
        input_schema = limited_input::<ExecuteCommandParams>(),
        title = "Execute command",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn execute_command(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ExecuteCommandParams>,
    ) -> Result<Json<ExecuteCommandOut>, ApiError> {
        Ok(Json(self.api.execute_command(&caller, p).await?))
    }

    /// Stage, commit and push the workspace repository to its Gitea origin.
    #[tool(
        input_schema = limited_input::<GitCommitAndPushParams>(),
        title = "Git commit and push",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn git_commit_and_push(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<GitCommitAndPushParams>,
    ) -> Result<Json<GitCommitAndPushOut>, ApiError> {
        Ok(Json(self.api.git_commit_and_push(&caller, p).await?))
    }

    /// Clone a Gitea repository into an empty or new folder (default: the root), authenticated for you: never put a token in a command or URL. Pinned: only the workspace org's repositories. Protected ones clone but never push.
    #[tool(
        input_schema = limited_input::<GitCloneParams>(),
        title = "Git clone",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn git_clone(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<GitCloneParams>,
    ) -> Result<Json<GitCloneOut>, ApiError> {
        Ok(Json(self.api.git_clone(&caller, p).await?))
    }

    /// Fetch the root repository's branch from origin on Gitea (authenticated for you) and fast-forward. Never merges: on diverged, rebase onto origin/<branch>. Refused when .git/config has keys that could run commands.
    #[tool(
        input_schema = limited_input::<GitPullParams>(),
        title = "Git pull",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn git_pull(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<GitPullParams>,
    ) -> Result<Json<GitPullOut>, ApiError> {
        Ok(Json(self.api.git_pull(&caller, p).await?))
    }
}

#[tool_handler(router = self.router.get())]
impl ServerHandler for WorkspaceServer {
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        call_tool(
            self,
            self.router.get(),
            &self.pinning,
            "workspace",
            request,
            context,
        )
        .await
    }

    fn get_info(&self) -> ServerConfig {
        server_config("workspace", INSTRUCTIONS)
    }
}

//! The workspace, repository, deployment-log, database and auth tools of the control
//! plane: one call into `api::control_plane_api` each, nothing else.

use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};

use super::ControlPlaneServer;
use crate::api::caller::Caller;
use crate::api::control_plane_api::*;
use crate::error::ApiError;
use crate::mcp::common::limited_input;

#[tool_router(router = workspace_router, vis = "pub(super)")]
impl ControlPlaneServer {
    /// Show the workspace: slug, Coolify project, Gitea org, provision status and domain namespace.
    #[tool(
        input_schema = limited_input::<WorkspaceDescribeParams>(),
        title = "Describe workspace",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn workspace_describe(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<WorkspaceDescribeParams>,
    ) -> Result<Json<WorkspaceDescribeOut>, ApiError> {
        Ok(Json(self.api.workspace_describe(&caller, p).await?))
    }

    /// Get the workspace bot's Gitea username, token and clone/remote URL templates.
    #[tool(
        input_schema = limited_input::<GiteaCredentialsParams>(),
        title = "Gitea credentials",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn gitea_credentials(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<GiteaCredentialsParams>,
    ) -> Result<Json<GiteaCredentialsOut>, ApiError> {
        Ok(Json(self.api.gitea_credentials(&caller, p).await?))
    }

    /// List the workspace's projects (those with a finalized PRD).
    #[tool(
        input_schema = limited_input::<ProjectsListParams>(),
        title = "List projects",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn projects_list(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ProjectsListParams>,
    ) -> Result<Json<ProjectsListOut>, ApiError> {
        Ok(Json(self.api.projects_list(&caller, p).await?))
    }

    /// Show one project and its latest PRD.
    #[tool(
        input_schema = limited_input::<ProjectsGetParams>(),
        title = "Get project",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn projects_get(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ProjectsGetParams>,
    ) -> Result<Json<ProjectsGetOut>, ApiError> {
        Ok(Json(self.api.projects_get(&caller, p).await?))
    }

    /// List the workspace org's Gitea repositories.
    #[tool(
        input_schema = limited_input::<ReposListParams>(),
        title = "List repos",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn repos_list(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ReposListParams>,
    ) -> Result<Json<ReposListOut>, ApiError> {
        Ok(Json(self.api.repos_list(&caller, p).await?))
    }

    /// Create a repository in the workspace org, as the workspace's bot.
    #[tool(
        input_schema = limited_input::<ReposCreateParams>(),
        title = "Create repo",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn repos_create(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<ReposCreateParams>,
    ) -> Result<Json<RepoOut>, ApiError> {
        Ok(Json(self.api.repos_create(&caller, p).await?))
    }

    /// Show a deployment's status and its build log, paged by lines.
    #[tool(
        input_schema = limited_input::<DeploymentsLogsParams>(),
        title = "Get deployment logs",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn deployments_logs(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<DeploymentsLogsParams>,
    ) -> Result<Json<DeploymentsLogsOut>, ApiError> {
        Ok(Json(self.api.deployments_logs(&caller, p).await?))
    }

    /// List the workspace's databases.
    #[tool(
        input_schema = limited_input::<DatabasesListParams>(),
        title = "List databases",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn databases_list(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<DatabasesListParams>,
    ) -> Result<Json<DatabasesListOut>, ApiError> {
        Ok(Json(self.api.databases_list(&caller, p).await?))
    }

    /// Create a database: postgresql, mysql, mariadb, mongodb, redis, keydb, dragonfly or clickhouse.
    #[tool(
        input_schema = limited_input::<DatabasesCreateParams>(),
        title = "Create database",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn databases_create(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<DatabasesCreateParams>,
    ) -> Result<Json<DatabaseDetail>, ApiError> {
        Ok(Json(self.api.databases_create(&caller, p).await?))
    }

    /// Show one database with its internal connection URL.
    #[tool(
        input_schema = limited_input::<DatabaseRef>(),
        title = "Get database",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn databases_get(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<DatabaseRef>,
    ) -> Result<Json<DatabaseDetail>, ApiError> {
        Ok(Json(self.api.databases_get(&caller, p).await?))
    }

    /// Change allowlisted fields of a database (name, image, public port, limits).
    #[tool(
        input_schema = limited_input::<DatabasesUpdateParams>(),
        title = "Update database",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn databases_update(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<DatabasesUpdateParams>,
    ) -> Result<Json<DatabasesUpdateOut>, ApiError> {
        Ok(Json(self.api.databases_update(&caller, p).await?))
    }

    /// Delete a database; confirm must be its exact name; volumes are kept unless volumes is delete.
    #[tool(
        input_schema = limited_input::<DatabasesDeleteParams>(),
        title = "Delete database",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn databases_delete(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<DatabasesDeleteParams>,
    ) -> Result<Json<DeletedOut>, ApiError> {
        Ok(Json(self.api.databases_delete(&caller, p).await?))
    }

    /// List the workspace's auth providers and the providers that can be created.
    #[tool(
        input_schema = limited_input::<AuthListParams>(),
        title = "List auth providers",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn auth_list(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AuthListParams>,
    ) -> Result<Json<AuthListOut>, ApiError> {
        Ok(Json(self.api.auth_list(&caller, p).await?))
    }

    /// Deploy an allowlisted auth provider (pocketbase, authentik, keycloak, logto, …).
    #[tool(
        input_schema = limited_input::<AuthCreateParams>(),
        title = "Create auth provider",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn auth_create(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AuthCreateParams>,
    ) -> Result<Json<AuthCreateOut>, ApiError> {
        Ok(Json(self.api.auth_create(&caller, p).await?))
    }

    /// Delete an auth provider; confirm must be its exact name; volumes are kept unless volumes is delete.
    #[tool(
        input_schema = limited_input::<AuthDeleteParams>(),
        title = "Delete auth provider",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn auth_delete(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AuthDeleteParams>,
    ) -> Result<Json<DeletedOut>, ApiError> {
        Ok(Json(self.api.auth_delete(&caller, p).await?))
    }
}

//! The application tools of the control plane: one call into `api::control_plane_api`
//! each, nothing else.

use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};

use super::ControlPlaneServer;
use crate::api::caller::Caller;
use crate::api::control_plane_api::*;
use crate::error::ApiError;
use crate::mcp::common::limited_input;

#[tool_router(router = apps_router, vis = "pub(super)")]
impl ControlPlaneServer {
    /// List the workspace's applications.
    #[tool(
        input_schema = limited_input::<AppsListParams>(),
        title = "List apps",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn apps_list(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AppsListParams>,
    ) -> Result<Json<AppsListOut>, ApiError> {
        Ok(Json(self.api.apps_list(&caller, p).await?))
    }

    /// Show one application: status, domains, git info and build settings.
    #[tool(
        input_schema = limited_input::<AppRef>(),
        title = "Get app",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn apps_get(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AppRef>,
    ) -> Result<Json<AppDetail>, ApiError> {
        Ok(Json(self.api.apps_get(&caller, p).await?))
    }

    /// Create an application from a repository of the workspace org (auto-domain <name>.<workspace>.<base>).
    #[tool(
        input_schema = limited_input::<AppsCreateParams>(),
        title = "Create app",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn apps_create(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AppsCreateParams>,
    ) -> Result<Json<AppsCreateOut>, ApiError> {
        Ok(Json(self.api.apps_create(&caller, p).await?))
    }

    /// Change allowlisted fields of an application (name, branch, ports, build settings).
    #[tool(
        input_schema = limited_input::<AppsUpdateParams>(),
        title = "Update app",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn apps_update(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AppsUpdateParams>,
    ) -> Result<Json<AppsUpdateOut>, ApiError> {
        Ok(Json(self.api.apps_update(&caller, p).await?))
    }

    /// Re-point an application at its workspace repository's HTTPS URL with the bot's current token.
    #[tool(
        input_schema = limited_input::<AppsRewireGitParams>(),
        title = "Rewire app git",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn apps_rewire_git(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AppsRewireGitParams>,
    ) -> Result<Json<AppsRewireGitOut>, ApiError> {
        Ok(Json(self.api.apps_rewire_git(&caller, p).await?))
    }

    /// Delete an application; confirm must be its exact name; volumes are kept unless volumes is delete.
    #[tool(
        input_schema = limited_input::<AppsDeleteParams>(),
        title = "Delete app",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn apps_delete(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AppsDeleteParams>,
    ) -> Result<Json<DeletedOut>, ApiError> {
        Ok(Json(self.api.apps_delete(&caller, p).await?))
    }

    /// Start a deployment of an application; returns the deployment uuid.
    #[tool(
        input_schema = limited_input::<AppsDeployParams>(),
        title = "Deploy app",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn apps_deploy(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AppsDeployParams>,
    ) -> Result<Json<AppsDeployOut>, ApiError> {
        Ok(Json(self.api.apps_deploy(&caller, p).await?))
    }

    /// List an application's deployments with their status, newest first.
    #[tool(
        input_schema = limited_input::<AppsDeploymentsParams>(),
        title = "List app deployments",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn apps_deployments(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AppsDeploymentsParams>,
    ) -> Result<Json<AppsDeploymentsOut>, ApiError> {
        Ok(Json(self.api.apps_deployments(&caller, p).await?))
    }

    /// Read the newest runtime log lines of an application.
    #[tool(
        input_schema = limited_input::<AppsLogsParams>(),
        title = "Get app logs",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn apps_logs(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AppsLogsParams>,
    ) -> Result<Json<AppsLogsOut>, ApiError> {
        Ok(Json(self.api.apps_logs(&caller, p).await?))
    }

    /// List an application's domains.
    #[tool(
        input_schema = limited_input::<AppRef>(),
        title = "List app domains",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn apps_domains_list(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AppRef>,
    ) -> Result<Json<AppDomainsOut>, ApiError> {
        Ok(Json(self.api.apps_domains_list(&caller, p).await?))
    }

    /// Replace an application's domains; each must be <name>.<workspace>.<base>.
    #[tool(
        input_schema = limited_input::<AppsDomainsSetParams>(),
        title = "Set app domains",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn apps_domains_set(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AppsDomainsSetParams>,
    ) -> Result<Json<AppDomainsOut>, ApiError> {
        Ok(Json(self.api.apps_domains_set(&caller, p).await?))
    }

    /// List an application's environment variables (shown-once values redacted).
    #[tool(
        input_schema = limited_input::<AppRef>(),
        title = "List app env vars",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn apps_envs_list(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AppRef>,
    ) -> Result<Json<AppEnvsOut>, ApiError> {
        Ok(Json(self.api.apps_envs_list(&caller, p).await?))
    }

    /// Create or update one environment variable of an application (key ^[A-Z_][A-Z0-9_]*$).
    #[tool(
        input_schema = limited_input::<AppsEnvsUpsertParams>(),
        title = "Set app env var",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn apps_envs_upsert(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AppsEnvsUpsertParams>,
    ) -> Result<Json<EnvUpsertOut>, ApiError> {
        Ok(Json(self.api.apps_envs_upsert(&caller, p).await?))
    }

    /// Delete one environment variable of an application.
    #[tool(
        input_schema = limited_input::<AppsEnvsDeleteParams>(),
        title = "Delete app env var",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn apps_envs_delete(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<AppsEnvsDeleteParams>,
    ) -> Result<Json<EnvDeleteOut>, ApiError> {
        Ok(Json(self.api.apps_envs_delete(&caller, p).await?))
    }
}

//! The domain and storage tools of the control plane: one call into
//! `api::control_plane_api` each, nothing else.

use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};

use super::ControlPlaneServer;
use crate::api::caller::Caller;
use crate::api::control_plane_api::*;
use crate::error::ApiError;
use crate::mcp::common::limited_input;

#[tool_router(router = domains_router, vis = "pub(super)")]
impl ControlPlaneServer {
    /// Check availability and price of up to 25 apex domains (stateless; .ai is raised to 2 years).
    #[tool(
        input_schema = limited_input::<DomainsSearchParams>(),
        title = "Search domains",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn domains_search(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<DomainsSearchParams>,
    ) -> Result<Json<DomainsSearchOut>, ApiError> {
        Ok(Json(self.api.domains_search(&caller, p).await?))
    }

    /// Register an apex domain for this workspace (idempotent; .ca needs ca.cpr_category; a pending order is not a success).
    #[tool(
        input_schema = limited_input::<DomainsRegisterParams>(),
        title = "Register domain",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn domains_register(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<DomainsRegisterParams>,
    ) -> Result<Json<DomainsRegisterOut>, ApiError> {
        Ok(Json(self.api.domains_register(&caller, p).await?))
    }

    /// List the workspace's domains with status, order id, lock and DNS zone.
    #[tool(
        input_schema = limited_input::<DomainsListParams>(),
        title = "List domains",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn domains_list(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<DomainsListParams>,
    ) -> Result<Json<DomainsListOut>, ApiError> {
        Ok(Json(self.api.domains_list(&caller, p).await?))
    }

    /// Show one domain of the workspace and its last 20 lifecycle events.
    #[tool(
        input_schema = limited_input::<DomainRef>(),
        title = "Get domain",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn domains_get(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<DomainRef>,
    ) -> Result<Json<DomainDetail>, ApiError> {
        Ok(Json(self.api.domains_get(&caller, p).await?))
    }

    /// Point a registered domain at an app (or ip/cname): DNS zone, records, registrar name servers, app domains, lock. Idempotent.
    #[tool(
        input_schema = limited_input::<DomainsAttachParams>(),
        title = "Attach domain",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn domains_attach(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<DomainsAttachParams>,
    ) -> Result<Json<DomainsAttachOut>, ApiError> {
        Ok(Json(self.api.domains_attach(&caller, p).await?))
    }

    /// Show the workspace's bucket, region, S3 endpoint, access key id and status (never the secret).
    #[tool(
        input_schema = limited_input::<StorageParams>(),
        title = "Describe storage",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn storage_describe(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<StorageParams>,
    ) -> Result<Json<StorageOut>, ApiError> {
        Ok(Json(self.api.storage_describe(&caller, p).await?))
    }

    /// Create or finish the workspace's S3-compatible bucket, service account and HMAC key (idempotent).
    #[tool(
        input_schema = limited_input::<StorageParams>(),
        title = "Provision storage",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn storage_provision(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<StorageParams>,
    ) -> Result<Json<StorageOut>, ApiError> {
        Ok(Json(self.api.storage_provision(&caller, p).await?))
    }

    /// Write the storage credentials into an app as <prefix>ENDPOINT, REGION, BUCKET, ACCESS_KEY_ID, SECRET_ACCESS_KEY, FORCE_PATH_STYLE.
    #[tool(
        input_schema = limited_input::<StorageInjectEnvParams>(),
        title = "Inject storage env",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn storage_inject_env(
        &self,
        Extension(caller): Extension<Caller>,
        Parameters(p): Parameters<StorageInjectEnvParams>,
    ) -> Result<Json<StorageInjectEnvOut>, ApiError> {
        Ok(Json(self.api.storage_inject_env(&caller, p).await?))
    }
}

//! Lazy provisioning (issue 13 item 1): a workspace that is not fully provisioned is
//! provisioned by the first control-plane call that needs Coolify or the bot, with the
//! operator's credentials the server was started with (`api::provision`, resumable and
//! recorded on the row). Without those credentials, or when the run fails, the call is a
//! 503 saying what is missing or which step failed, and the command to run.

use std::sync::Arc;

use super::{ControlPlaneApi, Tenant};
use crate::api::caller::Caller;
use crate::api::provision::{ProvisionReport, Provisioner};
use crate::error::ApiError;
use crate::keystore::{Keyring, Keystore, ProvisionStatus, Workspace};

/// The 503 of a workspace the control plane cannot use yet.
fn not_ready(ws: &Workspace, why: &str) -> ApiError {
    ApiError::not_provisioned(format!(
        "workspace {} is not fully provisioned (status {}): {why}",
        ws.slug, ws.provision_status
    ))
    .with_hint(format!(
        "ask the operator to run `vibn workspace provision {}`, then retry",
        ws.slug
    ))
}

impl ControlPlaneApi {
    /// Provision workspace `slug` now, for an operator (`vibn serve`'s admin route), with
    /// the operator's credentials this API was configured with; one run at a time in this
    /// process, the row's lease across processes.
    pub async fn provision_workspace(
        &self,
        store: Keystore,
        ring: Option<Arc<Keyring>>,
        slug: &str,
    ) -> Result<ProvisionReport, ApiError> {
        let (Some(gitea), Some(operator), Some(coolify)) = (
            self.inner.gitea.as_ref(),
            self.inner.operator.as_deref(),
            self.inner.coolify.as_ref(),
        ) else {
            return Err(ApiError::not_provisioned(
                "this server cannot provision: GITEA_API_URL, GITEA_USERNAME, GITEA_API_TOKEN \
                 (a Gitea site admin), COOLIFY_API_URL and COOLIFY_API_TOKEN are needed for that",
            )
            .with_hint(format!(
                "set them, or run `vibn workspace provision {slug}` where they are"
            )));
        };
        let ring = ring.ok_or_else(|| {
            ApiError::not_provisioned(
                "VIBN_SECRETS_KEY is not set, so the bot's token cannot be sealed",
            )
            .with_hint("start vibn serve with VIBN_SECRETS_KEY set")
        })?;
        let _one_run = self.inner.provision_lock.lock().await;
        Provisioner::new(
            gitea.clone(),
            operator,
            coolify.clone(),
            self.inner.settings.server_uuid.clone(),
            store,
            ring,
        )
        .provision(slug)
        .await
    }

    /// Provision the caller's workspace now (one run at a time in this process), or say
    /// why that cannot be done.
    pub(super) async fn provision_lazily(
        &self,
        caller: &Caller,
        ws: &Workspace,
    ) -> Result<Tenant, ApiError> {
        let (Some(gitea), Some(operator), Some(coolify)) = (
            self.inner.gitea.as_ref(),
            self.inner.operator.as_deref(),
            self.inner.coolify.as_ref(),
        ) else {
            return Err(not_ready(
                ws,
                "this server cannot provision it: GITEA_API_URL, GITEA_USERNAME, \
                 GITEA_API_TOKEN (a Gitea site admin), COOLIFY_API_URL and COOLIFY_API_TOKEN \
                 are needed for that",
            ));
        };
        let Some(ring) = caller.keyring() else {
            return Err(not_ready(
                ws,
                "VIBN_SECRETS_KEY is not set, so the bot's token cannot be sealed",
            ));
        };
        let store = caller.store().await?;
        let _one_run = self.inner.provision_lock.lock().await;
        // Another call (or `vibn workspace provision`) may have finished meanwhile.
        let current = store.require_workspace(&ws.slug).await?;
        if let Some(tenant) = Tenant::of(&current) {
            return Ok(tenant);
        }
        tracing::info!(slug = %ws.slug, status = %ws.provision_status, "provisioning the workspace on first use");
        let provisioner = Provisioner::new(
            gitea.clone(),
            operator,
            coolify.clone(),
            self.inner.settings.server_uuid.clone(),
            store,
            Arc::clone(ring),
        );
        let report = provisioner
            .provision(&ws.slug)
            .await
            .map_err(|e| not_ready(ws, &format!("provisioning could not run: {}", e.message())))?;
        match (report.status, Tenant::of(&report.workspace)) {
            (ProvisionStatus::Ready, Some(tenant)) => Ok(tenant),
            _ => {
                let step = report.failed_step.map_or("?", |s| s.as_str());
                let error = report.error.as_deref().unwrap_or("no error was recorded");
                Err(not_ready(
                    &report.workspace,
                    &format!("provisioning stopped at step {step}: {error}"),
                ))
            }
        }
    }
}

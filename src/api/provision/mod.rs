//! Provisioning (issue 12, DESIGN §6 "Provisioning"): gives a workspace its Coolify
//! project and server, its private Gitea org, its bot user, the Writers team, the bot's
//! token (sealed in the keystore) and an ed25519 deploy keypair (public half on the bot,
//! private half in Coolify, never kept by vibn); hands agents the bot's credentials; and
//! rotates the token and the keypair.
//!
//! Every step reads first and writes only what is missing or wrong, and records what it
//! found or made on the workspace row as soon as it has it, so a run that fails half-way
//! leaves a row the next run completes without duplicates; a run on a ready, intact
//! workspace sends no upstream write at all. A failure is recorded on the row (status
//! `error`, the step, the error text) and in the audit trail, never swallowed. Runs for
//! one workspace never interleave: each holds a lease on the row.
//!
//! Acts with the operator's credentials (an admin Gitea token, a Coolify token); the
//! bot's password exists only in memory, for the Basic-auth-only token routes. May
//! import `clients`, `keystore`, `policy`, `error`; never `mcp` or `cli`.

mod coolify;
mod credentials;
mod deploy_key;
mod gitea;
mod keypair;
mod rewire;
mod token;

use std::sync::Arc;

use secrecy::SecretString;
use serde::Serialize;

use crate::clients::coolify::CoolifyClient;
use crate::clients::gitea::GiteaClient;
use crate::error::ApiError;
use crate::keystore::{
    Keyring, Keystore, NewAuditEvent, ProvisionRecord, ProvisionState, ProvisionStatus, Workspace,
    new_id,
};
use crate::policy::naming::{self, ProvisionNames};

pub use credentials::{
    BotCredentials, Credentials, GiteaEndpoints, WorkspaceRef, credentials, endpoints,
};
pub use keypair::DeployKeyPair;
pub use rewire::{RewireTarget, RewiredApp, rewire_apps};

/// How long a run holds the workspace's lease without recording anything; every record
/// renews it. A run that died releases nothing, so the next one waits at most this.
const LEASE_MS: i64 = 120_000;

/// The scopes of the bot's token: repositories, issues, its own user (`GET /user`
/// verifies the token) and org repository creation (`POST /orgs/{org}/repos` needs
/// `write:organization`, reference gitea.md §1).
pub const BOT_TOKEN_SCOPES: [&str; 4] = [
    "write:repository",
    "write:issue",
    "write:user",
    "write:organization",
];

/// The steps, in the order a run takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Coolify project `vibn-ws-<slug>` and its environment.
    CoolifyProject,
    /// The Coolify server resources are created on.
    CoolifyServer,
    /// Private Gitea org `vibn-<slug>`.
    GiteaOrg,
    /// The owner as an org owner, when a matching Gitea user exists (best effort).
    GiteaOwner,
    /// Bot user `vibn-bot-<slug>`.
    GiteaBot,
    /// The Writers team with the bot as its only member.
    GiteaTeam,
    /// The bot's token, sealed; the bot's other tokens deleted.
    BotToken,
    /// The deploy keypair, one half on each side.
    DeployKey,
}

impl Step {
    /// The name stored in `provision_step`.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::CoolifyProject => "coolify_project",
            Step::CoolifyServer => "coolify_server",
            Step::GiteaOrg => "gitea_org",
            Step::GiteaOwner => "gitea_owner",
            Step::GiteaBot => "gitea_bot",
            Step::GiteaTeam => "gitea_team",
            Step::BotToken => "bot_token",
            Step::DeployKey => "deploy_key",
        }
    }
}

/// What a step did upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    /// Found as recorded; nothing written.
    Verified,
    /// Found upstream (made by an earlier run or by hand) and recorded now.
    Adopted,
    /// Made now.
    Created,
    /// Existed, but something was changed to match what vibn needs.
    Repaired,
    /// Nothing to do (a best-effort step found nothing to act on).
    Skipped,
    /// Failed: the run stopped here.
    Failed,
}

/// One step of a run.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// The step.
    pub step: Step,
    /// What it did.
    pub outcome: StepOutcome,
    /// What it found or made (names and ids, never a secret), or the error.
    pub detail: String,
}

/// What `provision` did.
#[derive(Debug, Clone, Serialize)]
pub struct ProvisionReport {
    /// The workspace after the run.
    pub workspace: Workspace,
    /// `ready`, or `error` with `failed_step` and `error`.
    pub status: ProvisionStatus,
    /// The step the run stopped at.
    pub failed_step: Option<Step>,
    /// Why it stopped.
    pub error: Option<String>,
    /// Each step taken, in order.
    pub steps: Vec<StepReport>,
    /// Things the operator should know that did not stop the run.
    pub notes: Vec<String>,
}

/// What `rotate_bot_token` did.
#[derive(Debug, Clone, Serialize)]
pub struct RotationReport {
    /// The workspace.
    pub slug: String,
    /// The bot.
    pub bot: String,
    /// The new token's Gitea id (the token itself is only in the keystore).
    pub token_id: i64,
    /// The applications re-pointed at the new token (their git URLs embed it).
    pub rewired: Vec<RewiredApp>,
    /// Gitea ids of the tokens deleted after the new one was stored (none while an
    /// application could not be re-pointed).
    pub deleted_token_ids: Vec<i64>,
    /// The new deploy key, with `--deploy-key`.
    pub deploy_key: Option<StepReport>,
    /// Things the operator should know.
    pub notes: Vec<String>,
}

/// Provisions workspaces with the operator's credentials.
pub struct Provisioner {
    gitea: GiteaClient,
    operator: String,
    coolify: CoolifyClient,
    server_uuid: Option<String>,
    store: Keystore,
    ring: Arc<Keyring>,
}

impl std::fmt::Debug for Provisioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioner")
            .field("operator", &self.operator)
            .field("server_uuid", &self.server_uuid)
            .finish_non_exhaustive()
    }
}

/// A step's result: what it did and a line about it, or the error that stops the run.
type StepResult = Result<(StepOutcome, String), ApiError>;

impl Provisioner {
    /// A provisioner using `gitea` (an admin token of `operator`), `coolify` and, when
    /// given, the Coolify server `server_uuid` (`COOLIFY_SERVER_UUID`); secrets are
    /// sealed with `ring` into `store`.
    pub fn new(
        gitea: GiteaClient,
        operator: &str,
        coolify: CoolifyClient,
        server_uuid: Option<String>,
        store: Keystore,
        ring: Arc<Keyring>,
    ) -> Provisioner {
        Provisioner {
            gitea,
            operator: operator.to_string(),
            coolify,
            server_uuid: server_uuid.filter(|s| !s.trim().is_empty()),
            store,
            ring,
        }
    }

    /// The keystore provisioning records into.
    pub fn store(&self) -> &Keystore {
        &self.store
    }

    /// Provision `slug`: every step in order, stopping at the first failure, which is
    /// recorded on the row. `Err` only when the run could not start (unknown or invalid
    /// slug, another run holds the lease, the keystore failed).
    pub async fn provision(&self, slug: &str) -> Result<ProvisionReport, ApiError> {
        let mut run = Run::start(self, slug).await?;
        let result = run.all_steps().await;
        run.finish_provision(result).await
    }

    /// Mint a new bot token, store it, then delete every other token of the bot (so a
    /// failure in between never leaves the workspace without a working token); with
    /// `deploy_key`, replace the deploy keypair on both sides.
    pub async fn rotate_bot_token(
        &self,
        slug: &str,
        deploy_key: bool,
    ) -> Result<RotationReport, ApiError> {
        let mut run = Run::start(self, slug).await?;
        let result = run.rotate(deploy_key).await;
        run.finish_rotation(result).await
    }
}

/// One run over one workspace: its names, lease, recorded state and what it did.
struct Run<'a> {
    p: &'a Provisioner,
    names: ProvisionNames,
    holder: String,
    state: ProvisionState,
    steps: Vec<StepReport>,
    notes: Vec<String>,
    /// The bot's password, once this run set it (at creation or by a reset).
    bot_password: Option<SecretString>,
}

impl<'a> Run<'a> {
    async fn start(p: &'a Provisioner, slug: &str) -> Result<Run<'a>, ApiError> {
        let names = naming::provision_names(slug)?;
        // A wrong secrets key must stop the run before it makes anything upstream.
        p.store.check_keyring(&p.ring).await?;
        let holder = new_id("run");
        let state = p
            .store
            .acquire_provision_lease(slug, &holder, LEASE_MS)
            .await?;
        if state.workspace.gitea_org != names.org
            || state.workspace.gitea_bot_username.as_deref() != Some(names.bot.as_str())
        {
            // Rows are created with the derived names; anything else was edited by hand.
            let _ = p
                .store
                .release_provision_lease(&state.workspace.id, &holder)
                .await;
            return Err(ApiError::unprocessable(format!(
                "workspace {slug} records Gitea org {} and bot {}, not the derived {} and {}",
                state.workspace.gitea_org,
                state.workspace.gitea_bot_username.as_deref().unwrap_or("-"),
                names.org,
                names.bot
            )));
        }
        Ok(Run {
            p,
            names,
            holder,
            state,
            steps: Vec::new(),
            notes: Vec::new(),
            bot_password: None,
        })
    }

    fn slug(&self) -> &str {
        &self.state.workspace.slug
    }

    /// Record one fact and re-read the state.
    async fn record(&mut self, record: ProvisionRecord) -> Result<(), ApiError> {
        self.p
            .store
            .record_provision(&self.state.workspace.id, &self.holder, LEASE_MS, record)
            .await?;
        self.state = self.p.store.provision_state(self.slug()).await?;
        Ok(())
    }

    async fn all_steps(&mut self) -> Result<(), (Step, ApiError)> {
        if self.state.workspace.provision_status != ProvisionStatus::Ready.as_str() {
            let (step, error) = (
                self.state.workspace.provision_step.clone(),
                self.state.workspace.provision_error.clone(),
            );
            // Running: the last failure stays readable until this run replaces it.
            self.record(ProvisionRecord::Outcome {
                status: ProvisionStatus::Partial,
                step,
                error,
            })
            .await
            .map_err(|e| (Step::CoolifyProject, e))?;
        }
        for step in [
            Step::CoolifyProject,
            Step::CoolifyServer,
            Step::GiteaOrg,
            Step::GiteaOwner,
            Step::GiteaBot,
            Step::GiteaTeam,
            Step::BotToken,
            Step::DeployKey,
        ] {
            let result = match step {
                Step::CoolifyProject => self.coolify_project().await,
                Step::CoolifyServer => self.coolify_server().await,
                Step::GiteaOrg => self.gitea_org().await,
                Step::GiteaOwner => Ok(self.gitea_owner().await),
                Step::GiteaBot => self.gitea_bot().await,
                Step::GiteaTeam => self.gitea_team().await,
                Step::BotToken => self.bot_token().await,
                Step::DeployKey => self.deploy_key().await,
            };
            match result {
                Ok((outcome, detail)) => {
                    tracing::info!(slug = %self.slug(), step = step.as_str(), ?outcome, "provisioning step");
                    self.steps.push(StepReport {
                        step,
                        outcome,
                        detail,
                    });
                }
                Err(e) => {
                    self.steps.push(StepReport {
                        step,
                        outcome: StepOutcome::Failed,
                        detail: e.to_string(),
                    });
                    return Err((step, e));
                }
            }
        }
        Ok(())
    }

    async fn finish_provision(
        mut self,
        result: Result<(), (Step, ApiError)>,
    ) -> Result<ProvisionReport, ApiError> {
        let (status, failed_step, error) = match &result {
            Ok(()) => (ProvisionStatus::Ready, None, None),
            Err((step, e)) => (ProvisionStatus::Error, Some(*step), Some(e.to_string())),
        };
        let recorded = self
            .record(ProvisionRecord::Outcome {
                status,
                step: failed_step.map(|s| s.as_str().to_string()),
                error: error.clone(),
            })
            .await;
        let outcome = match &error {
            None => "ok".to_string(),
            Some(e) => format!("error at {}: {e}", failed_step.map_or("", Step::as_str)),
        };
        self.audit("workspace_provision", &outcome).await;
        self.release().await;
        recorded?;
        Ok(ProvisionReport {
            workspace: self.state.workspace.clone(),
            status,
            failed_step,
            error,
            steps: std::mem::take(&mut self.steps),
            notes: std::mem::take(&mut self.notes),
        })
    }

    async fn finish_rotation(
        mut self,
        result: Result<RotationReport, (Step, ApiError)>,
    ) -> Result<RotationReport, ApiError> {
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err((step, e)) => format!("error at {}: {e}", step.as_str()),
        };
        self.audit("workspace_rotate_bot_token", &outcome).await;
        if let Err((step, e)) = &result {
            // Only a half-done replacement changes what provisioning has left to do.
            let unfinished = match step {
                Step::BotToken => !self.state.gitea_bot_tokens_clean,
                _ => true,
            };
            if unfinished {
                let text = e.to_string();
                let _ = self
                    .record(ProvisionRecord::Outcome {
                        status: ProvisionStatus::Partial,
                        step: Some(step.as_str().to_string()),
                        error: Some(text.clone()),
                    })
                    .await;
            }
        }
        self.release().await;
        result.map_err(|(_, e)| e)
    }

    async fn audit(&self, tool: &str, outcome: &str) {
        let event = NewAuditEvent {
            workspace_id: Some(&self.state.workspace.id),
            key_hint: None,
            server: "cli",
            tool,
            target: self.slug(),
            outcome,
        };
        if let Err(e) = self.p.store.append_audit(&event).await {
            tracing::warn!(error = %e, "could not append the audit event");
        }
    }

    async fn release(&self) {
        if let Err(e) = self
            .p
            .store
            .release_provision_lease(&self.state.workspace.id, &self.holder)
            .await
        {
            tracing::warn!(error = %e, "could not release the provisioning lease");
        }
    }

    fn note(&mut self, text: String) {
        tracing::warn!(slug = %self.slug(), "{text}");
        self.notes.push(text);
    }
}

/// True when two OpenSSH public key lines carry the same key (type and base64 blob;
/// comments differ between Gitea, Coolify and the generator).
fn same_public_key(a: &str, b: &str) -> bool {
    let key = |s: &str| {
        let mut parts = s.split_whitespace();
        let kind = parts
            .next()
            .filter(|k| ["ssh-", "ecdsa-", "sk-"].iter().any(|p| k.starts_with(p)))?;
        Some((kind.to_string(), parts.next()?.to_string()))
    };
    matches!((key(a), key(b)), (Some(ka), Some(kb)) if ka == kb)
}

/// A unique-enough suffix for upstream names that must differ per creation (token
/// names, key titles): the time in ms, base36.
fn time_suffix() -> String {
    let mut n = crate::keystore::now_ms().max(0) as u64;
    let mut digits = Vec::new();
    while n > 0 {
        let d = (n % 36) as u8;
        digits.push(if d < 10 { b'0' + d } else { b'a' + d - 10 });
        n /= 36;
    }
    digits.reverse();
    String::from_utf8_lossy(&digits).into_owned()
}

/// True when an upstream failure is "not found".
fn is_not_found(e: &crate::clients::http::ClientError) -> bool {
    e.status() == Some(404)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_keys_compare_by_type_and_blob_only() {
        assert!(same_public_key(
            "ssh-ed25519 AAAAC3Nz vibn@x",
            "ssh-ed25519 AAAAC3Nz"
        ));
        assert!(!same_public_key(
            "ssh-ed25519 AAAAC3Nz",
            "ssh-ed25519 AAAAC3Nx"
        ));
        assert!(!same_public_key("", ""));
        assert!(!same_public_key(
            "Error loading private key",
            "Error loading private key"
        ));
    }
}

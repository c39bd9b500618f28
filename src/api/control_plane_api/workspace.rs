//! `workspace_describe`, `gitea_credentials`, `projects_list`, `projects_get` (seed 003
//! §3.1–3.2): who the workspace is and where its things are, the bot's credentials, and
//! the workspace's PRD projects from the keystore.

use schemars::JsonSchema;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::ControlPlaneApi;
use crate::api::caller::{Caller, Principal};
use crate::error::ApiError;

/// Most PRD text `projects_get` returns.
pub const MAX_PRD_TEXT: usize = 64 * 1024;

/// Parameters of `workspace_describe` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct WorkspaceDescribeParams {}

/// The workspace this key acts for.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WorkspaceDescribeOut {
    /// Its slug.
    pub slug: String,
    /// Its display name.
    pub name: String,
    /// pending, partial, ready or error (the control plane provisions on first use).
    pub provision_status: String,
    /// The step the last provisioning run stopped at, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provision_step: Option<String>,
    /// Why it stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provision_error: Option<String>,
    /// Its Coolify project, once provisioned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coolify_project_uuid: Option<String>,
    /// The Coolify environment resources go in.
    pub coolify_environment: String,
    /// Its Gitea org.
    pub gitea_org: String,
    /// Its Gitea bot, once provisioned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gitea_bot: Option<String>,
    /// The base domain.
    pub base_domain: String,
    /// Where application domains live: `*.<slug>.<base>`.
    pub domain_namespace: String,
    /// The display hint of the key in use.
    pub key_hint: String,
}

/// Parameters of `gitea_credentials` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct GiteaCredentialsParams {}

/// The bot's login (seed 003 §5.2).
#[derive(Debug, Serialize, JsonSchema)]
pub struct BotLogin {
    /// Gitea username.
    pub username: String,
    /// Its personal access token: use it for every git clone/push and Gitea API call of
    /// this workspace; never print or commit it.
    pub token: String,
}

/// Where Gitea is and how its URLs look.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GiteaUrls {
    /// The API base (`…/api/v1`).
    pub api_base: String,
    /// Host (with `:port` when not the default).
    pub host: String,
    /// `https://<bot>:{{token}}@<host>/<org>/{{repo}}.git`.
    pub clone_url_template: String,
    /// `git@<host>:<org>/{{repo}}.git`.
    pub ssh_remote_template: String,
    /// `https://<host>/<org>/{{repo}}`.
    pub web_url_template: String,
}

/// The workspace the credentials are for.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsWorkspace {
    /// Slug.
    pub slug: String,
    /// Gitea org.
    pub gitea_org: String,
}

/// The bot's credentials and templates.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GiteaCredentialsOut {
    /// The bot.
    pub bot: BotLogin,
    /// Gitea's URLs.
    pub gitea: GiteaUrls,
    /// The workspace.
    pub workspace: CredentialsWorkspace,
}

/// Parameters of `projects_list` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ProjectsListParams {}

/// A project with a finalized PRD.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProjectSummary {
    /// The project's id (its name).
    pub project_id: String,
    /// Its latest PRD version.
    pub latest_version: u32,
}

/// The workspace's projects.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProjectsListOut {
    /// Projects with a PRD, by name.
    pub projects: Vec<ProjectSummary>,
}

/// Parameters of `projects_get`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ProjectsGetParams {
    /// The project's id, from projects_list.
    #[serde(alias = "projectId")]
    pub project_id: String,
}

/// A project and its latest PRD.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProjectsGetOut {
    /// The project's id.
    pub project_id: String,
    /// The latest PRD version.
    pub version: u32,
    /// Every version.
    pub versions: Vec<u32>,
    /// The PRD text (Markdown), cut at 64 KiB.
    pub prd: String,
    /// True when the text was cut (the platform server's get_prd reads it whole).
    pub truncated: bool,
    /// SHA-256 of the whole text.
    pub sha256: String,
    /// Finalized at, unix ms.
    pub created_at: i64,
}

impl ControlPlaneApi {
    /// Slug, Coolify project, Gitea org, provision status and domain namespace.
    pub async fn workspace_describe(
        &self,
        caller: &Caller,
        _p: WorkspaceDescribeParams,
    ) -> Result<WorkspaceDescribeOut, ApiError> {
        let ws = self.workspace(caller)?;
        let key_hint = match caller.principal() {
            Principal::Workspace(k) => k.hint.clone(),
            Principal::Operator => String::new(),
        };
        let base = &self.inner.settings.base_domain;
        Ok(WorkspaceDescribeOut {
            slug: ws.slug.clone(),
            name: ws.name.clone(),
            provision_status: ws.provision_status.clone(),
            provision_step: ws.provision_step.clone(),
            provision_error: ws.provision_error.clone(),
            coolify_project_uuid: ws.coolify_project_uuid.clone(),
            coolify_environment: ws.coolify_environment_name.clone(),
            gitea_org: ws.gitea_org.clone(),
            gitea_bot: ws.gitea_bot_username.clone(),
            base_domain: base.clone(),
            domain_namespace: format!("*.{}.{base}", ws.slug),
            key_hint,
        })
    }

    /// The bot's username and token, with clone and remote templates (audited: it hands
    /// out a secret).
    pub async fn gitea_credentials(
        &self,
        caller: &Caller,
        _p: GiteaCredentialsParams,
    ) -> Result<GiteaCredentialsOut, ApiError> {
        let result = async {
            let t = self.tenant(caller).await?;
            let url = self.inner.settings.gitea_url.as_deref().ok_or_else(|| {
                ApiError::not_provisioned("GITEA_API_URL is not configured")
                    .with_hint("the operator must set GITEA_API_URL in the MCP client's config")
            })?;
            let endpoints = crate::api::provision::endpoints(url, &t.bot, &t.org)?;
            let login = caller.gitea_login(None).await?;
            Ok(GiteaCredentialsOut {
                bot: BotLogin {
                    username: login.username,
                    token: login.token.expose_secret().to_string(),
                },
                gitea: GiteaUrls {
                    api_base: endpoints.api_base,
                    host: endpoints.host,
                    clone_url_template: endpoints.clone_url_template,
                    ssh_remote_template: endpoints.ssh_remote_template,
                    web_url_template: endpoints.web_url_template,
                },
                workspace: CredentialsWorkspace {
                    slug: t.slug,
                    gitea_org: t.org,
                },
            })
        }
        .await;
        caller.audited("bot token", result).await
    }

    /// The workspace's projects (those with a finalized PRD).
    pub async fn projects_list(
        &self,
        caller: &Caller,
        _p: ProjectsListParams,
    ) -> Result<ProjectsListOut, ApiError> {
        let ws = self.workspace(caller)?;
        let projects = caller
            .store()
            .await?
            .list_prd_projects(&ws.id)
            .await?
            .into_iter()
            .map(|(project_id, latest_version)| ProjectSummary {
                project_id,
                latest_version,
            })
            .collect();
        Ok(ProjectsListOut { projects })
    }

    /// One project and its latest PRD.
    pub async fn projects_get(
        &self,
        caller: &Caller,
        p: ProjectsGetParams,
    ) -> Result<ProjectsGetOut, ApiError> {
        super::limits::check(&p)?;
        let ws = self.workspace(caller)?;
        let store = caller.store().await?;
        let project = p.project_id.trim();
        match store.get_prd(&ws.id, project, None).await? {
            Some((prd, versions)) => {
                let text = super::cut_bytes(&prd.content, MAX_PRD_TEXT);
                Ok(ProjectsGetOut {
                    project_id: prd.project,
                    version: prd.version,
                    versions,
                    truncated: text.len() < prd.content.len(),
                    prd: text.to_string(),
                    sha256: prd.sha256,
                    created_at: prd.created_at,
                })
            }
            None => {
                let known = store.list_prd_projects(&ws.id).await?;
                let hint = if known.is_empty() {
                    "this workspace has no project yet (a project appears when its PRD is \
                     finalized with the platform server's finalize_prd)"
                        .to_string()
                } else {
                    let names: Vec<&str> = known.iter().map(|(n, _)| n.as_str()).collect();
                    format!("projects of this workspace: {}", names.join(", "))
                };
                Err(ApiError::not_found(format!(
                    "no project {} in this workspace",
                    crate::error::quote(project)
                ))
                .with_hint(hint))
            }
        }
    }
}

/// What the control plane's `instructions` add about the pinned workspace — its slug,
/// Gitea org, Coolify project and domain namespace — read once at start from `store`, the
/// local keystore the pinning uses (nothing upstream). `None` without a key that is valid
/// now; every call re-validates the key whatever this said.
pub fn pinned_workspace_note(
    config: &crate::config::ControlPlaneConfig,
    store: &crate::keystore::Store,
) -> Option<String> {
    use secrecy::ExposeSecret;
    let key = config.pin.api_key.as_ref()?;
    let valid = store
        .validate_workspace_key(
            key.expose_secret(),
            config.pin.expected_workspace.as_deref(),
        )
        .ok()??;
    let ws = valid.workspace;
    let base = &config.base_domain;
    Some(format!(
        "This server acts for workspace `{slug}` only: repositories in the Gitea org \
         `{org}`, apps, databases and auth in the Coolify project `vibn-ws-{slug}`, domains \
         only `<name>.{slug}.{base}`. Treat VIBN_API_KEY like a password: never print, log \
         or commit it.",
        slug = ws.slug,
        org = ws.gitea_org,
    ))
}

//! The control plane's logic (seed 003 §3–§9, DESIGN §6): the tenant-safe surface one
//! workspace key unlocks — its apps, databases and auth providers in Coolify, its
//! repositories in Gitea, its PRD projects in the keystore — with every guard.
//!
//! - **Who**: every call acts for the workspace of the key validated for that very call
//!   (`Caller`); without a key every call is 401. Coolify is reached with the operator's
//!   token, so every Coolify resource is checked here to belong to the workspace's
//!   project (`tenancy`) before it is read or changed; Gitea is reached as the
//!   workspace's bot, so Gitea enforces the org boundary as well.
//! - **When not provisioned**: the first call that needs Coolify or the bot provisions
//!   the workspace (`provisioning`), or answers 503 with what failed and the command.
//! - **Rules** (`policy/`): domains in `<label>.<slug>.<base>`, env keys, confirm-by-name
//!   deletes that keep volumes, the database and auth allowlists, patch allowlists, apps
//!   only from the org's repositories, the bot's token never in a result or a log.
//! - **Audit**: every write goes through `Caller::audited`.
//!
//! May import `clients`, `keystore`, `policy`, `config`, `error`, `redact`; never `mcp`.

mod apps;
mod auth;
mod databases;
mod deploys;
mod domain_params;
mod domains;
mod domains_lifecycle;
mod envs;
mod limits;
mod providers;
mod provisioning;
mod registrar;
mod repos;
mod storage;
mod tenancy;
mod workspace;

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::api::caller::Caller;
use crate::clients::coolify::{CoolifyClient, Target};
use crate::clients::gitea::GiteaClient;
use crate::config::ControlPlaneConfig;
use crate::error::{ApiError, quote};
use crate::keystore::{ProvisionStatus, Workspace};

pub use apps::*;
pub use auth::*;
pub use databases::*;
pub use deploys::*;
pub use domain_params::*;
pub use domains::*;
pub use domains_lifecycle::*;
pub use envs::*;
pub use providers::Providers;
pub use repos::*;
pub use storage::*;
pub use tenancy::Kind;
pub use workspace::*;

/// The control-plane API: cheap to clone, shared by every call of one server.
#[derive(Clone)]
pub struct ControlPlaneApi {
    inner: Arc<Inner>,
    /// The domain and storage providers (none unless configured).
    providers: Arc<Providers>,
}

struct Inner {
    /// The operator's Coolify.
    coolify: Option<CoolifyClient>,
    /// Gitea's API (with the operator's token when configured; bot calls swap theirs in).
    gitea: Option<GiteaClient>,
    /// The operator's Gitea login, when `gitea` carries an admin token (lazy provisioning).
    operator: Option<String>,
    settings: Settings,
    scopes: tenancy::ScopeCache,
    deployments: tenancy::KnownDeployments,
    /// One lazy provisioning run at a time in this process (runs across processes are
    /// kept apart by the workspace row's lease).
    provision_lock: tokio::sync::Mutex<()>,
}

/// What the control plane needs besides its clients.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Gitea's base URL as agents reach it (`GITEA_API_URL`), for `gitea_credentials`.
    pub gitea_url: Option<String>,
    /// `COOLIFY_SERVER_UUID`, used when provisioning lazily.
    pub server_uuid: Option<String>,
    /// The base domain of workspace namespaces (`VIBN_BASE_DOMAIN`, checked).
    pub base_domain: String,
    /// How long a project's environment ids are trusted (0: read them on every call).
    pub scope_ttl: Duration,
}

/// Where one workspace's resources are: everything a call needs once provisioned.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The workspace's slug.
    pub slug: String,
    /// Its Gitea org.
    pub org: String,
    /// Its Gitea bot.
    pub bot: String,
    /// Its Coolify project.
    pub project_uuid: String,
    /// The Coolify server its resources are created on.
    pub server_uuid: String,
    /// The Coolify environment (by name) resources are created in.
    pub environment: String,
}

impl Tenant {
    /// The tenant of a fully provisioned workspace row, `None` otherwise.
    pub fn of(ws: &Workspace) -> Option<Tenant> {
        if ws.provision_status != ProvisionStatus::Ready.as_str() || !ws.has_bot_token {
            return None;
        }
        Some(Tenant {
            slug: ws.slug.clone(),
            org: ws.gitea_org.clone(),
            bot: ws.gitea_bot_username.clone()?,
            project_uuid: ws.coolify_project_uuid.clone()?,
            server_uuid: ws.coolify_server_uuid.clone()?,
            environment: ws.coolify_environment_name.clone(),
        })
    }

    /// Where a new resource of this workspace goes.
    fn target(&self) -> Target {
        Target {
            project_uuid: self.project_uuid.clone(),
            server_uuid: self.server_uuid.clone(),
            environment_name: self.environment.clone(),
            destination_uuid: None,
        }
    }

    /// The Coolify name of a resource labelled `label`: `<slug>-<label>`.
    fn coolify_name(&self, label: &str) -> String {
        format!("{}-{label}", self.slug)
    }

    /// The label of a Coolify name of this workspace (the name without `<slug>-`).
    fn label_of<'a>(&self, name: &'a str) -> &'a str {
        name.strip_prefix(&format!("{}-", self.slug))
            .filter(|l| !l.is_empty())
            .unwrap_or(name)
    }
}

impl ControlPlaneApi {
    /// An API over the configured upstreams (nothing is contacted yet).
    pub fn new(config: ControlPlaneConfig) -> Self {
        let coolify = config
            .coolify
            .as_ref()
            .map(|c| CoolifyClient::new(&c.base_url, c.token.clone(), config.http.clone()));
        let (gitea, operator) = match (&config.gitea_operator, &config.gitea_url) {
            (Some(op), _) => (
                Some(GiteaClient::new(
                    &op.base_url,
                    op.token.clone(),
                    config.http.clone(),
                )),
                Some(op.username.clone()),
            ),
            (None, Some(url)) => (
                Some(GiteaClient::new(
                    url,
                    SecretString::from(String::new()),
                    config.http.clone(),
                )),
                None,
            ),
            (None, None) => (None, None),
        };
        Self::with_clients(
            coolify,
            gitea,
            operator,
            Settings {
                gitea_url: config.gitea_url.clone(),
                server_uuid: config.server_uuid.clone(),
                base_domain: config.base_domain.clone(),
                scope_ttl: config.scope_ttl,
            },
        )
        .with_providers(Providers::from_config(&config.providers, &config.http))
    }

    /// The same API with these domain and storage providers.
    pub fn with_providers(mut self, providers: Providers) -> Self {
        self.providers = Arc::new(providers);
        self
    }

    /// An API over explicit clients (tests point them at the stand-ins). `gitea` carries
    /// the operator's admin token when `operator` names its user (then a workspace that is
    /// not provisioned is provisioned on first use).
    pub fn with_clients(
        coolify: Option<CoolifyClient>,
        gitea: Option<GiteaClient>,
        operator: Option<String>,
        settings: Settings,
    ) -> Self {
        ControlPlaneApi {
            inner: Arc::new(Inner {
                coolify,
                gitea,
                operator,
                scopes: tenancy::ScopeCache::new(settings.scope_ttl),
                deployments: tenancy::KnownDeployments::default(),
                settings,
                provision_lock: tokio::sync::Mutex::new(()),
            }),
            providers: Arc::new(Providers::none()),
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    fn coolify(&self) -> Result<&CoolifyClient, ApiError> {
        self.inner.coolify.as_ref().ok_or_else(|| {
            ApiError::not_provisioned("Coolify is not configured for the control plane").with_hint(
                "the operator must set COOLIFY_API_URL and COOLIFY_API_TOKEN in the MCP \
                     client's config",
            )
        })
    }

    fn gitea_base(&self) -> Result<&GiteaClient, ApiError> {
        self.inner.gitea.as_ref().ok_or_else(|| {
            ApiError::not_provisioned("Gitea is not configured for the control plane")
                .with_hint("the operator must set GITEA_API_URL in the MCP client's config")
        })
    }

    /// Gitea as the workspace's bot (its token unsealed now, so a rotated token is used
    /// at once).
    async fn gitea_as_bot(&self, caller: &Caller) -> Result<GiteaClient, ApiError> {
        let base = self.gitea_base()?;
        Ok(base.with_token(caller.gitea_login(None).await?.token))
    }

    /// The workspace this call acts for (401 without a key: the control plane is always
    /// pinned).
    fn workspace<'c>(&self, caller: &'c Caller) -> Result<&'c Workspace, ApiError> {
        caller.workspace().ok_or_else(|| {
            ApiError::unauthorized(
                "the control plane acts for one workspace and no workspace key is configured",
            )
            .with_hint(
                "ask the user for a workspace key (vibn keys mint --workspace <slug> --name \
                 <label>) and set it as VIBN_API_KEY in the MCP client's config",
            )
        })
    }

    /// The provisioned tenant of this call: provisioned now if it is not yet (503 with
    /// the reason and the command when that cannot be done).
    pub async fn tenant(&self, caller: &Caller) -> Result<Tenant, ApiError> {
        let ws = self.workspace(caller)?;
        match Tenant::of(ws) {
            Some(tenant) => Ok(tenant),
            None => self.provision_lazily(caller, ws).await,
        }
    }
}

/// Refuse a string that cannot be a Coolify uuid before it reaches a URL (400).
fn check_uuid(kind: Kind, uuid: &str) -> Result<(), ApiError> {
    let ok = !uuid.is_empty()
        && uuid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(
            ApiError::bad_request(format!("{} is not {} uuid", quote(uuid), kind.article()))
                .with_hint(format!(
                    "call {} for the uuids you can use",
                    kind.list_tool()
                )),
        )
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The host names in a Coolify `fqdn` (comma-separated URLs): scheme, port and path
/// dropped, lowered, empty entries skipped.
fn hosts_of(fqdn: Option<&str>) -> Vec<String> {
    fqdn.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| {
            let rest = u.split_once("://").map_or(u, |(_, r)| r);
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            host.split(':')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
        .filter(|h| !h.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_coolify_fqdn_lists() {
        assert_eq!(
            hosts_of(Some(
                "https://a.mark.vibnai.com, http://B.mark.vibnai.com:8080/x,,https://u@c.x"
            )),
            vec!["a.mark.vibnai.com", "b.mark.vibnai.com", "c.x"]
        );
        assert!(hosts_of(None).is_empty());
        assert!(hosts_of(Some("")).is_empty());
    }

    fn workspace(status: &str) -> Workspace {
        Workspace {
            id: "ws_1".into(),
            slug: "mark".into(),
            name: "Mark".into(),
            owner_email: "mark@example.com".into(),
            gitea_org: "vibn-mark".into(),
            gitea_bot_username: Some("vibn-bot-mark".into()),
            has_bot_token: true,
            coolify_project_uuid: Some("p1".into()),
            coolify_environment_name: "production".into(),
            provision_status: status.into(),
            provision_error: None,
            provision_step: None,
            coolify_server_uuid: Some("s1".into()),
            provisioned_at: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn only_a_ready_workspace_with_every_piece_is_a_tenant() {
        let t = Tenant::of(&workspace("ready")).unwrap();
        assert_eq!(t.coolify_name("my-site"), "mark-my-site");
        assert_eq!(t.label_of("mark-my-site"), "my-site");
        assert_eq!(t.label_of("other-app"), "other-app");
        assert_eq!(t.label_of("mark-"), "mark-");
        for status in ["pending", "partial", "error"] {
            assert!(Tenant::of(&workspace(status)).is_none(), "{status}");
        }
        let mut ws = workspace("ready");
        ws.coolify_server_uuid = None;
        assert!(Tenant::of(&ws).is_none(), "no server");
        let mut ws = workspace("ready");
        ws.has_bot_token = false;
        assert!(Tenant::of(&ws).is_none(), "no bot token");
    }

    #[test]
    fn uuids_are_checked_before_they_reach_a_url() {
        for bad in ["", "../x", "a/b", "a b", "a?b", "a%2f", "é"] {
            assert_eq!(
                check_uuid(Kind::Application, bad).unwrap_err().status(),
                400,
                "{bad:?}"
            );
        }
        assert!(check_uuid(Kind::Database, "k8s0w4cgw4g8c0kkg0sss0ow").is_ok());
    }
}

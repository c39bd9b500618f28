//! What an agent needs to work in the workspace's Gitea as its bot (seed 003 §5.2): the
//! bot's username and token, the API base, the host, and templates for HTTPS clone
//! URLs, SSH remotes and web pages of the org's repositories. The token is included only
//! when asked for; templates never contain it (`{{token}}` is a placeholder).

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::{Serialize, Serializer};

use crate::clients::gitea::split_base;
use crate::error::ApiError;
use crate::keystore::{Keyring, Store};

/// The bot's credentials and where to use them.
#[derive(Debug, Clone, Serialize)]
pub struct Credentials {
    /// The bot.
    pub bot: BotCredentials,
    /// Where Gitea is and how its URLs look.
    pub gitea: GiteaEndpoints,
    /// The workspace.
    pub workspace: WorkspaceRef,
}

/// The bot's username and, when asked for, its token.
#[derive(Clone, Serialize)]
pub struct BotCredentials {
    /// Gitea username.
    pub username: String,
    /// The token (only with `--show-secret`; `null` otherwise).
    #[serde(serialize_with = "expose")]
    pub token: Option<SecretString>,
}

impl std::fmt::Debug for BotCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotCredentials")
            .field("username", &self.username)
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

fn expose<S: Serializer>(token: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match token {
        Some(t) => s.serialize_str(t.expose_secret()),
        None => s.serialize_none(),
    }
}

/// Gitea's API base, host and URL templates (`{{repo}}`, `{{token}}` placeholders).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GiteaEndpoints {
    /// `https://git.example.com/api/v1`.
    pub api_base: String,
    /// `git.example.com` (with `:port` when not the default).
    pub host: String,
    /// `https://<bot>:{{token}}@<host>/<org>/{{repo}}.git`.
    pub clone_url_template: String,
    /// `git@<host>:<org>/{{repo}}.git` (the SSH host, without the HTTP port).
    pub ssh_remote_template: String,
    /// `https://<host>/<org>/{{repo}}`.
    pub web_url_template: String,
}

/// The workspace these credentials are for.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceRef {
    /// Its slug.
    pub slug: String,
    /// Its Gitea org.
    pub gitea_org: String,
}

/// The credentials of workspace `slug` against the Gitea at `gitea_url` (with or
/// without `/api/v1`); the token is unsealed with `ring` only when `show_secret`.
/// 503 with the command to run when the workspace has no bot token yet.
pub fn credentials(
    store: &Store,
    slug: &str,
    gitea_url: &str,
    show_secret: bool,
    ring: Option<&Keyring>,
) -> Result<Credentials, ApiError> {
    let workspace = store.require_workspace(slug)?;
    let bot = match (&workspace.gitea_bot_username, workspace.has_bot_token) {
        (Some(bot), true) => bot.clone(),
        _ => {
            return Err(ApiError::not_provisioned(format!(
                "workspace {slug} has no bot token yet (provision status {})",
                workspace.provision_status
            ))
            .with_hint(format!("run `vibn workspace provision {slug}`")));
        }
    };
    let token = if show_secret {
        let ring = ring.ok_or_else(|| {
            ApiError::not_provisioned(crate::keystore::SecretError::MissingKey.to_string())
        })?;
        Some(store.bot_token(slug, ring)?.ok_or_else(|| {
            ApiError::not_provisioned(format!("workspace {slug} has no bot token"))
        })?)
    } else {
        None
    };
    Ok(Credentials {
        gitea: endpoints(gitea_url, &bot, &workspace.gitea_org)?,
        bot: BotCredentials {
            username: bot,
            token,
        },
        workspace: WorkspaceRef {
            slug: workspace.slug,
            gitea_org: workspace.gitea_org,
        },
    })
}

/// Gitea's API base, host and the URL templates of `org`'s repositories for `bot`,
/// against the Gitea at `gitea_url` (with or without `/api/v1`).
pub fn endpoints(gitea_url: &str, bot: &str, org: &str) -> Result<GiteaEndpoints, ApiError> {
    let (api_base, web_base) = split_base(gitea_url);
    let web = Url::parse(&web_base)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| {
            ApiError::bad_request(format!("GITEA_API_URL {web_base:?} is not an http(s) URL"))
        })?;
    let hostname = web.host_str().unwrap_or_default().to_string();
    let host = match web.port() {
        Some(port) => format!("{hostname}:{port}"),
        None => hostname.clone(),
    };
    let path = web.path().trim_end_matches('/');
    let scheme = web.scheme();
    Ok(GiteaEndpoints {
        api_base,
        clone_url_template: format!(
            "{scheme}://{bot}:{{{{token}}}}@{host}{path}/{org}/{{{{repo}}}}.git"
        ),
        ssh_remote_template: format!("git@{hostname}:{org}/{{{{repo}}}}.git"),
        web_url_template: format!("{scheme}://{host}{path}/{org}/{{{{repo}}}}"),
        host,
    })
}

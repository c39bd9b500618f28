//! Configuration of the control-plane server: the operator's Gitea (its URL for the
//! bot's calls; with the operator's admin user and token, lazy provisioning) and Coolify
//! (every Coolify call, tenant-checked by vibn), the Coolify server new workspaces use,
//! the base domain of the workspace namespaces, and the pin (`VIBN_API_KEY`, without
//! which every call is refused). No network, no keystore here.

use std::time::Duration;

use secrecy::SecretString;

use super::{ConfigError, GiteaCredentials, PinConfig, http_url, read_env};
use crate::args::ControlPlaneArgs;
use crate::clients::http::HttpConfig;
use crate::env_vars as env_names;

use super::servers::CoolifyCredentials;

/// How long the environment ids of a workspace's Coolify project are trusted before the
/// project is read again (a miss refetches at once, whatever the age).
pub const SCOPE_TTL: Duration = Duration::from_secs(30);

/// Configuration of `vibn mcp control-plane`.
#[derive(Debug, Clone)]
pub struct ControlPlaneConfig {
    /// Gitea's base URL (`GITEA_API_URL`), where the workspace's bot works.
    pub gitea_url: Option<String>,
    /// The operator's Gitea admin credentials (for lazy provisioning), when all are set.
    pub gitea_operator: Option<GiteaCredentials>,
    /// The operator's Coolify.
    pub coolify: Option<CoolifyCredentials>,
    /// `COOLIFY_SERVER_UUID`, used when provisioning.
    pub server_uuid: Option<String>,
    /// The base domain (`VIBN_BASE_DOMAIN`), lowered and checked.
    pub base_domain: String,
    /// The pin: the workspace key, the keystore and the secrets key.
    pub pin: PinConfig,
    /// Timeouts and retries.
    pub http: HttpConfig,
    /// How long a project's environment ids are cached.
    pub scope_ttl: Duration,
    /// The domain and storage providers.
    pub providers: super::ProvidersConfig,
}

impl ControlPlaneConfig {
    /// Resolve the control plane's flags and environment.
    pub fn resolve(args: &ControlPlaneArgs) -> Result<Self, ConfigError> {
        let non_empty =
            |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let flags = &args.upstream;
        let url = non_empty(flags.gitea.gitea_url.clone());
        let username = non_empty(flags.gitea.gitea_username.clone());
        let token = non_empty(read_env(env_names::GITEA_API_TOKEN));
        let gitea_operator = match (&url, &username, &token) {
            (_, None, None) => None,
            _ => GiteaCredentials::from_parts(url.clone(), username, token)?,
        };
        let gitea_url = url
            .map(|u| http_url(env_names::GITEA_API_URL, &u))
            .transpose()?;
        let coolify_url = non_empty(flags.coolify_url.clone());
        let coolify_token = non_empty(read_env(env_names::COOLIFY_API_TOKEN));
        let coolify = match (coolify_url, coolify_token) {
            (None, None) => None,
            (Some(url), Some(token)) => Some(CoolifyCredentials {
                base_url: http_url(env_names::COOLIFY_API_URL, &url)?,
                token: SecretString::from(token),
            }),
            _ => {
                return Err(ConfigError::Incomplete {
                    vars: &[env_names::COOLIFY_API_URL, env_names::COOLIFY_API_TOKEN],
                });
            }
        };
        let base_domain =
            crate::policy::domain::check_base(args.base_domain.trim()).map_err(|reason| {
                ConfigError::BadValue {
                    var: env_names::VIBN_BASE_DOMAIN,
                    value: crate::error::cut(&args.base_domain, 100).into_owned(),
                    reason,
                }
            })?;
        Ok(ControlPlaneConfig {
            gitea_url,
            gitea_operator,
            coolify,
            server_uuid: non_empty(flags.coolify_server.clone()),
            base_domain,
            pin: PinConfig::resolve(&args.common)?,
            http: HttpConfig::default(),
            scope_ttl: SCOPE_TTL,
            providers: super::ProvidersConfig::resolve()?,
        })
    }
}

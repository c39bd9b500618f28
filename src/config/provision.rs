//! Configuration of the provisioning commands (`vibn workspace provision`, `create
//! --provision`, `rotate-bot-token`, `credentials`): the operator's Gitea (an admin
//! token) and Coolify credentials, the Coolify server, and the secrets key. A missing
//! setting is named in the error, all of them at once.

use secrecy::SecretString;

use super::{ConfigError, GiteaCredentials, http_url, keyring, read_env};
use crate::args::{GiteaFlags, UpstreamFlags};
use crate::clients::http::HttpConfig;
use crate::env_vars as env_names;
use crate::keystore::Keyring;

use super::servers::CoolifyCredentials;

/// What provisioning acts with.
#[derive(Debug)]
pub struct ProvisionConfig {
    /// The operator's Gitea: base URL, user and admin token.
    pub gitea: GiteaCredentials,
    /// The operator's Coolify.
    pub coolify: CoolifyCredentials,
    /// `COOLIFY_SERVER_UUID`, when set.
    pub server_uuid: Option<String>,
    /// Seals the bot token.
    pub keyring: Keyring,
    /// Timeouts and retries.
    pub http: HttpConfig,
}

fn present(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.trim().is_empty())
}

impl ProvisionConfig {
    /// Resolve the flags and environment; every missing setting is named.
    pub fn resolve(flags: &UpstreamFlags) -> Result<ProvisionConfig, ConfigError> {
        let gitea_token = read_env(env_names::GITEA_API_TOKEN);
        let coolify_token = read_env(env_names::COOLIFY_API_TOKEN);
        let secrets_key = read_env(env_names::VIBN_SECRETS_KEY);
        let wanted = [
            (env_names::GITEA_API_URL, present(&flags.gitea.gitea_url)),
            (
                env_names::GITEA_USERNAME,
                present(&flags.gitea.gitea_username),
            ),
            (env_names::GITEA_API_TOKEN, present(&gitea_token)),
            (env_names::COOLIFY_API_URL, present(&flags.coolify_url)),
            (env_names::COOLIFY_API_TOKEN, present(&coolify_token)),
            (env_names::VIBN_SECRETS_KEY, present(&secrets_key)),
        ];
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|(_, set)| !set)
            .map(|(name, _)| *name)
            .collect();
        if !missing.is_empty() {
            return Err(ConfigError::Missing {
                what: "provisioning (with the operator's credentials)",
                vars: missing,
                note: Some(
                    "GITEA_API_TOKEN is a Gitea site-admin token; VIBN_SECRETS_KEY comes from \
                     `vibn secrets gen-key`",
                ),
            });
        }
        let gitea = GiteaCredentials::from_parts(
            flags.gitea.gitea_url.clone(),
            flags.gitea.gitea_username.clone(),
            gitea_token,
        )?
        .ok_or_else(|| ConfigError::Missing {
            what: "provisioning",
            vars: vec![env_names::GITEA_API_URL],
            note: None,
        })?;
        let coolify_url = http_url(
            env_names::COOLIFY_API_URL,
            &flags.coolify_url.clone().unwrap_or_default(),
        )?;
        let keyring = keyring()?.ok_or_else(|| ConfigError::Missing {
            what: "provisioning",
            vars: vec![env_names::VIBN_SECRETS_KEY],
            note: Some("make one with `vibn secrets gen-key`"),
        })?;
        Ok(ProvisionConfig {
            gitea,
            coolify: CoolifyCredentials {
                base_url: coolify_url,
                token: SecretString::from(coolify_token.unwrap_or_default().trim().to_string()),
            },
            server_uuid: flags
                .coolify_server
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            keyring,
            http: HttpConfig::default(),
        })
    }
}

/// The Gitea base URL `vibn workspace credentials` describes (`GITEA_API_URL`).
pub fn gitea_url(flags: &GiteaFlags) -> Result<String, ConfigError> {
    flags
        .gitea_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| u.trim_end_matches('/').to_string())
        .ok_or_else(|| ConfigError::Missing {
            what: "the bot's credentials",
            vars: vec![env_names::GITEA_API_URL],
            note: Some("or --gitea-url: the Gitea the bot uses"),
        })
}

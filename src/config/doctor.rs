//! Configuration of `vibn doctor`, resolved leniently: where a server would refuse to
//! start, the doctor keeps the reason to report as a failed check and goes on, so one
//! run names every problem at once.

use std::path::PathBuf;

use secrecy::SecretString;

use super::{SearchProvider, http_url, keyring, keystore_path, read_env};
use crate::args::DoctorArgs;
use crate::clients::http::HttpConfig;
use crate::env_vars as env_names;
use crate::keystore::Keyring;

/// A setting as the doctor found it.
#[derive(Debug, Clone)]
pub enum Setting<T> {
    /// Not set: the check is skipped, saying what would enable it.
    Unset,
    /// Set and usable.
    Set(T),
    /// Set but unusable: why.
    Invalid(String),
}

/// An upstream's address and, when set, the token to act with.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Its base URL.
    pub url: String,
    /// The username the token should belong to (Gitea).
    pub username: Option<String>,
    /// The token, when set.
    pub token: Option<SecretString>,
}

/// What `vibn doctor` checks.
#[derive(Debug)]
pub struct DoctorConfig {
    /// The keystore (file or `postgres://` URL), and whether it was named explicitly
    /// (`VIBN_KEYSTORE`).
    pub keystore: Setting<(PathBuf, bool)>,
    /// The secrets key (with the previous one during a rotation).
    pub secrets: Setting<Keyring>,
    /// The operator's Gitea.
    pub gitea: Setting<Upstream>,
    /// The operator's Coolify.
    pub coolify: Setting<Upstream>,
    /// `COOLIFY_SERVER_UUID`, when set.
    pub coolify_server: Option<String>,
    /// The agent runner.
    pub runner: Setting<Upstream>,
    /// The web search provider.
    pub search: Setting<SearchProvider>,
    /// The sandbox helper (this binary) when commands are to be sandboxed; `None` when
    /// `VIBN_EXEC_SANDBOX` is `off`.
    pub sandbox: Option<PathBuf>,
    /// Timeouts for the probes (short, no retries: a diagnosis should not hang).
    pub http: HttpConfig,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn token(var: &str) -> Option<SecretString> {
    non_empty(read_env(var)).map(SecretString::from)
}

fn upstream(
    var: &'static str,
    url: Option<String>,
    username: Option<String>,
    token_var: &str,
) -> Setting<Upstream> {
    match non_empty(url) {
        None => Setting::Unset,
        Some(url) => match http_url(var, &url) {
            Ok(url) => Setting::Set(Upstream {
                url,
                username: non_empty(username),
                token: token(token_var),
            }),
            Err(e) => Setting::Invalid(e.to_string()),
        },
    }
}

impl DoctorConfig {
    /// Resolve `vibn doctor`'s flags and environment; nothing here fails.
    pub fn resolve(args: &DoctorArgs) -> DoctorConfig {
        let keystore = match keystore_path(args.keystore.as_deref()) {
            Ok(path) => Setting::Set((path, args.keystore.is_some())),
            Err(e) => Setting::Invalid(e.to_string()),
        };
        let secrets = match keyring() {
            Ok(Some(ring)) => Setting::Set(ring),
            Ok(None) => Setting::Unset,
            Err(e) => Setting::Invalid(e.to_string()),
        };
        let search = match (
            non_empty(args.searxng_url.clone()),
            token(env_names::BRAVE_API_KEY),
        ) {
            (Some(url), _) => match http_url(env_names::VIBN_SEARXNG_URL, &url) {
                Ok(url) => Setting::Set(SearchProvider::Searxng { url }),
                Err(e) => Setting::Invalid(e.to_string()),
            },
            (None, Some(key)) => {
                let url = non_empty(read_env(env_names::BRAVE_API_URL))
                    .unwrap_or_else(|| crate::clients::search::BRAVE_API_URL.to_string());
                match http_url(env_names::BRAVE_API_URL, &url) {
                    Ok(url) => Setting::Set(SearchProvider::Brave { url, key }),
                    Err(e) => Setting::Invalid(e.to_string()),
                }
            }
            (None, None) => Setting::Unset,
        };
        DoctorConfig {
            keystore,
            secrets,
            gitea: upstream(
                env_names::GITEA_API_URL,
                args.upstream.gitea.gitea_url.clone(),
                args.upstream.gitea.gitea_username.clone(),
                env_names::GITEA_API_TOKEN,
            ),
            coolify: upstream(
                env_names::COOLIFY_API_URL,
                args.upstream.coolify_url.clone(),
                None,
                env_names::COOLIFY_API_TOKEN,
            ),
            coolify_server: non_empty(args.upstream.coolify_server.clone()),
            runner: upstream(
                env_names::AGENT_RUNNER_URL,
                args.runner_url.clone(),
                None,
                env_names::AGENT_RUNNER_TOKEN,
            ),
            search,
            sandbox: (args.exec_sandbox != "off").then(|| PathBuf::from("/proc/self/exe")),
            http: HttpConfig {
                connect_timeout: std::time::Duration::from_secs(5),
                timeout: std::time::Duration::from_secs(10),
                retries: 0,
                backoff: std::time::Duration::from_millis(100),
            },
        }
    }
}

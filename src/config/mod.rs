//! Typed configuration per server, resolved from the parsed flags and the environment.
//!
//! This is the one place that reads environment variables (`env_names` lists them all)
//! and the one place secrets enter the process, as `SecretString`. Resolution does no
//! network I/O and opens nothing but what it validates (the workspace root).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::args::{CommonArgs, GiteaFlags};
use crate::env_vars as env_names;
use crate::keystore::{Keyring, SecretError, SecretKey};
use crate::policy::PolicyError;
use crate::policy::protected::ProtectedList;

mod control_plane;
mod doctor;
mod providers;
mod provision;
mod servers;

pub use control_plane::{ControlPlaneConfig, SCOPE_TTL};
pub use doctor::{DoctorConfig, Setting, Upstream};
pub use providers::{DEFAULT_STORAGE_LOCATION, GoogleSettings, OpenSrsSettings, ProvidersConfig};
pub use provision::{ProvisionConfig, gitea_url};
pub use servers::{
    AgentServerConfig, CoolifyCredentials, CoolifyServerConfig, GitLimits, GiteaServerConfig,
    PlatformServerConfig, SearchProvider, WorkspaceConfig,
};

/// A configuration that cannot be used; `main` prints it and exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No workspace root was given.
    #[error("no workspace root: pass --root DIR or set WORKSPACE_ROOT")]
    MissingRoot,
    /// The workspace root does not exist or is not a directory.
    #[error("workspace root {path} is not a directory: {reason}")]
    BadRoot { path: PathBuf, reason: String },
    /// A policy setting could not be parsed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A URL setting that is not an http(s) URL.
    #[error("{var} {value:?} is not an http(s) URL")]
    BadUrl { var: &'static str, value: String },
    /// Settings that only work together, given in part.
    #[error("{} only work together: set all of them, or none", vars.join(", "))]
    Incomplete { vars: &'static [&'static str] },
    /// No keystore location could be determined.
    #[error("no keystore location: set VIBN_KEYSTORE (or XDG_DATA_HOME / HOME)")]
    NoKeystorePath,
    /// A secrets key is malformed.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A folder given to `--exec-writable` cannot be used.
    #[error("--exec-writable {path}: {reason}")]
    BadExecWritable { path: PathBuf, reason: String },
    /// A setting whose value cannot be used.
    #[error("{var} {value:?} cannot be used: {reason}")]
    BadValue {
        var: &'static str,
        value: String,
        reason: String,
    },
    /// A workspace slug flag that is not a slug.
    #[error("{flag} {value:?} is not a workspace slug")]
    BadSlug { flag: &'static str, value: String },
    /// Settings a command needs are not set.
    #[error("{what} needs {}; set {}{}", vars.join(", "),
            if vars.len() == 1 { "it" } else { "them" },
            note.map(|n| format!(" ({n})")).unwrap_or_default())]
    Missing {
        what: &'static str,
        vars: Vec<&'static str>,
        note: Option<&'static str>,
    },
}

/// `value` of the setting `var` as an http(s) base URL: trimmed, without a trailing
/// slash. The one check every URL setting goes through.
pub fn http_url(var: &'static str, value: &str) -> Result<String, ConfigError> {
    let url = value.trim().trim_end_matches('/').to_string();
    if crate::policy::git_remote::http_host(&url).is_none() {
        return Err(ConfigError::BadUrl {
            var,
            value: crate::error::cut(value, 200).into_owned(),
        });
    }
    Ok(url)
}

/// Which tools a server exposes (applied once, before serving).
#[derive(Debug, Clone, Default)]
pub struct ToolFilter {
    /// Remove every tool that is not annotated read-only.
    pub read_only: bool,
    /// When non-empty, keep only these tools.
    pub only: Vec<String>,
    /// Remove these tools.
    pub exclude: Vec<String>,
}

impl ToolFilter {
    /// The filter the shared flags ask for.
    pub fn from_args(args: &CommonArgs) -> Self {
        ToolFilter {
            read_only: args.read_only,
            only: clean_names(&args.tools),
            exclude: clean_names(&args.exclude_tools),
        }
    }
}

fn clean_names(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

/// Credentials for Gitea: base URL, user and token.
#[derive(Debug, Clone)]
pub struct GiteaCredentials {
    /// Base URL as configured, without a trailing slash.
    pub base_url: String,
    /// The user the token belongs to.
    pub username: String,
    /// The access token.
    pub token: SecretString,
}

impl GiteaCredentials {
    /// The web root (the base URL without a trailing `/api/v1`): where repositories are
    /// served over git's smart HTTP.
    pub fn web_url(&self) -> &str {
        let url = self.base_url.as_str();
        match url.len().checked_sub(7) {
            Some(at) if url.is_char_boundary(at) && url[at..].eq_ignore_ascii_case("/api/v1") => {
                &url[..at]
            }
            _ => url,
        }
    }

    /// Build credentials from their three parts; all or none must be set.
    pub fn from_parts(
        url: Option<String>,
        username: Option<String>,
        token: Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        match (present(&url), present(&username), present(&token)) {
            (false, false, false) => Ok(None),
            (true, true, true) => {
                let base_url = http_url(env_names::GITEA_API_URL, &url.unwrap_or_default())?;
                Ok(Some(GiteaCredentials {
                    base_url,
                    username: username.unwrap_or_default().trim().to_string(),
                    token: SecretString::from(token.unwrap_or_default().trim().to_string()),
                }))
            }
            _ => Err(ConfigError::Incomplete {
                vars: &[
                    env_names::GITEA_API_URL,
                    env_names::GITEA_USERNAME,
                    env_names::GITEA_API_TOKEN,
                ],
            }),
        }
    }
}

/// How a server is pinned to a workspace, and where the keystore is.
#[derive(Debug, Clone, Default)]
pub struct PinConfig {
    /// The workspace key; `None` = operator mode.
    pub api_key: Option<SecretString>,
    /// The slug the key must belong to, if given.
    pub expected_workspace: Option<String>,
    /// The keystore (a SQLite file, or a `postgres://` URL): set when pinned or when
    /// configured explicitly.
    pub keystore: Option<PathBuf>,
    /// The key the workspace bot's token is sealed with (`VIBN_SECRETS_KEY`), when set.
    pub keyring: Option<std::sync::Arc<Keyring>>,
}

/// How a server reaches Gitea: where it is, and — in operator mode only — as whom. A
/// pinned server ignores the operator's user and token and acts as its workspace's bot.
#[derive(Debug, Clone, Default)]
pub struct GiteaConfig {
    /// The base URL (`GITEA_API_URL`), when set.
    pub url: Option<String>,
    /// The operator's user and token (operator mode).
    pub operator: Option<GiteaCredentials>,
}

impl From<Option<GiteaCredentials>> for GiteaConfig {
    fn from(operator: Option<GiteaCredentials>) -> Self {
        operator.map(GiteaConfig::operator).unwrap_or_default()
    }
}

impl GiteaConfig {
    /// Resolve `--gitea-url`/`GITEA_API_URL`, `GITEA_USERNAME`, `GITEA_API_TOKEN`. Pinned,
    /// only the URL counts (the operator's credentials are ignored even when set).
    pub fn resolve(flags: &GiteaFlags, pinned: bool) -> Result<Self, ConfigError> {
        if pinned {
            let url = flags
                .gitea_url
                .as_deref()
                .filter(|u| !u.trim().is_empty())
                .map(|u| http_url(env_names::GITEA_API_URL, u))
                .transpose()?;
            return Ok(GiteaConfig {
                url,
                operator: None,
            });
        }
        let operator = GiteaCredentials::resolve(flags)?;
        Ok(GiteaConfig {
            url: operator.as_ref().map(|c| c.base_url.clone()),
            operator,
        })
    }

    /// Operator mode with `credentials`.
    pub fn operator(credentials: GiteaCredentials) -> Self {
        GiteaConfig {
            url: Some(credentials.base_url.clone()),
            operator: Some(credentials),
        }
    }

    /// The base URL and user of the operator, when configured.
    pub fn operator_credentials(&self) -> Option<&GiteaCredentials> {
        self.operator.as_ref()
    }

    /// A pinned server's: the URL only.
    pub fn url_only(url: &str) -> Self {
        GiteaConfig {
            url: Some(url.trim_end_matches('/').to_string()),
            operator: None,
        }
    }
}

impl PinConfig {
    /// Resolve `--api-key`/`VIBN_API_KEY`, `--workspace`, `--keystore`.
    pub fn resolve(args: &CommonArgs) -> Result<Self, ConfigError> {
        let api_key = args
            .api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| SecretString::from(k.to_string()));
        let expected_workspace = args
            .workspace
            .as_deref()
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(String::from);
        if let Some(slug) = &expected_workspace
            && !crate::policy::naming::is_valid_slug(slug)
        {
            return Err(ConfigError::BadSlug {
                flag: "--workspace",
                value: crate::error::cut(slug, 100).into_owned(),
            });
        }
        let keystore = match (&args.keystore, &api_key) {
            (Some(path), _) => Some(path.clone()),
            (None, Some(_)) => Some(default_keystore_path()?),
            (None, None) => None,
        };
        let keyring = if api_key.is_some() {
            keyring()?.map(std::sync::Arc::new)
        } else {
            None
        };
        Ok(PinConfig {
            api_key,
            expected_workspace,
            keystore,
            keyring,
        })
    }
}

/// `--keystore`, else `$VIBN_KEYSTORE` (clap reads it), else the default data path. A
/// `postgres://` or `postgresql://` value travels as this path too; `Store::open` and
/// every other opener read it as a URL (`keystore::Location`).
pub fn keystore_path(explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    match explicit {
        Some(path) => Ok(path.to_path_buf()),
        None => default_keystore_path(),
    }
}

/// `$XDG_DATA_HOME/vibn/keystore.db`, else `~/.local/share/vibn/keystore.db`.
pub fn default_keystore_path() -> Result<PathBuf, ConfigError> {
    let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty()).map(PathBuf::from);
    if let Some(data) = non_empty(read_env(env_names::XDG_DATA_HOME)) {
        return Ok(data.join("vibn/keystore.db"));
    }
    non_empty(read_env(env_names::HOME))
        .map(|home| home.join(".local/share/vibn/keystore.db"))
        .ok_or(ConfigError::NoKeystorePath)
}

/// The keyring from `VIBN_SECRETS_KEY` (+ `VIBN_SECRETS_KEY_PREVIOUS`); `None` if unset.
pub fn keyring() -> Result<Option<Keyring>, ConfigError> {
    let get = |name| read_env(name).filter(|v: &String| !v.trim().is_empty());
    let Some(current) = get(env_names::VIBN_SECRETS_KEY) else {
        if get(env_names::VIBN_SECRETS_KEY_PREVIOUS).is_some() {
            return Err(SecretError::MissingKey.into());
        }
        return Ok(None);
    };
    let current = SecretKey::parse(env_names::VIBN_SECRETS_KEY, &current)?;
    let previous = get(env_names::VIBN_SECRETS_KEY_PREVIOUS)
        .map(|p| SecretKey::parse(env_names::VIBN_SECRETS_KEY_PREVIOUS, &p))
        .transpose()?;
    Ok(Some(Keyring::new(current, previous)))
}

/// The admin token the CLI should act as (`VIBN_ADMIN_TOKEN`), if set.
pub fn admin_token() -> Option<SecretString> {
    read_env(env_names::VIBN_ADMIN_TOKEN)
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .map(SecretString::from)
}

impl GiteaCredentials {
    /// The credentials from `--gitea-url`/`GITEA_API_URL`, `--gitea-username`/
    /// `GITEA_USERNAME` and `GITEA_API_TOKEN`.
    pub fn resolve(flags: &GiteaFlags) -> Result<Option<Self>, ConfigError> {
        Self::from_parts(
            flags.gitea_url.clone(),
            flags.gitea_username.clone(),
            read_env(env_names::GITEA_API_TOKEN),
        )
    }
}

impl PinConfig {
    /// The same pin, with the default keystore when none was configured (servers that
    /// keep their own state there need it even unpinned).
    pub fn with_keystore(mut self) -> Result<Self, ConfigError> {
        if self.keystore.is_none() {
            self.keystore = Some(default_keystore_path()?);
        }
        Ok(self)
    }
}

/// The value of the setting `name` from the environment, when set and not blank (for
/// `vibn setup`, which copies the settings a server reads into a client's config).
pub fn setting(name: &str) -> Option<String> {
    read_env(name).filter(|v| !v.trim().is_empty())
}

/// Read a variable, treating unset and non-Unicode alike.
#[allow(clippy::disallowed_methods)]
fn read_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `PATH`, for child processes started with an otherwise clean environment.
pub fn search_path() -> String {
    read_env(env_names::PATH).unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".to_string())
}

/// The server's environment without what `policy::child_env` withholds.
pub fn inherited_child_env() -> Vec<(OsString, OsString)> {
    std::env::vars_os()
        .filter(|(name, _)| !crate::policy::child_env::is_withheld(&name.to_string_lossy()))
        .collect()
}

/// The protected-repository list from `--protected-repos` / `VIBN_PROTECTED_REPOS`.
pub fn protected_repos(args: &CommonArgs) -> Result<ProtectedList, ConfigError> {
    let spec = args.protected_repos.as_deref().unwrap_or_default();
    Ok(ProtectedList::parse(env_names::VIBN_PROTECTED_REPOS, spec)?)
}

/// The log filter: `--log-level`, else `RUST_LOG`, else warnings and errors only.
pub fn log_filter(args: &CommonArgs) -> String {
    args.log_level
        .clone()
        .or_else(|| read_env(env_names::RUST_LOG))
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| "warn".to_string())
}

/// The log filter of `vibn serve`: `--log-level`, else `RUST_LOG`, else `info` (its
/// access log is at info).
pub fn serve_log_filter(log_level: Option<&str>) -> String {
    log_level
        .map(str::to_string)
        .or_else(|| read_env(env_names::RUST_LOG))
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| "info".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitea_credentials_are_all_or_nothing() {
        let s = |v: &str| Some(v.to_string());
        assert!(
            GiteaCredentials::from_parts(None, None, None)
                .unwrap()
                .is_none()
        );
        let full = GiteaCredentials::from_parts(s("https://g.x/"), s("bot"), s("t0k3n"))
            .unwrap()
            .unwrap();
        assert_eq!(full.base_url, "https://g.x");
        assert!(GiteaCredentials::from_parts(s("https://g.x"), None, s("t")).is_err());
        assert!(GiteaCredentials::from_parts(s("g.x"), s("bot"), s("t")).is_err());
    }

    #[test]
    fn credentials_debug_output_hides_the_token() {
        let s = |v: &str| Some(v.to_string());
        let creds = GiteaCredentials::from_parts(s("https://g.x"), s("bot"), s("sekrit-value"))
            .unwrap()
            .unwrap();
        assert!(!format!("{creds:?}").contains("sekrit-value"));
    }
}

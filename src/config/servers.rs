//! The per-server configurations, each resolved from its flags and the environment.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::{
    ConfigError, GiteaConfig, PinConfig, http_url, inherited_child_env, protected_repos, read_env,
};
use crate::args::{AgentArgs, CoolifyArgs, GiteaArgs, PlatformArgs, WorkspaceArgs};
use crate::clients::http::HttpConfig;
use crate::env_vars as env_names;
use crate::policy::protected::ProtectedList;
use crate::sandbox_exec::{ExecMode, ExecPolicy};

/// Configuration of the Gitea server.
#[derive(Debug, Clone)]
pub struct GiteaServerConfig {
    /// Where Gitea is and (operator mode) the token; unset makes every tool say what to set.
    pub gitea: GiteaConfig,
    /// Repositories agents may read but not change.
    pub protected_repos: ProtectedList,
    /// Workspace pinning and the keystore.
    pub pin: PinConfig,
    /// Timeouts and retries.
    pub http: HttpConfig,
}

impl GiteaServerConfig {
    /// Resolve the Gitea server's flags and environment.
    pub fn resolve(args: &GiteaArgs) -> Result<Self, ConfigError> {
        let pin = PinConfig::resolve(&args.common)?;
        Ok(GiteaServerConfig {
            gitea: GiteaConfig::resolve(&args.gitea, pin.api_key.is_some())?,
            protected_repos: protected_repos(&args.common)?,
            pin,
            http: HttpConfig::default(),
        })
    }
}

/// Where Coolify is and the token vibn uses there.
#[derive(Debug, Clone)]
pub struct CoolifyCredentials {
    /// Base URL as configured.
    pub base_url: String,
    /// The API token.
    pub token: SecretString,
}

/// Configuration of the Coolify server.
#[derive(Debug, Clone)]
pub struct CoolifyServerConfig {
    /// Where Coolify is; `None` makes every tool say what to set.
    pub coolify: Option<CoolifyCredentials>,
    /// Applications that may not be deployed or changed.
    pub protected_apps: ProtectedList,
    /// Workspace pinning and the keystore.
    pub pin: PinConfig,
    /// Timeouts and retries.
    pub http: HttpConfig,
    /// How often `deploy_app{wait}` polls.
    pub poll_interval: std::time::Duration,
    /// How long `deploy_app{wait}` waits before handing back the deployment uuid.
    pub wait_budget: std::time::Duration,
}

impl CoolifyServerConfig {
    /// Resolve the Coolify server's flags and environment.
    pub fn resolve(args: &CoolifyArgs) -> Result<Self, ConfigError> {
        let url = args.coolify_url.clone().filter(|u| !u.trim().is_empty());
        let token = read_env(env_names::COOLIFY_API_TOKEN).filter(|t| !t.trim().is_empty());
        let coolify = match (url, token) {
            (None, None) => None,
            (Some(url), Some(token)) => Some(CoolifyCredentials {
                base_url: http_url(env_names::COOLIFY_API_URL, &url)?,
                token: SecretString::from(token.trim().to_string()),
            }),
            _ => {
                return Err(ConfigError::Incomplete {
                    vars: &[env_names::COOLIFY_API_URL, env_names::COOLIFY_API_TOKEN],
                });
            }
        };
        let spec = args.protected_apps.as_deref().unwrap_or_default();
        Ok(CoolifyServerConfig {
            coolify,
            protected_apps: ProtectedList::parse(env_names::VIBN_PROTECTED_APPS, spec)?,
            pin: PinConfig::resolve(&args.common)?,
            http: HttpConfig::default(),
            poll_interval: std::time::Duration::from_secs(2),
            wait_budget: std::time::Duration::from_secs(50),
        })
    }
}

/// The web search provider to use.
#[derive(Debug, Clone)]
pub enum SearchProvider {
    /// A SearXNG instance.
    Searxng {
        /// Its base URL.
        url: String,
    },
    /// The Brave Search API.
    Brave {
        /// Its base URL.
        url: String,
        /// The subscription key.
        key: SecretString,
    },
}

/// Configuration of the platform server.
#[derive(Debug, Clone)]
pub struct PlatformServerConfig {
    /// Gitea, for skills kept in a repository.
    pub gitea: GiteaConfig,
    /// The skills repository (`owner/name`), when not the default `<org>/skills`.
    pub skills_repo: Option<String>,
    /// A local skills folder, used instead of Gitea.
    pub skills_dir: Option<PathBuf>,
    /// The search provider; `None` makes web_search say what to set.
    pub search: Option<SearchProvider>,
    /// The session memory is scoped to ("" = none).
    pub session_key: String,
    /// Workspace pinning; the keystore is always set (memory and PRDs live there).
    pub pin: PinConfig,
    /// Timeouts and retries.
    pub http: HttpConfig,
}

impl PlatformServerConfig {
    /// Resolve the platform server's flags and environment.
    pub fn resolve(args: &PlatformArgs) -> Result<Self, ConfigError> {
        let non_empty =
            |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let search = match (
            non_empty(args.searxng_url.clone()),
            non_empty(read_env(env_names::BRAVE_API_KEY)),
        ) {
            (Some(url), _) => Some(SearchProvider::Searxng {
                url: http_url(env_names::VIBN_SEARXNG_URL, &url)?,
            }),
            (None, Some(key)) => Some(SearchProvider::Brave {
                url: match non_empty(read_env(env_names::BRAVE_API_URL)) {
                    Some(url) => http_url(env_names::BRAVE_API_URL, &url)?,
                    None => crate::clients::search::BRAVE_API_URL.to_string(),
                },
                key: SecretString::from(key),
            }),
            (None, None) => None,
        };
        let pin = PinConfig::resolve(&args.common)?.with_keystore()?;
        Ok(PlatformServerConfig {
            gitea: GiteaConfig::resolve(&args.gitea, pin.api_key.is_some())?,
            skills_repo: non_empty(args.skills_repo.clone()),
            skills_dir: args.skills_dir.clone(),
            search,
            session_key: non_empty(read_env(env_names::SESSION_KEY)).unwrap_or_default(),
            pin,
            http: HttpConfig::default(),
        })
    }
}

/// Configuration of the agent server.
#[derive(Debug, Clone)]
pub struct AgentServerConfig {
    /// The runner's base URL.
    pub runner_url: String,
    /// The runner's bearer token, if any.
    pub runner_token: Option<SecretString>,
    /// Workspace pinning; the keystore is always set (the job journal lives there).
    pub pin: PinConfig,
    /// Timeouts and retries.
    pub http: HttpConfig,
    /// How often get_job_status polls while waiting.
    pub poll_interval: std::time::Duration,
}

impl AgentServerConfig {
    /// Resolve the agent server's flags and environment.
    pub fn resolve(args: &AgentArgs) -> Result<Self, ConfigError> {
        let url = http_url(env_names::AGENT_RUNNER_URL, &args.runner_url)?;
        Ok(AgentServerConfig {
            runner_url: url,
            runner_token: read_env(env_names::AGENT_RUNNER_TOKEN)
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .map(SecretString::from),
            pin: PinConfig::resolve(&args.common)?.with_keystore()?,
            http: HttpConfig::default(),
            poll_interval: std::time::Duration::from_secs(2),
        })
    }
}
/// Configuration of the workspace server.
#[derive(Debug, Clone)]
pub struct WorkspaceConfig {
    /// The root as configured (absolute).
    pub root: PathBuf,
    /// The root with symlinks resolved.
    pub canonical_root: PathBuf,
    /// Gitea, to push to: the URL, and the operator's credentials in operator mode (a
    /// pinned server pushes as its workspace's bot).
    pub gitea: GiteaConfig,
    /// Repositories that may not be committed to or pushed.
    pub protected_repos: ProtectedList,
    /// The environment commands run with: the server's, minus every credential.
    pub child_env: Vec<(OsString, OsString)>,
    /// Workspace pinning and the keystore.
    pub pin: PinConfig,
    /// How commands and git run: the sandbox, its network and extra writable folders.
    pub exec: ExecPolicy,
    /// How much `git_clone` and `git_pull` may download and check out, and for how long.
    pub git_limits: GitLimits,
}

/// Bounds on what vibn's git fetches from Gitea (`git_clone`, `git_pull`): a repository
/// that is too big or a server that stalls must not fill the disk or hold the
/// workspace (no agent command runs while vibn's git does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GitLimits {
    /// Longest a clone or fetch may take before it is killed.
    pub transfer_timeout: std::time::Duration,
    /// Most bytes of pack data one clone or fetch may add to `.git`.
    pub max_download_bytes: u64,
    /// Most bytes the files of the checked-out tree may add up to.
    pub max_checkout_bytes: u64,
    /// Most files (tree entries) the checked-out tree may hold.
    pub max_checkout_files: u64,
}

impl Default for GitLimits {
    fn default() -> Self {
        GitLimits {
            transfer_timeout: std::time::Duration::from_secs(300),
            max_download_bytes: 1024 * 1024 * 1024,
            max_checkout_bytes: 1024 * 1024 * 1024,
            max_checkout_files: 200_000,
        }
    }
}

impl WorkspaceConfig {
    /// Resolve the workspace server's flags and environment.
    pub fn resolve(args: &WorkspaceArgs) -> Result<Self, ConfigError> {
        let root = args.root.clone().ok_or(ConfigError::MissingRoot)?;
        let pin = PinConfig::resolve(&args.common)?;
        let gitea = GiteaConfig::resolve(&args.gitea, pin.api_key.is_some())?;
        let protected = protected_repos(&args.common)?;
        let mut config = Self::new(&root, gitea, protected)?;
        config.pin = pin;
        config.exec = exec_policy(args, &config)?;
        Ok(config)
    }

    /// Build a configuration for `root` (which must be a directory).
    pub fn new(
        root: &Path,
        gitea: impl Into<GiteaConfig>,
        protected_repos: ProtectedList,
    ) -> Result<Self, ConfigError> {
        let gitea = gitea.into();
        let bad = |reason: String| ConfigError::BadRoot {
            path: root.to_path_buf(),
            reason,
        };
        let canonical_root = root.canonicalize().map_err(|e| bad(e.to_string()))?;
        if !canonical_root.is_dir() {
            return Err(bad("not a directory".to_string()));
        }
        let root = if root.is_absolute() {
            root.to_path_buf()
        } else {
            canonical_root.clone()
        };
        Ok(WorkspaceConfig {
            root,
            canonical_root,
            gitea,
            protected_repos,
            child_env: inherited_child_env(),
            pin: PinConfig::default(),
            exec: ExecPolicy::default(),
            git_limits: GitLimits::default(),
        })
    }
}

/// The sandbox of the workspace server's commands, from `--exec-*` flags. The helper is
/// this very binary (`/proc/self/exe`, so a binary replaced on disk mid-run is not the
/// one started); the keystore — configured or default — is hidden from commands.
fn exec_policy(args: &WorkspaceArgs, config: &WorkspaceConfig) -> Result<ExecPolicy, ConfigError> {
    let mut policy = match args.exec_sandbox.as_str() {
        "off" => ExecPolicy {
            mode: ExecMode::Off,
            ..ExecPolicy::default()
        },
        _ => ExecPolicy::sandboxed("/proc/self/exe"),
    };
    policy.network = args.exec_network != "off";
    for dir in &args.exec_writable {
        let real = dir
            .canonicalize()
            .map_err(|e| ConfigError::BadExecWritable {
                path: dir.clone(),
                reason: e.to_string(),
            })?;
        if !real.is_dir() || real == Path::new("/") {
            return Err(ConfigError::BadExecWritable {
                path: dir.clone(),
                reason: "not a folder below /".to_string(),
            });
        }
        policy.writable.push(real);
    }
    let keystores = config
        .pin
        .keystore
        .iter()
        .cloned()
        .chain(super::default_keystore_path().ok())
        // A PostgreSQL keystore has no file here to hide.
        .filter(|k| !crate::keystore::is_postgres_url(&k.to_string_lossy()));
    for keystore in keystores {
        policy
            .hidden
            .extend(keystore_hiding(&keystore, &config.canonical_root));
    }
    policy.hidden.sort();
    policy.hidden.dedup();
    Ok(policy)
}

/// What to hide of a keystore at `file`: its whole folder, or — when that folder holds
/// the workspace root — the database and its SQLite side files.
fn keystore_hiding(file: &Path, root: &Path) -> Vec<PathBuf> {
    let file = file
        .parent()
        .and_then(|dir| dir.canonicalize().ok())
        .and_then(|dir| file.file_name().map(|name| dir.join(name)))
        .unwrap_or_else(|| file.to_path_buf());
    match file.parent() {
        Some(dir) if !root.starts_with(dir) && dir != Path::new("/") => vec![dir.to_path_buf()],
        _ => ["", "-wal", "-shm", "-journal"]
            .iter()
            .map(|suffix| {
                let mut name = file.clone().into_os_string();
                name.push(suffix);
                PathBuf::from(name)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_file_root_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let none = ProtectedList::empty;
        assert!(matches!(
            WorkspaceConfig::new(&dir.path().join("nope"), None, none()),
            Err(ConfigError::BadRoot { .. })
        ));
        assert!(matches!(
            WorkspaceConfig::new(&file, None, none()),
            Err(ConfigError::BadRoot { .. })
        ));
        assert!(WorkspaceConfig::new(dir.path(), None, none()).is_ok());
    }
}

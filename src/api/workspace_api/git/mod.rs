//! vibn's own git in the workspace: `git_commit_and_push` (`push`), `git_clone`
//! (`clone`) and `git_pull` (`pull`), over one hardened runner (this file) and one way
//! of talking to Gitea (`transfer`).
//!
//! git runs from argument vectors, never a shell, and every git child runs in the agent
//! sandbox (`sandbox_exec`), so it can write only beneath the workspace root and its
//! private temp folder. Nothing a model sends reaches git as an option: paths follow
//! `--` as literal pathspecs, branches are checked by `policy::git_refs`, repositories
//! are `owner/name` checked by `policy::repo_ref`, a commit message is one `--message=`
//! argument.
//!
//! The repository cannot steer vibn's git. Global and system config are ignored; the
//! repository's own config must hold only inert keys (`policy::git_config`), checked
//! while no agent command runs (`exclusive`), so none can change it mid-operation;
//! hooks, fsmonitor, signing, auto-gc, credential helpers, redirects and every protocol
//! but http(s) are switched off on the command line (`GIT_OVERRIDES`). vibn's git talks
//! to one URL only, built from a validated `owner/name` on the Gitea host (`repo_url`) —
//! never to whatever the repository lists — so the protected list, the workspace org
//! and the audit row all see the repository git really talks to. The token reaches git
//! only through a credential helper scoped to that host (`transfer`).
//!
//! May import `api`, `config`, `error`, `policy`, `redact` and `sandbox_exec`.

mod clone;
mod pull;
mod push;
mod transfer;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::RwLockWriteGuard;

use super::WorkspaceApi;
use crate::api::caller::GiteaLogin;
use crate::error::ApiError;
use crate::policy::{git_config, git_remote};
use crate::redact;
use crate::sandbox_exec::{Launch, Running};

pub use clone::{GitCloneOut, GitCloneParams};
pub use pull::{GitPullOut, GitPullParams, PullOutcome};
pub use push::{GitCommitAndPushOut, GitCommitAndPushParams};

/// Time allowed for one local git command.
const GIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes of git's own messages returned at most.
const MAX_GIT_OUTPUT: usize = 8 * 1024;
/// How long vibn's git waits for running agent commands to end.
const COMMANDS_GRACE: Duration = Duration::from_secs(10);
/// Configuration given to every git run: nothing the repository says may run a
/// command, sign, collect garbage, prompt, follow a redirect or use another protocol.
const GIT_OVERRIDES: [&str; 22] = [
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.sshCommand=false",
    "-c",
    "commit.gpgSign=false",
    "-c",
    "tag.gpgSign=false",
    "-c",
    "gc.auto=0",
    "-c",
    "maintenance.auto=false",
    "-c",
    "credential.interactive=false",
    "-c",
    "http.followRedirects=false",
    "-c",
    "protocol.allow=never",
    "-c",
    "protocol.https.allow=always",
];
/// Variables of the server's environment that would point git at another repository,
/// index or object store; vibn's git sets where it works itself.
const LOCATION_VARS: [&str; 10] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_TEMPLATE_DIR",
];

/// How one git command ended and what it printed.
struct GitRun {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Where a git command runs.
#[derive(Debug, Clone, Copy)]
enum Repo<'a> {
    /// In the repository whose work tree is this folder (absolute, canonical), with its
    /// `.git` folder inside.
    At(&'a Path),
    /// In no repository (`git clone`): no repository's config is read.
    Outside,
}

impl WorkspaceApi {
    /// Exclude every agent command while vibn's git runs: each one lives inside an
    /// `execute_command` call holding the lock shared, so none can change the
    /// repository's config, hooks or files (or swap a folder for a symlink) mid-way.
    async fn exclusive(&self, tool: &str) -> Result<RwLockWriteGuard<'_, ()>, ApiError> {
        tokio::time::timeout(COMMANDS_GRACE, self.inner.exec_lock.write())
            .await
            .map_err(|_| {
                ApiError::bad_request(format!(
                    "a command started by execute_command is still running; {tool} runs \
                     only while no agent command does"
                ))
                .with_hint("wait for the command to finish (or let it time out), then call again")
            })
    }

    /// The workspace root must hold the repository itself: `.git` a real folder in the
    /// root (not a symlink or a `gitdir:` file pointing elsewhere).
    fn ensure_repository_root(&self) -> Result<(), ApiError> {
        match self.root().symlink_metadata(".git") {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(ApiError::forbidden(
                "the workspace root's .git is not a folder (a symlink or a gitdir file); \
                 vibn's git works only on a repository kept in the root",
            )
            .with_hint("clone the repository into an empty workspace root with git_clone")),
            Err(_) => Err(ApiError::bad_request(
                "the workspace root is not the top of a git repository",
            )
            .with_hint(
                "clone one into the (empty) workspace root with git_clone, or run `git init` \
                 there with execute_command",
            )),
        }
    }

    /// The config of the repository whose work tree is `tree` (relative to the root,
    /// symlinks resolved; empty for the root), with its worktree config when enabled;
    /// refused when any key could run a command or move the token.
    async fn checked_git_config(&self, tree: &Path) -> Result<Vec<u8>, ApiError> {
        let mut listing = self.read_git_config(tree, "config").await?;
        let worktree = git_config::value(&listing, "extensions.worktreeConfig")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"true"));
        if worktree {
            listing.extend(self.read_git_config(tree, "config.worktree").await?);
        }
        let unsafe_keys = git_config::unsafe_keys(&listing);
        if !unsafe_keys.is_empty() {
            let shown: Vec<String> = unsafe_keys
                .iter()
                .take(10)
                .map(|k| crate::error::cut(k, 100).into_owned())
                .collect();
            let (a_key, it) = if unsafe_keys.len() == 1 {
                ("a key", "it")
            } else {
                ("keys", "them")
            };
            return Err(ApiError::forbidden(format!(
                "the repository's .git/config sets {a_key} that could run a command or \
                 redirect credentials; vibn's git does not run with {it}: {}",
                shown.join(", ")
            ))
            .with_hint(format!(
                "remove them with execute_command, e.g. `git config --unset-all {}`",
                shown[0]
            )));
        }
        Ok(listing)
    }

    async fn read_git_config(&self, tree: &Path, file: &str) -> Result<Vec<u8>, ApiError> {
        let relative = tree.join(".git").join(file);
        if self.root().symlink_metadata(&relative).is_err() {
            return Ok(Vec::new());
        }
        let work_tree = self.config().canonical_root.join(tree);
        let path = work_tree.join(".git").join(file);
        let args: Vec<OsString> = ["config", "--no-includes", "--list", "-z", "--file"]
            .map(OsString::from)
            .into_iter()
            .chain([path.into_os_string()])
            .collect();
        let run = self
            .run_git_in(Repo::At(&work_tree), &args, &[], GIT_TIMEOUT)
            .await?;
        if !run.ok {
            return Err(ApiError::bad_request(format!(
                "cannot read .git/{file}: {}",
                cut(self.clean(&run.stderr))
            ))
            .with_hint("repair the repository's config file"));
        }
        Ok(run.stdout.into_bytes())
    }

    /// The repository `origin` names in the root repository's config `listing`, if any.
    fn origin(&self, listing: &[u8]) -> Result<Option<git_remote::RemoteRepo>, ApiError> {
        let Some(url) = git_config::value(listing, "remote.origin.url") else {
            return Ok(None);
        };
        let url = String::from_utf8_lossy(url).trim().to_string();
        git_remote::parse(&url).map(Some).ok_or_else(|| {
            ApiError::bad_request(format!(
                "origin {} does not name an owner/name repository",
                redact::urls(&crate::error::cut(&url, 200))
            ))
            .with_hint("set origin to the https URL of the repository on Gitea")
        })
    }

    /// The configured Gitea base URL; `doing` ("pushing", "cloning") names what needs it.
    fn gitea_base(&self, doing: &str) -> Result<&str, ApiError> {
        self.config().gitea.url.as_deref().ok_or_else(|| {
            ApiError::not_provisioned(format!("{doing} needs Gitea")).with_hint(
                "set GITEA_API_URL (and, without a workspace key, GITEA_USERNAME and \
                 GITEA_API_TOKEN) in the MCP client's config",
            )
        })
    }

    /// The one URL vibn's git talks to for the root repository: the Gitea host's
    /// repository named by origin's validated `owner/name`. Needs an origin on the
    /// Gitea host (the token is never offered to another host).
    fn origin_url(
        &self,
        remote: Option<&git_remote::RemoteRepo>,
        doing: &str,
    ) -> Result<String, ApiError> {
        let base_url = self.gitea_base(doing)?;
        let Some(remote) = remote else {
            return Err(
                ApiError::bad_request("the repository has no remote named origin")
                    .with_hint("add one with execute_command: git remote add origin <https URL>"),
            );
        };
        let gitea_host = git_remote::http_host(base_url).unwrap_or_default();
        if !matches!(remote.scheme.as_str(), "http" | "https") || remote.host != gitea_host {
            return Err(ApiError::forbidden(format!(
                "origin points at {}://{}, not the configured Gitea host {gitea_host}; Gitea \
                 credentials are only sent to Gitea over http(s)",
                crate::error::cut(&remote.scheme, 20),
                crate::error::cut(&remote.host, 200)
            ))
            .with_hint("set origin to the repository's https URL on the Gitea host"));
        }
        Ok(repo_url(base_url, &remote.full_name))
    }

    /// Run git in the root repository (see `run_git_in`).
    async fn git(&self, args: &[&str], timeout: Duration) -> Result<GitRun, ApiError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        self.run_git(&args, &[], timeout).await
    }

    /// Run git in the root repository; a failure is a 400 starting with `what`.
    async fn git_ok<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        timeout: Duration,
        what: &str,
    ) -> Result<GitRun, ApiError> {
        let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_os_string()).collect();
        let run = self.run_git(&args, &[], timeout).await?;
        if !run.ok {
            return Err(ApiError::bad_request(format!(
                "{what}: {}",
                cut(self.clean(&run.stderr))
            )));
        }
        Ok(run)
    }

    /// Run git in the root repository (see `run_git_in`).
    async fn run_git(
        &self,
        args: &[OsString],
        env: &[(&str, String)],
        timeout: Duration,
    ) -> Result<GitRun, ApiError> {
        let root = self.config().canonical_root.clone();
        self.run_git_in(Repo::At(&root), args, env, timeout).await
    }

    /// Run git `at` a repository, in the sandbox, and collect what it printed. On
    /// timeout its whole process tree is stopped before this returns.
    async fn run_git_in(
        &self,
        at: Repo<'_>,
        args: &[OsString],
        env: &[(&str, String)],
        timeout: Duration,
    ) -> Result<GitRun, ApiError> {
        let mut running = self.spawn_git(at, args, env)?;
        let stdout = running.stdout();
        let stderr = running.stderr();
        let work = async {
            let (out, err) = tokio::join!(read_all(stdout), read_all(stderr));
            let ended = running.wait().await?;
            Ok::<_, ApiError>((ended, out, err))
        };
        let Ok(finished) = tokio::time::timeout(timeout, work).await else {
            running.stop().await;
            return Err(ApiError::upstream(format!(
                "git timed out after {}s",
                timeout.as_secs()
            )));
        };
        let (ended, stdout, stderr) = finished?;
        Ok(GitRun {
            ok: ended.code == Some(0),
            code: ended.code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }

    /// Start git `at` a repository in the sandbox, with the scrubbed environment plus
    /// `env`, global and system config ignored and `GIT_OVERRIDES` first; it may write
    /// only beneath the workspace root.
    fn spawn_git(
        &self,
        at: Repo<'_>,
        args: &[OsString],
        env: &[(&str, String)],
    ) -> Result<Running, ApiError> {
        let config = self.config();
        let root = &config.canonical_root;
        let mut fixed: Vec<(&str, OsString)> = vec![
            ("GIT_CONFIG_NOSYSTEM", "1".into()),
            ("GIT_CONFIG_GLOBAL", "/dev/null".into()),
            ("GIT_ATTR_NOSYSTEM", "1".into()),
            ("GIT_TERMINAL_PROMPT", "0".into()),
            ("GIT_LITERAL_PATHSPECS", "1".into()),
            ("LC_ALL", "C".into()),
        ];
        let cwd: PathBuf = match at {
            Repo::At(tree) => {
                let ceiling = tree.parent().unwrap_or(tree);
                fixed.push(("GIT_DIR", tree.join(".git").into_os_string()));
                fixed.push(("GIT_WORK_TREE", tree.as_os_str().to_os_string()));
                fixed.push((
                    "GIT_CEILING_DIRECTORIES",
                    ceiling.as_os_str().to_os_string(),
                ));
                tree.to_path_buf()
            }
            Repo::Outside => root.clone(),
        };
        let mut git_env = config.child_env.clone();
        git_env.retain(|(k, _)| {
            !fixed.iter().any(|(f, _)| k == f) && !LOCATION_VARS.iter().any(|l| k == l)
        });
        git_env.extend(fixed.into_iter().map(|(k, v)| (OsString::from(k), v)));
        git_env.extend(
            env.iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        );
        let all_args: Vec<OsString> = GIT_OVERRIDES
            .iter()
            .map(OsString::from)
            .chain(args.iter().cloned())
            .collect();
        let writable = [root.clone()];
        config.exec.spawn(Launch {
            program: OsStr::new("git"),
            args: &all_args,
            cwd: &cwd,
            env: &git_env,
            writable: &writable,
            network: true,
        })
    }

    /// git's text with URL credentials and the operator's Gitea token removed.
    fn clean(&self, text: &str) -> String {
        let text = redact::urls(text);
        match &self.config().gitea.operator {
            Some(g) => redact::secret(&text, g.token.expose_secret()),
            None => text,
        }
    }

    /// git's text with URL credentials, the operator's and `login`'s token removed.
    fn clean_for(&self, text: &str, login: &GiteaLogin) -> String {
        redact::secret(&self.clean(text), login.token.expose_secret())
    }
}

/// The web root of a Gitea base URL (without a trailing `/api/v1`): where repositories
/// are served over git's smart HTTP.
fn web_url(base_url: &str) -> &str {
    let base_url = base_url.trim_end_matches('/');
    match base_url.len().checked_sub(7) {
        Some(at)
            if base_url.is_char_boundary(at) && base_url[at..].eq_ignore_ascii_case("/api/v1") =>
        {
            &base_url[..at]
        }
        _ => base_url,
    }
}

/// The canonical URL of `full_name` (`owner/name`, already validated) on the Gitea of
/// `base_url`: what vibn's git talks to, and what a clone's origin is set to.
fn repo_url(base_url: &str, full_name: &str) -> String {
    format!("{}/{full_name}.git", web_url(base_url))
}

/// Everything a pipe gives, up to 4 MiB (git's messages are small; more is dropped).
async fn read_all(pipe: Option<impl AsyncRead + Unpin>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(pipe) = pipe {
        let _ = pipe.take(4 * 1024 * 1024).read_to_end(&mut out).await;
    }
    out
}

/// `text` cut at `MAX_GIT_OUTPUT` bytes, saying so.
fn cut(mut text: String) -> String {
    if text.len() > MAX_GIT_OUTPUT {
        let mut end = MAX_GIT_OUTPUT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("\n[cut]");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls_are_built_on_the_web_root() {
        let table = [
            (
                "https://git.vibnai.com/api/v1",
                "https://git.vibnai.com/o/r.git",
            ),
            (
                "https://git.vibnai.com/API/V1/",
                "https://git.vibnai.com/o/r.git",
            ),
            ("https://git.vibnai.com", "https://git.vibnai.com/o/r.git"),
            ("http://127.0.0.1:3000/", "http://127.0.0.1:3000/o/r.git"),
            ("https://x.io/gitea/api/v1", "https://x.io/gitea/o/r.git"),
        ];
        for (base, want) in table {
            assert_eq!(repo_url(base, "o/r"), want, "{base}");
        }
    }
}

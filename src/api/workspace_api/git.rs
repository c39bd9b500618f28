//! `git_commit_and_push`: stage, commit and push the workspace repository.
//!
//! git runs from argument vectors, never a shell, and every git child runs in the agent
//! sandbox (`sandbox_exec`). Paths follow `--` and are literal pathspecs, the branch is
//! validated by `policy::git_refs`, the message is one `--message=` argument: nothing a
//! model sends can reach git as an option.
//!
//! The repository cannot steer vibn's git. Global and system config are ignored; the
//! repository's own config must hold only inert keys (`policy::git_config`), checked
//! while no agent command runs (so none can change it mid-commit); hooks, fsmonitor,
//! signing, auto-gc, credential helpers and redirects are switched off on the command
//! line. The push goes to one URL vibn derives from the validated `owner/name` of
//! `origin` — never to whatever the repository lists as push URLs — so the protected
//! list, the workspace org and the audit row all see the repository that really
//! receives the push. The Gitea token reaches git only through a credential helper
//! scoped to the Gitea host that reads it from the push process's environment — never
//! argv, the URL, logs or tool output.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::WorkspaceApi;
use crate::api::caller::{Caller, GiteaLogin};
use crate::api::de;

use crate::error::ApiError;
use crate::policy::{git_config, git_refs, git_remote, paths, protected};
use crate::redact;
use crate::sandbox_exec::Launch;

/// Time allowed for one local git command.
const GIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Time allowed for the push.
const PUSH_TIMEOUT: Duration = Duration::from_secs(120);
/// Bytes of git's own messages returned at most.
const MAX_GIT_OUTPUT: usize = 8 * 1024;
/// How long a commit waits for running agent commands to end.
const COMMANDS_GRACE: Duration = Duration::from_secs(10);
/// Longest commit message accepted (it travels as one argument).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
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
/// Answers git's credential `get` from two variables set only on the push process.
const CREDENTIAL_HELPER: &str = "!f() { test \"$1\" = get || exit 0; \
     printf 'username=%s\\npassword=%s\\n' \"$VIBN_GIT_USERNAME\" \"$VIBN_GIT_PASSWORD\"; }; f";

/// Parameters of `git_commit_and_push`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GitCommitAndPushParams {
    /// Commit message.
    pub message: String,
    /// Paths to stage, relative to the workspace root (default: every change).
    #[serde(default)]
    pub paths: Option<Vec<String>>,
    /// Branch to commit on and push to (default: the current branch; created if missing).
    #[serde(default)]
    pub branch: Option<String>,
    /// Push to origin after committing (default true).
    #[serde(default, deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub push: Option<bool>,
}

/// What `git_commit_and_push` did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GitCommitAndPushOut {
    /// True when a new commit was made (false when nothing was staged).
    pub committed: bool,
    /// The commit at HEAD afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The branch committed on.
    pub branch: String,
    /// True when HEAD was pushed to origin.
    pub pushed: bool,
    /// The origin repository as `owner/name`, when origin names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// git's messages (credentials redacted, cut at 8 KiB).
    pub output: String,
}

struct GitRun {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl WorkspaceApi {
    /// Stage, commit and (by default) push the repository at the workspace root.
    pub async fn git_commit_and_push(
        &self,
        caller: &Caller,
        p: GitCommitAndPushParams,
    ) -> Result<GitCommitAndPushOut, ApiError> {
        super::limits::check(&p)?;
        let result = self.commit_and_push_now(p, caller).await;
        let target = match &result {
            Ok(out) => format!(
                "{} {}",
                out.repo.as_deref().unwrap_or("(no origin)"),
                out.branch
            ),
            Err(e) => format!("refused: {}", e.message()),
        };
        caller.audited(&target, result).await
    }

    async fn commit_and_push_now(
        &self,
        p: GitCommitAndPushParams,
        caller: &Caller,
    ) -> Result<GitCommitAndPushOut, ApiError> {
        let who = caller.principal();
        if p.message.trim().is_empty() {
            return Err(ApiError::bad_request("message must not be empty"));
        }
        if p.message.len() > MAX_MESSAGE_BYTES {
            return Err(ApiError::bad_request(format!(
                "message is {} bytes; at most {MAX_MESSAGE_BYTES} are accepted",
                p.message.len()
            )));
        }
        if let Some(branch) = &p.branch {
            git_refs::check_branch(branch)?;
        }
        let pathspecs = match &p.paths {
            None => None,
            Some(list) if list.is_empty() => {
                return Err(ApiError::bad_request("paths is empty")
                    .with_hint("omit paths to stage every change"));
            }
            Some(list) => Some(
                list.iter()
                    .map(|user| {
                        let relative = self.confine(user)?;
                        Ok(OsString::from(paths::display(&relative)))
                    })
                    .collect::<Result<Vec<_>, ApiError>>()?,
            ),
        };
        let push = p.push.unwrap_or(true);
        // No agent process may run while vibn's git does: every one lives inside an
        // execute_command call, so holding this excludes them all.
        let _no_commands = tokio::time::timeout(COMMANDS_GRACE, self.inner.exec_lock.write())
            .await
            .map_err(|_| {
                ApiError::bad_request(
                    "a command started by execute_command is still running; git_commit_and_push                      runs only while no agent command does",
                )
                .with_hint("wait for the command to finish (or let it time out), then call again")
            })?;
        self.ensure_repository_root()?;
        let listing = self.checked_git_config().await?;

        let origin_url = git_config::value(&listing, "remote.origin.url")
            .map(|v| String::from_utf8_lossy(v).trim().to_string());
        let remote = match origin_url.as_deref() {
            Some(url) => Some(git_remote::parse(url).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "origin {} does not name an owner/name repository",
                    redact::urls(&crate::error::cut(url, 200))
                ))
                .with_hint("set origin to the https URL of the repository on Gitea")
            })?),
            None => None,
        };
        if let Some(remote) = &remote {
            protected::check_repo_writable(&self.config().protected_repos, &remote.full_name)?;
            protected::check_repo_in_org(who.gitea_org(), &remote.full_name)?;
        } else if let Some(org) = who.gitea_org() {
            return Err(ApiError::forbidden(format!(
                "origin does not name a repository of the workspace org {org}"
            ))
            .with_hint("set origin to the https URL of a repository in the workspace org"));
        }
        // Pushing acts as the workspace's bot when pinned, as the operator otherwise;
        // both are settled before anything is committed.
        let (push_url, login) = if push {
            let url = self.push_url(remote.as_ref())?;
            let login = caller
                .gitea_login(self.config().gitea.operator.as_ref())
                .await?;
            (Some(url), Some(login))
        } else {
            (None, None)
        };
        let author = login.as_ref().map(|l| l.username.clone()).or_else(|| {
            self.config()
                .gitea
                .operator
                .as_ref()
                .map(|o| o.username.clone())
        });

        let branch = self.switch_branch(p.branch.as_deref(), push).await?;
        let mut messages = String::new();
        let add: Vec<OsString> = match &pathspecs {
            Some(specs) => ["add", "-A", "--"]
                .map(OsString::from)
                .into_iter()
                .chain(specs.iter().cloned())
                .collect(),
            None => ["add", "-A"].map(OsString::from).into_iter().collect(),
        };
        self.git_ok(&add, GIT_TIMEOUT, "staging failed").await?;
        let staged = self
            .git(&["diff", "--cached", "--quiet"], GIT_TIMEOUT)
            .await?;
        let committed = staged.code == Some(1);
        if committed {
            let commit = self.git_commit(&p.message, author.as_deref()).await?;
            messages.push_str(&commit.stdout);
        } else {
            messages.push_str("nothing to commit; working tree matches HEAD\n");
        }
        let head = self
            .git(&["rev-parse", "--verify", "-q", "HEAD"], GIT_TIMEOUT)
            .await?;
        let commit = head.ok.then(|| head.stdout.trim().to_string());

        let mut pushed = false;
        if let (Some(url), Some(login)) = (&push_url, &login) {
            if commit.is_none() {
                return Err(ApiError::bad_request("there is no commit to push yet")
                    .with_hint("change or add a file first"));
            }
            let run = self.git_push(url, &branch, login).await?;
            let output = redact::secret(&self.clean(&run.stderr), login.token.expose_secret());
            if !run.ok {
                return Err(push_error(&output, committed, commit.as_deref()));
            }
            messages.push_str(&output);
            pushed = true;
        }
        Ok(GitCommitAndPushOut {
            committed,
            commit,
            branch,
            pushed,
            repo: remote.map(|r| r.full_name),
            output: cut(self.clean(&messages)),
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
            .with_hint("clone the repository into the workspace root")),
            Err(_) => Err(ApiError::bad_request(
                "the workspace root is not the top of a git repository",
            )
            .with_hint("clone the repository into the workspace root, or run `git init` there")),
        }
    }

    /// The repository's own config (and its worktree config, when enabled), refused
    /// when any key could run a command or move the token.
    async fn checked_git_config(&self) -> Result<Vec<u8>, ApiError> {
        let mut listing = self.read_git_config("config").await?;
        let worktree = git_config::value(&listing, "extensions.worktreeConfig")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"true"));
        if worktree {
            listing.extend(self.read_git_config("config.worktree").await?);
        }
        let unsafe_keys = git_config::unsafe_keys(&listing);
        if !unsafe_keys.is_empty() {
            let shown: Vec<String> = unsafe_keys
                .iter()
                .take(10)
                .map(|k| crate::error::cut(k, 100).into_owned())
                .collect();
            return Err(ApiError::forbidden(format!(
                "the repository's .git/config sets {} that could run a command or redirect \
                 credentials; vibn's git does not run with {}: {}",
                if unsafe_keys.len() == 1 {
                    "a key"
                } else {
                    "keys"
                },
                if unsafe_keys.len() == 1 { "it" } else { "them" },
                shown.join(", ")
            ))
            .with_hint(format!(
                "remove them with execute_command, e.g. `git config --unset-all {}`",
                shown[0]
            )));
        }
        Ok(listing)
    }

    async fn read_git_config(&self, file: &str) -> Result<Vec<u8>, ApiError> {
        let path = self.config().canonical_root.join(".git").join(file);
        if self
            .root()
            .symlink_metadata(Path::new(".git").join(file))
            .is_err()
        {
            return Ok(Vec::new());
        }
        let args: Vec<OsString> = ["config", "--no-includes", "--list", "-z", "--file"]
            .map(OsString::from)
            .into_iter()
            .chain([path.into_os_string()])
            .collect();
        let run = self.run_git(&args, &[], GIT_TIMEOUT).await?;
        if !run.ok {
            return Err(ApiError::bad_request(format!(
                "cannot read .git/{file}: {}",
                cut(self.clean(&run.stderr))
            ))
            .with_hint("repair the repository's config file"));
        }
        Ok(run.stdout.into_bytes())
    }

    /// The one URL a push goes to: the Gitea host's repository named by origin's
    /// validated `owner/name`. Needs Gitea credentials and an origin on the Gitea host
    /// (the token is never offered to another host).
    fn push_url(&self, remote: Option<&git_remote::RemoteRepo>) -> Result<String, ApiError> {
        let Some(base_url) = &self.config().gitea.url else {
            return Err(ApiError::not_provisioned("pushing needs Gitea")
                .with_hint("set GITEA_API_URL (and, without a workspace key, GITEA_USERNAME and GITEA_API_TOKEN) in the MCP client's config, or pass push=false"));
        };
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
        Ok(format!("{}/{}.git", web_url(base_url), remote.full_name))
    }

    /// Move to `wanted` (creating it from HEAD when missing); returns the branch name.
    async fn switch_branch(&self, wanted: Option<&str>, push: bool) -> Result<String, ApiError> {
        let current = self
            .git(&["symbolic-ref", "--short", "-q", "HEAD"], GIT_TIMEOUT)
            .await?;
        let current = current.ok.then(|| current.stdout.trim().to_string());
        match (wanted, current) {
            (Some(want), Some(cur)) if want == cur => Ok(cur),
            (Some(want), _) => {
                let exists = self
                    .git(
                        &[
                            "show-ref",
                            "--verify",
                            "--quiet",
                            &format!("refs/heads/{want}"),
                        ],
                        GIT_TIMEOUT,
                    )
                    .await?
                    .ok;
                let args: &[&str] = if exists {
                    &["switch", want]
                } else {
                    &["switch", "-c", want]
                };
                self.git_ok(args, GIT_TIMEOUT, "switching branch failed")
                    .await?;
                Ok(want.to_string())
            }
            (None, Some(cur)) => Ok(cur),
            (None, None) if !push => Ok("HEAD".to_string()),
            (None, None) => Err(ApiError::bad_request(
                "HEAD is detached; there is no branch to push",
            )
            .with_hint("pass branch to commit on a named branch")),
        }
    }

    async fn git_commit(&self, message: &str, author: Option<&str>) -> Result<GitRun, ApiError> {
        let mut env: Vec<(&str, String)> = Vec::new();
        let email = self.git(&["config", "user.email"], GIT_TIMEOUT).await?;
        if !email.ok || email.stdout.trim().is_empty() {
            let (name, mail) = match author {
                Some(user) => (user.to_string(), format!("{user}@noreply.vibn.local")),
                None => (
                    "vibn agent".to_string(),
                    "agent@noreply.vibn.local".to_string(),
                ),
            };
            for key in ["GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"] {
                env.push((key, name.clone()));
            }
            for key in ["GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"] {
                env.push((key, mail.clone()));
            }
        }
        let args = [
            OsString::from("commit"),
            OsString::from("--no-edit"),
            OsString::from("--no-verify"),
            OsString::from(format!("--message={message}")),
        ];
        let run = self.run_git(&args, &env, GIT_TIMEOUT).await?;
        if !run.ok {
            return Err(ApiError::bad_request(format!(
                "git commit failed: {}",
                cut(self.clean(&format!("{}{}", run.stdout, run.stderr)))
            ))
            .with_hint("a pre-commit hook may have refused the commit; fix what it reports"));
        }
        Ok(run)
    }

    async fn git_push(
        &self,
        url: &str,
        branch: &str,
        login: &GiteaLogin,
    ) -> Result<GitRun, ApiError> {
        let host = git_remote::http_host(url).unwrap_or_default();
        let scheme = url
            .split("://")
            .next()
            .unwrap_or("https")
            .to_ascii_lowercase();
        let scoped_helper = format!("credential.{scheme}://{host}.helper={CREDENTIAL_HELPER}");
        let refspec = format!("HEAD:refs/heads/{branch}");
        let args: Vec<OsString> = [
            "-c",
            "credential.helper=",
            "-c",
            &scoped_helper,
            "-c",
            "protocol.http.allow=always",
            "push",
            "--no-verify",
            "--no-recurse-submodules",
            "--",
            url,
            &refspec,
        ]
        .map(OsString::from)
        .into();
        let env = [
            ("VIBN_GIT_USERNAME", login.username.clone()),
            ("VIBN_GIT_PASSWORD", login.token.expose_secret().to_string()),
        ];
        self.run_git(&args, &env, PUSH_TIMEOUT).await
    }

    async fn git(&self, args: &[&str], timeout: Duration) -> Result<GitRun, ApiError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        self.run_git(&args, &[], timeout).await
    }

    async fn git_ok<S: AsRef<std::ffi::OsStr>>(
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

    /// Run git in the root, in the sandbox, with the scrubbed environment plus `env`,
    /// ignoring global and system config and with `GIT_OVERRIDES` first.
    async fn run_git(
        &self,
        args: &[OsString],
        env: &[(&str, String)],
        timeout: Duration,
    ) -> Result<GitRun, ApiError> {
        let config = self.config();
        let root = &config.canonical_root;
        let ceiling = root.parent().unwrap_or(root);
        let mut git_env = config.child_env.clone();
        let git_dir = root.join(".git");
        let fixed: [(&str, &OsStr); 9] = [
            ("GIT_DIR", git_dir.as_os_str()),
            ("GIT_WORK_TREE", root.as_os_str()),
            ("GIT_CEILING_DIRECTORIES", ceiling.as_os_str()),
            ("GIT_CONFIG_NOSYSTEM", OsStr::new("1")),
            ("GIT_CONFIG_GLOBAL", OsStr::new("/dev/null")),
            ("GIT_ATTR_NOSYSTEM", OsStr::new("1")),
            ("GIT_TERMINAL_PROMPT", OsStr::new("0")),
            ("GIT_LITERAL_PATHSPECS", OsStr::new("1")),
            ("LC_ALL", OsStr::new("C")),
        ];
        git_env.retain(|(k, _)| !fixed.iter().any(|(f, _)| k == f));
        git_env.extend(
            fixed
                .iter()
                .map(|(k, v)| (OsString::from(k), v.to_os_string())),
        );
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
        let mut running = config.exec.spawn(Launch {
            program: OsStr::new("git"),
            args: &all_args,
            cwd: root,
            env: &git_env,
            writable: &writable,
            network: true,
        })?;
        let stdout = running.stdout();
        let stderr = running.stderr();
        let work = async {
            let (out, err) = tokio::join!(read_all(stdout), read_all(stderr));
            let ended = running.wait().await?;
            Ok::<_, ApiError>((ended, out, err))
        };
        let (ended, stdout, stderr) =
            tokio::time::timeout(timeout, work).await.map_err(|_| {
                ApiError::upstream(format!("git timed out after {}s", timeout.as_secs()))
            })??;
        Ok(GitRun {
            ok: ended.code == Some(0),
            code: ended.code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }

    /// git's text with URL credentials and the Gitea token removed.
    fn clean(&self, text: &str) -> String {
        let text = redact::urls(text);
        match &self.config().gitea.operator {
            Some(g) => redact::secret(&text, g.token.expose_secret()),
            None => text,
        }
    }
}

/// The web root of a Gitea base URL (without a trailing `/api/v1`): where repositories
/// are served over git's smart HTTP.
fn web_url(base_url: &str) -> &str {
    match base_url.len().checked_sub(7) {
        Some(at)
            if base_url.is_char_boundary(at) && base_url[at..].eq_ignore_ascii_case("/api/v1") =>
        {
            &base_url[..at]
        }
        _ => base_url,
    }
}

/// Everything a pipe gives, up to 4 MiB (git's messages are small; more is dropped).
async fn read_all(pipe: Option<impl AsyncRead + Unpin>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(pipe) = pipe {
        let _ = pipe.take(4 * 1024 * 1024).read_to_end(&mut out).await;
    }
    out
}

fn push_error(output: &str, committed: bool, commit: Option<&str>) -> ApiError {
    let state = match (committed, commit) {
        (true, Some(sha)) => format!("committed {sha} locally, but the push failed"),
        _ => "the push failed".to_string(),
    };
    let detail = cut(output.to_string());
    let lower = output.to_ascii_lowercase();
    if lower.contains("rejected")
        || lower.contains("non-fast-forward")
        || lower.contains("fetch first")
    {
        ApiError::unprocessable(format!("{state}: the remote branch has commits this clone lacks: {detail}"))
            .with_hint("run `git pull --rebase origin <branch>` with execute_command, then call again with push=true")
    } else if lower.contains("authentication failed")
        || lower.contains("403")
        || lower.contains("401")
    {
        ApiError::upstream(format!("{state}: Gitea refused the credentials: {detail}")).with_hint(
            "check GITEA_USERNAME / GITEA_API_TOKEN and that the user may write to the repository",
        )
    } else {
        ApiError::upstream(format!("{state}: {detail}"))
            .with_hint("retry later; the commit is kept")
    }
}

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

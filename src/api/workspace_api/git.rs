//! `git_commit_and_push`: stage, commit and push the workspace repository.
//!
//! git runs through `Command` arguments, never a shell. Paths follow `--` and are
//! literal pathspecs, the branch is validated by `policy::git_refs`, the message goes
//! through stdin, and the remote is always `origin`: nothing a model sends can reach git
//! as an option. The Gitea token reaches git only through a credential helper scoped to
//! the Gitea host that reads it from the push process's environment — never argv, the
//! remote URL, logs or tool output. Protected repositories (and, when pinned, repositories
//! outside the workspace org) are refused before anything is committed.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use schemars::JsonSchema;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::WorkspaceApi;
use crate::api::de;
use crate::api::pin::Principal;
use crate::error::ApiError;
use crate::policy::{git_refs, git_remote, paths, protected};
use crate::redact;

/// Time allowed for one local git command.
const GIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Time allowed for the push.
const PUSH_TIMEOUT: Duration = Duration::from_secs(120);
/// Bytes of git's own messages returned at most.
const MAX_GIT_OUTPUT: usize = 8 * 1024;
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
        p: GitCommitAndPushParams,
    ) -> Result<GitCommitAndPushOut, ApiError> {
        super::limits::check(&p)?;
        let who = self.who()?;
        let result = self.commit_and_push_now(p, &who).await;
        let target = match &result {
            Ok(out) => format!(
                "{} {}",
                out.repo.as_deref().unwrap_or("(no origin)"),
                out.branch
            ),
            Err(e) => format!("refused: {}", e.message()),
        };
        self.inner
            .pin
            .audited(&who, "workspace", "git_commit_and_push", &target, result)
    }

    async fn commit_and_push_now(
        &self,
        p: GitCommitAndPushParams,
        who: &Principal,
    ) -> Result<GitCommitAndPushOut, ApiError> {
        if p.message.trim().is_empty() {
            return Err(ApiError::bad_request("message must not be empty"));
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
        self.ensure_repository_root().await?;

        let origin = self
            .git(&["remote", "get-url", "--push", "origin"], GIT_TIMEOUT)
            .await?;
        let origin_url = origin.ok.then(|| origin.stdout.trim().to_string());
        let remote = origin_url.as_deref().and_then(git_remote::parse);
        if let Some(remote) = &remote {
            protected::check_repo_writable(&self.config().protected_repos, &remote.full_name)?;
            protected::check_repo_in_org(who.gitea_org(), &remote.full_name)?;
        } else if let Some(org) = who.gitea_org() {
            return Err(ApiError::forbidden(format!(
                "origin does not name a repository of the workspace org {org}"
            ))
            .with_hint("set origin to the https URL of a repository in the workspace org"));
        }
        if push {
            self.check_push_target(origin_url.as_deref(), remote.as_ref())?;
        }

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
            let commit = self.git_commit(&p.message).await?;
            messages.push_str(&commit.stdout);
        } else {
            messages.push_str("nothing to commit; working tree matches HEAD\n");
        }
        let head = self
            .git(&["rev-parse", "--verify", "-q", "HEAD"], GIT_TIMEOUT)
            .await?;
        let commit = head.ok.then(|| head.stdout.trim().to_string());

        let mut pushed = false;
        if push {
            if commit.is_none() {
                return Err(ApiError::bad_request("there is no commit to push yet")
                    .with_hint("change or add a file first"));
            }
            let run = self.git_push(&branch).await?;
            let output = self.clean(&run.stderr);
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

    /// The workspace root must be the top of a git work tree (not inside another one).
    async fn ensure_repository_root(&self) -> Result<(), ApiError> {
        let top = self
            .git(&["rev-parse", "--show-toplevel"], GIT_TIMEOUT)
            .await?;
        let root = &self.config().canonical_root;
        let is_root = top.ok
            && Path::new(top.stdout.trim()).canonicalize().ok().as_deref() == Some(root.as_path());
        if is_root {
            Ok(())
        } else {
            Err(
                ApiError::bad_request("the workspace root is not the top of a git repository")
                    .with_hint(
                        "clone the repository into the workspace root, or run `git init` there",
                    ),
            )
        }
    }

    /// Pushing needs Gitea credentials and an http(s) origin on the Gitea host: the
    /// token is never offered to any other host.
    fn check_push_target(
        &self,
        origin_url: Option<&str>,
        remote: Option<&git_remote::RemoteRepo>,
    ) -> Result<(), ApiError> {
        let Some(gitea) = &self.config().gitea else {
            return Err(ApiError::not_provisioned("pushing needs Gitea credentials")
                .with_hint("set GITEA_API_URL, GITEA_USERNAME and GITEA_API_TOKEN in the MCP client's config, or pass push=false"));
        };
        let Some(url) = origin_url else {
            return Err(
                ApiError::bad_request("the repository has no remote named origin")
                    .with_hint("add one with execute_command: git remote add origin <https URL>"),
            );
        };
        let Some(remote) = remote else {
            return Err(ApiError::bad_request(format!(
                "origin {} does not name an owner/name repository",
                redact::urls(url)
            )));
        };
        let gitea_host = git_remote::http_host(&gitea.base_url).unwrap_or_default();
        if !matches!(remote.scheme.as_str(), "http" | "https") || remote.host != gitea_host {
            return Err(ApiError::forbidden(format!(
                "origin points at {}://{}, not the configured Gitea host {gitea_host}; Gitea \
                 credentials are only sent to Gitea over http(s)",
                remote.scheme, remote.host
            ))
            .with_hint("set origin to the repository's https URL on the Gitea host"));
        }
        Ok(())
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

    async fn git_commit(&self, message: &str) -> Result<GitRun, ApiError> {
        let mut env: Vec<(&str, String)> = Vec::new();
        let email = self.git(&["config", "user.email"], GIT_TIMEOUT).await?;
        if !email.ok || email.stdout.trim().is_empty() {
            let (name, mail) = match &self.config().gitea {
                Some(g) => (
                    g.username.clone(),
                    format!("{}@noreply.vibn.local", g.username),
                ),
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
        let args = ["commit", "--no-edit", "--file=-"].map(OsString::from);
        let run = self
            .run_git(&args, &env, Some(message.as_bytes()), GIT_TIMEOUT)
            .await?;
        if !run.ok {
            return Err(ApiError::bad_request(format!(
                "git commit failed: {}",
                cut(self.clean(&format!("{}{}", run.stdout, run.stderr)))
            ))
            .with_hint("a pre-commit hook may have refused the commit; fix what it reports"));
        }
        Ok(run)
    }

    async fn git_push(&self, branch: &str) -> Result<GitRun, ApiError> {
        let Some(gitea) = &self.config().gitea else {
            return Err(ApiError::not_provisioned("pushing needs Gitea credentials"));
        };
        let host = git_remote::http_host(&gitea.base_url).unwrap_or_default();
        let scheme = gitea
            .base_url
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
            "credential.interactive=false",
            "-c",
            "http.followRedirects=false",
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "protocol.allow=never",
            "-c",
            "protocol.https.allow=always",
            "-c",
            "protocol.http.allow=always",
            "push",
            "--no-verify",
            "--set-upstream",
            "origin",
            &refspec,
        ]
        .map(OsString::from)
        .into();
        let env = [
            ("VIBN_GIT_USERNAME", gitea.username.clone()),
            ("VIBN_GIT_PASSWORD", gitea.token.expose_secret().to_string()),
        ];
        self.run_git(&args, &env, None, PUSH_TIMEOUT).await
    }

    async fn git(&self, args: &[&str], timeout: Duration) -> Result<GitRun, ApiError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        self.run_git(&args, &[], None, timeout).await
    }

    async fn git_ok<S: AsRef<std::ffi::OsStr>>(
        &self,
        args: &[S],
        timeout: Duration,
        what: &str,
    ) -> Result<GitRun, ApiError> {
        let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_os_string()).collect();
        let run = self.run_git(&args, &[], None, timeout).await?;
        if !run.ok {
            return Err(ApiError::bad_request(format!(
                "{what}: {}",
                cut(self.clean(&run.stderr))
            )));
        }
        Ok(run)
    }

    /// Run git in the root with the scrubbed environment plus `env`.
    async fn run_git(
        &self,
        args: &[OsString],
        env: &[(&str, String)],
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<GitRun, ApiError> {
        let root = &self.config().canonical_root;
        let ceiling = root.parent().unwrap_or(root);
        let mut command = tokio::process::Command::new("git");
        command
            .args(args)
            .current_dir(root)
            .env_clear()
            .envs(self.config().child_env.iter().map(|(k, v)| (k, v)))
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CEILING_DIRECTORIES", ceiling)
            .env("GIT_LITERAL_PATHSPECS", "1")
            .env("LC_ALL", "C")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| ApiError::internal(format!("cannot run git: {e}")))?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input)
                .await
                .map_err(|e| ApiError::internal(format!("cannot write to git: {e}")))?;
        }
        let output = tokio::time::timeout(timeout, child.wait_with_output())
            .await
            .map_err(|_| ApiError::upstream(format!("git timed out after {}s", timeout.as_secs())))?
            .map_err(|e| ApiError::internal(format!("git failed: {e}")))?;
        Ok(GitRun {
            ok: output.status.success(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// git's text with URL credentials and the Gitea token removed.
    fn clean(&self, text: &str) -> String {
        let text = redact::urls(text);
        match &self.config().gitea {
            Some(g) => redact::secret(&text, g.token.expose_secret()),
            None => text,
        }
    }
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

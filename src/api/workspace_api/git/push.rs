//! `git_commit_and_push`: stage, commit and push the repository at the workspace root.
//!
//! The commit is made in the root repository once its config has passed
//! `policy::git_config`, with every agent command excluded; the push goes to the one URL
//! built from origin's validated `owner/name` (`origin_url`), never to push URLs the
//! repository lists, with the token handed over by the scoped credential helper
//! (`transfer::credentials`). Protected repositories and, when pinned, repositories
//! outside the workspace org are refused before anything is committed.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::transfer::credentials;
use super::{GIT_TIMEOUT, GitRun, WorkspaceApi, cut};
use crate::api::caller::{Caller, GiteaLogin};
use crate::api::de;
use crate::error::ApiError;
use crate::policy::{git_refs, paths, protected};

/// Time allowed for the push.
const PUSH_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest commit message accepted (it travels as one argument).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

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

impl WorkspaceApi {
    /// Stage, commit and (by default) push the repository at the workspace root.
    pub async fn git_commit_and_push(
        &self,
        caller: &Caller,
        p: GitCommitAndPushParams,
    ) -> Result<GitCommitAndPushOut, ApiError> {
        super::super::limits::check(&p)?;
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
        let _no_commands = self.exclusive("git_commit_and_push").await?;
        self.ensure_repository_root()?;
        let listing = self.checked_git_config(Path::new("")).await?;
        let remote = self.origin(&listing)?;
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
            let url = self.origin_url(remote.as_ref(), "pushing")?;
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
            let output = self.clean_for(&run.stderr, login);
            if !run.ok {
                return Err(push_error(&output, committed, commit.as_deref(), &branch));
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
        let (mut args, env) = credentials(url, login);
        let refspec = format!("HEAD:refs/heads/{branch}");
        args.extend(
            [
                "push",
                "--no-verify",
                "--no-recurse-submodules",
                "--",
                url,
                &refspec,
            ]
            .map(OsString::from),
        );
        self.run_git(&args, &env, PUSH_TIMEOUT).await
    }
}

fn push_error(output: &str, committed: bool, commit: Option<&str>, branch: &str) -> ApiError {
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
        ApiError::unprocessable(format!(
            "{state}: the remote branch has commits this clone lacks: {detail}"
        ))
        .with_hint(format!(
            "call git_pull: it fast-forwards when it can, and otherwise fetches origin/{branch} \
             so you can run `git rebase origin/{branch}` with execute_command; then call again"
        ))
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

//! `git_pull`: bring the current branch of the repository at the workspace root up to
//! date with the same branch on Gitea, as the workspace's bot when pinned (the operator
//! otherwise), so the agent never handles a token.
//!
//! The same guards as the push, in the same order: every agent command excluded, `.git`
//! a real folder in the root, the repository's config refused when it holds any key that
//! is not inert (`policy::git_config`: proxies, `url.*.insteadOf`, fsmonitor, hooksPath,
//! credential helpers…), origin reduced to a validated `owner/name` on the Gitea host and,
//! when pinned, in the workspace org. git then fetches from the one URL vibn builds from
//! that name — never from the URL the repository lists, which the agent can write — with
//! the token handed over by the scoped credential helper, objects checked as they arrive
//! and the download bounded (`transfer`).
//!
//! Only the branch HEAD is on is pulled, from the branch of the same name, into
//! `refs/remotes/origin/<branch>`. The local branch moves only by fast-forward (after the
//! tree it would check out has passed the size limits); when both sides have new
//! commits nothing is merged, and the result says so, so the agent can rebase or merge
//! with its own commands. Protected repositories may be pulled (they are read-only for
//! agents, not hidden); pushing them stays refused.

use std::ffi::OsString;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::transfer::{Fetch, fetch_error};
use super::{GIT_TIMEOUT, GitRun, Repo, WorkspaceApi, cut};
use crate::api::caller::Caller;
use crate::error::ApiError;
use crate::policy::{git_refs, protected};

/// Parameters of `git_pull` (none: it pulls the current branch of the root repository).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GitPullParams {}

/// How the local branch stands after a pull.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PullOutcome {
    /// The branch already had every commit of the remote branch; nothing changed.
    UpToDate,
    /// The branch moved forward to the remote branch and its files were updated (also
    /// when the branch had no commit yet).
    FastForwarded,
    /// The branch has commits the remote lacks and lacks none of the remote's: push them.
    Ahead,
    /// Both have commits the other lacks: nothing was merged; the remote's are in
    /// `origin/<branch>`, to rebase onto or merge with execute_command.
    Diverged,
}

impl PullOutcome {
    fn word(self) -> &'static str {
        match self {
            PullOutcome::UpToDate => "up to date",
            PullOutcome::FastForwarded => "fast-forwarded",
            PullOutcome::Ahead => "ahead",
            PullOutcome::Diverged => "diverged",
        }
    }
}

/// What `git_pull` did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GitPullOut {
    /// The repository pulled from (origin), as `owner/name`.
    pub repo: String,
    /// The branch pulled (the current branch, from the remote branch of the same name).
    pub branch: String,
    /// up_to_date, fast_forwarded, ahead (push your commits) or diverged (nothing merged; rebase onto origin/<branch>).
    pub outcome: PullOutcome,
    /// The commit at HEAD before; absent when the branch had no commit yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// The commit at HEAD afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The remote branch's commit, now also at origin/<branch>.
    pub remote_commit: String,
    /// Commits on the local branch that the remote branch lacks.
    pub ahead: u64,
    /// Commits on the remote branch that the local branch lacks (after the pull).
    pub behind: u64,
    /// True when the repository is protected: it can be pulled, but git_commit_and_push will not push it.
    pub protected: bool,
    /// git's messages (credentials redacted, cut at 8 KiB).
    pub output: String,
}

impl WorkspaceApi {
    /// Fetch the current branch from Gitea and fast-forward to it when possible.
    pub async fn git_pull(
        &self,
        caller: &Caller,
        p: GitPullParams,
    ) -> Result<GitPullOut, ApiError> {
        super::super::limits::check(&p)?;
        let result = self.pull_now(caller).await;
        let target = match &result {
            Ok(out) => format!("{} {} {}", out.repo, out.branch, out.outcome.word()),
            Err(e) => format!("refused: {}", e.message()),
        };
        caller.audited(&target, result).await
    }

    async fn pull_now(&self, caller: &Caller) -> Result<GitPullOut, ApiError> {
        let org = caller.gitea_org();
        let _no_commands = self.exclusive("git_pull").await?;
        self.ensure_repository_root()?;
        let listing = self.checked_git_config(Path::new("")).await?;
        let remote = self.origin(&listing)?;
        match &remote {
            Some(remote) => protected::check_repo_in_org(org, &remote.full_name)?,
            None => {
                if let Some(org) = org {
                    return Err(ApiError::forbidden(format!(
                        "origin does not name a repository of the workspace org {org}"
                    ))
                    .with_hint(
                        "set origin to the https URL of a repository in the workspace org, \
                         or clone one with git_clone",
                    ));
                }
            }
        }
        let url = self.origin_url(remote.as_ref(), "pulling")?;
        let full_name = remote.map(|r| r.full_name).unwrap_or_default();
        let branch = self.current_branch().await?;
        let login = caller
            .gitea_login(self.config().gitea.operator.as_ref())
            .await?;
        let before = self.head_commit().await?;

        let root = self.config().canonical_root.clone();
        let tracking = format!("refs/remotes/origin/{branch}");
        let args: Vec<OsString> = [
            "fetch",
            "--no-tags",
            "--no-recurse-submodules",
            "--no-write-fetch-head",
            "--no-auto-maintenance",
            "--",
            &url,
            &format!("+refs/heads/{branch}:{tracking}"),
        ]
        .map(OsString::from)
        .into();
        let run = self
            .fetch(
                Fetch {
                    at: Repo::At(&root),
                    url: &url,
                    login: &login,
                    args,
                    pack_dir: root.join(".git/objects/pack"),
                },
                caller,
            )
            .await?;
        let fetched = self.clean_for(&format!("{}{}", run.stdout, run.stderr), &login);
        if !run.ok {
            return Err(pull_fetch_error(&fetched, &full_name, &branch));
        }
        let mut messages = fetched;
        let remote_commit = self
            .git_ok(
                &[
                    "rev-parse",
                    "--verify",
                    "-q",
                    &format!("{tracking}^{{commit}}"),
                ],
                GIT_TIMEOUT,
                "reading the fetched branch failed",
            )
            .await?
            .stdout
            .trim()
            .to_string();

        let outcome = match &before {
            Some(head) if *head == remote_commit => PullOutcome::UpToDate,
            Some(head) if self.is_ancestor(head, &remote_commit).await? => {
                PullOutcome::FastForwarded
            }
            Some(head) if self.is_ancestor(&remote_commit, head).await? => PullOutcome::Ahead,
            Some(_) => PullOutcome::Diverged,
            None => PullOutcome::FastForwarded,
        };
        if outcome == PullOutcome::FastForwarded {
            let then = format!(
                "{} was fetched into origin/{branch}, but nothing was checked out",
                short(&remote_commit)
            );
            self.check_tree_size(&root, &remote_commit, &then).await?;
            let merge = self
                .git(
                    &[
                        "merge",
                        "--ff-only",
                        "--no-edit",
                        "--no-stat",
                        &remote_commit,
                    ],
                    // Writing up to the checkout limit may take longer than a local
                    // command.
                    self.config().git_limits.transfer_timeout,
                )
                .await?;
            if !merge.ok {
                return Err(self.merge_error(&merge, &branch, &remote_commit));
            }
            messages.push_str(&merge.stdout);
        }
        let commit = self.head_commit().await?;
        let (ahead, behind) = match &commit {
            Some(head) => self.divergence(head, &remote_commit).await?,
            None => (0, 0),
        };
        match outcome {
            PullOutcome::UpToDate => messages.push_str("already up to date\n"),
            PullOutcome::Ahead => messages.push_str(&format!(
                "{branch} has {ahead} commit(s) origin/{branch} lacks; push them with \
                 git_commit_and_push\n"
            )),
            PullOutcome::Diverged => messages.push_str(&format!(
                "{branch} and origin/{branch} have diverged ({ahead} local and {behind} remote \
                 commit(s)); nothing was merged: run `git rebase origin/{branch}` (or `git merge \
                 origin/{branch}`) with execute_command, then push\n"
            )),
            PullOutcome::FastForwarded => {}
        }
        Ok(GitPullOut {
            protected: self.config().protected_repos.matches(&full_name),
            repo: full_name,
            branch,
            outcome,
            before,
            commit,
            remote_commit,
            ahead,
            behind,
            output: cut(self.clean(&messages)),
        })
    }

    /// The branch HEAD is on (checked as a branch name: it becomes part of a refspec).
    async fn current_branch(&self) -> Result<String, ApiError> {
        let run = self
            .git(&["symbolic-ref", "--short", "-q", "HEAD"], GIT_TIMEOUT)
            .await?;
        if !run.ok {
            return Err(
                ApiError::bad_request("HEAD is detached; there is no branch to pull").with_hint(
                    "switch to a branch with execute_command (`git switch <branch>`), then call \
                     again",
                ),
            );
        }
        let branch = run.stdout.trim().to_string();
        git_refs::check_branch(&branch)?;
        Ok(branch)
    }

    /// The commit at HEAD, `None` on a branch with no commit yet.
    async fn head_commit(&self) -> Result<Option<String>, ApiError> {
        let head = self
            .git(
                &["rev-parse", "--verify", "-q", "HEAD^{commit}"],
                GIT_TIMEOUT,
            )
            .await?;
        Ok(head.ok.then(|| head.stdout.trim().to_string()))
    }

    /// Whether commit `a` is an ancestor of (or equal to) commit `b`.
    async fn is_ancestor(&self, a: &str, b: &str) -> Result<bool, ApiError> {
        let run = self
            .git(&["merge-base", "--is-ancestor", a, b], GIT_TIMEOUT)
            .await?;
        match run.code {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(ApiError::internal(format!(
                "comparing the local and the fetched branch failed: {}",
                cut(self.clean(&run.stderr))
            ))),
        }
    }

    /// Commits only `local` has, and commits only `remote` has.
    async fn divergence(&self, local: &str, remote: &str) -> Result<(u64, u64), ApiError> {
        let run = self
            .git_ok(
                &[
                    "rev-list",
                    "--left-right",
                    "--count",
                    &format!("{local}...{remote}"),
                ],
                GIT_TIMEOUT,
                "counting commits failed",
            )
            .await?;
        let mut counts = run
            .stdout
            .split_whitespace()
            .map(|n| n.parse::<u64>().unwrap_or(0));
        Ok((counts.next().unwrap_or(0), counts.next().unwrap_or(0)))
    }

    fn merge_error(&self, merge: &GitRun, branch: &str, remote_commit: &str) -> ApiError {
        let detail = cut(self.clean(&format!("{}{}", merge.stdout, merge.stderr)));
        let fetched = format!(
            "{} was fetched into origin/{branch}, but {branch} could not be fast-forwarded to it",
            short(remote_commit)
        );
        if detail.contains("would be overwritten") {
            ApiError::bad_request(format!(
                "{fetched}: local changes would be overwritten: {detail}"
            ))
            .with_hint(
                "commit them first (git_commit_and_push, push=false), or move them away with \
                 execute_command (`git stash`), then call git_pull again",
            )
        } else {
            ApiError::bad_request(format!("{fetched}: {detail}"))
                .with_hint("see git's message; the work tree was left as it was")
        }
    }
}

/// What the model reads when the pull's fetch failed.
fn pull_fetch_error(output: &str, repo: &str, branch: &str) -> ApiError {
    if output
        .to_ascii_lowercase()
        .contains("couldn't find remote ref")
    {
        return ApiError::not_found(format!(
            "{repo} has no branch {branch} on Gitea yet, so there is nothing to pull"
        ))
        .with_hint(
            "git_commit_and_push creates it on Gitea; or switch to a branch that exists there \
             (`git switch <branch>` with execute_command)",
        );
    }
    fetch_error(output, repo, Some(branch))
}

/// The first 12 characters of a commit id.
fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

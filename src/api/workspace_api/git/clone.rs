//! `git_clone`: clone a repository from Gitea into an empty folder of the workspace, as
//! the workspace's bot when pinned (the operator otherwise), so the agent never handles
//! a token.
//!
//! What may be cloned: `owner/name`, a bare name (in the workspace org when pinned, in
//! `GITEA_USERNAME`'s account otherwise) or the repository's http(s) URL on the Gitea
//! host without credentials — always reduced to a validated `owner/name`, from which
//! vibn builds the one URL git fetches. Pinned, only repositories of the workspace org.
//! Protected repositories may be cloned (they are read-only for agents, not hidden);
//! pushing them stays refused.
//!
//! Where: `dir`, a folder confined to the root (symlinks resolved beneath it, never in
//! `.git`), the root itself when omitted. It must be empty or absent (missing folders
//! are created), so a clone never mixes with or overwrites files; on any failure the
//! target is left as it was found (what the clone wrote is removed).
//!
//! How: `git clone --no-checkout` with no templates, no submodules, objects checked as
//! they arrive and the download bounded (`transfer`); then the new repository's config
//! must pass `policy::git_config`, the tree to check out must fit the limits, and only
//! then are files written (`read-tree -u`). origin is left as the canonical URL, with no
//! credentials in it.

use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::transfer::{Fetch, fetch_error};
use super::{GIT_TIMEOUT, Repo, WorkspaceApi, cut, repo_url};
use crate::api::caller::Caller;
use crate::error::{ApiError, quote};
use crate::policy::repo_ref::{self, RepoRef};
use crate::policy::{git_refs, git_remote, paths, protected};

/// Parameters of `git_clone`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GitCloneParams {
    /// The repository: `owner/name`, a bare name in the workspace org, or its https URL on Gitea (no credentials).
    pub repo: String,
    /// Branch to check out (default: the repository's default branch).
    #[serde(default)]
    pub branch: Option<String>,
    /// Empty or new folder to clone into, relative to the root (default: the root itself, which must be empty).
    #[serde(default)]
    pub dir: Option<String>,
}

/// What `git_clone` did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GitCloneOut {
    /// The repository cloned, as `owner/name`.
    pub repo: String,
    /// The folder it is in, relative to the root (`.` is the root: git_pull and git_commit_and_push work there).
    pub dir: String,
    /// origin's URL: the repository on Gitea, with no credentials in it.
    pub origin: String,
    /// The branch checked out (for an empty repository, the branch its first commit will make).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The commit checked out; absent when the repository is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Files checked out.
    pub files: u64,
    /// True when the repository is protected: it can be read, but git_commit_and_push will not push it.
    pub protected: bool,
    /// git's messages (credentials redacted, cut at 8 KiB).
    pub output: String,
}

/// The folder a clone goes into: resolved beneath the root, empty when checked.
struct Target {
    /// Relative to the root with symlinks resolved (empty for the root itself).
    relative: PathBuf,
    /// Absolute and canonical.
    path: PathBuf,
    /// The topmost folder this call created (removed again if the clone fails).
    created: Option<PathBuf>,
}

impl WorkspaceApi {
    /// Clone a repository from Gitea into an empty folder of the workspace.
    pub async fn git_clone(
        &self,
        caller: &Caller,
        p: GitCloneParams,
    ) -> Result<GitCloneOut, ApiError> {
        super::super::limits::check(&p)?;
        let result = self.clone_now(p, caller).await;
        let target = match &result {
            Ok(out) => format!("{} into {}", out.repo, out.dir),
            Err(e) => format!("refused: {}", e.message()),
        };
        caller.audited(&target, result).await
    }

    async fn clone_now(&self, p: GitCloneParams, caller: &Caller) -> Result<GitCloneOut, ApiError> {
        let base_url = self.gitea_base("cloning")?;
        let org = caller.gitea_org();
        let operator = self.config().gitea.operator.as_ref();
        let repo = clone_source(
            &p.repo,
            base_url,
            org.or(operator.map(|o| o.username.as_str())),
        )?;
        let full_name = repo.full_name();
        protected::check_repo_in_org(org, &full_name)?;
        if let Some(branch) = &p.branch {
            git_refs::check_branch(branch)?;
        }
        let relative = self.confine(p.dir.as_deref().unwrap_or(""))?;
        paths::check_not_git_metadata(&relative)?;
        let url = repo_url(base_url, &full_name);
        let login = caller.gitea_login(operator).await?;

        let _no_commands = self.exclusive("git_clone").await?;
        let target = self.prepare_target(&relative)?;
        let result = self
            .clone_into(&target, &url, &repo, p.branch.as_deref(), caller, &login)
            .await;
        if result.is_err() {
            self.remove_clone(&target);
        }
        let (branch, commit, files, output) = result?;
        Ok(GitCloneOut {
            protected: self.config().protected_repos.matches(&full_name),
            repo: full_name,
            dir: paths::display(&target.relative),
            origin: url,
            branch,
            commit,
            files,
            output,
        })
    }

    /// Clone, check and check out; returns branch, commit, files and git's messages.
    async fn clone_into(
        &self,
        target: &Target,
        url: &str,
        repo: &RepoRef,
        branch: Option<&str>,
        caller: &Caller,
        login: &crate::api::caller::GiteaLogin,
    ) -> Result<(Option<String>, Option<String>, u64, String), ApiError> {
        let full_name = repo.full_name();
        let mut args: Vec<OsString> = [
            // Only used when the repository is empty and Gitea names no default branch.
            "-c",
            "init.defaultBranch=main",
            "clone",
            "--no-checkout",
            "--template=",
            "--no-recurse-submodules",
        ]
        .map(OsString::from)
        .into();
        if let Some(branch) = branch {
            args.push(format!("--branch={branch}").into());
        }
        args.extend([OsString::from("--"), OsString::from(url)]);
        args.push(target.path.clone().into_os_string());
        let run = self
            .fetch(
                Fetch {
                    at: Repo::Outside,
                    url,
                    login,
                    args,
                    pack_dir: target.path.join(".git/objects/pack"),
                },
                caller,
            )
            .await?;
        let output = self.clean_for(&format!("{}{}", run.stdout, run.stderr), login);
        if !run.ok {
            return Err(fetch_error(&output, &full_name, branch));
        }
        // The download is measured while git runs; one that ended between two
        // measurements is measured once more here.
        self.check_download(&target.path.join(".git/objects/pack"))?;
        // The clone's config is git's own, but it must pass the same check as any
        // repository vibn's git works in (a future git writing a new key included).
        self.checked_git_config(&target.relative)
            .await
            .map_err(|e| {
                ApiError::internal(format!(
                    "the new clone's .git/config failed vibn's check, so it was removed: {}",
                    e.message()
                ))
            })?;
        let at = Repo::At(&target.path);
        let head = self
            .run_git_in(
                at,
                &args_of(&["rev-parse", "--verify", "-q", "HEAD"]),
                &[],
                GIT_TIMEOUT,
            )
            .await?;
        let commit = head.ok.then(|| head.stdout.trim().to_string());
        let mut files = 0;
        if let Some(sha) = &commit {
            files = self
                .check_tree_size(&target.path, sha, "nothing was kept")
                .await?
                .files;
            // Writing up to the checkout limit may take longer than a local command.
            let checkout = self
                .run_git_in(
                    at,
                    &args_of(&["read-tree", "--reset", "-u", sha]),
                    &[],
                    self.config().git_limits.transfer_timeout,
                )
                .await?;
            if !checkout.ok {
                return Err(ApiError::unprocessable(format!(
                    "{full_name} was fetched but its files could not be checked out, so \
                     nothing was kept: {}",
                    cut(self.clean(&checkout.stderr))
                ))
                .with_hint("the tree may hold paths this filesystem refuses; tell the user"));
            }
        }
        let head_branch = self
            .run_git_in(
                at,
                &args_of(&["symbolic-ref", "--short", "-q", "HEAD"]),
                &[],
                GIT_TIMEOUT,
            )
            .await?;
        let branch = head_branch
            .ok
            .then(|| head_branch.stdout.trim().to_string());
        Ok((branch, commit, files, cut(output)))
    }

    /// Resolve `relative` beneath the root, create what is missing of it, and check it
    /// is an empty folder outside `.git`. Existing folders are resolved before anything
    /// is created, so a symlink cannot lead the creation into `.git` or out of the root.
    fn prepare_target(&self, relative: &Path) -> Result<Target, ApiError> {
        let shown = paths::display(relative);
        let mut existing = PathBuf::new();
        let mut missing = PathBuf::new();
        for component in relative.components() {
            let Component::Normal(name) = component else {
                continue;
            };
            if !missing.as_os_str().is_empty() {
                missing.push(name);
                continue;
            }
            let candidate = existing.join(name);
            match self.root().symlink_metadata(&candidate) {
                Ok(_) => {
                    existing = self
                        .root()
                        .canonicalize(&candidate)
                        .map_err(|e| super::super::fs_error(e, &shown))?;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(name),
                Err(e) => return Err(super::super::fs_error(e, &shown)),
            }
        }
        // (`join` of an empty path would add a trailing '/'.)
        let resolved = if missing.as_os_str().is_empty() {
            existing.clone()
        } else {
            existing.join(&missing)
        };
        paths::check_not_git_metadata(&resolved)?;
        let created = match missing.components().next() {
            Some(first) => {
                self.root()
                    .create_dir_all(&resolved)
                    .map_err(|e| super::super::fs_error(e, &shown))?;
                Some(existing.join(first))
            }
            None => None,
        };
        let target = Target {
            path: if resolved.as_os_str().is_empty() {
                self.config().canonical_root.clone()
            } else {
                self.config().canonical_root.join(&resolved)
            },
            relative: resolved,
            created,
        };
        if let Err(e) = self.check_empty(&target, &shown) {
            if let Some(top) = &target.created {
                let _ = self.root().remove_dir_all(top);
            }
            return Err(e);
        }
        Ok(target)
    }

    fn check_empty(&self, target: &Target, shown: &str) -> Result<(), ApiError> {
        let dir = if target.relative.as_os_str().is_empty() {
            self.root().try_clone()
        } else {
            self.root().open_dir(&target.relative)
        };
        let dir = dir.map_err(|e| match e.raw_os_error() {
            Some(nix::libc::ENOTDIR) => ApiError::bad_request(format!(
                "{} is a file, not a folder to clone into",
                quote(shown)
            ))
            .with_hint("pass a dir that is new or an empty folder"),
            _ => super::super::fs_error(e, shown),
        })?;
        let mut entries = dir
            .entries()
            .map_err(|e| super::super::fs_error(e, shown))?;
        if entries.next().is_none() {
            return Ok(());
        }
        let hint = if dir.symlink_metadata(".git").is_ok() {
            if target.relative.as_os_str().is_empty() {
                "it already holds a repository: call git_pull to update it, or clone into a new \
                 folder with dir"
            } else {
                "it already holds a repository; clone into a new folder with dir, or remove \
                 this one with execute_command and clone again"
            }
        } else {
            "git_clone never mixes a clone with existing files: pass a dir that is new or \
             empty, or move these files away with execute_command"
        };
        Err(ApiError::bad_request(format!(
            "{} is not empty; a repository is cloned only into an empty folder",
            if target.relative.as_os_str().is_empty() {
                "the workspace root".to_string()
            } else {
                quote(shown)
            }
        ))
        .with_hint(hint))
    }

    /// Remove what a failed clone left: the folders this call created, or everything in
    /// a folder that was empty before (git's whole process tree has ended by now).
    fn remove_clone(&self, target: &Target) {
        let removed = match &target.created {
            Some(top) => self.root().remove_dir_all(top),
            None => self.empty_folder(&target.relative),
        };
        if let Err(e) = removed {
            tracing::warn!(
                dir = %paths::display(&target.relative),
                "could not remove a failed clone: {e}"
            );
        }
    }

    fn empty_folder(&self, relative: &Path) -> io::Result<()> {
        let dir = if relative.as_os_str().is_empty() {
            self.root().try_clone()?
        } else {
            self.root().open_dir(relative)?
        };
        for entry in dir.entries()? {
            let entry = entry?;
            let name = entry.file_name();
            // A symlink is removed as a link, never followed.
            if entry.file_type()?.is_dir() {
                dir.remove_dir_all(&name)?;
            } else {
                dir.remove_file(&name)?;
            }
        }
        Ok(())
    }
}

/// The repository a model asked to clone, as a validated `owner/name`: a reference
/// (`owner/name`, or a bare name of `default_owner`), or an http(s) URL on the Gitea host
/// of `base_url` without user or password.
fn clone_source(
    input: &str,
    base_url: &str,
    default_owner: Option<&str>,
) -> Result<RepoRef, ApiError> {
    let repo = parse_clone_source(input, base_url, default_owner)?;
    // Gitea's user and org names start with a letter or digit; a '-' would never name
    // an owner (and vibn's git never sees a name as an argument of its own anyway).
    if !repo.owner.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(ApiError::bad_request(format!(
            "repo {} names no Gitea owner: owners start with a letter or digit",
            quote(input.trim())
        ))
        .with_hint("pass owner/name"));
    }
    Ok(repo)
}

fn parse_clone_source(
    input: &str,
    base_url: &str,
    default_owner: Option<&str>,
) -> Result<RepoRef, ApiError> {
    let trimmed = input.trim();
    if !trimmed.contains(':') && !trimmed.contains('@') {
        return Ok(repo_ref::parse(trimmed, default_owner)?);
    }
    if trimmed.contains('@') {
        return Err(ApiError::bad_request(format!(
            "repo {} carries a user name or credentials; the server supplies them",
            quote(&crate::redact::urls(trimmed))
        ))
        .with_hint("pass owner/name, without any user or token"));
    }
    let gitea_host = git_remote::http_host(base_url).unwrap_or_default();
    let remote = git_remote::parse(trimmed)
        .filter(|r| matches!(r.scheme.as_str(), "http" | "https"))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "repo {} is neither owner/name nor an http(s) URL of a repository",
                quote(trimmed)
            ))
            .with_hint("pass owner/name")
        })?;
    if remote.host != gitea_host {
        return Err(ApiError::forbidden(format!(
            "repo {} is not on the configured Gitea host {gitea_host}; only its repositories \
             can be cloned",
            quote(trimmed)
        ))
        .with_hint("pass owner/name of a repository on Gitea"));
    }
    Ok(repo_ref::parse(&remote.full_name, None)?)
}

fn args_of(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://git.example.com:3000/api/v1";

    #[test]
    fn clone_sources_reduce_to_owner_and_name() {
        let table = [
            ("vibn-mark/site", Some("vibn-mark"), "vibn-mark/site"),
            ("site", Some("vibn-mark"), "vibn-mark/site"),
            (" site.git ", Some("vibn-mark"), "vibn-mark/site"),
            ("acme/site.git", None, "acme/site"),
            (
                "http://git.example.com:3000/vibn-mark/site.git",
                None,
                "vibn-mark/site",
            ),
            (
                "HTTP://GIT.example.com:3000/vibn-mark/%73ite",
                None,
                "vibn-mark/site",
            ),
        ];
        for (input, owner, want) in table {
            let got = clone_source(input, BASE, owner).map(|r| r.full_name());
            assert_eq!(got.as_deref().ok(), Some(want), "{input}");
        }
    }

    #[test]
    fn hostile_clone_sources_are_refused() {
        let table = [
            ("--upload-pack=touch /tmp/x", 400),
            ("-u/x", 400),
            ("site", 400),
            ("../site", 400),
            ("o/../site", 400),
            ("o/site/x", 400),
            ("o/%2e%2e", 400),
            ("o/si te", 400),
            ("http://bot:tok@git.example.com:3000/o/r.git", 400),
            ("bot@git.example.com:o/r.git", 400),
            ("ssh://git.example.com:3000/o/r.git", 400),
            ("file:///tmp/o/r.git", 400),
            ("ext::sh -c touch% /tmp/x", 400),
            ("http://evil.example/o/r.git", 403),
            ("http://git.example.com/o/r.git", 403),
            ("http://git.example.com:3000/o/a%2fb.git", 400),
        ];
        for (input, status) in table {
            let got = clone_source(input, BASE, None);
            assert_eq!(
                got.as_ref().map_err(|e| e.status()).err(),
                Some(status),
                "{input}: {got:?}"
            );
        }
    }
}

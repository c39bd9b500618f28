//! Git plumbing on the sandbox's bare repositories: init, ref and tree lookups, blob
//! reads, and commits made without a work tree (temporary index → `write-tree` →
//! `commit-tree` → `update-ref` with the expected old value). Every command runs with a
//! cleared, isolated environment (no system/global config, no prompts). Blocking: async
//! callers go through `tokio::task::spawn_blocking`. No HTTP, no sandbox state.

use std::io::{self, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use rand::distr::{Alphanumeric, SampleString};

const ZERO_OID: &str = "0000000000000000000000000000000000000000";

/// A git command for the bare repository `dir`, isolated from the caller's environment.
fn git(dir: Option<&Path>) -> Command {
    let mut cmd = Command::new("git");
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = dir {
        cmd.env("GIT_DIR", dir);
    }
    cmd
}

/// Run and return stdout; `Ok(None)` when git exits non-zero (a failed lookup).
fn try_run(
    dir: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> io::Result<Option<Vec<u8>>> {
    let mut cmd = git(Some(dir));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn()?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input)?;
    }
    let out = child.wait_with_output()?;
    Ok(out.status.success().then_some(out.stdout))
}

/// Run and return stdout; a non-zero exit is an error naming the command.
fn run(
    dir: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> io::Result<Vec<u8>> {
    try_run(dir, args, stdin, env)?
        .ok_or_else(|| io::Error::other(format!("git {} failed", args.join(" "))))
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes)
        .trim_end_matches('\n')
        .to_string()
}

/// `git init --bare` with `branch` as HEAD (idempotent).
pub(crate) fn init_bare(dir: &Path, branch: &str) -> io::Result<()> {
    if dir.join("HEAD").exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let out = git(None)
        .args(["init", "--bare", "--quiet"])
        .arg(format!("--initial-branch={branch}"))
        .arg(dir)
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "git init --bare {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Point HEAD at `branch` (the default branch).
pub(crate) fn set_head(dir: &Path, branch: &str) -> io::Result<()> {
    run(
        dir,
        &["symbolic-ref", "HEAD", &format!("refs/heads/{branch}")],
        None,
        &[],
    )
    .map(|_| ())
}

/// True when the repository has at least one branch (read from the ref store, no git
/// process: cheap enough for every Repository JSON).
pub(crate) fn has_branches(dir: &Path) -> bool {
    fn any_file(p: &Path) -> bool {
        std::fs::read_dir(p).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let path = e.path();
                if path.is_dir() { any_file(&path) } else { true }
            })
        })
    }
    any_file(&dir.join("refs/heads"))
        || std::fs::read_to_string(dir.join("packed-refs"))
            .is_ok_and(|p| p.lines().any(|l| l.contains(" refs/heads/")))
}

/// The commit a branch points at.
pub(crate) fn branch_commit(dir: &Path, branch: &str) -> io::Result<Option<String>> {
    resolve(dir, &format!("refs/heads/{branch}"))
}

/// Resolve a revision to a commit id.
pub(crate) fn resolve(dir: &Path, rev: &str) -> io::Result<Option<String>> {
    let spec = format!("{rev}^{{commit}}");
    Ok(try_run(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ],
        None,
        &[],
    )?
    .map(text)
    .filter(|s| !s.is_empty()))
}

/// Resolve `ref` as Gitea does for `?ref=`: a branch, then a tag, then a commit id.
pub(crate) fn resolve_ref(dir: &Path, r: &str) -> io::Result<Option<String>> {
    if r.is_empty() || r.starts_with('-') {
        return Ok(None);
    }
    for full in [format!("refs/heads/{r}"), format!("refs/tags/{r}")] {
        if let Some(id) = resolve(dir, &full)? {
            return Ok(Some(id));
        }
    }
    if r.len() >= 4 && r.len() <= 64 && r.bytes().all(|b| b.is_ascii_hexdigit()) {
        return resolve(dir, r);
    }
    Ok(None)
}

/// One commit's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitInfo {
    pub sha: String,
    pub tree: String,
    pub parents: Vec<String>,
    pub author_name: String,
    pub author_email: String,
    pub author_date: String,
    pub committer_name: String,
    pub committer_email: String,
    pub committer_date: String,
    pub message: String,
}

const COMMIT_FORMAT: &str =
    "--format=%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B";

fn parse_commit(raw: &str) -> Option<CommitInfo> {
    let f: Vec<&str> = raw.splitn(10, '\0').collect();
    if f.len() < 10 {
        return None;
    }
    Some(CommitInfo {
        sha: f[0].to_string(),
        tree: f[1].to_string(),
        parents: f[2].split_whitespace().map(str::to_string).collect(),
        author_name: f[3].to_string(),
        author_email: f[4].to_string(),
        author_date: f[5].to_string(),
        committer_name: f[6].to_string(),
        committer_email: f[7].to_string(),
        committer_date: f[8].to_string(),
        message: f[9].trim_end_matches('\n').to_string() + "\n",
    })
}

/// Metadata of commit `sha`.
pub(crate) fn commit_info(dir: &Path, sha: &str) -> io::Result<Option<CommitInfo>> {
    let out = try_run(dir, &["log", "-1", COMMIT_FORMAT, sha, "--"], None, &[])?;
    Ok(out.and_then(|o| parse_commit(&String::from_utf8_lossy(&o))))
}

/// The last commit reachable from `commit` that touched `path` (the commit itself for
/// the root).
pub(crate) fn last_commit(dir: &Path, commit: &str, path: &str) -> io::Result<Option<CommitInfo>> {
    let mut args = vec!["log", "-1", COMMIT_FORMAT, commit, "--"];
    if !path.is_empty() {
        args.push(path);
    }
    let out = try_run(dir, &args, None, &[])?;
    Ok(out.and_then(|o| parse_commit(&String::from_utf8_lossy(&o))))
}

/// A branch and the commit it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BranchInfo {
    pub name: String,
    pub commit: CommitInfo,
}

/// Every branch, sorted by name.
pub(crate) fn branches(dir: &Path) -> io::Result<Vec<BranchInfo>> {
    if !has_branches(dir) {
        return Ok(Vec::new());
    }
    let out = run(
        dir,
        &["for-each-ref", "--format=%(refname:strip=2)", "refs/heads"],
        None,
        &[],
    )?;
    let mut list = Vec::new();
    for name in String::from_utf8_lossy(&out).lines() {
        if let Some(commit) = branch_commit(dir, name)?
            .map(|sha| commit_info(dir, &sha))
            .transpose()?
            .flatten()
        {
            list.push(BranchInfo {
                name: name.to_string(),
                commit,
            });
        }
    }
    list.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(list)
}

/// A tree entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub mode: String,
    /// `blob`, `tree` or `commit` (submodule).
    pub kind: String,
    pub sha: String,
    pub size: u64,
    /// Full path from the repository root.
    pub path: String,
}

impl Entry {
    /// Gitea's `type`: file, dir, symlink or submodule.
    pub(crate) fn content_type(&self) -> &'static str {
        match (self.kind.as_str(), self.mode.as_str()) {
            ("tree", _) => "dir",
            ("commit", _) => "submodule",
            (_, "120000") => "symlink",
            _ => "file",
        }
    }

    /// The last path component.
    pub(crate) fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or_default()
    }
}

fn parse_ls_tree(raw: &[u8], prefix: &str) -> Vec<Entry> {
    raw.split(|b| *b == 0)
        .filter(|rec| !rec.is_empty())
        .filter_map(|rec| {
            let rec = String::from_utf8_lossy(rec);
            let (meta, name) = rec.split_once('\t')?;
            let mut f = meta.split_whitespace();
            let (mode, kind, sha) = (f.next()?, f.next()?, f.next()?);
            let size = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let path = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}/{name}")
            };
            Some(Entry {
                mode: mode.to_string(),
                kind: kind.to_string(),
                sha: sha.to_string(),
                size,
                path,
            })
        })
        .collect()
}

/// The entry at `path` in `commit` (`None` when missing).
pub(crate) fn entry(dir: &Path, commit: &str, path: &str) -> io::Result<Option<Entry>> {
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Ok(None);
    }
    let out = try_run(
        dir,
        &["ls-tree", "-l", "-z", "--full-tree", commit, "--", path],
        None,
        &[],
    )?;
    Ok(out
        .map(|o| parse_ls_tree(&o, ""))
        .and_then(|list| list.into_iter().find(|e| e.path == path)))
}

/// The entries of directory `path` (root when empty), sorted as git sorts them.
pub(crate) fn list_dir(dir: &Path, commit: &str, path: &str) -> io::Result<Vec<Entry>> {
    let path = path.trim_matches('/');
    let treeish = if path.is_empty() {
        commit.to_string()
    } else {
        format!("{commit}:{path}")
    };
    let out = try_run(dir, &["ls-tree", "-l", "-z", &treeish], None, &[])?;
    Ok(out.map(|o| parse_ls_tree(&o, path)).unwrap_or_default())
}

/// The bytes of blob `sha`.
pub(crate) fn read_blob(dir: &Path, sha: &str) -> io::Result<Vec<u8>> {
    run(dir, &["cat-file", "blob", sha], None, &[])
}

/// One change of a commit made through the contents API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileOp {
    /// Create or overwrite `path` with `content`.
    Put { path: String, content: Vec<u8> },
    /// Remove `path`.
    Delete { path: String },
}

/// Who a commit is by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signature {
    pub name: String,
    pub email: String,
}

/// A commit to make: `ops` on top of `parent` (none: a root commit), moving `branch`
/// from `expected_old` (none: the branch must not exist yet).
#[derive(Debug, Clone)]
pub(crate) struct NewCommit<'a> {
    pub parent: Option<&'a str>,
    pub ops: &'a [FileOp],
    pub message: &'a str,
    pub author: &'a Signature,
    pub committer: &'a Signature,
    pub branch: &'a str,
    pub expected_old: Option<&'a str>,
}

/// Make `c` and return the new commit id; fails (nothing moved) when the branch no
/// longer points at `expected_old`.
pub(crate) fn commit_files(dir: &Path, c: &NewCommit<'_>) -> io::Result<String> {
    let NewCommit {
        parent,
        ops,
        message,
        author,
        committer,
        branch,
        expected_old,
    } = *c;
    let index = dir.join(format!(
        "vibn-index-{}",
        Alphanumeric.sample_string(&mut rand::rng(), 12)
    ));
    let index_str = index.to_string_lossy().into_owned();
    let result = (|| {
        let env = [("GIT_INDEX_FILE", index_str.as_str())];
        match parent {
            Some(p) => run(dir, &["read-tree", p], None, &env)?,
            None => run(dir, &["read-tree", "--empty"], None, &env)?,
        };
        for op in ops {
            match op {
                FileOp::Put { path, content } => {
                    let blob = text(run(
                        dir,
                        &["hash-object", "-w", "--stdin"],
                        Some(content),
                        &[],
                    )?);
                    let info = format!("100644,{blob},{path}");
                    run(
                        dir,
                        &["update-index", "--add", "--replace", "--cacheinfo", &info],
                        None,
                        &env,
                    )?;
                }
                FileOp::Delete { path } => {
                    // Mode 0 removes the entry; unlike --force-remove this needs no
                    // work tree.
                    let line = format!("0 {ZERO_OID}\t{path}\n");
                    run(
                        dir,
                        &["update-index", "--index-info"],
                        Some(line.as_bytes()),
                        &env,
                    )?;
                }
            }
        }
        let tree = text(run(dir, &["write-tree"], None, &env)?);
        let mut args = vec!["commit-tree", tree.as_str()];
        if let Some(p) = parent {
            args.extend(["-p", p]);
        }
        let ids = [
            ("GIT_AUTHOR_NAME", author.name.as_str()),
            ("GIT_AUTHOR_EMAIL", author.email.as_str()),
            ("GIT_COMMITTER_NAME", committer.name.as_str()),
            ("GIT_COMMITTER_EMAIL", committer.email.as_str()),
        ];
        let commit = text(run(dir, &args, Some(message.as_bytes()), &ids)?);
        let old = expected_old.unwrap_or(ZERO_OID);
        run(
            dir,
            &["update-ref", &format!("refs/heads/{branch}"), &commit, old],
            None,
            &[],
        )?;
        Ok(commit)
    })();
    let _ = std::fs::remove_file(&index);
    result
}

/// Create `branch` at `commit` (fails when it exists).
pub(crate) fn create_branch(dir: &Path, branch: &str, commit: &str) -> io::Result<()> {
    run(
        dir,
        &[
            "update-ref",
            &format!("refs/heads/{branch}"),
            commit,
            ZERO_OID,
        ],
        None,
        &[],
    )
    .map(|_| ())
}

/// Delete `branch`.
pub(crate) fn delete_branch(dir: &Path, branch: &str) -> io::Result<()> {
    run(
        dir,
        &["update-ref", "-d", &format!("refs/heads/{branch}")],
        None,
        &[],
    )
    .map(|_| ())
}

/// True when `name` is a valid branch name (`git check-ref-format --branch`).
pub(crate) fn valid_branch_name(name: &str) -> bool {
    !name.starts_with('-')
        && git(None)
            .args(["check-ref-format", "--branch", name])
            .output()
            .is_ok_and(|o| o.status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig() -> Signature {
        Signature {
            name: "t".into(),
            email: "t@example.com".into(),
        }
    }

    #[test]
    fn commits_without_a_work_tree_and_reads_them_back() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("r.git");
        init_bare(&dir, "main").unwrap();
        assert!(!has_branches(&dir));
        let put = FileOp::Put {
            path: "docs/a.txt".into(),
            content: b"hello\n".to_vec(),
        };
        let s = sig();
        let nc = |parent, ops, old| NewCommit {
            parent,
            ops,
            message: "msg\n",
            author: &s,
            committer: &s,
            branch: "main",
            expected_old: old,
        };
        let puts = [put];
        let c1 = commit_files(&dir, &nc(None, &puts, None)).unwrap();
        assert!(has_branches(&dir));
        assert_eq!(
            resolve_ref(&dir, "main").unwrap().as_deref(),
            Some(c1.as_str())
        );
        let e = entry(&dir, &c1, "docs/a.txt").unwrap().unwrap();
        assert_eq!((e.content_type(), e.size, e.name()), ("file", 6, "a.txt"));
        assert_eq!(read_blob(&dir, &e.sha).unwrap(), b"hello\n");
        assert_eq!(
            entry(&dir, &c1, "docs").unwrap().unwrap().content_type(),
            "dir"
        );
        assert_eq!(list_dir(&dir, &c1, "docs").unwrap()[0].path, "docs/a.txt");
        // A stale expected old value is refused.
        let del = FileOp::Delete {
            path: "docs/a.txt".into(),
        };
        let dels = [del];
        assert!(commit_files(&dir, &nc(Some(&c1), &dels, None)).is_err());
        let c2 = commit_files(&dir, &nc(Some(&c1), &dels, Some(&c1))).unwrap();
        assert!(entry(&dir, &c2, "docs/a.txt").unwrap().is_none());
        assert_eq!(commit_info(&dir, &c2).unwrap().unwrap().parents, vec![c1]);
        assert_eq!(branches(&dir).unwrap().len(), 1);
    }
}

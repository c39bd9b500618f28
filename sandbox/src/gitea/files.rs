//! Writing files through the contents API: `POST` (create, 201), `PUT` (update with the
//! current **blob** sha, 200; without a sha it creates, 201 — 1.26 semantics; refused on
//! an empty repository) and `DELETE` (with sha, 200) on `/repos/{o}/{r}/contents/{path}`,
//! and the multi-file `POST /repos/{o}/{r}/contents` (201). Every change is one commit
//! on `branch` (default: the default branch) or on `new_branch` created from it.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{Ep, RepoRef, Rq, doer, repo_ref};
use super::contents::{
    RefKind, Urls, blocking, code_reader, contents_json, file_commit_json, unsigned,
};
use super::git::{self, FileOp, NewCommit, Signature};
use super::http::{ApiErr, ApiResult, ok_json};
use super::seed::signature_of;
use super::state::GiteaState;

/// `Identity`.
#[derive(Debug, Clone, Deserialize)]
struct Identity {
    name: Option<String>,
    email: Option<String>,
}

/// The fields shared by Create/Update/DeleteFileOptions and ChangeFilesOptions.
#[derive(Debug, Deserialize)]
struct FileOptions {
    content: Option<String>,
    sha: Option<String>,
    from_path: Option<String>,
    message: Option<String>,
    branch: Option<String>,
    new_branch: Option<String>,
    author: Option<Identity>,
    committer: Option<Identity>,
    files: Option<Vec<ChangeFile>>,
}

/// `ChangeFileOperation`.
#[derive(Debug, Deserialize)]
struct ChangeFile {
    operation: Option<String>,
    path: Option<String>,
    content: Option<String>,
    sha: Option<String>,
    from_path: Option<String>,
}

/// One requested change, checked against the parent tree before committing.
#[derive(Debug, Clone)]
enum Change {
    Create {
        path: String,
        content: Vec<u8>,
    },
    /// `content: None` keeps the source's bytes (a plain rename); an empty `sha` skips
    /// the check (rename without sha).
    Update {
        path: String,
        content: Option<Vec<u8>>,
        sha: String,
        from: Option<String>,
    },
    Upload {
        path: String,
        content: Vec<u8>,
    },
    Delete {
        path: String,
        sha: String,
    },
}

impl Change {
    fn path(&self) -> &str {
        match self {
            Change::Create { path, .. }
            | Change::Update { path, .. }
            | Change::Upload { path, .. }
            | Change::Delete { path, .. } => path,
        }
    }

    fn verb(&self) -> &'static str {
        match self {
            Change::Create { .. } => "Add",
            Change::Delete { .. } => "Delete",
            _ => "Update",
        }
    }
}

/// Base64 as Go's StdEncoding reads it (line breaks ignored); bad input is 422.
fn decode_content(field: Option<&str>) -> Result<Vec<u8>, ApiErr> {
    let text: String = field
        .unwrap_or_default()
        .chars()
        .filter(|c| *c != '\n' && *c != '\r')
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| ApiErr::unprocessable(format!("illegal base64 data: {e}")))
}

/// A tree path without leading/trailing slashes and without `.`, `..` or `.git`.
fn clean_path(raw: &str) -> Result<String, ApiErr> {
    let path = raw.trim_matches('/');
    let bad = path.is_empty()
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == ".." || c.eq_ignore_ascii_case(".git"));
    if bad {
        return Err(ApiErr::unprocessable(format!(
            "path contains a malformed path component [path: {raw}]"
        )));
    }
    Ok(path.to_string())
}

/// Who the commit is by: `author`/`committer` when both name and email are given, else
/// the doer.
fn identity(given: &Option<Identity>, fallback: &Signature) -> Signature {
    match given {
        Some(Identity {
            name: Some(name),
            email: Some(email),
        }) if !name.is_empty() && !email.is_empty() => Signature {
            name: name.clone(),
            email: email.clone(),
        },
        _ => fallback.clone(),
    }
}

/// Everything the blocking commit needs.
struct Plan {
    dir: std::path::PathBuf,
    urls: Urls,
    default_branch: String,
    branch: String,
    new_branch: Option<String>,
    changes: Vec<Change>,
    message: String,
    author: Signature,
    committer: Signature,
    /// Return a FilesResponse (multi-file route) rather than a FileResponse.
    many: bool,
}

/// Check `changes` against `parent` and turn them into git operations.
fn to_ops(dir: &Path, parent: Option<&str>, changes: &[Change]) -> Result<Vec<FileOp>, ApiErr> {
    let lookup = |path: &str| -> Result<Option<git::Entry>, ApiErr> {
        Ok(match parent {
            Some(p) => git::entry(dir, p, path)?,
            None => None,
        })
    };
    let missing = |path: &str| {
        ApiErr::new(
            404,
            format!("repository file does not exist [path: {path}]"),
        )
    };
    let check_sha = |e: &git::Entry, sha: &str| {
        if e.sha == sha {
            Ok(())
        } else {
            Err(ApiErr::unprocessable(format!(
                "sha does not match [given: {sha}, expected: {}]",
                e.sha
            )))
        }
    };
    let mut ops = Vec::new();
    for change in changes {
        match change {
            Change::Create { path, content } => {
                if lookup(path)?.is_some() {
                    return Err(ApiErr::unprocessable(format!(
                        "repository file already exists [path: {path}]"
                    )));
                }
                let mut prefix = String::new();
                for comp in path.split('/').take(path.split('/').count() - 1) {
                    prefix = if prefix.is_empty() {
                        comp.to_string()
                    } else {
                        format!("{prefix}/{comp}")
                    };
                    if lookup(&prefix)?.is_some_and(|e| e.kind != "tree") {
                        return Err(ApiErr::unprocessable(format!(
                            "a file exists where you’re trying to create a subdirectory [path: {prefix}]"
                        )));
                    }
                }
                ops.push(FileOp::Put {
                    path: path.clone(),
                    content: content.clone(),
                });
            }
            Change::Update {
                path,
                content,
                sha,
                from,
            } => {
                let source = from.as_deref().unwrap_or(path);
                let e = lookup(source)?
                    .filter(|e| e.kind == "blob")
                    .ok_or_else(|| missing(source))?;
                if !sha.is_empty() {
                    check_sha(&e, sha)?;
                }
                let content = match content {
                    Some(c) => c.clone(),
                    None => git::read_blob(dir, &e.sha)?,
                };
                if source != path {
                    if lookup(path)?.is_some() {
                        return Err(ApiErr::unprocessable(format!(
                            "repository file already exists [path: {path}]"
                        )));
                    }
                    ops.push(FileOp::Delete {
                        path: source.to_string(),
                    });
                }
                ops.push(FileOp::Put {
                    path: path.clone(),
                    content,
                });
            }
            Change::Upload { path, content } => ops.push(FileOp::Put {
                path: path.clone(),
                content: content.clone(),
            }),
            Change::Delete { path, sha } => {
                let e = lookup(path)?
                    .filter(|e| e.kind == "blob")
                    .ok_or_else(|| missing(path))?;
                check_sha(&e, sha)?;
                ops.push(FileOp::Delete { path: path.clone() });
            }
        }
    }
    Ok(ops)
}

/// Commit the plan; returns the JSON body and the branch the commit went to.
fn commit(plan: Plan) -> Result<(Value, String, bool), ApiErr> {
    let dir = &plan.dir;
    let empty = !git::has_branches(dir);
    let parent = if empty {
        None
    } else {
        let head = git::branch_commit(dir, &plan.branch)?;
        Some(head.ok_or_else(|| {
            ApiErr::new(
                404,
                format!("branch does not exist [name: {}]", plan.branch),
            )
        })?)
    };
    let target = plan
        .new_branch
        .clone()
        .unwrap_or_else(|| plan.branch.clone());
    if let Some(nb) = &plan.new_branch {
        if !git::valid_branch_name(nb) {
            return Err(ApiErr::unprocessable(format!(
                "branch name is invalid [name: {nb}]"
            )));
        }
        if git::branch_commit(dir, nb)?.is_some() {
            return Err(ApiErr::unprocessable(format!(
                "branch already exists [name: {nb}]"
            )));
        }
    }
    let ops = to_ops(dir, parent.as_deref(), &plan.changes)?;
    let expected_old = if plan.new_branch.is_some() {
        None
    } else {
        parent.clone()
    };
    let sha = git::commit_files(
        dir,
        &NewCommit {
            parent: parent.as_deref(),
            ops: &ops,
            message: &plan.message,
            author: &plan.author,
            committer: &plan.committer,
            branch: &target,
            expected_old: expected_old.as_deref(),
        },
    )
    .map_err(|e| ApiErr::new(409, format!("the branch moved while committing: {e}")))?;
    if empty && target != plan.default_branch {
        git::set_head(dir, &target)?;
    }
    let info = git::commit_info(dir, &sha)?.ok_or_else(|| ApiErr::internal("commit vanished"))?;
    let mut files = Vec::new();
    for change in &plan.changes {
        let content = match change {
            Change::Delete { .. } => Value::Null,
            _ => match git::entry(dir, &sha, change.path())? {
                Some(e) => {
                    contents_json(dir, &plan.urls, &e, &sha, &target, RefKind::Branch, true)?
                }
                None => Value::Null,
            },
        };
        files.push(content);
    }
    let commit = file_commit_json(&plan.urls, &info);
    let body = if plan.many {
        json!({ "files": files, "commit": commit, "verification": unsigned() })
    } else {
        json!({ "content": files.first().cloned().unwrap_or(Value::Null), "commit": commit, "verification": unsigned() })
    };
    Ok((body, target, empty))
}

/// The guards every write route shares, in Gitea's order: repository (301/404), code
/// reader (403), signed in (401), body (422), branch writer (403), not archived (423).
fn prepare(state: &GiteaState, rq: &Rq) -> Result<(RepoRef, FileOptions, Signature), ApiErr> {
    let r = repo_ref(state, rq)?;
    code_reader(&r)?;
    rq.signed()?;
    let form: FileOptions = rq.body()?;
    r.writer(r.perm.code)?;
    r.not_archived()?;
    let me = doer(state, rq).ok_or_else(|| ApiErr::new(401, "token is required"))?;
    Ok((r, form, signature_of(&me)))
}

async fn run(
    state: &Arc<GiteaState>,
    r: &RepoRef,
    form: &FileOptions,
    me: &Signature,
    changes: Vec<Change>,
    many: bool,
) -> Result<Value, ApiErr> {
    let default_message = changes
        .iter()
        .map(|c| format!("{} {}", c.verb(), c.path()))
        .collect::<Vec<_>>()
        .join("\n");
    let author = identity(&form.author, me);
    let plan = Plan {
        dir: r.dir.clone(),
        urls: Urls::of(state, r),
        default_branch: r.default_branch.clone(),
        branch: form
            .branch
            .clone()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| r.default_branch.clone()),
        new_branch: form.new_branch.clone().filter(|b| !b.is_empty()),
        changes,
        message: form
            .message
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or(default_message),
        committer: identity(&form.committer, &author),
        author,
        many,
    };
    let st = state.clone();
    let (body, target, was_empty) = blocking(move || {
        let _guard = st.git_guard();
        commit(plan)
    })
    .await?;
    let mut d = state.data();
    if let Some(repo) = d.repo_mut(r.id) {
        repo.updated = SystemTime::now();
        if was_empty {
            repo.default_branch = target;
        }
    }
    Ok(body)
}

/// `POST|PUT|DELETE /repos/{o}/{r}/contents/{path}`.
pub(crate) async fn change_one(state: &Arc<GiteaState>, rq: &Rq, ep: Ep) -> ApiResult {
    let (r, form, me) = prepare(state, rq)?;
    let path = clean_path(rq.cap(2))?;
    let (change, status) = match ep {
        Ep::ContentsCreate => {
            let content = decode_content(form.content.as_deref())?;
            (Change::Create { path, content }, 201)
        }
        Ep::ContentsUpdate => {
            if !git::has_branches(&r.dir) {
                return Err(ApiErr::unprocessable("repo is empty"));
            }
            let content = decode_content(form.content.as_deref())?;
            match form.sha.clone().filter(|s| !s.is_empty()) {
                Some(sha) => {
                    let from = match form.from_path.as_deref().filter(|f| !f.is_empty()) {
                        Some(f) => Some(clean_path(f)?),
                        None => None,
                    };
                    (
                        Change::Update {
                            path,
                            content: Some(content),
                            sha,
                            from,
                        },
                        200,
                    )
                }
                None => (Change::Create { path, content }, 201),
            }
        }
        _ => {
            let sha = form
                .sha
                .clone()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ApiErr::required("SHA"))?;
            (Change::Delete { path, sha }, 200)
        }
    };
    let body = run(state, &r, &form, &me, vec![change], false).await?;
    ok_json(status, body)
}

/// `POST /repos/{o}/{r}/contents` with `files: [{operation, path, content, sha,
/// from_path}]`: one commit, 201 FilesResponse.
pub(crate) async fn change_many(state: &Arc<GiteaState>, rq: &Rq) -> ApiResult {
    let (r, form, me) = prepare(state, rq)?;
    let list = form
        .files
        .as_ref()
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiErr::required("Files"))?;
    let mut changes = Vec::new();
    for f in list {
        let path = clean_path(f.path.as_deref().unwrap_or_default())?;
        let sha = f.sha.clone().unwrap_or_default();
        let content = || decode_content(f.content.as_deref());
        let change = match f.operation.as_deref().unwrap_or_default() {
            "create" => Change::Create {
                path,
                content: content()?,
            },
            "update" if sha.is_empty() => {
                return Err(ApiErr::unprocessable(
                    "a SHA or commit ID must be proved when updating a file",
                ));
            }
            "update" => Change::Update {
                path,
                content: Some(content()?),
                sha,
                from: None,
            },
            "upload" => Change::Upload {
                path,
                content: content()?,
            },
            "rename" => {
                let from = clean_path(f.from_path.as_deref().unwrap_or_default())?;
                let content = match f.content.as_deref().filter(|c| !c.is_empty()) {
                    Some(c) => Some(decode_content(Some(c))?),
                    None => None,
                };
                Change::Update {
                    path,
                    content,
                    sha,
                    from: Some(from),
                }
            }
            "delete" => Change::Delete { path, sha },
            _ => return Err(ApiErr::unprocessable("[Operation]: In")),
        };
        changes.push(change);
    }
    let body = run(state, &r, &form, &me, changes, true).await?;
    ok_json(201, body)
}

//! Reading files: `GET /repos/{o}/{r}/contents[/{path}]?ref=` (ContentsResponse for a
//! file, an array for a directory) and `GET /repos/{o}/{r}/raw/{path}` (bytes), plus the
//! ContentsResponse/commit JSON shared with the write routes (files.rs) and branches.
//! Git work runs on the blocking pool.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Response, StatusCode, header};
use base64::Engine as _;
use serde_json::{Value, json};

use super::api::{RepoRef, Rq, repo_ref};
use super::git::{self, CommitInfo, Entry};
use super::http::{ApiErr, ApiResult, ok_json, percent_encode};
use super::state::{GiteaState, Mode};

/// What kind of ref a `?ref=` named (for the web URLs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefKind {
    Branch,
    Tag,
    Commit,
}

/// Resolve `r` as Gitea does: branch, then tag, then commit id.
pub(crate) fn resolve(dir: &Path, r: &str) -> std::io::Result<Option<(String, RefKind)>> {
    if r.is_empty() || r.starts_with('-') {
        return Ok(None);
    }
    if let Some(c) = git::resolve(dir, &format!("refs/heads/{r}"))? {
        return Ok(Some((c, RefKind::Branch)));
    }
    if let Some(c) = git::resolve(dir, &format!("refs/tags/{r}"))? {
        return Ok(Some((c, RefKind::Tag)));
    }
    Ok(git::resolve_ref(dir, r)?.map(|c| (c, RefKind::Commit)))
}

/// Server root and `owner/name`, for building URLs.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    pub base: String,
    pub full_name: String,
}

impl Urls {
    pub(crate) fn of(state: &GiteaState, r: &RepoRef) -> Urls {
        Urls {
            base: state.base_url.clone(),
            full_name: r.full_name(),
        }
    }

    fn api(&self) -> String {
        format!("{}/api/v1/repos/{}", self.base, self.full_name)
    }

    fn web(&self) -> String {
        format!("{}/{}", self.base, self.full_name)
    }
}

fn escape_path(path: &str) -> String {
    path.split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// A ContentsResponse for `e` at ref `ref_name`; `content` (base64) only for files and
/// symlinks when `with_content`.
pub(crate) fn contents_json(
    dir: &Path,
    urls: &Urls,
    e: &Entry,
    commit: &str,
    ref_name: &str,
    kind: RefKind,
    with_content: bool,
) -> std::io::Result<Value> {
    let last = git::last_commit(dir, commit, &e.path)?;
    let path = escape_path(&e.path);
    let web_kind = match kind {
        RefKind::Branch => "branch",
        RefKind::Tag => "tag",
        RefKind::Commit => "commit",
    };
    let r = escape_path(ref_name);
    let self_url = format!(
        "{}/contents/{path}?ref={}",
        urls.api(),
        percent_encode(ref_name)
    );
    let git_url = match e.kind.as_str() {
        "tree" => format!("{}/git/trees/{}", urls.api(), e.sha),
        _ => format!("{}/git/blobs/{}", urls.api(), e.sha),
    };
    let html_url = format!("{}/src/{web_kind}/{r}/{path}", urls.web());
    let download_url =
        (e.kind == "blob").then(|| format!("{}/raw/{web_kind}/{r}/{path}", urls.web()));
    let t = e.content_type();
    let bytes = if e.kind == "blob" && (with_content || t == "symlink") {
        Some(git::read_blob(dir, &e.sha)?)
    } else {
        None
    };
    let content = bytes
        .as_ref()
        .filter(|_| with_content)
        .map(|b| base64::engine::general_purpose::STANDARD.encode(b));
    let target = bytes
        .as_ref()
        .filter(|_| t == "symlink")
        .map(|b| String::from_utf8_lossy(b).into_owned());
    Ok(json!({
        "name": e.name(),
        "path": e.path,
        "sha": e.sha,
        "last_commit_sha": last.as_ref().map(|c| c.sha.clone()),
        "last_author_date": last.as_ref().map(|c| c.author_date.clone()),
        "last_committer_date": last.as_ref().map(|c| c.committer_date.clone()),
        "last_commit_message": last.as_ref().map(|c| c.message.clone()),
        "type": t,
        "size": if e.kind == "blob" { e.size } else { 0 },
        "encoding": content.as_ref().map(|_| "base64"),
        "content": content,
        "target": target,
        "url": self_url,
        "html_url": html_url,
        "git_url": git_url,
        "download_url": download_url,
        "submodule_git_url": null,
        "_links": { "self": self_url, "git": git_url, "html": html_url },
    }))
}

/// The `commit` object of a FileResponse.
pub(crate) fn file_commit_json(urls: &Urls, c: &CommitInfo) -> Value {
    let commit_url = |sha: &str| format!("{}/git/commits/{sha}", urls.api());
    json!({
        "url": commit_url(&c.sha),
        "sha": c.sha,
        "created": c.committer_date,
        "html_url": format!("{}/commit/{}", urls.web(), c.sha),
        "author": { "name": c.author_name, "email": c.author_email, "date": c.author_date },
        "committer": { "name": c.committer_name, "email": c.committer_email, "date": c.committer_date },
        "parents": c.parents.iter().map(|p| json!({ "url": commit_url(p), "sha": p })).collect::<Vec<_>>(),
        "message": c.message,
        "tree": { "url": format!("{}/git/trees/{}", urls.api(), c.tree), "sha": c.tree },
    })
}

/// The `verification` of an unsigned commit.
pub(crate) fn unsigned() -> Value {
    json!({ "verified": false, "reason": "gpg.error.not_signed_commit", "signature": "", "signer": null, "payload": "" })
}

/// `reqRepoReader(code)`.
pub(crate) fn code_reader(r: &RepoRef) -> Result<(), ApiErr> {
    if r.perm.code >= Mode::Read {
        return Ok(());
    }
    Err(ApiErr::forbidden(
        "user should have specific read permission or be a repo admin or a site admin",
    ))
}

/// Run blocking git work off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiErr> + Send + 'static,
) -> Result<T, ApiErr> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiErr::internal)?
}

/// `GET /repos/{o}/{r}/contents[/{path}]?ref=`: a file's ContentsResponse (base64
/// content, blob sha) or a directory's array (no content); 404 when missing, when the
/// ref is unknown or when the repository is empty.
pub(crate) async fn get(state: &Arc<GiteaState>, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    code_reader(&r)?;
    let urls = Urls::of(state, &r);
    let path = rq.cap(2).trim_matches('/').to_string();
    let ref_name = match rq.query.trimmed("ref") {
        "" => r.default_branch.clone(),
        other => other.to_string(),
    };
    let dir = r.dir.clone();
    let body = blocking(move || {
        if !git::has_branches(&dir) {
            return Err(ApiErr::not_found());
        }
        let (commit, kind) = resolve(&dir, &ref_name)?.ok_or_else(ApiErr::not_found)?;
        let listing = |prefix: &str| -> Result<Value, ApiErr> {
            let mut out = Vec::new();
            for e in git::list_dir(&dir, &commit, prefix)? {
                out.push(contents_json(
                    &dir, &urls, &e, &commit, &ref_name, kind, false,
                )?);
            }
            Ok(Value::from(out))
        };
        if path.is_empty() {
            return listing("");
        }
        let e = git::entry(&dir, &commit, &path)?.ok_or_else(ApiErr::not_found)?;
        if e.kind == "tree" {
            return listing(&path);
        }
        Ok(contents_json(
            &dir, &urls, &e, &commit, &ref_name, kind, true,
        )?)
    })
    .await?;
    ok_json(200, body)
}

/// Split a raw path into (ref, path) the legacy way: without `?ref=`, the longest
/// leading segments naming a branch, else a tag, else a commit id; else the default
/// branch and the whole path.
fn legacy_ref(
    dir: &Path,
    tail: &str,
    default_branch: &str,
) -> std::io::Result<Option<(String, String)>> {
    let segs: Vec<&str> = tail.split('/').collect();
    for prefix in ["refs/heads", "refs/tags"] {
        for n in (1..segs.len()).rev() {
            let name = segs[..n].join("/");
            if git::resolve(dir, &format!("{prefix}/{name}"))?.is_some() {
                return Ok(Some((name, segs[n..].join("/"))));
            }
        }
    }
    if segs.len() > 1 && git::resolve_ref(dir, segs[0])?.is_some() && segs[0].len() >= 7 {
        return Ok(Some((segs[0].to_string(), segs[1..].join("/"))));
    }
    Ok(Some((default_branch.to_string(), tail.to_string())))
}

/// `GET /repos/{o}/{r}/raw/{path}?ref=`: the file's bytes.
pub(crate) async fn raw(state: &Arc<GiteaState>, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    code_reader(&r)?;
    let tail = rq.cap(2).trim_matches('/').to_string();
    let explicit = rq.query.trimmed("ref").to_string();
    let dir: PathBuf = r.dir.clone();
    let default_branch = r.default_branch.clone();
    let bytes = blocking(move || {
        if !git::has_branches(&dir) {
            return Err(ApiErr::not_found());
        }
        let (ref_name, path) = if explicit.is_empty() {
            legacy_ref(&dir, &tail, &default_branch)?.ok_or_else(ApiErr::not_found)?
        } else {
            (explicit, tail)
        };
        let (commit, _) = resolve(&dir, &ref_name)?.ok_or_else(ApiErr::not_found)?;
        let e = git::entry(&dir, &commit, &path)?
            .filter(|e| e.kind == "blob")
            .ok_or_else(ApiErr::not_found)?;
        Ok(git::read_blob(&dir, &e.sha)?)
    })
    .await?;
    let content_type = if std::str::from_utf8(&bytes).is_ok() {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    };
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes))
        .unwrap_or_default())
}

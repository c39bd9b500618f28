//! Git smart HTTP at `/{owner}/{repo}.git/…` (also without `.git`), as Gitea's
//! `routers/web/repo/githttp.go` guards it: anonymous pulls of public repositories of
//! public owners; everything else needs credentials (Basic `user:password`,
//! `user:token`, or a token header), 401 with `WWW-Authenticate` otherwise; reads need
//! code read access (404), pushes need write (403 here), archived repositories refuse
//! pushes (403), renamed paths answer 301. The transfer itself is `git http-backend`
//! through the CGI bridge of `sandbox::git_http`.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Response, StatusCode, header};

use super::auth::{self, Credentials};
use super::git;
use super::http::{Query, Reply, percent_decode};
use super::state::{GiteaState, Mode, Visibility};
use crate::git_http::{CgiRequest, cgi};

fn plain(status: StatusCode, text: &str) -> Reply {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(format!("{text}\n")))
        .unwrap_or_default()
}

fn ask_for_credentials() -> Reply {
    Response::builder()
        .status(StatusCode::UNAUTHORIZED)
        .header(header::WWW_AUTHENTICATE, "Basic realm=\"Gitea\"")
        .body(Body::from("Unauthorized\n"))
        .unwrap_or_default()
}

/// The parts of a git HTTP path.
struct GitPath {
    owner: String,
    repo: String,
    had_suffix: bool,
    rest: Vec<String>,
}

fn parse(path: &str) -> Option<GitPath> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let [owner, repo, rest @ ..] = segs.as_slice() else {
        return None;
    };
    let had_suffix = repo.ends_with(".git");
    let known = matches!(
        rest.first().copied(),
        Some("info" | "git-upload-pack" | "git-receive-pack" | "HEAD" | "objects")
    );
    if rest.is_empty() || !(had_suffix || known) {
        return None;
    }
    Some(GitPath {
        owner: percent_decode(owner),
        repo: percent_decode(repo.trim_end_matches(".git")),
        had_suffix,
        rest: rest.iter().map(|s| s.to_string()).collect(),
    })
}

/// Serve a git HTTP request, or `None` when `path` is not one.
pub(crate) async fn handle(
    state: &Arc<GiteaState>,
    method: &Method,
    path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Option<Reply> {
    let gp = parse(path)?;
    Some(serve(state, method, &gp, raw_query, headers, body).await)
}

async fn serve(
    state: &Arc<GiteaState>,
    method: &Method,
    gp: &GitPath,
    raw_query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Reply {
    let service = match gp
        .rest
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["info", "refs"] => Query::parse(raw_query).trimmed("service").to_string(),
        ["git-upload-pack"] => "git-upload-pack".to_string(),
        ["git-receive-pack"] => "git-receive-pack".to_string(),
        _ => String::new(),
    };
    let is_pull = match service.as_str() {
        "git-upload-pack" => true,
        "git-receive-pack" => false,
        "" => *method == Method::GET || *method == Method::HEAD,
        _ => return plain(StatusCode::BAD_REQUEST, "unknown service"),
    };
    let creds = auth::credentials(headers);
    let auth = match auth::authenticate(state, &creds) {
        Ok(a) => a,
        Err(_) => return ask_for_credentials(),
    };
    let (repo, owner_public, doer, relative) = {
        let d = state.data();
        let Some(owner) = d.account_by_name(&gp.owner) else {
            return plain(StatusCode::NOT_FOUND, "Repository not found");
        };
        let repo = match d.repo_by_name(owner.id, &gp.repo) {
            Some(r) => r.clone(),
            None => {
                let Some(target) = d.redirect(owner.id, &gp.repo) else {
                    return plain(StatusCode::NOT_FOUND, "Repository not found");
                };
                let suffix = if gp.had_suffix { ".git" } else { "" };
                let mut location = format!(
                    "/{}/{}{suffix}/{}",
                    owner.login,
                    target.name,
                    gp.rest.join("/")
                );
                if !raw_query.is_empty() {
                    location.push('?');
                    location.push_str(raw_query);
                }
                return Response::builder()
                    .status(StatusCode::MOVED_PERMANENTLY)
                    .header(header::LOCATION, location)
                    .body(Body::empty())
                    .unwrap_or_default();
            }
        };
        let doer = auth.doer.and_then(|id| d.account(id)).cloned();
        let relative = repo
            .dir
            .strip_prefix(&state.data_dir)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        (repo, owner.visibility == Visibility::Public, doer, relative)
    };
    if repo.archived && !is_pull {
        return plain(
            StatusCode::FORBIDDEN,
            "This repo is archived. You can view files and clone it, but cannot push or open issues/pull-requests.",
        );
    }
    let public_pull = !repo.private && is_pull && owner_public;
    if !public_pull || creds != Credentials::None {
        let Some(doer) = doer.as_ref() else {
            return ask_for_credentials();
        };
        if doer.prohibit_login {
            return plain(StatusCode::FORBIDDEN, "Your account is disabled.");
        }
        if let Some(scopes) = &auth.token_scopes {
            let need = if is_pull {
                "read:repository"
            } else {
                "write:repository"
            };
            if !auth::has_scopes(scopes, &[need.to_string()]) {
                return plain(
                    StatusCode::FORBIDDEN,
                    &format!(
                        "token does not have at least one of required scope(s), required=[{need}]"
                    ),
                );
            }
        }
        let perm = state.data().repo_perm(&repo, Some(doer));
        if is_pull && perm.code < Mode::Read {
            return plain(StatusCode::NOT_FOUND, "Repository not found");
        }
        if !is_pull && perm.code < Mode::Write {
            return plain(StatusCode::FORBIDDEN, "User permission denied for writing.");
        }
    }
    let path_info = format!("/{relative}/{}", gp.rest.join("/"));
    let remote_user = doer
        .as_ref()
        .map(|d| d.login.as_str())
        .unwrap_or("anonymous");
    let request = CgiRequest {
        method,
        path_info: &path_info,
        query: raw_query,
        headers,
        remote_user,
    };
    let reply = match cgi(&state.data_dir, &request, body).await {
        Ok(r) => r,
        Err(e) => {
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("git http-backend failed: {e}"),
            );
        }
    };
    if service == "git-receive-pack" && *method == Method::POST {
        after_push(
            state,
            repo.id,
            repo.dir.clone(),
            repo.default_branch.clone(),
        )
        .await;
    }
    reply
}

/// After a push: when the default branch does not exist but others do (first push of
/// an empty repository), make `main`, else the first branch, the default.
async fn after_push(
    state: &Arc<GiteaState>,
    id: i64,
    dir: std::path::PathBuf,
    default_branch: String,
) {
    let chosen = tokio::task::spawn_blocking(move || {
        if git::branch_commit(&dir, &default_branch)
            .ok()
            .flatten()
            .is_some()
        {
            return None;
        }
        let branches = git::branches(&dir).ok()?;
        let pick = branches
            .iter()
            .find(|b| b.name == "main")
            .or_else(|| branches.first())?
            .name
            .clone();
        git::set_head(&dir, &pick).ok()?;
        Some(pick)
    })
    .await
    .ok()
    .flatten();
    let mut d = state.data();
    if let Some(r) = d.repo_mut(id) {
        r.updated = SystemTime::now();
        if let Some(b) = chosen {
            r.default_branch = b;
        }
    }
}

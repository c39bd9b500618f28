//! Repository endpoints: create (`/user/repos`, `/orgs/{org}/repos`), list
//! (`/user/repos`, `/users/{u}/repos`, `/orgs/{org}/repos`, `/repos/search`), get, edit
//! (rename, archive, visibility, default branch) and delete.

use std::sync::Arc;
use std::time::SystemTime;

use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{Rq, doer, repo_ref};
use super::convert::repo_json;
use super::git;
use super::http::{ApiErr, ApiResult, Paging, no_content, ok_json, paged_reply, required};
use super::orgs::visible_org;
use super::seed::{CreateRepoError, NewRepo, create_repo_with, rename_repo_id, signature_of};
use super::state::{Account, Data, GiteaState, Mode, Repo};

/// `CreateRepoOption` (the fields the sandbox honours).
#[derive(Debug, Deserialize)]
struct CreateRepo {
    name: Option<String>,
    description: Option<String>,
    private: Option<bool>,
    auto_init: Option<bool>,
    default_branch: Option<String>,
    readme: Option<String>,
}

/// `EditRepoOption` (the fields the sandbox honours).
#[derive(Debug, Deserialize)]
struct EditRepo {
    name: Option<String>,
    description: Option<String>,
    private: Option<bool>,
    archived: Option<bool>,
    default_branch: Option<String>,
    has_issues: Option<bool>,
}

fn list_reply(
    state: &GiteaState,
    rq: &Rq,
    d: &Data,
    repos: &[&Repo],
    viewer: Option<&Account>,
) -> ApiResult {
    let paging = Paging::from_query(&rq.query);
    let page: Vec<Value> = paging
        .slice(repos)
        .into_iter()
        .map(|r| repo_json(d, r, &state.base_url, viewer))
        .collect();
    Ok(paged_reply(
        &rq.link_base(&state.base_url),
        repos.len(),
        paging,
        Value::from(page),
    ))
}

fn alphabetical(repos: &mut [&Repo]) {
    repos.sort_by(|a, b| {
        a.name
            .to_ascii_lowercase()
            .cmp(&b.name.to_ascii_lowercase())
            .then(a.id.cmp(&b.id))
    });
}

/// `GET /user/repos`: repositories the doer owns or reaches through a team or as a
/// collaborator, alphabetical.
pub(crate) fn my_repos(state: &GiteaState, rq: &Rq) -> ApiResult {
    let me = rq.signed()?;
    let viewer = doer(state, rq);
    let d = state.data();
    let mut repos: Vec<&Repo> = d
        .repos
        .iter()
        .filter(|r| d.is_member_of_repo(r, me))
        .collect();
    alphabetical(&mut repos);
    list_reply(state, rq, &d, &repos, viewer.as_ref())
}

/// `GET /users/{u}/repos`: what the doer can see of `u`'s repositories, by id.
pub(crate) fn user_repos(state: &GiteaState, rq: &Rq) -> ApiResult {
    let viewer = doer(state, rq);
    let d = state.data();
    let owner = d
        .account_by_name(rq.cap(0))
        .filter(|a| d.owner_visible(a, viewer.as_ref()))
        .ok_or_else(ApiErr::not_found)?;
    let repos: Vec<&Repo> = d
        .visible_repos(viewer.as_ref())
        .into_iter()
        .filter(|r| r.owner_id == owner.id)
        .collect();
    list_reply(state, rq, &d, &repos, viewer.as_ref())
}

/// `GET /orgs/{org}/repos`: what the doer can see of the org's repositories, by id.
pub(crate) fn org_repos(state: &GiteaState, rq: &Rq) -> ApiResult {
    let (org, viewer) = visible_org(state, rq, 0)?;
    let d = state.data();
    let repos: Vec<&Repo> = d
        .visible_repos(viewer.as_ref())
        .into_iter()
        .filter(|r| r.owner_id == org.id)
        .collect();
    list_reply(state, rq, &d, &repos, viewer.as_ref())
}

/// `GET /repos/search?q=&uid=&exclusive=&private=&archived=&page=&limit=` →
/// `{"ok": true, "data": [Repository]}`, alphabetical, with paging headers.
pub(crate) fn search(state: &GiteaState, rq: &Rq) -> ApiResult {
    let viewer = doer(state, rq);
    let q = rq.query.trimmed("q").to_ascii_lowercase();
    let uid = rq.query.int("uid");
    let exclusive = rq.query.bool("exclusive").unwrap_or(false);
    let include_private = rq.query.bool("private").unwrap_or(true);
    let archived = rq.query.bool("archived");
    let d = state.data();
    let mut repos: Vec<&Repo> = d
        .visible_repos(viewer.as_ref())
        .into_iter()
        .filter(|r| q.is_empty() || r.name.to_ascii_lowercase().contains(&q))
        .filter(|r| uid == 0 || r.owner_id == uid || (!exclusive && d.is_member_of_repo(r, uid)))
        .filter(|r| include_private || !r.private)
        .filter(|r| archived.is_none_or(|a| a == r.archived))
        .collect();
    alphabetical(&mut repos);
    let paging = Paging::from_query(&rq.query);
    let page: Vec<Value> = paging
        .slice(&repos)
        .into_iter()
        .map(|r| repo_json(&d, r, &state.base_url, viewer.as_ref()))
        .collect();
    let body = json!({ "ok": true, "data": page });
    Ok(paged_reply(
        &rq.link_base(&state.base_url),
        repos.len(),
        paging,
        body,
    ))
}

async fn create_for(
    state: &Arc<GiteaState>,
    rq: &Rq,
    owner_id: i64,
    creator: Account,
) -> ApiResult {
    let form: CreateRepo = rq.body()?;
    let name = required("Name", &form.name)?.to_string();
    let auto_init = form.auto_init.unwrap_or(false);
    if !matches!(form.readme.as_deref().unwrap_or_default(), "" | "Default") {
        return Err(ApiErr::new(400, "readme template does not exist"));
    }
    let default_branch = form
        .default_branch
        .clone()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "main".to_string());
    if !git::valid_branch_name(&default_branch) {
        return Err(ApiErr::unprocessable("invalid default branch name"));
    }
    let opts = NewRepo {
        name,
        description: form.description.clone().unwrap_or_default(),
        private: form.private.unwrap_or(false),
        auto_init,
        default_branch,
    };
    let author = signature_of(&creator);
    let st = state.clone();
    let created =
        tokio::task::spawn_blocking(move || create_repo_with(&st, owner_id, &opts, &author))
            .await
            .map_err(ApiErr::internal)?;
    let id = match created {
        Ok(id) => id,
        Err(CreateRepoError::Exists) => {
            return Err(ApiErr::new(
                409,
                "The repository with the same name already exists.",
            ));
        }
        Err(CreateRepoError::Invalid(m)) => return Err(ApiErr::unprocessable(m)),
        Err(CreateRepoError::NoOwner) => return Err(ApiErr::not_found()),
        Err(CreateRepoError::Io(e)) => return Err(ApiErr::internal(e)),
    };
    let mut d = state.data();
    let is_admin_already = d
        .repo(id)
        .is_some_and(|r| d.repo_perm(r, Some(&creator)).is_admin());
    if let Some(r) = d.repo_mut(id).filter(|_| !is_admin_already) {
        r.collaborators.push((creator.id, Mode::Admin));
    }
    let repo = d.repo(id).ok_or_else(ApiErr::not_found)?;
    ok_json(201, repo_json(&d, repo, &state.base_url, Some(&creator)))
}

/// `POST /user/repos`: 201 Repository; 409 when the name is taken.
pub(crate) async fn create_for_self(state: &Arc<GiteaState>, rq: &Rq) -> ApiResult {
    let me = rq.signed()?;
    let creator = doer(state, rq).ok_or_else(ApiErr::not_found)?;
    create_for(state, rq, me, creator).await
}

/// `POST /orgs/{org}/repos`: 201 Repository; 403 unless the doer is an owner, a site
/// admin or in a team with `can_create_org_repo`; 409 when the name is taken.
pub(crate) async fn create_in_org(state: &Arc<GiteaState>, rq: &Rq) -> ApiResult {
    let (org, viewer) = visible_org(state, rq, 0)?;
    let me = rq.signed()?;
    let form: CreateRepo = rq.body()?;
    required("Name", &form.name)?;
    let creator = viewer.ok_or_else(ApiErr::not_found)?;
    if !creator.is_admin && !state.data().can_create_org_repo(org.id, me) {
        return Err(ApiErr::forbidden(
            "Given user is not allowed to create repository in organization.",
        ));
    }
    create_for(state, rq, org.id, creator).await
}

/// `GET /repos/{o}/{r}`.
pub(crate) fn get(state: &GiteaState, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    let viewer = doer(state, rq);
    let d = state.data();
    let repo = d.repo(r.id).ok_or_else(ApiErr::not_found)?;
    ok_json(200, repo_json(&d, repo, &state.base_url, viewer.as_ref()))
}

/// `PATCH /repos/{o}/{r}` (repo admins): `name` renames (the old path then answers
/// 301), `archived` archives, plus description, private, has_issues,
/// default_branch (must exist unless the repository is empty).
pub(crate) async fn edit(state: &Arc<GiteaState>, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    rq.signed()?;
    r.admin()?;
    let form: EditRepo = rq.body()?;
    if let Some(branch) = form.default_branch.as_deref().filter(|b| !b.is_empty()) {
        let dir = r.dir.clone();
        let b = branch.to_string();
        let (empty, exists) = tokio::task::spawn_blocking(move || {
            (
                !git::has_branches(&dir),
                git::branch_commit(&dir, &b).ok().flatten().is_some(),
            )
        })
        .await
        .map_err(ApiErr::internal)?;
        if !empty && !exists {
            return Err(ApiErr::not_found());
        }
        let dir = r.dir.clone();
        let b = branch.to_string();
        tokio::task::spawn_blocking(move || git::set_head(&dir, &b))
            .await
            .map_err(ApiErr::internal)??;
    }
    if let Some(name) = form.name.as_deref().filter(|n| *n != r.name) {
        rename_repo_id(state, r.id, name).map_err(|(status, m)| ApiErr::new(status, m))?;
    }
    let viewer = doer(state, rq);
    let mut d = state.data();
    let repo = d.repo_mut(r.id).ok_or_else(ApiErr::not_found)?;
    if let Some(v) = &form.description {
        repo.description = v.clone();
    }
    if let Some(v) = form.private {
        repo.private = v;
    }
    if let Some(v) = form.has_issues {
        repo.has_issues = v;
    }
    if let Some(b) = form.default_branch.as_deref().filter(|b| !b.is_empty()) {
        repo.default_branch = b.to_string();
    }
    if let Some(a) = form.archived.filter(|a| *a != repo.archived) {
        repo.archived = a;
        repo.archived_at = a.then(SystemTime::now);
    }
    repo.updated = SystemTime::now();
    let repo = d.repo(r.id).ok_or_else(ApiErr::not_found)?;
    ok_json(200, repo_json(&d, repo, &state.base_url, viewer.as_ref()))
}

/// `DELETE /repos/{o}/{r}` (owners and site admins): 204.
pub(crate) async fn delete(state: &Arc<GiteaState>, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    rq.signed()?;
    if r.perm.code < Mode::Owner {
        return Err(ApiErr::forbidden("user should be the owner of the repo"));
    }
    {
        let mut d = state.data();
        let issue_ids: Vec<i64> = d
            .issues
            .iter()
            .filter(|i| i.repo_id == r.id)
            .map(|i| i.id)
            .collect();
        d.comments.retain(|c| !issue_ids.contains(&c.issue_id));
        d.issues.retain(|i| i.repo_id != r.id);
        d.labels.retain(|l| l.repo_id != r.id);
        d.redirects.retain(|(_, _, id)| *id != r.id);
        d.repos.retain(|x| x.id != r.id);
    }
    let dir = r.dir.clone();
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
    no_content()
}

//! Branch endpoints: `GET /repos/{o}/{r}/branches` (paged), `GET`/`DELETE
//! /repos/{o}/{r}/branches/{branch}` (names may contain `/`) and `POST
//! /repos/{o}/{r}/branches` (`new_branch_name`, `old_ref_name`; 201, 409 when it exists).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{RepoRef, Rq, repo_ref};
use super::contents::{Urls, blocking, code_reader, resolve};
use super::git::{self, BranchInfo};
use super::http::{ApiErr, ApiResult, Paging, no_content, ok_json, paged_reply};
use super::state::{GiteaState, Mode};

/// `CreateBranchRepoOption`.
#[derive(Debug, Deserialize)]
struct CreateBranch {
    new_branch_name: Option<String>,
    old_ref_name: Option<String>,
    old_branch_name: Option<String>,
}

fn branch_json(urls: &Urls, b: &BranchInfo, r: &RepoRef) -> Value {
    let c = &b.commit;
    let can_push = r.perm.code >= Mode::Write && !r.archived;
    json!({
        "name": b.name,
        "commit": {
            "id": c.sha,
            "message": c.message,
            "url": format!("{}/{}/commit/{}", urls.base, urls.full_name, c.sha),
            "author": { "name": c.author_name, "email": c.author_email, "username": "" },
            "committer": { "name": c.committer_name, "email": c.committer_email, "username": "" },
            "verification": null,
            "timestamp": c.committer_date,
            "added": null,
            "removed": null,
            "modified": null,
        },
        "protected": false,
        "required_approvals": 0,
        "enable_status_check": false,
        "status_check_contexts": [],
        "user_can_push": can_push,
        "user_can_merge": can_push,
        "effective_branch_protection_name": "",
    })
}

/// `GET /repos/{o}/{r}/branches`: by name; empty list for an empty repository.
pub(crate) async fn list(state: &Arc<GiteaState>, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    code_reader(&r)?;
    let dir = r.dir.clone();
    let all = blocking(move || Ok(git::branches(&dir)?)).await?;
    let urls = Urls::of(state, &r);
    let paging = Paging::from_query(&rq.query);
    let page: Vec<Value> = paging
        .slice(&all)
        .iter()
        .map(|b| branch_json(&urls, b, &r))
        .collect();
    Ok(paged_reply(
        &rq.link_base(&state.base_url),
        all.len(),
        paging,
        Value::from(page),
    ))
}

fn one(dir: &std::path::Path, name: &str) -> Result<BranchInfo, ApiErr> {
    let missing = || ApiErr::new(404, format!("branch does not exist [name: {name}]"));
    let sha = git::branch_commit(dir, name)?.ok_or_else(missing)?;
    let commit = git::commit_info(dir, &sha)?.ok_or_else(missing)?;
    Ok(BranchInfo {
        name: name.to_string(),
        commit,
    })
}

/// `GET /repos/{o}/{r}/branches/{branch}`: 404 when missing.
pub(crate) async fn get(state: &Arc<GiteaState>, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    code_reader(&r)?;
    let dir = r.dir.clone();
    let name = rq.cap(2).to_string();
    let b = blocking(move || one(&dir, &name)).await?;
    ok_json(200, branch_json(&Urls::of(state, &r), &b, &r))
}

/// `POST /repos/{o}/{r}/branches`: 201 Branch; 404 empty repository or unknown old
/// ref; 409 when the branch exists.
pub(crate) async fn create(state: &Arc<GiteaState>, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    rq.signed()?;
    r.writer(r.perm.code)?;
    r.not_archived()?;
    let form: CreateBranch = rq.body()?;
    let name = super::http::required("NewBranchName", &form.new_branch_name)?.to_string();
    let old = form
        .old_ref_name
        .clone()
        .or(form.old_branch_name.clone())
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| r.default_branch.clone());
    let dir = r.dir.clone();
    let st = state.clone();
    let b = blocking(move || {
        let _guard = st.git_guard();
        if !git::has_branches(&dir) {
            return Err(ApiErr::new(404, "Git Repository is empty."));
        }
        let (commit, _) = resolve(&dir, &old)?
            .ok_or_else(|| ApiErr::new(404, "The old branch does not exist"))?;
        if git::branch_commit(&dir, &name)?.is_some() {
            return Err(ApiErr::new(409, "The branch already exists."));
        }
        if !git::valid_branch_name(&name) {
            return Err(ApiErr::unprocessable(format!(
                "branch name is invalid [name: {name}]"
            )));
        }
        git::create_branch(&dir, &name, &commit)
            .map_err(|_| ApiErr::new(409, "The branch with the same name already exists."))?;
        one(&dir, &name)
    })
    .await?;
    ok_json(201, branch_json(&Urls::of(state, &r), &b, &r))
}

/// `DELETE /repos/{o}/{r}/branches/{branch}`: 204; 403 for the default branch.
pub(crate) async fn delete(state: &Arc<GiteaState>, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    rq.signed()?;
    r.writer(r.perm.code)?;
    r.not_archived()?;
    let name = rq.cap(2).to_string();
    if name == r.default_branch {
        return Err(ApiErr::forbidden("can not delete default branch"));
    }
    let dir = r.dir.clone();
    blocking(move || {
        one(&dir, &name)?;
        Ok(git::delete_branch(&dir, &name)?)
    })
    .await?;
    no_content()
}

//! Issue endpoints: list/create/get/edit issues (PRs share the list and the numbers),
//! comments, labels, and the cross-repository `/repos/issues/search`.

use std::time::SystemTime;

use serde::Deserialize;
use serde_json::Value;

use super::api::{RepoRef, Rq, doer, repo_ref};
use super::convert::{comment_json, issue_json, label_json};
use super::http::{ApiErr, ApiResult, Paging, ok_json, paged_reply, required};
use super::seed::insert_issue;
use super::state::{Account, Comment, Data, GiteaState, Issue, Label, Mode, Table};

/// `CreateIssueOption` (the fields the sandbox honours).
#[derive(Debug, Deserialize)]
struct CreateIssue {
    title: Option<String>,
    body: Option<String>,
    labels: Option<Vec<i64>>,
    assignees: Option<Vec<String>>,
    assignee: Option<String>,
    closed: Option<bool>,
}

/// `EditIssueOption` (the fields the sandbox honours).
#[derive(Debug, Deserialize)]
struct EditIssue {
    title: Option<String>,
    body: Option<String>,
    state: Option<String>,
    assignees: Option<Vec<String>>,
}

/// `CreateIssueCommentOption`.
#[derive(Debug, Deserialize)]
struct CreateComment {
    body: Option<String>,
}

/// `CreateLabelOption`.
#[derive(Debug, Deserialize)]
struct CreateLabel {
    name: Option<String>,
    color: Option<String>,
    description: Option<String>,
    exclusive: Option<bool>,
}

/// The filters shared by the repository list and the cross-repository search.
struct Filter {
    /// `Some(true)` closed only, `Some(false)` open only, `None` all.
    closed: Option<bool>,
    /// `Some(true)` pulls only, `Some(false)` issues only.
    pulls: Option<bool>,
    label_names: Vec<String>,
    keyword: String,
}

impl Filter {
    fn from_query(rq: &Rq) -> Filter {
        let closed = match rq.query.trimmed("state") {
            "closed" => Some(true),
            "all" => None,
            _ => Some(false),
        };
        let pulls = match rq.query.trimmed("type") {
            "issues" => Some(false),
            "pulls" => Some(true),
            _ => None,
        };
        let label_names = rq
            .query
            .trimmed("labels")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        Filter {
            closed,
            pulls,
            label_names,
            keyword: rq.query.trimmed("q").to_ascii_lowercase(),
        }
    }

    /// Issues of `repo_ids` passing the filter, newest first. Label names resolve per
    /// repository; unknown names are ignored, and an issue must carry every known one.
    fn apply<'a>(&self, d: &'a Data, repo_ids: &[i64]) -> Vec<&'a Issue> {
        let mut out: Vec<&Issue> = d
            .issues
            .iter()
            .filter(|i| repo_ids.contains(&i.repo_id))
            .filter(|i| self.closed.is_none_or(|c| c == i.closed_at.is_some()))
            .filter(|i| self.pulls.is_none_or(|p| p == i.is_pull))
            .filter(|i| {
                self.keyword.is_empty()
                    || i.title.to_ascii_lowercase().contains(&self.keyword)
                    || i.body.to_ascii_lowercase().contains(&self.keyword)
            })
            .filter(|i| {
                let wanted: Vec<i64> = d
                    .labels
                    .iter()
                    .filter(|l| l.repo_id == i.repo_id && self.label_names.contains(&l.name))
                    .map(|l| l.id)
                    .collect();
                wanted.iter().all(|id| i.labels.contains(id))
            })
            .collect();
        out.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
        out
    }
}

fn issues_reply(
    state: &GiteaState,
    rq: &Rq,
    d: &Data,
    list: &[&Issue],
    viewer: Option<&Account>,
) -> ApiResult {
    let paging = Paging::from_query(&rq.query);
    let page: Vec<Value> = paging
        .slice(list)
        .into_iter()
        .map(|i| issue_json(d, i, &state.base_url, viewer))
        .collect();
    Ok(paged_reply(
        &rq.link_base(&state.base_url),
        list.len(),
        paging,
        Value::from(page),
    ))
}

/// `GET /repos/{o}/{r}/issues?state=&type=&labels=&q=&page=&limit=`: open by default;
/// pull requests included unless `type=issues`.
pub(crate) fn list(state: &GiteaState, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    let viewer = doer(state, rq);
    let filter = Filter::from_query(rq);
    let d = state.data();
    let list = filter.apply(&d, &[r.id]);
    issues_reply(state, rq, &d, &list, viewer.as_ref())
}

/// `GET /repos/issues/search?owner=&state=&type=&labels=&q=&page=&limit=`: issues of
/// every repository the doer can see (of `owner` when given).
pub(crate) fn search(state: &GiteaState, rq: &Rq) -> ApiResult {
    let viewer = doer(state, rq);
    let filter = Filter::from_query(rq);
    let d = state.data();
    let owner = match rq.query.trimmed("owner") {
        "" => None,
        name => Some(
            d.account_by_name(name)
                .map(|a| a.id)
                .ok_or_else(|| ApiErr::new(400, format!("user does not exist [name: {name}]")))?,
        ),
    };
    let repo_ids: Vec<i64> = d
        .visible_repos(viewer.as_ref())
        .into_iter()
        .filter(|r| owner.is_none_or(|o| o == r.owner_id))
        .map(|r| r.id)
        .collect();
    let list = filter.apply(&d, &repo_ids);
    issues_reply(state, rq, &d, &list, viewer.as_ref())
}

fn find_issue<'a>(d: &'a Data, r: &RepoRef, index: &str) -> Result<&'a Issue, ApiErr> {
    let index = index.parse::<i64>().unwrap_or(0);
    d.issues
        .iter()
        .find(|i| i.repo_id == r.id && i.index == index)
        .ok_or_else(ApiErr::not_found)
}

fn resolve_assignees(d: &Data, names: &[String]) -> Result<Vec<i64>, ApiErr> {
    names
        .iter()
        .filter(|n| !n.is_empty())
        .map(|n| {
            d.account_by_name(n)
                .filter(|a| !a.is_org)
                .map(|a| a.id)
                .ok_or_else(|| {
                    ApiErr::unprocessable(format!("Assignee does not exist: [name: {n}]"))
                })
        })
        .collect()
}

/// `POST /repos/{o}/{r}/issues`: 201 Issue. `labels` are label **ids**; like Gitea,
/// ids that are not this repository's are silently dropped, and labels and assignees
/// are only applied when the doer can write issues.
pub(crate) fn create(state: &GiteaState, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    let me = rq.signed()?;
    r.not_archived()?;
    let form: CreateIssue = rq.body()?;
    let title = required("Title", &form.title)?;
    if r.perm.issues < Mode::Read && !r.perm.is_admin() {
        return Err(ApiErr::forbidden(
            "user should have specific read permission or be a repo admin or a site admin",
        ));
    }
    let viewer = doer(state, rq);
    let mut d = state.data();
    let can_write = r.perm.issues >= Mode::Write || r.perm.is_admin();
    let (labels, assignees) = if can_write {
        let mut names = form.assignees.clone().unwrap_or_default();
        names.extend(form.assignee.clone());
        let labels: Vec<i64> = form
            .labels
            .iter()
            .flatten()
            .copied()
            .filter(|id| d.labels.iter().any(|l| l.id == *id && l.repo_id == r.id))
            .collect();
        (labels, resolve_assignees(&d, &names)?)
    } else {
        (Vec::new(), Vec::new())
    };
    let body = form.body.clone().unwrap_or_default();
    let index = insert_issue(&mut d, r.id, me, title, &body, labels, false);
    let issue = d
        .issues
        .iter_mut()
        .find(|i| i.repo_id == r.id && i.index == index)
        .ok_or_else(ApiErr::not_found)?;
    issue.assignees = assignees;
    if form.closed == Some(true) {
        issue.closed_at = Some(SystemTime::now());
    }
    let issue = issue.clone();
    ok_json(
        201,
        issue_json(&d, &issue, &state.base_url, viewer.as_ref()),
    )
}

/// `GET /repos/{o}/{r}/issues/{index}`: issues and PRs; 404 otherwise (also for a
/// non-numeric index, which Gitea reads as 0).
pub(crate) fn get(state: &GiteaState, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    let viewer = doer(state, rq);
    let d = state.data();
    let issue = find_issue(&d, &r, rq.cap(2))?;
    ok_json(200, issue_json(&d, issue, &state.base_url, viewer.as_ref()))
}

/// `PATCH /repos/{o}/{r}/issues/{index}`: title, body, state (`closed` closes, anything
/// else reopens), assignees. Answers **201**. The poster or an issue writer only
/// (else an empty 403).
pub(crate) fn edit(state: &GiteaState, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    let me = rq.signed()?;
    r.not_archived()?;
    let form: EditIssue = rq.body()?;
    let viewer = doer(state, rq);
    let mut d = state.data();
    let issue = find_issue(&d, &r, rq.cap(2))?;
    let unit = if issue.is_pull {
        r.perm.pulls
    } else {
        r.perm.issues
    };
    let can_write = unit >= Mode::Write || r.perm.is_admin();
    if issue.poster_id != me && !can_write {
        return Err(ApiErr::Empty(403));
    }
    let assignees = match (&form.assignees, can_write) {
        (Some(names), true) => Some(resolve_assignees(&d, names)?),
        _ => None,
    };
    let id = issue.id;
    let issue = d
        .issues
        .iter_mut()
        .find(|i| i.id == id)
        .ok_or_else(ApiErr::not_found)?;
    if let Some(t) = form.title.as_deref().filter(|t| !t.is_empty()) {
        issue.title = t.to_string();
    }
    if let Some(b) = &form.body {
        issue.body = b.clone();
    }
    if let Some(a) = assignees {
        issue.assignees = a;
    }
    if let Some(s) = &form.state {
        let close = s == "closed";
        if close && issue.closed_at.is_none() {
            issue.closed_at = Some(SystemTime::now());
        } else if !close {
            issue.closed_at = None;
        }
    }
    issue.updated = SystemTime::now();
    let issue = issue.clone();
    ok_json(
        201,
        issue_json(&d, &issue, &state.base_url, viewer.as_ref()),
    )
}

/// `GET /repos/{o}/{r}/issues/{index}/comments`: all comments, oldest first
/// (`X-Total-Count`, no paging, as the spec has none).
pub(crate) fn comments(state: &GiteaState, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    let viewer = doer(state, rq);
    let d = state.data();
    let issue = find_issue(&d, &r, rq.cap(2))?;
    let list: Vec<Value> = d
        .comments
        .iter()
        .filter(|c| c.issue_id == issue.id)
        .map(|c| comment_json(&d, c, issue, &state.base_url, viewer.as_ref()))
        .collect();
    let total = list.len();
    let all = Paging {
        page: 1,
        limit: total.max(1),
        raw_page: 0,
    };
    Ok(paged_reply(
        &rq.link_base(&state.base_url),
        total,
        all,
        Value::from(list),
    ))
}

/// `POST /repos/{o}/{r}/issues/{index}/comments`: 201 Comment.
pub(crate) fn comment_create(state: &GiteaState, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    let me = rq.signed()?;
    r.not_archived()?;
    let form: CreateComment = rq.body()?;
    let body = required("Body", &form.body)?;
    let viewer = doer(state, rq);
    let mut d = state.data();
    let issue_id = find_issue(&d, &r, rq.cap(2))?.id;
    let id = d.next_id(Table::Comments);
    let now = SystemTime::now();
    let comment = Comment {
        id,
        issue_id,
        poster_id: me,
        body: body.to_string(),
        created: now,
        updated: now,
    };
    d.comments.push(comment.clone());
    let issue = d
        .issues
        .iter_mut()
        .find(|i| i.id == issue_id)
        .ok_or_else(ApiErr::not_found)?;
    issue.num_comments += 1;
    issue.updated = now;
    let issue = issue.clone();
    ok_json(
        201,
        comment_json(&d, &comment, &issue, &state.base_url, viewer.as_ref()),
    )
}

/// `GET /repos/{o}/{r}/labels`: by name, paged.
pub(crate) fn labels(state: &GiteaState, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    let d = state.data();
    let mut list: Vec<&Label> = d.labels.iter().filter(|l| l.repo_id == r.id).collect();
    list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let paging = Paging::from_query(&rq.query);
    let page: Vec<Value> = paging
        .slice(&list)
        .into_iter()
        .map(|l| label_json(l, &state.base_url, &r.full_name()))
        .collect();
    Ok(paged_reply(
        &rq.link_base(&state.base_url),
        list.len(),
        paging,
        Value::from(page),
    ))
}

/// `GET /repos/{o}/{r}/labels/{id}` (an id, or else a name).
pub(crate) fn label_get(state: &GiteaState, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    let d = state.data();
    let key = rq.cap(2);
    let label = d
        .labels
        .iter()
        .filter(|l| l.repo_id == r.id)
        .find(|l| match key.parse::<i64>() {
            Ok(id) => l.id == id,
            Err(_) => l.name == key,
        })
        .ok_or_else(ApiErr::not_found)?;
    ok_json(200, label_json(label, &state.base_url, &r.full_name()))
}

/// `label.NormalizeColor`: `#rgb`, `#rrggbb`, with or without `#` → `#rrggbb`.
fn normalize_color(raw: &str) -> Result<String, ApiErr> {
    let hex = raw.trim().trim_start_matches('#');
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) || !(hex.len() == 3 || hex.len() == 6) {
        return Err(ApiErr::unprocessable(format!(
            "invalid color format: {raw}"
        )));
    }
    let hex = hex.to_ascii_lowercase();
    Ok(if hex.len() == 3 {
        format!("#{}", hex.chars().flat_map(|c| [c, c]).collect::<String>())
    } else {
        format!("#{hex}")
    })
}

/// `POST /repos/{o}/{r}/labels`: 201 Label (issue writers). Like Gitea, a second label
/// with the same name is allowed.
pub(crate) fn label_create(state: &GiteaState, rq: &Rq) -> ApiResult {
    let r = repo_ref(state, rq)?;
    rq.signed()?;
    if r.perm.issues < Mode::Write && r.perm.pulls < Mode::Write && !r.perm.is_admin() {
        return Err(ApiErr::forbidden(
            "user should have a permission to write to a repo",
        ));
    }
    r.not_archived()?;
    let form: CreateLabel = rq.body()?;
    let name = required("Name", &form.name)?;
    let color = normalize_color(required("Color", &form.color)?)?;
    let mut d = state.data();
    let id = d.next_id(Table::Labels);
    let label = Label {
        id,
        repo_id: r.id,
        name: name.to_string(),
        color,
        description: form.description.clone().unwrap_or_default(),
        exclusive: form.exclusive.unwrap_or(false),
    };
    d.labels.push(label.clone());
    ok_json(201, label_json(&label, &state.base_url, &r.full_name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_colors_normalise() {
        assert_eq!(normalize_color("FF0000").unwrap(), "#ff0000");
        assert_eq!(normalize_color("#abc").unwrap(), "#aabbcc");
        assert!(normalize_color("red").is_err());
    }
}

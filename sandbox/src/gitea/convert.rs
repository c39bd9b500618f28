//! JSON shapes of the sandbox's records, as Gitea's `services/convert` renders them
//! (swagger definitions User, Organization, Team, Repository, Issue, Label, Comment,
//! AccessToken, PublicKey). Pure functions over locked data; no HTTP, no git processes.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::git;
use super::http::fmt_time;
use super::state::{Account, Comment, Data, Issue, Label, Mode, Perm, Repo, Team, Token};

/// Gitea's zero time for "never" (`last_login`, `archived_at`).
fn epoch() -> String {
    fmt_time(UNIX_EPOCH)
}

/// A user (or an org seen as a user, e.g. a repository owner). Admin-only fields are
/// filled for site admins and the user themself, as `convert.ToUser` does.
pub(crate) fn user_json(a: &Account, base: &str, doer: Option<&Account>) -> Value {
    let authed = doer.is_some_and(|d| d.is_admin || d.id == a.id);
    json!({
        "id": a.id,
        "login": a.login,
        "username": a.login,
        "login_name": "",
        "source_id": 0,
        "full_name": a.full_name,
        "email": if doer.is_some() || a.is_org { a.email.as_str() } else { "" },
        "avatar_url": format!("{base}/avatars/{}", a.id),
        "html_url": format!("{base}/{}", a.login),
        "language": "",
        "is_admin": authed && a.is_admin,
        "last_login": epoch(),
        "created": fmt_time(a.created),
        "restricted": a.restricted,
        "active": true,
        "prohibit_login": authed && a.prohibit_login,
        "location": a.location,
        "website": a.website,
        "description": a.description,
        "visibility": a.visibility.as_str(),
        "followers_count": 0,
        "following_count": 0,
        "starred_repos_count": 0,
    })
}

/// An organization.
pub(crate) fn org_json(a: &Account, base: &str) -> Value {
    json!({
        "id": a.id,
        "name": a.login,
        "username": a.login,
        "full_name": a.full_name,
        "email": a.email,
        "avatar_url": format!("{base}/avatars/{}", a.id),
        "description": a.description,
        "website": a.website,
        "location": a.location,
        "visibility": a.visibility.as_str(),
        "repo_admin_change_team_access": a.repo_admin_change_team_access,
    })
}

/// A team with its organization.
pub(crate) fn team_json(d: &Data, t: &Team, base: &str) -> Value {
    let units: Vec<&str> = t
        .units
        .iter()
        .filter(|(_, m)| *m > Mode::None)
        .map(|(k, _)| k.as_str())
        .collect();
    let units_map: serde_json::Map<String, Value> = t
        .units
        .iter()
        .map(|(k, m)| (k.clone(), Value::from(m.as_str())))
        .collect();
    json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "organization": d.account(t.org_id).map(|o| org_json(o, base)),
        "includes_all_repositories": t.includes_all,
        "permission": t.mode.as_str(),
        "units": units,
        "units_map": units_map,
        "can_create_org_repo": t.can_create_org_repo,
        "visibility": "public",
    })
}

/// A repository as `doer` sees it.
pub(crate) fn repo_json(d: &Data, r: &Repo, base: &str, doer: Option<&Account>) -> Value {
    let owner = d.account(r.owner_id);
    let owner_login = owner.map(|o| o.login.as_str()).unwrap_or_default();
    let perm: Perm = d.repo_perm(r, doer);
    let open = |pull: bool| {
        d.issues
            .iter()
            .filter(|i| i.repo_id == r.id && i.is_pull == pull && i.closed_at.is_none())
            .count()
    };
    // Clone and web URLs come from ROOT_URL, as Gitea writes them.
    let base = d.root_url.as_deref().unwrap_or(base);
    let host = base
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    let host = host.split(':').next().unwrap_or(host);
    let mut repo = json!({
        "id": r.id,
        "owner": owner.map(|o| user_json(o, base, doer)),
        "name": r.name,
        "full_name": format!("{owner_login}/{}", r.name),
        "description": r.description,
        "empty": !git::has_branches(&r.dir),
        "private": r.private,
        "fork": false,
        "template": false,
        "parent": null,
        "mirror": false,
        "size": 0,
        "language": "",
        "languages_url": format!("{base}/api/v1/repos/{owner_login}/{}/languages", r.name),
        "html_url": format!("{base}/{owner_login}/{}", r.name),
        "url": format!("{base}/api/v1/repos/{owner_login}/{}", r.name),
        "link": "",
        "ssh_url": format!("git@{host}:{owner_login}/{}.git", r.name),
        "clone_url": format!("{base}/{owner_login}/{}.git", r.name),
        "original_url": "",
        "website": "",
        "stars_count": 0,
        "forks_count": 0,
        "watchers_count": 0,
        "open_issues_count": open(false),
        "open_pr_counter": open(true),
        "release_counter": 0,
        "default_branch": r.default_branch,
        "archived": r.archived,
        "created_at": fmt_time(r.created),
        "updated_at": fmt_time(r.updated),
        "archived_at": fmt_time(r.archived_at.unwrap_or(UNIX_EPOCH)),
    });
    let more = json!({
        "permissions": {
            "admin": perm.is_admin(),
            "push": perm.code >= Mode::Write,
            "pull": perm.code >= Mode::Read,
        },
        "has_code": true,
        "has_issues": r.has_issues,
        "internal_tracker": {
            "enable_time_tracker": true,
            "allow_only_contributors_to_track_time": true,
            "enable_issue_dependencies": true,
        },
        "has_wiki": true,
        "has_pull_requests": true,
        "has_projects": true,
        "projects_mode": "all",
        "has_releases": true,
        "has_packages": true,
        "has_actions": true,
        "ignore_whitespace_conflicts": false,
        "allow_merge_commits": true,
        "allow_rebase": true,
        "allow_rebase_explicit": true,
        "allow_squash_merge": true,
        "allow_fast_forward_only_merge": true,
        "allow_rebase_update": true,
        "allow_manual_merge": false,
        "autodetect_manual_merge": false,
        "default_delete_branch_after_merge": false,
        "default_merge_style": "merge",
        "default_allow_maintainer_edit": false,
        "avatar_url": "",
        "internal": false,
        "mirror_interval": "",
        "object_format_name": "sha1",
        "mirror_updated": "0001-01-01T00:00:00Z",
        "repo_transfer": null,
        "topics": [],
        "licenses": [],
    });
    if let (Value::Object(a), Value::Object(b)) = (&mut repo, more) {
        a.extend(b);
    }
    repo
}

/// A label (`color` without the `#`, as `convert.ToLabel` trims it).
pub(crate) fn label_json(l: &Label, base: &str, full_name: &str) -> Value {
    json!({
        "id": l.id,
        "name": l.name,
        "exclusive": l.exclusive,
        "is_archived": false,
        "color": l.color.trim_start_matches('#'),
        "description": l.description,
        "url": format!("{base}/api/v1/repos/{full_name}/labels/{}", l.id),
    })
}

/// Web URL of an issue or pull request.
pub(crate) fn issue_html_url(base: &str, full_name: &str, i: &Issue) -> String {
    let kind = if i.is_pull { "pulls" } else { "issues" };
    format!("{base}/{full_name}/{kind}/{}", i.index)
}

/// An issue or pull request. `assignees` and `assignee` are null when nobody is
/// assigned, `closed_at` null while open, `pull_request` null for issues — as Gitea.
pub(crate) fn issue_json(d: &Data, i: &Issue, base: &str, doer: Option<&Account>) -> Value {
    let repo = d.repo(i.repo_id);
    let full_name = repo.map(|r| d.full_name(r)).unwrap_or_default();
    let html_url = issue_html_url(base, &full_name, i);
    let labels: Vec<Value> = d
        .labels
        .iter()
        .filter(|l| i.labels.contains(&l.id))
        .map(|l| label_json(l, base, &full_name))
        .collect();
    let assignees: Vec<Value> = i
        .assignees
        .iter()
        .filter_map(|id| d.account(*id))
        .map(|a| user_json(a, base, doer))
        .collect();
    let pull_request = i.is_pull.then(|| {
        json!({
            "merged": false,
            "merged_at": null,
            "draft": false,
            "html_url": html_url,
        })
    });
    json!({
        "id": i.id,
        "url": format!("{base}/api/v1/repos/{full_name}/issues/{}", i.index),
        "html_url": html_url,
        "number": i.index,
        "user": d.account(i.poster_id).map(|a| user_json(a, base, doer)),
        "original_author": "",
        "original_author_id": 0,
        "title": i.title,
        "body": i.body,
        "ref": "",
        "assets": [],
        "labels": labels,
        "milestone": null,
        "assignee": assignees.first().cloned(),
        "assignees": (!assignees.is_empty()).then_some(assignees),
        "state": if i.closed_at.is_some() { "closed" } else { "open" },
        "is_locked": false,
        "comments": i.num_comments,
        "created_at": fmt_time(i.created),
        "updated_at": fmt_time(i.updated),
        "closed_at": i.closed_at.map(fmt_time),
        "due_date": null,
        "time_estimate": 0,
        "pull_request": pull_request,
        "repository": repo.map(|r| json!({
            "id": r.id,
            "name": r.name,
            "owner": d.account(r.owner_id).map(|o| o.login.clone()),
            "full_name": full_name,
        })),
        "pin_order": 0,
        "content_version": 0,
    })
}

/// A comment on issue `i`.
pub(crate) fn comment_json(
    d: &Data,
    c: &Comment,
    i: &Issue,
    base: &str,
    doer: Option<&Account>,
) -> Value {
    let full_name = d
        .repo(i.repo_id)
        .map(|r| d.full_name(r))
        .unwrap_or_default();
    let issue_url = issue_html_url(base, &full_name, i);
    json!({
        "id": c.id,
        "html_url": format!("{issue_url}#issuecomment-{}", c.id),
        "pull_request_url": if i.is_pull { issue_url.as_str() } else { "" },
        "issue_url": if i.is_pull { "" } else { issue_url.as_str() },
        "user": d.account(c.poster_id).map(|a| user_json(a, base, doer)),
        "original_author": "",
        "original_author_id": 0,
        "body": c.body,
        "assets": [],
        "created_at": fmt_time(c.created),
        "updated_at": fmt_time(c.updated),
    })
}

/// An access token; `sha1` is the secret only when just created, else empty.
pub(crate) fn token_json(t: &Token, show_secret: bool) -> Value {
    let last_eight = &t.secret[t.secret.len().saturating_sub(8)..];
    json!({
        "id": t.id,
        "name": t.name,
        "sha1": if show_secret { t.secret.as_str() } else { "" },
        "token_last_eight": last_eight,
        "scopes": t.scopes,
        "created_at": fmt_time(t.created),
        "last_used_at": fmt_time(t.last_used.unwrap_or(SystemTime::UNIX_EPOCH)),
    })
}

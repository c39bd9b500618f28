//! Issues: `list_issues`, `list_all_issues` (fan-out over repositories with bounded
//! concurrency), `create_issue` (label names resolved to ids) and `close_issue`.

use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::GiteaApi;
use crate::api::caller::Caller;
use crate::api::de;
use crate::clients::gitea::{Issue, IssueState, Label};
use crate::error::ApiError;

/// Issues returned per page when no limit is given.
pub const DEFAULT_LIMIT: u64 = 30;
/// Repositories `list_all_issues` asks at once.
pub const FAN_OUT: usize = 16;
/// Repositories `list_all_issues` scans at most.
pub const MAX_REPOS: usize = 200;
/// Issues `list_all_issues` returns at most.
pub const MAX_ALL_ISSUES: usize = 500;
/// Characters of an issue body shown in lists.
const PREVIEW_CHARS: usize = 280;

/// Which issues to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IssueStateParam {
    /// Open issues (default).
    #[default]
    Open,
    /// Closed issues.
    Closed,
    /// Both.
    All,
}

impl From<IssueStateParam> for IssueState {
    fn from(s: IssueStateParam) -> Self {
        match s {
            IssueStateParam::Open => IssueState::Open,
            IssueStateParam::Closed => IssueState::Closed,
            IssueStateParam::All => IssueState::All,
        }
    }
}

/// Parameters of `list_issues`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListIssuesParams {
    /// Repository as `owner/name`, or a bare name in the workspace org.
    pub repo: String,
    /// open (default), closed or all.
    #[serde(default)]
    pub state: IssueStateParam,
    /// Only issues with all of these label names.
    #[serde(default, deserialize_with = "de::opt_string_list")]
    #[schemars(schema_with = "de::string_list_schema")]
    pub labels: Option<Vec<String>>,
    /// Page number, from 1 (default 1).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub page: Option<u64>,
    /// Issues per page (default 30, max 50).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub limit: Option<u64>,
}

/// An issue, trimmed for a list.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IssueSummary {
    /// Number within the repository.
    pub number: i64,
    /// Title.
    pub title: String,
    /// open or closed.
    pub state: String,
    /// Label names.
    pub labels: Vec<String>,
    /// Author's login.
    pub author: String,
    /// Number of comments.
    pub comments: i64,
    /// The start of the body.
    pub body_preview: String,
    /// Last update.
    pub updated_at: String,
    /// Web page.
    pub html_url: String,
}

impl From<Issue> for IssueSummary {
    fn from(i: Issue) -> Self {
        IssueSummary {
            number: i.number,
            title: i.title,
            state: i.state,
            labels: i.labels.into_iter().map(|l| l.name).collect(),
            author: i.user.login,
            comments: i.comments,
            body_preview: preview(&i.body),
            updated_at: i.updated_at,
            html_url: i.html_url,
        }
    }
}

fn preview(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None => body.to_string(),
    }
}

/// One page of a repository's issues (pull requests excluded).
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListIssuesOut {
    /// `owner/name`.
    pub repo: String,
    /// The issues on this page.
    pub issues: Vec<IssueSummary>,
    /// This page.
    pub page: u32,
    /// Total issues in this state, when Gitea said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// The page to ask for next; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<u32>,
}

/// Parameters of `list_all_issues`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListAllIssuesParams {
    /// open (default), closed or all.
    #[serde(default)]
    pub state: IssueStateParam,
}

/// An issue and its repository.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RepoIssue {
    /// `owner/name`.
    pub repo: String,
    /// Number within the repository.
    pub number: i64,
    /// Title.
    pub title: String,
    /// open or closed.
    pub state: String,
    /// Label names.
    pub labels: Vec<String>,
    /// Last update.
    pub updated_at: String,
    /// Web page.
    pub html_url: String,
}

/// A repository that could not be read.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RepoFailure {
    /// `owner/name`.
    pub repo: String,
    /// What went wrong.
    pub error: String,
}

/// Issues across every repository, newest update first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListAllIssuesOut {
    /// The issues.
    pub issues: Vec<RepoIssue>,
    /// Repositories scanned.
    pub repos_scanned: u64,
    /// Repositories that failed (the others are still listed).
    pub failed: Vec<RepoFailure>,
    /// True when some issues were left out (per-repository page or total cap).
    pub truncated: bool,
    /// How to see the rest, when truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Parameters of `create_issue`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateIssueParams {
    /// Repository as `owner/name`, or a bare name in the workspace org.
    pub repo: String,
    /// Title.
    pub title: String,
    /// Body, Markdown.
    #[serde(default)]
    pub body: Option<String>,
    /// Label names (they must exist in the repository).
    #[serde(default, deserialize_with = "de::opt_string_list")]
    #[schemars(schema_with = "de::string_list_schema")]
    pub labels: Option<Vec<String>>,
}

/// The issue created.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CreateIssueOut {
    /// `owner/name`.
    pub repo: String,
    /// Number within the repository.
    pub number: i64,
    /// Title.
    pub title: String,
    /// Label names.
    pub labels: Vec<String>,
    /// Web page.
    pub html_url: String,
}

/// Parameters of `close_issue`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CloseIssueParams {
    /// Repository as `owner/name`, or a bare name in the workspace org.
    pub repo: String,
    /// The issue's number.
    #[serde(deserialize_with = "de::u64_lenient")]
    #[schemars(schema_with = "de::required_integer_schema")]
    pub number: u64,
    /// A comment to add before closing.
    #[serde(default)]
    pub comment: Option<String>,
}

/// The issue closed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CloseIssueOut {
    /// `owner/name`.
    pub repo: String,
    /// Number within the repository.
    pub number: i64,
    /// The state now (closed).
    pub state: String,
    /// True when a comment was added.
    pub commented: bool,
    /// Web page.
    pub html_url: String,
}

impl GiteaApi {
    /// One page of a repository's issues.
    pub async fn list_issues(
        &self,
        caller: &Caller,
        p: ListIssuesParams,
    ) -> Result<ListIssuesOut, ApiError> {
        super::limits::check(&p)?;
        let repo = self.repo(caller.principal(), &p.repo)?;
        let page = p.page.unwrap_or(1).clamp(1, u64::from(u32::MAX)) as u32;
        let limit = p.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, 50) as u32;
        let labels = p.labels.unwrap_or_default();
        let got = self
            .client(caller)
            .await?
            .list_issues(
                &repo.owner,
                &repo.name,
                p.state.into(),
                &labels,
                page,
                limit,
            )
            .await
            .map_err(|e| with_repo_hint(e.into(), &repo.full_name()))?;
        Ok(ListIssuesOut {
            repo: repo.full_name(),
            next_page: got.has_next.then_some(got.page + 1),
            page: got.page,
            total: got.total,
            issues: got.items.into_iter().map(IssueSummary::from).collect(),
        })
    }

    /// Issues of every repository (the workspace org's, or those you can see).
    pub async fn list_all_issues(
        &self,
        caller: &Caller,
        p: ListAllIssuesParams,
    ) -> Result<ListAllIssuesOut, ApiError> {
        let who = caller.principal();
        let client = &self.client(caller).await?;
        let repos = match who.gitea_org() {
            Some(org) => client.all_org_repos(org, MAX_REPOS + 1).await?,
            None => client.all_my_repos(MAX_REPOS + 1).await?,
        };
        let too_many_repos = repos.len() > MAX_REPOS;
        let state: IssueState = p.state.into();
        let results: Vec<_> = futures::stream::iter(repos.into_iter().take(MAX_REPOS))
            .map(|repo| async move {
                let (owner, name) = (repo.owner.login.clone(), repo.name.clone());
                let got = client.list_issues(&owner, &name, state, &[], 1, 50).await;
                (repo.full_name, got)
            })
            .buffer_unordered(FAN_OUT)
            .collect()
            .await;
        let mut issues = Vec::new();
        let mut failed = Vec::new();
        let mut truncated = too_many_repos;
        let repos_scanned = results.len() as u64;
        for (full_name, got) in results {
            match got {
                Ok(page) => {
                    truncated |= page.has_next;
                    issues.extend(page.items.into_iter().map(|i| RepoIssue {
                        repo: full_name.clone(),
                        number: i.number,
                        title: i.title,
                        state: i.state,
                        labels: i.labels.into_iter().map(|l| l.name).collect(),
                        updated_at: i.updated_at,
                        html_url: i.html_url,
                    }))
                }
                Err(e) => failed.push(RepoFailure {
                    repo: full_name,
                    error: e.to_string(),
                }),
            }
        }
        issues.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.repo.cmp(&b.repo)));
        if issues.len() > MAX_ALL_ISSUES {
            issues.truncate(MAX_ALL_ISSUES);
            truncated = true;
        }
        failed.sort_by(|a, b| a.repo.cmp(&b.repo));
        let hint = truncated.then(|| {
            "some issues were left out; call list_issues on a repository to page through all of them"
                .to_string()
        });
        Ok(ListAllIssuesOut {
            issues,
            repos_scanned,
            failed,
            truncated,
            hint,
        })
    }

    /// Create an issue; label names are resolved to ids first.
    pub async fn create_issue(
        &self,
        caller: &Caller,
        p: CreateIssueParams,
    ) -> Result<CreateIssueOut, ApiError> {
        super::limits::check(&p)?;
        let target = p.repo.clone();
        let result = self.create_issue_now(caller, p).await;
        caller.audited(&target, result).await
    }

    async fn create_issue_now(
        &self,
        caller: &Caller,
        p: CreateIssueParams,
    ) -> Result<CreateIssueOut, ApiError> {
        let repo = self.repo(caller.principal(), &p.repo)?;
        self.check_writable(&repo)?;
        let title = p.title.trim();
        if title.is_empty() {
            return Err(ApiError::bad_request("title must not be empty"));
        }
        let client = &self.client(caller).await?;
        let wanted = p.labels.unwrap_or_default();
        let mut ids = Vec::new();
        if !wanted.is_empty() {
            let available = client
                .list_labels(&repo.owner, &repo.name)
                .await
                .map_err(|e| with_repo_hint(e.into(), &repo.full_name()))?;
            ids = resolve_labels(&wanted, &available)?;
        }
        let issue = client
            .create_issue(
                &repo.owner,
                &repo.name,
                title,
                p.body.as_deref().unwrap_or(""),
                &ids,
            )
            .await
            .map_err(|e| with_repo_hint(e.into(), &repo.full_name()))?;
        Ok(CreateIssueOut {
            repo: repo.full_name(),
            number: issue.number,
            title: issue.title,
            labels: issue.labels.into_iter().map(|l| l.name).collect(),
            html_url: issue.html_url,
        })
    }

    /// Close an issue, optionally commenting first.
    pub async fn close_issue(
        &self,
        caller: &Caller,
        p: CloseIssueParams,
    ) -> Result<CloseIssueOut, ApiError> {
        super::limits::check(&p)?;
        let target = format!("{}#{}", p.repo, p.number);
        let result = self.close_issue_now(caller, p).await;
        caller.audited(&target, result).await
    }

    async fn close_issue_now(
        &self,
        caller: &Caller,
        p: CloseIssueParams,
    ) -> Result<CloseIssueOut, ApiError> {
        let repo = self.repo(caller.principal(), &p.repo)?;
        self.check_writable(&repo)?;
        if p.number == 0 {
            return Err(ApiError::bad_request(
                "number must be an issue number (1 or more)",
            ));
        }
        let client = &self.client(caller).await?;
        let issue = client
            .get_issue(&repo.owner, &repo.name, p.number)
            .await
            .map_err(|e| {
                let e: ApiError = e.into();
                if e.status() == 404 {
                    ApiError::not_found(format!("no issue #{} in {}", p.number, repo.full_name()))
                        .with_hint("call list_issues to see the issue numbers")
                } else {
                    e
                }
            })?;
        if issue.pull_request.is_some() {
            return Err(ApiError::bad_request(format!(
                "#{} in {} is a pull request, not an issue",
                p.number,
                repo.full_name()
            )));
        }
        let mut commented = false;
        if let Some(comment) = p
            .comment
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            client
                .create_comment(&repo.owner, &repo.name, p.number, comment)
                .await?;
            commented = true;
        }
        let closed = client
            .set_issue_state(&repo.owner, &repo.name, p.number, IssueState::Closed)
            .await?;
        Ok(CloseIssueOut {
            repo: repo.full_name(),
            number: closed.number,
            state: closed.state,
            commented,
            html_url: closed.html_url,
        })
    }
}

/// Label ids for `wanted` names (case-insensitive); unknown names are an error that
/// lists the labels that exist.
fn resolve_labels(wanted: &[String], available: &[Label]) -> Result<Vec<i64>, ApiError> {
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for name in wanted {
        match available.iter().find(|l| l.name.eq_ignore_ascii_case(name)) {
            Some(label) => ids.push(label.id),
            None => unknown.push(name.clone()),
        }
    }
    if unknown.is_empty() {
        return Ok(ids);
    }
    let names: Vec<&str> = available.iter().map(|l| l.name.as_str()).collect();
    Err(
        ApiError::bad_request(format!("unknown label(s): {}", unknown.join(", "))).with_hint(
            if names.is_empty() {
                "this repository has no labels; create the issue without labels".to_string()
            } else {
                format!("labels in this repository: {}", names.join(", "))
            },
        ),
    )
}

fn with_repo_hint(e: ApiError, repo: &str) -> ApiError {
    if e.status() == 404 && e.hint().is_none() {
        ApiError::not_found(format!("{} (repository {repo})", e.message()))
            .with_hint("call list_repos to see the repositories you can use")
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(id: i64, name: &str) -> Label {
        Label {
            id,
            name: name.to_string(),
            color: "ff0000".to_string(),
        }
    }

    #[test]
    fn label_names_resolve_to_ids_case_insensitively() {
        let available = [label(1, "bug"), label(2, "UI")];
        assert_eq!(
            resolve_labels(&["ui".into(), "bug".into()], &available).unwrap(),
            vec![2, 1]
        );
    }

    #[test]
    fn unknown_labels_name_the_ones_that_exist() {
        let err = resolve_labels(&["nope".into()], &[label(1, "bug")]).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.message().contains("nope"));
        assert!(err.hint().unwrap().contains("bug"));
    }

    #[test]
    fn previews_are_cut() {
        let long = "x".repeat(1000);
        assert_eq!(preview(&long).chars().count(), PREVIEW_CHARS + 1);
        assert_eq!(preview("  short  "), "short");
    }
}

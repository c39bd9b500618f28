//! `list_repos`: one page of repositories of an owner (or of the pinned org / the
//! user's own), trimmed for the model.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::GiteaApi;
use crate::api::caller::Caller;
use crate::api::de;
use crate::clients::gitea::{Page, Repository};
use crate::clients::http::ClientError;
use crate::error::{ApiError, quote};
use crate::policy::repo_ref;

/// Repositories returned per page when no limit is given.
pub const DEFAULT_LIMIT: u64 = 30;

/// Parameters of `list_repos`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListReposParams {
    /// User or org whose repositories to list (default: the workspace org, or your own).
    #[serde(default)]
    pub owner: Option<String>,
    /// Page number, from 1 (default 1).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub page: Option<u64>,
    /// Repositories per page (default 30, max 50).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub limit: Option<u64>,
}

/// A repository, trimmed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RepoSummary {
    /// `owner/name`.
    pub full_name: String,
    /// Description (may be empty).
    pub description: String,
    /// Private.
    pub private: bool,
    /// Archived (read-only).
    pub archived: bool,
    /// No commits yet.
    pub empty: bool,
    /// Default branch.
    pub default_branch: String,
    /// Open issues, as Gitea counts them.
    pub open_issues: i64,
    /// HTTPS clone URL.
    pub clone_url: String,
    /// Web page.
    pub html_url: String,
    /// Last update.
    pub updated_at: String,
}

impl From<Repository> for RepoSummary {
    fn from(r: Repository) -> Self {
        RepoSummary {
            full_name: r.full_name,
            description: r.description,
            private: r.private,
            archived: r.archived,
            empty: r.empty,
            default_branch: r.default_branch,
            open_issues: r.open_issues_count,
            clone_url: r.clone_url,
            html_url: r.html_url,
            updated_at: r.updated_at,
        }
    }
}

/// One page of repositories.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListReposOut {
    /// Whose repositories these are (absent: those you can see).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The repositories on this page.
    pub repos: Vec<RepoSummary>,
    /// This page.
    pub page: u32,
    /// Total repositories, when Gitea said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// The page to ask for next; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<u32>,
}

impl GiteaApi {
    /// List one page of repositories.
    pub async fn list_repos(
        &self,
        caller: &Caller,
        p: ListReposParams,
    ) -> Result<ListReposOut, ApiError> {
        super::limits::check(&p)?;
        let who = caller.principal();
        let owner = match p.owner.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
            Some(owner) => {
                if !repo_ref::is_valid_name(owner) {
                    return Err(ApiError::bad_request(format!(
                        "{} is not a user or org name",
                        quote(owner)
                    )));
                }
                self.check_owner(who, owner)?;
                Some(owner.to_string())
            }
            None => who.gitea_org().map(str::to_string),
        };
        let page = p.page.unwrap_or(1).clamp(1, u64::from(u32::MAX)) as u32;
        let limit = p.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, 50) as u32;
        let client = &self.client(caller).await?;
        let got: Page<Repository> = match &owner {
            Some(owner) => match client.list_org_repos(owner, page, limit).await {
                // Not an org: try it as a user.
                Err(e) if e.status() == Some(404) => {
                    client.list_user_repos(owner, page, limit).await
                }
                other => other,
            }
            .map_err(|e: ClientError| not_found_owner(e, owner))?,
            None => client.list_my_repos(page, limit).await?,
        };
        Ok(ListReposOut {
            owner,
            next_page: got.has_next.then_some(got.page + 1),
            page: got.page,
            total: got.total,
            repos: got.items.into_iter().map(RepoSummary::from).collect(),
        })
    }
}

fn not_found_owner(e: ClientError, owner: &str) -> ApiError {
    if e.status() == Some(404) {
        ApiError::not_found(format!("no user or org named {} on Gitea", quote(owner)))
            .with_hint("call list_repos without owner to see the repositories you can use")
    } else {
        e.into()
    }
}

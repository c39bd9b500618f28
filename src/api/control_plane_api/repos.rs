//! `repos_list` and `repos_create`: the workspace org's repositories, as the bot (the
//! first step of seed 003 §8.1). Only the org is reachable: the bot's only membership is
//! its Writers team, so Gitea enforces that as well.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ControlPlaneApi;
use crate::api::caller::Caller;
use crate::api::de;
use crate::clients::gitea::Repository;
use crate::error::{ApiError, quote};
use crate::policy::repo_ref;

/// Repositories per page by default.
pub const DEFAULT_REPOS: u64 = 30;

/// A repository of the org, trimmed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RepoOut {
    /// Name (what apps_create's `repo` takes).
    pub name: String,
    /// `org/name`.
    pub full_name: String,
    /// Description.
    pub description: String,
    /// Private.
    pub private: bool,
    /// No commits yet.
    pub empty: bool,
    /// Default branch.
    pub default_branch: String,
    /// HTTPS clone URL (use the bot's credentials from gitea_credentials).
    pub clone_url: String,
    /// Web page.
    pub html_url: String,
}

impl From<Repository> for RepoOut {
    fn from(r: Repository) -> Self {
        RepoOut {
            name: r.name,
            full_name: r.full_name,
            description: r.description,
            private: r.private,
            empty: r.empty,
            default_branch: r.default_branch,
            clone_url: r.clone_url,
            html_url: r.html_url,
        }
    }
}

/// Parameters of `repos_list`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReposListParams {
    /// Page, from 1 (default 1).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub page: Option<u64>,
    /// Repositories per page (default 30, max 50).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub limit: Option<u64>,
}

/// One page of the org's repositories.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReposListOut {
    /// The workspace org.
    pub org: String,
    /// Repositories.
    pub repos: Vec<RepoOut>,
    /// This page.
    pub page: u64,
    /// The next page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<u64>,
}

/// Parameters of `repos_create`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReposCreateParams {
    /// The repository's name: letters, digits, '.', '_' and '-'.
    pub name: String,
    /// Private (default true).
    #[serde(default, deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub private: Option<bool>,
    /// Start with a README commit on main (default true).
    #[serde(default, alias = "autoInit", deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub auto_init: Option<bool>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

impl ControlPlaneApi {
    /// One page of the workspace org's repositories.
    pub async fn repos_list(
        &self,
        caller: &Caller,
        p: ReposListParams,
    ) -> Result<ReposListOut, ApiError> {
        let t = self.tenant(caller).await?;
        let gitea = self.gitea_as_bot(caller).await?;
        let page = p.page.unwrap_or(1).clamp(1, u64::from(u32::MAX));
        let limit = p.limit.unwrap_or(DEFAULT_REPOS).clamp(1, 50);
        let got = gitea
            .list_org_repos(&t.org, page as u32, limit as u32)
            .await?;
        Ok(ReposListOut {
            org: t.org,
            next_page: got.has_next.then_some(page + 1),
            page,
            repos: got.items.into_iter().map(RepoOut::from).collect(),
        })
    }

    /// Create a repository in the workspace org, as the bot.
    pub async fn repos_create(
        &self,
        caller: &Caller,
        p: ReposCreateParams,
    ) -> Result<RepoOut, ApiError> {
        super::limits::check(&p)?;
        let result = async {
            let name = p.name.trim();
            if !repo_ref::is_valid_name(name) || name.contains('/') {
                return Err(ApiError::bad_request(format!(
                    "{} is not a repository name",
                    quote(name)
                ))
                .with_hint("use letters, digits, '.', '_' and '-', e.g. my-site"));
            }
            let description = p.description.as_deref().unwrap_or_default();
            if description.chars().any(char::is_control) {
                return Err(ApiError::bad_request(
                    "description has control characters or line breaks",
                ));
            }
            let t = self.tenant(caller).await?;
            let gitea = self.gitea_as_bot(caller).await?;
            let repo = gitea
                .create_described_org_repo(
                    &t.org,
                    name,
                    p.private.unwrap_or(true),
                    p.auto_init.unwrap_or(true),
                    description,
                )
                .await
                .map_err(|e| match e.status() {
                    Some(409) => ApiError::unprocessable(format!(
                        "the org already has a repository named {name}"
                    ))
                    .with_hint("use it (repos_list), or pick another name"),
                    _ => e.into(),
                })?;
            Ok(RepoOut::from(repo))
        }
        .await;
        caller.audited(p.name.trim(), result).await
    }
}

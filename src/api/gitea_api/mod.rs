//! The Gitea server's logic: repositories, issues and files, with every guard.
//!
//! Guards, before any upstream call: a repository reference must parse (`owner/name`
//! or a bare name owned by the pinned org / the configured user); when pinned, only the
//! workspace's org is visible or writable (any other owner is 403, whether or not it
//! exists); repositories on `VIBN_PROTECTED_REPOS` are read-only (every write 403,
//! naming the repo). Write calls are audited.

mod files;
mod issues;
mod limits;
mod repos;

use std::sync::Arc;

use crate::api::caller::Principal;
use crate::clients::gitea::GiteaClient;
use crate::config::GiteaServerConfig;
use crate::error::ApiError;
use crate::policy::protected::{self, ProtectedList};
use crate::policy::repo_ref::{self, RepoRef};

pub use files::{ReadRepoFileOut, ReadRepoFileParams};
pub use issues::{
    CloseIssueOut, CloseIssueParams, CreateIssueOut, CreateIssueParams, FAN_OUT, IssueStateParam,
    IssueSummary, ListAllIssuesOut, ListAllIssuesParams, ListIssuesOut, ListIssuesParams,
    RepoFailure, RepoIssue,
};
pub use repos::{ListReposOut, ListReposParams, RepoSummary};

/// The Gitea API: cheap to clone, shared by every request of one server.
#[derive(Clone)]
pub struct GiteaApi {
    inner: Arc<Inner>,
}

struct Inner {
    client: Option<GiteaClient>,
    username: Option<String>,
    protected: ProtectedList,
}

impl GiteaApi {
    /// An API over the configured Gitea (nothing is contacted yet).
    pub fn new(config: GiteaServerConfig) -> Self {
        let client = config
            .gitea
            .as_ref()
            .map(|g| GiteaClient::new(&g.base_url, g.token.clone(), config.http.clone()));
        Self::with_client(
            client,
            config.gitea.map(|g| g.username),
            config.protected_repos,
        )
    }

    /// An API over an explicit client (tests point it through a validating proxy).
    pub fn with_client(
        client: Option<GiteaClient>,
        username: Option<String>,
        protected: ProtectedList,
    ) -> Self {
        GiteaApi {
            inner: Arc::new(Inner {
                client,
                username,
                protected,
            }),
        }
    }

    fn client(&self) -> Result<&GiteaClient, ApiError> {
        self.inner.client.as_ref().ok_or_else(|| {
            ApiError::not_provisioned("Gitea is not configured").with_hint(
                "set GITEA_API_URL, GITEA_USERNAME and GITEA_API_TOKEN in the MCP client's config",
            )
        })
    }

    /// The owner a bare repository name belongs to: the pinned org, else the user.
    fn default_owner<'a>(&'a self, who: &'a Principal) -> Option<&'a str> {
        who.gitea_org().or(self.inner.username.as_deref())
    }

    /// Parse a repository reference and check the pinned org may see it.
    fn repo(&self, who: &Principal, input: &str) -> Result<RepoRef, ApiError> {
        let repo = repo_ref::parse(input, self.default_owner(who))?;
        self.check_owner(who, &repo.owner)?;
        Ok(repo)
    }

    /// When pinned, only the workspace's org is visible.
    fn check_owner(&self, who: &Principal, owner: &str) -> Result<(), ApiError> {
        Ok(protected::check_owner_is_org(who.gitea_org(), owner)?)
    }

    /// Refuse writes to protected repositories.
    fn check_writable(&self, repo: &RepoRef) -> Result<(), ApiError> {
        Ok(protected::check_repo_writable(
            &self.inner.protected,
            &repo.full_name(),
        )?)
    }
}

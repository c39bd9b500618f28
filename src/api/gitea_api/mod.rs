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

use crate::api::caller::{Caller, Principal};
use crate::clients::gitea::GiteaClient;
use secrecy::SecretString;

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
    /// Gitea's base, with the operator's token when there is one (a pinned call swaps
    /// in its bot's).
    client: Option<GiteaClient>,
    /// The operator's user (operator mode), whose token `client` carries.
    operator: Option<String>,
    protected: ProtectedList,
}

impl GiteaApi {
    /// An API over the configured Gitea (nothing is contacted yet).
    pub fn new(config: GiteaServerConfig) -> Self {
        let client = config.gitea.url.as_ref().map(|url| {
            let token = config
                .gitea
                .operator
                .as_ref()
                .map(|o| o.token.clone())
                .unwrap_or_else(|| SecretString::from(String::new()));
            GiteaClient::new(url, token, config.http.clone())
        });
        GiteaApi {
            inner: Arc::new(Inner {
                client,
                operator: config.gitea.operator.map(|o| o.username),
                protected: config.protected_repos,
            }),
        }
    }

    /// An API over an explicit client (tests point it through a validating proxy).
    /// `client` carries the base and the operator's token, `username` is whose.
    pub fn with_client(
        client: Option<GiteaClient>,
        username: Option<String>,
        protected: ProtectedList,
    ) -> Self {
        GiteaApi {
            inner: Arc::new(Inner {
                client,
                operator: username,
                protected,
            }),
        }
    }

    /// The client this call talks to Gitea with: as the workspace's bot when pinned,
    /// as the operator otherwise.
    async fn client(&self, caller: &Caller) -> Result<GiteaClient, ApiError> {
        let base = self.inner.client.as_ref().ok_or_else(|| {
            ApiError::not_provisioned("Gitea is not configured").with_hint(
                "set GITEA_API_URL (and, without a workspace key, GITEA_USERNAME and \
                 GITEA_API_TOKEN) in the MCP client's config",
            )
        })?;
        if caller.workspace().is_none() {
            return match &self.inner.operator {
                Some(_) => Ok(base.clone()),
                None => Err(caller.gitea_login(None).await.err().unwrap_or_else(|| {
                    ApiError::not_provisioned("Gitea credentials are not configured")
                })),
            };
        }
        Ok(base.with_token(caller.gitea_login(None).await?.token))
    }

    /// The owner a bare repository name belongs to: the pinned org, else the user.
    fn default_owner<'a>(&'a self, who: &'a Principal) -> Option<&'a str> {
        who.gitea_org().or(self.inner.operator.as_deref())
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

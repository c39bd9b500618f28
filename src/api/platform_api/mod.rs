//! The platform server's logic: memory, skills, PRDs and web search.
//!
//! Scope: pinned, everything belongs to the workspace (memory and PRDs under its id,
//! skills from its org's repository); unpinned, to the local operator scope. Memory is
//! further scoped to `SESSION_KEY` when set. Writes are audited.

mod limits;
mod memory;
mod prd;
mod search;
mod skills;

use std::path::PathBuf;
use std::sync::Arc;

use crate::api::caller::Principal;
use crate::clients::gitea::GiteaClient;
use crate::clients::search::SearchClient;
use crate::config::{PlatformServerConfig, SearchProvider};

pub use memory::{ListMemoryOut, ListMemoryParams, MemoryOut, SaveMemoryOut, SaveMemoryParams};
pub use prd::{FinalizePrdOut, FinalizePrdParams, GetPrdOut, GetPrdParams};
pub use search::{WebSearchOut, WebSearchParams};
pub use skills::{
    GetSkillOut, GetSkillParams, ListSkillsOut, ListSkillsParams, MalformedSkill, SkillSummary,
};

/// The scope name of the unpinned operator.
pub const LOCAL_SCOPE: &str = "local";

/// The platform API: cheap to clone, shared by every request of one server.
#[derive(Clone)]
pub struct PlatformApi {
    inner: Arc<Inner>,
}

struct Inner {
    gitea: Option<GiteaClient>,
    gitea_user: Option<String>,
    skills_repo: Option<String>,
    skills_dir: Option<PathBuf>,
    search: Option<SearchClient>,
    session: String,
}

/// Where the platform server's parts come from.
pub struct PlatformParts {
    /// Gitea, for skills kept in a repository.
    pub gitea: Option<GiteaClient>,
    /// The Gitea user (its `<user>/skills` is the operator's default).
    pub gitea_user: Option<String>,
    /// An explicit skills repository.
    pub skills_repo: Option<String>,
    /// A local skills folder.
    pub skills_dir: Option<PathBuf>,
    /// The search provider.
    pub search: Option<SearchClient>,
    /// The session memory is scoped to.
    pub session: String,
}

impl PlatformApi {
    /// An API from the server's configuration (nothing is contacted yet).
    pub fn new(config: PlatformServerConfig) -> Self {
        let search = config.search.as_ref().map(|p| match p {
            SearchProvider::Searxng { url } => SearchClient::searxng(url, config.http.clone()),
            SearchProvider::Brave { url, key } => {
                SearchClient::brave(url, key.clone(), config.http.clone())
            }
        });
        Self::from_parts(PlatformParts {
            gitea: config.gitea.url.as_ref().map(|url| {
                let token = config
                    .gitea
                    .operator
                    .as_ref()
                    .map(|o| o.token.clone())
                    .unwrap_or_else(|| secrecy::SecretString::from(String::new()));
                GiteaClient::new(url, token, config.http.clone())
            }),
            gitea_user: config.gitea.operator.map(|o| o.username),
            skills_repo: config.skills_repo,
            skills_dir: config.skills_dir,
            search,
            session: config.session_key,
        })
    }

    /// An API from explicit parts (tests).
    pub fn from_parts(parts: PlatformParts) -> Self {
        PlatformApi {
            inner: Arc::new(Inner {
                gitea: parts.gitea,
                gitea_user: parts.gitea_user,
                skills_repo: parts.skills_repo,
                skills_dir: parts.skills_dir,
                search: parts.search,
                session: parts.session,
            }),
        }
    }

    /// The scope name and workspace id of `who`.
    fn scope(who: &Principal) -> (String, Option<String>) {
        match who.workspace() {
            Some(ws) => (ws.id.clone(), Some(ws.id.clone())),
            None => (LOCAL_SCOPE.to_string(), None),
        }
    }

    /// The display hint of the key in use, if pinned (recorded as PRD author).
    fn author(who: &Principal) -> String {
        match who {
            Principal::Operator => "operator".to_string(),
            Principal::Workspace(k) => k.hint.clone(),
        }
    }
}

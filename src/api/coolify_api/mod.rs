//! The Coolify server's logic with every guard.
//!
//! Scope: in operator mode every project is visible; when pinned, only the workspace's
//! Coolify project. Every resource is checked to belong to the scope (its
//! `environment_id` among the project's environments, `policy::tenant`) before it is
//! read or changed; when pinned, "another tenant's" and "does not exist" give the same
//! 403, so nothing leaks which is which. Applications on `VIBN_PROTECTED_APPS` (uuid or
//! name) refuse every change with 403 naming the app. Changes are audited.

mod apps;
mod deploy;
mod deployments;
mod limits;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;

use crate::api::caller::Principal;
use crate::clients::coolify::{Application, CoolifyClient, Project};
use crate::config::CoolifyServerConfig;
use crate::error::{ApiError, quote};
use crate::policy::protected::ProtectedList;
use crate::policy::tenant::{self, ProjectScope};

pub(crate) use apps::keep_tail;
pub use apps::{
    AppStatusOut, AppSummary, GetAppStatusParams, GetLogsOut, GetLogsParams, ListAllAppsOut,
    ListAllAppsParams, ListApplicationsOut, ListApplicationsParams, ListProjectsOut,
    ListProjectsParams, ProjectApps, ProjectSummary,
};
pub use deploy::{DeployAppOut, DeployAppParams, DeployOut, DeployParams};
pub(crate) use deployments::log_page;
pub use deployments::{
    DeploymentSummary, GetDeploymentOut, GetDeploymentParams, ListDeploymentsOut,
    ListDeploymentsParams,
};

/// Projects looked up at once by the fan-out tools.
pub const FAN_OUT: usize = 8;

/// The Coolify API: cheap to clone, shared by every request of one server.
#[derive(Clone)]
pub struct CoolifyApi {
    inner: Arc<Inner>,
}

struct Inner {
    client: Option<CoolifyClient>,
    protected: ProtectedList,
    poll_interval: Duration,
    wait_budget: Duration,
    /// Deployments already seen to belong to an application (deployment → app uuid).
    known_deployments: Mutex<HashMap<String, String>>,
}

/// What the caller may see.
#[derive(Debug, Clone)]
pub(crate) enum Scope {
    /// Operator mode: everything.
    All,
    /// Pinned: one project.
    Project(ProjectScope),
}

impl Scope {
    fn admits(&self, app: &Application) -> bool {
        match self {
            Scope::All => true,
            Scope::Project(p) => {
                tenant::in_project(app.environment_id, app.project_uuid.as_deref(), p)
            }
        }
    }
}

impl CoolifyApi {
    /// An API over the configured Coolify (nothing is contacted yet).
    pub fn new(config: CoolifyServerConfig) -> Self {
        let client = config
            .coolify
            .as_ref()
            .map(|c| CoolifyClient::new(&c.base_url, c.token.clone(), config.http.clone()));
        Self::with_client(
            client,
            config.protected_apps,
            config.poll_interval,
            config.wait_budget,
        )
    }

    /// An API over an explicit client (tests point it at a sandbox).
    pub fn with_client(
        client: Option<CoolifyClient>,
        protected: ProtectedList,
        poll_interval: Duration,
        wait_budget: Duration,
    ) -> Self {
        CoolifyApi {
            inner: Arc::new(Inner {
                client,
                protected,
                poll_interval,
                wait_budget,
                known_deployments: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn client(&self) -> Result<&CoolifyClient, ApiError> {
        self.inner.client.as_ref().ok_or_else(|| {
            ApiError::not_provisioned("Coolify is not configured")
                .with_hint("set COOLIFY_API_URL and COOLIFY_API_TOKEN in the MCP client's config")
        })
    }

    /// What `who` may see: everything, or the pinned workspace's project.
    pub(crate) async fn scope(&self, who: &Principal) -> Result<Scope, ApiError> {
        let Some(workspace) = who.workspace() else {
            return Ok(Scope::All);
        };
        let Some(uuid) = workspace.coolify_project_uuid.as_deref() else {
            return Err(ApiError::not_provisioned(format!(
                "workspace {} has no Coolify project yet (provision status: {})",
                workspace.slug, workspace.provision_status
            ))
            .with_hint("ask the operator to provision the workspace"));
        };
        let project = self.client()?.get_project(uuid).await.map_err(|e| {
            let e: ApiError = e.into();
            if e.status() == 404 {
                ApiError::not_provisioned(format!(
                    "the Coolify project of workspace {} no longer exists",
                    workspace.slug
                ))
            } else {
                e
            }
        })?;
        Ok(Scope::Project(project_scope(&project)))
    }

    /// Fetch an application and check it is in scope. When pinned, a missing app and
    /// another tenant's app are the same 403.
    pub(crate) async fn app_in_scope(
        &self,
        scope: &Scope,
        uuid: &str,
    ) -> Result<Application, ApiError> {
        let uuid = uuid.trim();
        if uuid.is_empty()
            || !uuid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ApiError::bad_request(format!(
                "{} is not an application uuid",
                quote(uuid)
            )));
        }
        let outside = || {
            ApiError::forbidden(format!(
                "application {uuid} is not in this workspace's Coolify project"
            ))
            .with_hint("call list_all_apps to see the applications you can use")
        };
        let found = self.client()?.get_application(uuid).await;
        match (scope, found) {
            (Scope::Project(_), Err(e)) if e.status() == Some(404) => Err(outside()),
            (Scope::All, Err(e)) if e.status() == Some(404) => {
                Err(ApiError::not_found(format!("no application {uuid}"))
                    .with_hint("call list_all_apps to see the applications"))
            }
            (_, Err(e)) => Err(e.into()),
            (scope, Ok(app)) if scope.admits(&app) => Ok(app),
            (_, Ok(_)) => Err(outside()),
        }
    }

    /// Refuse a change to a protected application (by uuid or name).
    fn check_changeable(&self, app: &Application) -> Result<(), ApiError> {
        let protected = &self.inner.protected;
        if protected.matches(&app.uuid) || protected.matches(&app.name) {
            return Err(ApiError::forbidden(format!(
                "application {} ({}) is protected (VIBN_PROTECTED_APPS): it may not be changed by agents",
                app.name, app.uuid
            ))
            .with_hint("do not retry; ask the user to make this change themselves"));
        }
        Ok(())
    }

    /// Every application in scope.
    async fn apps_in_scope(&self, scope: &Scope) -> Result<Vec<Application>, ApiError> {
        let apps = self.client()?.list_applications().await?;
        Ok(apps.into_iter().filter(|a| scope.admits(a)).collect())
    }

    /// Every project in scope with its environments (fetched concurrently).
    async fn projects_in_scope(&self, scope: &Scope) -> Result<Vec<ProjectScope>, ApiError> {
        match scope {
            Scope::Project(p) => Ok(vec![p.clone()]),
            Scope::All => {
                let client = self.client()?;
                let listed = client.list_projects().await?;
                let fetched: Vec<_> = futures::stream::iter(listed)
                    .map(|p| async move { client.get_project(&p.uuid).await })
                    .buffered(FAN_OUT)
                    .collect()
                    .await;
                fetched
                    .into_iter()
                    .map(|r| r.map(|p| project_scope(&p)).map_err(ApiError::from))
                    .collect()
            }
        }
    }

    fn remember_deployment(&self, deployment: &str, app: &str) {
        if let Ok(mut known) = self.inner.known_deployments.lock() {
            known.insert(deployment.to_string(), app.to_string());
        }
    }

    fn known_app_of(&self, deployment: &str) -> Option<String> {
        self.inner
            .known_deployments
            .lock()
            .ok()?
            .get(deployment)
            .cloned()
    }
}

fn project_scope(project: &Project) -> ProjectScope {
    ProjectScope {
        uuid: project.uuid.clone(),
        name: project.name.clone(),
        environment_ids: project.environments.iter().filter_map(|e| e.id).collect(),
    }
}

//! Tenancy (seed 003 §7.1): a Coolify resource belongs to the workspace when its
//! `environment_id` is one of the workspace project's environments (or it names the
//! project explicitly), `policy::tenant::in_project`. Every id-taking tool fetches the
//! resource and checks it here before reading or changing it; a resource of another
//! workspace and a missing one get the same 403, so a tenant learns nothing about the
//! other's ids, and nothing is written for either.
//!
//! Cost (issue 13 item 6): the project's environment ids are cached for `scope_ttl`. A
//! cache miss, an expired entry, or a resource in an environment the cached set does not
//! know all refetch the project before anything is refused, so a new environment is seen
//! at once and only refusals pay for the second look.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{ControlPlaneApi, Tenant, check_uuid};
use crate::clients::coolify::{Application, Database, Deployment, Service};
use crate::clients::http::ClientError;
use crate::error::ApiError;
use crate::policy::tenant::{ProjectScope, in_project};

/// Deployments of an application searched to prove a deployment belongs to it.
const DEPLOYMENT_SEARCH: u32 = 100;

/// The kinds of Coolify resources the control plane hands out ids of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An application.
    Application,
    /// A standalone database.
    Database,
    /// A one-click service (an auth provider).
    Service,
    /// A deployment of an application.
    Deployment,
}

impl Kind {
    /// The resource in words.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Application => "application",
            Kind::Database => "database",
            Kind::Service => "auth provider",
            Kind::Deployment => "deployment",
        }
    }

    /// "an application", "a database", …
    pub fn article(self) -> &'static str {
        match self {
            Kind::Application => "an application",
            Kind::Database => "a database",
            Kind::Service => "an auth provider",
            Kind::Deployment => "a deployment",
        }
    }

    /// The tool that lists resources of this kind.
    pub fn list_tool(self) -> &'static str {
        match self {
            Kind::Application => "apps_list",
            Kind::Database => "databases_list",
            Kind::Service => "auth_list",
            Kind::Deployment => "apps_deployments",
        }
    }
}

/// The one refusal for "another workspace's" and "does not exist".
pub(super) fn outside(kind: Kind, uuid: &str) -> ApiError {
    ApiError::forbidden(format!("{} {uuid} is not in this workspace", kind.noun())).with_hint(
        format!(
            "call {} to see this workspace's {}s and use one of those; if the id is listed \
             there, stop and ask the user",
            kind.list_tool(),
            kind.noun()
        ),
    )
}

/// A Coolify resource that belongs to an environment.
pub(super) trait Owned {
    /// Its environment's integer id.
    fn environment_id(&self) -> Option<i64>;
    /// Its project, when Coolify names it.
    fn project_uuid(&self) -> Option<&str> {
        None
    }
}

impl Owned for Application {
    fn environment_id(&self) -> Option<i64> {
        self.environment_id
    }
    fn project_uuid(&self) -> Option<&str> {
        self.project_uuid.as_deref()
    }
}

impl Owned for Database {
    fn environment_id(&self) -> Option<i64> {
        self.environment_id
    }
}

impl Owned for Service {
    fn environment_id(&self) -> Option<i64> {
        self.environment_id
    }
}

/// Projects' environment ids, each trusted for a while.
pub(super) struct ScopeCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Arc<ProjectScope>)>>,
}

impl ScopeCache {
    /// A cache trusting an entry for `ttl` (zero: never).
    pub(super) fn new(ttl: Duration) -> Self {
        ScopeCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn fresh(&self, project: &str) -> Option<Arc<ProjectScope>> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        let (at, scope) = entries.get(project)?;
        (at.elapsed() < self.ttl).then(|| scope.clone())
    }

    fn put(&self, scope: ProjectScope) -> Arc<ProjectScope> {
        let scope = Arc::new(scope);
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(scope.uuid.clone(), (Instant::now(), scope.clone()));
        }
        scope
    }
}

/// Deployments remembered at most (then the memory starts over; a forgotten one is
/// found again by searching its application's deployments).
const MAX_KNOWN_DEPLOYMENTS: usize = 10_000;

/// Deployments already proven to belong to an application (deployment → app uuid).
#[derive(Default)]
pub(super) struct KnownDeployments(Mutex<HashMap<String, String>>);

impl KnownDeployments {
    pub(super) fn remember(&self, deployment: &str, app: &str) {
        if let Ok(mut known) = self.0.lock() {
            if known.len() >= MAX_KNOWN_DEPLOYMENTS {
                known.clear();
            }
            known.insert(deployment.to_string(), app.to_string());
        }
    }

    fn app_of(&self, deployment: &str) -> Option<String> {
        self.0.lock().ok()?.get(deployment).cloned()
    }
}

impl ControlPlaneApi {
    /// The workspace project's environments: cached, or read now (`refresh`, a miss or
    /// an expired entry). The bool is true when it was read now.
    async fn scope(
        &self,
        t: &Tenant,
        refresh: bool,
    ) -> Result<(Arc<ProjectScope>, bool), ApiError> {
        if !refresh && let Some(scope) = self.inner.scopes.fresh(&t.project_uuid) {
            return Ok((scope, false));
        }
        let project = self
            .coolify()?
            .get_project(&t.project_uuid)
            .await
            .map_err(|e| {
                if e.status() == Some(404) {
                    ApiError::not_provisioned(format!(
                        "the Coolify project of workspace {} ({}) no longer exists",
                        t.slug, t.project_uuid
                    ))
                    .with_hint(format!(
                        "ask the operator to run `vibn workspace provision {}`",
                        t.slug
                    ))
                } else {
                    e.into()
                }
            })?;
        let scope = ProjectScope {
            uuid: project.uuid.clone(),
            name: project.name.clone(),
            environment_ids: project.environments.iter().filter_map(|e| e.id).collect(),
        };
        Ok((self.inner.scopes.put(scope), true))
    }

    /// The environment ids as last known, for filtering lists (a list shows resources of
    /// an environment made in the last `scope_ttl` once the entry expires).
    pub(super) async fn list_scope(&self, t: &Tenant) -> Result<Arc<ProjectScope>, ApiError> {
        Ok(self.scope(t, false).await?.0)
    }

    /// Whether a resource belongs to the workspace; an unknown environment is looked up
    /// again before the answer is no.
    async fn admits(&self, t: &Tenant, resource: &(dyn Owned + Sync)) -> Result<bool, ApiError> {
        let (scope, read_now) = self.scope(t, false).await?;
        let inside =
            |s: &ProjectScope| in_project(resource.environment_id(), resource.project_uuid(), s);
        if inside(&scope) {
            return Ok(true);
        }
        if read_now {
            return Ok(false);
        }
        let (scope, _) = self.scope(t, true).await?;
        Ok(inside(&scope))
    }

    /// Fetch a resource of `kind` by uuid and check it is the workspace's; a missing one
    /// and another workspace's are the same 403.
    async fn owned<T: Owned + Sync>(
        &self,
        t: &Tenant,
        kind: Kind,
        uuid: &str,
        fetched: Result<T, ClientError>,
    ) -> Result<T, ApiError> {
        match fetched {
            Err(e) if e.status() == Some(404) => Err(outside(kind, uuid)),
            Err(e) => Err(e.into()),
            Ok(resource) if self.admits(t, &resource).await? => Ok(resource),
            Ok(_) => Err(outside(kind, uuid)),
        }
    }

    /// The workspace's application `uuid` (403 otherwise).
    pub(super) async fn app(&self, t: &Tenant, uuid: &str) -> Result<Application, ApiError> {
        let uuid = uuid.trim();
        check_uuid(Kind::Application, uuid)?;
        let fetched = self.coolify()?.get_application(uuid).await;
        self.owned(t, Kind::Application, uuid, fetched).await
    }

    /// The workspace's database `uuid` (403 otherwise).
    pub(super) async fn database(&self, t: &Tenant, uuid: &str) -> Result<Database, ApiError> {
        let uuid = uuid.trim();
        check_uuid(Kind::Database, uuid)?;
        let fetched = self.coolify()?.get_database(uuid).await;
        self.owned(t, Kind::Database, uuid, fetched).await
    }

    /// The workspace's service `uuid` (403 otherwise).
    pub(super) async fn service(&self, t: &Tenant, uuid: &str) -> Result<Service, ApiError> {
        let uuid = uuid.trim();
        check_uuid(Kind::Service, uuid)?;
        let fetched = self.coolify()?.get_service(uuid).await;
        self.owned(t, Kind::Service, uuid, fetched).await
    }

    /// The workspace's deployment `uuid` and its application's uuid (403 otherwise): a
    /// deployment names its application only by name and integer id, so it is proven to
    /// be one of the workspace's apps' recent deployments (or remembered from an earlier
    /// call that listed or started it).
    pub(super) async fn deployment(
        &self,
        t: &Tenant,
        uuid: &str,
    ) -> Result<(Deployment, String), ApiError> {
        let uuid = uuid.trim();
        check_uuid(Kind::Deployment, uuid)?;
        let deployment = match self.coolify()?.get_deployment(uuid).await {
            Ok(d) => d,
            Err(e) if e.status() == Some(404) => return Err(outside(Kind::Deployment, uuid)),
            Err(e) => return Err(e.into()),
        };
        if let Some(app) = self.inner.deployments.app_of(uuid)
            && self.app(t, &app).await.is_ok()
        {
            return Ok((deployment, app));
        }
        let Some(name) = deployment.application_name.clone() else {
            return Err(outside(Kind::Deployment, uuid));
        };
        let scope = self.list_scope(t).await?;
        let candidates: Vec<Application> = self
            .coolify()?
            .list_applications()
            .await?
            .into_iter()
            .filter(|a| {
                a.name == name && in_project(a.environment_id, a.project_uuid.as_deref(), &scope)
            })
            .collect();
        for app in candidates {
            let page = self
                .coolify()?
                .list_app_deployments(&app.uuid, 0, DEPLOYMENT_SEARCH)
                .await?;
            if page.deployments.iter().any(|d| d.deployment_uuid == uuid) {
                self.inner.deployments.remember(uuid, &app.uuid);
                return Ok((deployment, app.uuid));
            }
        }
        Err(outside(Kind::Deployment, uuid))
    }

    /// Remember that `deployment` belongs to `app` (listed or started through an app
    /// already checked).
    pub(super) fn remember_deployment(&self, deployment: &str, app: &str) {
        self.inner.deployments.remember(deployment, app);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(ids: &[i64]) -> ProjectScope {
        ProjectScope {
            uuid: "p".into(),
            name: "vibn-ws-mark".into(),
            environment_ids: ids.to_vec(),
        }
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_never_caches() {
        let cache = ScopeCache::new(Duration::from_secs(60));
        assert!(cache.fresh("p").is_none());
        cache.put(scope(&[1]));
        assert_eq!(cache.fresh("p").unwrap().environment_ids, vec![1]);
        let never = ScopeCache::new(Duration::ZERO);
        never.put(scope(&[1]));
        assert!(never.fresh("p").is_none());
    }

    #[test]
    fn missing_and_foreign_get_the_same_refusal() {
        let a = outside(Kind::Application, "u1");
        let b = outside(Kind::Application, "u1");
        assert_eq!(a, b);
        assert_eq!(a.status(), 403);
        assert!(a.hint().unwrap_or_default().contains("apps_list"));
    }
}

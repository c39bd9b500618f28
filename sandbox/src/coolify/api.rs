//! The `/api/v1` front door: the route table (path and method → endpoint and the token
//! ability its route middleware requires), Sanctum bearer authentication, the
//! `api.ability` and `api.sensitive` middlewares, the router's catch-all 404 and the
//! 405 of the routes that moved to POST in 4.2. Endpoint bodies live in
//! projects/applications/envs/deploy/databases/services.

use std::sync::Arc;

use axum::http::{HeaderMap, Method, header};
use serde_json::json;

use super::http::{
    ApiErr, ApiResult, Input, Query, Reply, percent_decode, request_input, text_reply,
    validated_input, wants_json,
};
use super::state::{CoolifyState, Data};
use super::{COOLIFY_VERSION, applications, databases, deploy, envs, keys, projects, services};

/// One endpoint, chosen by path and method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ep {
    Health,
    Version,
    PostRequired,
    Projects,
    ProjectCreate,
    ProjectGet,
    ProjectUpdate,
    ProjectDelete,
    ProjectEnvs,
    ProjectEnvCreate,
    EnvironmentGet,
    Servers,
    ServerGet,
    SecurityKeys,
    SecurityKeyCreate,
    SecurityKeyGet,
    SecurityKeyDelete,
    Apps,
    AppCreatePublic,
    AppCreateDeployKey,
    AppGet,
    AppUpdate,
    AppDelete,
    AppLogs,
    AppStart,
    AppStop,
    AppRestart,
    AppEnvs,
    AppEnvCreate,
    AppEnvUpdate,
    AppEnvBulk,
    AppEnvDelete,
    Deploy,
    Deployments,
    DeploymentGet,
    DeploymentCancel,
    AppDeployments,
    Dbs,
    DbCreate,
    DbGet,
    DbUpdate,
    DbDelete,
    DbAction,
    Services,
    ServiceCreate,
    ServiceGet,
    ServiceDelete,
    ServiceAction,
}

/// What a request needs and carries, shared by every handler.
pub(crate) struct Ctx<'a> {
    pub team: i64,
    /// `can_read_sensitive` (root or read:sensitive).
    pub sensitive: bool,
    pub query: Query,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub caps: Vec<String>,
    pub base_url: &'a str,
}

impl Ctx<'_> {
    /// Path capture `i` (empty when absent).
    pub(crate) fn cap(&self, i: usize) -> &str {
        self.caps.get(i).map(String::as_str).unwrap_or_default()
    }

    /// `$request->all()` without `validateIncomingRequest()`.
    pub(crate) fn input(&self) -> Input {
        request_input(self.headers, &self.query, self.body)
    }

    /// `validateIncomingRequest()` then `$request->all()`.
    pub(crate) fn validated(&self) -> Result<Input, ApiErr> {
        validated_input(self.headers, &self.query, self.body)
    }

    /// The client asked for JSON (`Accept`).
    pub(crate) fn wants_json(&self) -> bool {
        wants_json(self.headers)
    }
}

const ACTIONS: [&str; 3] = ["start", "stop", "restart"];

/// Path segments → endpoint, required ability and captures. `None` is the catch-all.
fn route(method: &Method, s: &[&str]) -> Option<(Ep, &'static str, Vec<String>)> {
    use Ep::*;
    let (get, post, patch, delete) = (
        *method == Method::GET,
        *method == Method::POST,
        *method == Method::PATCH,
        *method == Method::DELETE,
    );
    let caps = |c: &[&str]| c.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let r = |ep: Ep, ability: &'static str, c: &[&str]| Some((ep, ability, caps(c)));
    match s {
        ["health"] if get => r(Health, "", &[]),
        ["version"] if get => r(Version, "read", &[]),
        ["deploy"] if get => r(PostRequired, "deploy", &[]),
        ["deploy"] if post => r(Deploy, "deploy", &[]),
        ["projects"] if get => r(Projects, "read", &[]),
        ["projects"] if post => r(ProjectCreate, "write", &[]),
        ["projects", u] if get => r(ProjectGet, "read", &[u]),
        ["projects", u] if patch => r(ProjectUpdate, "write", &[u]),
        ["projects", u] if delete => r(ProjectDelete, "write", &[u]),
        ["projects", u, "environments"] if get => r(ProjectEnvs, "read", &[u]),
        ["projects", u, "environments"] if post => r(ProjectEnvCreate, "write", &[u]),
        ["projects", u, e] if get => r(EnvironmentGet, "read", &[u, e]),
        ["servers"] if get => r(Servers, "read", &[]),
        ["servers", u] if get => r(ServerGet, "read", &[u]),
        ["servers", _, "validate"] if get => r(PostRequired, "write", &[]),
        ["security", "keys"] if get => r(SecurityKeys, "read", &[]),
        ["security", "keys"] if post => r(SecurityKeyCreate, "write", &[]),
        ["security", "keys", u] if get => r(SecurityKeyGet, "read", &[u]),
        ["security", "keys", u] if delete => r(SecurityKeyDelete, "write", &[u]),
        ["applications"] if get => r(Apps, "read", &[]),
        ["applications", "public"] if post => r(AppCreatePublic, "write", &[]),
        ["applications", "private-deploy-key"] if post => r(AppCreateDeployKey, "write", &[]),
        ["applications", u] if get => r(AppGet, "read", &[u]),
        ["applications", u] if patch => r(AppUpdate, "write", &[u]),
        ["applications", u] if delete => r(AppDelete, "write", &[u]),
        ["applications", u, "logs"] if get => r(AppLogs, "read", &[u]),
        ["applications", _, a] if get && ACTIONS.contains(a) => r(PostRequired, "deploy", &[]),
        ["applications", u, "start"] if post => r(AppStart, "deploy", &[u]),
        ["applications", u, "stop"] if post => r(AppStop, "deploy", &[u]),
        ["applications", u, "restart"] if post => r(AppRestart, "deploy", &[u]),
        ["applications", u, "envs"] if get => r(AppEnvs, "read", &[u]),
        ["applications", u, "envs"] if post => r(AppEnvCreate, "write", &[u]),
        ["applications", u, "envs"] if patch => r(AppEnvUpdate, "write", &[u]),
        ["applications", u, "envs", "bulk"] if patch => r(AppEnvBulk, "write", &[u]),
        ["applications", u, "envs", e] if delete => r(AppEnvDelete, "write", &[u, e]),
        ["deployments"] if get => r(Deployments, "read", &[]),
        ["deployments", "applications", u] if get => r(AppDeployments, "read", &[u]),
        ["deployments", u] if get => r(DeploymentGet, "read", &[u]),
        ["deployments", u, "cancel"] if post => r(DeploymentCancel, "deploy", &[u]),
        ["databases"] if get => r(Dbs, "read", &[]),
        ["databases", k] if post && databases::DbKind::from_route(k).is_some() => {
            r(DbCreate, "write", &[k])
        }
        ["databases", u] if get => r(DbGet, "read", &[u]),
        ["databases", u] if patch => r(DbUpdate, "write", &[u]),
        ["databases", u] if delete => r(DbDelete, "write", &[u]),
        ["databases", _, a] if get && ACTIONS.contains(a) => r(PostRequired, "deploy", &[]),
        ["databases", u, a] if post && ACTIONS.contains(a) => r(DbAction, "deploy", &[u, a]),
        ["services"] if get => r(Services, "read", &[]),
        ["services"] if post => r(ServiceCreate, "write", &[]),
        ["services", u] if get => r(ServiceGet, "read", &[u]),
        ["services", u] if delete => r(ServiceDelete, "write", &[u]),
        ["services", _, a] if get && ACTIONS.contains(a) => r(PostRequired, "deploy", &[]),
        ["services", u, a] if post && ACTIONS.contains(a) => r(ServiceAction, "deploy", &[u, a]),
        _ => None,
    }
}

/// The bearer token text (`strripos(header, 'Bearer ')`, cut at a comma).
fn bearer(headers: &HeaderMap) -> Option<String> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let pos = h.to_ascii_lowercase().rfind("bearer ")?;
    let token = &h[pos + 7..];
    let token = token.split(',').next().unwrap_or_default();
    (!token.is_empty()).then(|| token.to_string())
}

/// Serve one request under `/api` (the caller logs it and applies faults).
pub(crate) fn handle(
    state: &Arc<CoolifyState>,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Reply {
    let rel = path
        .strip_prefix("/api/v1")
        .filter(|r| r.is_empty() || r.starts_with('/'))
        .or_else(|| path.strip_prefix("/api").filter(|r| *r == "/health"));
    let segments: Vec<String> = rel
        .unwrap_or("/\u{0}")
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let refs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let Some((ep, ability, caps)) = rel.and_then(|_| route(method, &refs)) else {
        return ApiErr::route_not_found().into_reply();
    };
    if ep == Ep::Health {
        return text_reply(200, "OK");
    }
    let mut d = state.data();
    let Some(token) = bearer(headers).and_then(|b| d.token(&b).cloned()) else {
        return ApiErr::msg(401, "Unauthenticated.").into_reply();
    };
    if !token.can(ability) {
        return ApiErr::msg(403, format!("Missing required permissions: {ability}")).into_reply();
    }
    let ctx = Ctx {
        team: token.team_id,
        sensitive: token.can("read:sensitive"),
        query: Query::parse(query),
        headers,
        body,
        caps,
        base_url: &state.base_url,
    };
    dispatch(&mut d, ep, &ctx).unwrap_or_else(ApiErr::into_reply)
}

fn dispatch(d: &mut Data, ep: Ep, ctx: &Ctx<'_>) -> ApiResult {
    use Ep::*;
    match ep {
        Health => Ok(text_reply(200, "OK")),
        Version => Ok(text_reply(200, COOLIFY_VERSION)),
        PostRequired => Err(ApiErr::with(
            405,
            json!({ "message": "This endpoint has changed to a POST request." }),
        )
        .header("allow", "POST")),
        Projects => projects::list(d, ctx),
        ProjectCreate => projects::create(d, ctx),
        ProjectGet => projects::get(d, ctx),
        ProjectUpdate => projects::update(d, ctx),
        ProjectDelete => projects::delete(d, ctx),
        ProjectEnvs => projects::environments(d, ctx),
        ProjectEnvCreate => projects::create_environment(d, ctx),
        EnvironmentGet => projects::environment_details(d, ctx),
        Servers => projects::servers(d, ctx),
        ServerGet => projects::server(d, ctx),
        SecurityKeys => keys::list(d, ctx),
        SecurityKeyCreate => keys::create(d, ctx),
        SecurityKeyGet => keys::get(d, ctx),
        SecurityKeyDelete => keys::delete(d, ctx),
        Apps => applications::list(d, ctx),
        AppCreatePublic => applications::create(d, ctx, applications::Source::Public),
        AppCreateDeployKey => applications::create(d, ctx, applications::Source::DeployKey),
        AppGet => applications::get(d, ctx),
        AppUpdate => applications::update(d, ctx),
        AppDelete => applications::delete(d, ctx),
        AppLogs => applications::logs(d, ctx),
        AppStart => applications::start(d, ctx),
        AppStop => applications::stop(d, ctx),
        AppRestart => applications::restart(d, ctx),
        AppEnvs => envs::list(d, ctx),
        AppEnvCreate => envs::create(d, ctx),
        AppEnvUpdate => envs::update(d, ctx),
        AppEnvBulk => envs::bulk(d, ctx),
        AppEnvDelete => envs::delete(d, ctx),
        Deploy => deploy::deploy(d, ctx),
        Deployments => deploy::list(d, ctx),
        DeploymentGet => deploy::get(d, ctx),
        DeploymentCancel => deploy::cancel(d, ctx),
        AppDeployments => deploy::for_app(d, ctx),
        Dbs => databases::list(d, ctx),
        DbCreate => databases::create(d, ctx),
        DbGet => databases::get(d, ctx),
        DbUpdate => databases::update(d, ctx),
        DbDelete => databases::delete(d, ctx),
        DbAction => databases::action(d, ctx),
        Services => services::list(d, ctx),
        ServiceCreate => services::create(d, ctx),
        ServiceGet => services::get(d, ctx),
        ServiceDelete => services::delete(d, ctx),
        ServiceAction => services::action(d, ctx),
    }
}

/// The four cleanup flags of a DELETE as Coolify resolves them (absent = true).
pub(crate) fn cleanup_flags(q: &Query) -> serde_json::Value {
    json!({
        "delete_configurations": q.boolean("delete_configurations", true),
        "delete_volumes": q.boolean("delete_volumes", true),
        "docker_cleanup": q.boolean("docker_cleanup", true),
        "delete_connected_networks": q.boolean("delete_connected_networks", true),
    })
}

//! Projects and environments (`ProjectController`) and servers (`ServersController`):
//! list/get/create/update/delete of projects with their auto-created `production`
//! environment, environment create and details, and the server list whose seeded
//! localhost has id 0. Also the server/destination JSON
//! nested in resources.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::api::Ctx;
use super::http::{ApiErr, ApiResult, fmt_time, input_str, ok, ok_message};
use super::state::{Data, Environment, Project, Server};
use super::validate::{Errors, Rule, check, description_pattern, extra_fields, name_pattern};

const NAME_REGEX_MSG: &str = "The name may only contain letters (including Unicode), numbers, spaces, and these characters: - _ . / @ & ( ) # , : +";
const DESCRIPTION_REGEX_MSG: &str = "The description may only contain letters (including Unicode), numbers, spaces, and common punctuation: - _ . , ! ? ( ) ' \" + = * / @ &";

/// `ValidationPatterns::nameRules()` + `descriptionRules()` with Coolify's messages.
fn check_name_description(
    e: &mut Errors,
    input: &super::http::Input,
    name_required: bool,
    with_description: bool,
) {
    let name_len = |s: &str| s.chars().count();
    let mut name_rules = vec![Rule::Nullable, Rule::Str];
    if name_required {
        name_rules[0] = Rule::Required;
    }
    check(e, input, "name", &name_rules);
    if let Some(Value::String(n)) = input.get("name") {
        if name_len(n) < 3 {
            e.add("name", "The name must be at least 3 characters.");
        }
        if name_len(n) > 255 {
            e.add("name", "The name may not be greater than 255 characters.");
        }
        if !name_pattern(n) {
            e.add("name", NAME_REGEX_MSG);
        }
    }
    if !with_description {
        return;
    }
    check(e, input, "description", &[Rule::Nullable, Rule::Str]);
    if let Some(Value::String(desc)) = input.get("description") {
        if name_len(desc) > 255 {
            e.add(
                "description",
                "The description may not be greater than 255 characters.",
            );
        }
        if !description_pattern(desc) {
            e.add("description", DESCRIPTION_REGEX_MSG);
        }
    }
}

fn project_json(p: &Project) -> Value {
    json!({
        "id": p.id,
        "uuid": p.uuid,
        "name": p.name,
        "description": p.description,
        "team_id": p.team_id,
        "created_at": fmt_time(p.created),
        "updated_at": fmt_time(p.updated),
    })
}

fn environment_json(e: &Environment) -> Value {
    json!({
        "id": e.id,
        "uuid": e.uuid,
        "name": e.name,
        "description": e.description,
        "project_id": e.project_id,
        "created_at": fmt_time(e.created),
        "updated_at": fmt_time(e.updated),
    })
}

fn project_not_found() -> ApiErr {
    ApiErr::msg(404, "Project not found.")
}

/// `GET /projects` → `[{id, uuid, name, description}]`.
pub(crate) fn list(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let out: Vec<Value> = d
        .projects
        .iter()
        .filter(|p| p.team_id == ctx.team)
        .map(
            |p| json!({ "id": p.id, "uuid": p.uuid, "name": p.name, "description": p.description }),
        )
        .collect();
    ok(200, Value::Array(out))
}

/// `POST /projects` → 201 `{uuid}` (a `production` environment comes with it).
pub(crate) fn create(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let input = ctx.validated()?;
    let mut e = Errors::default();
    check_name_description(&mut e, &input, true, true);
    extra_fields(&mut e, &input, &["name", "description"]);
    if !e.is_empty() {
        return Err(ApiErr::validation(e.to_value()));
    }
    let name = input_str(&input, "name").unwrap_or_default();
    let (uuid, _) = d.insert_project(ctx.team, &name, input_str(&input, "description"));
    ok(201, json!({ "uuid": uuid }))
}

/// `GET /projects/{uuid}` with its environments.
pub(crate) fn get(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let p = d
        .project_by_uuid(ctx.team, ctx.cap(0))
        .ok_or_else(project_not_found)?;
    let mut v = project_json(p);
    v["environments"] = d
        .environments
        .iter()
        .filter(|e| e.project_id == p.id)
        .map(environment_json)
        .collect();
    ok(200, v)
}

/// `PATCH /projects/{uuid}` → 201 (sic) `{uuid, name, description}`.
pub(crate) fn update(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let input = ctx.validated()?;
    let mut e = Errors::default();
    check_name_description(&mut e, &input, false, true);
    extra_fields(&mut e, &input, &["name", "description"]);
    if !e.is_empty() {
        return Err(ApiErr::validation(e.to_value()));
    }
    let team = ctx.team;
    let p = d
        .projects
        .iter_mut()
        .find(|p| p.team_id == team && p.uuid == ctx.cap(0))
        .ok_or_else(project_not_found)?;
    if input.contains_key("name") {
        p.name = input_str(&input, "name").unwrap_or_default();
    }
    if input.contains_key("description") {
        p.description = input_str(&input, "description");
    }
    p.updated = SystemTime::now();
    ok(
        201,
        json!({ "uuid": p.uuid, "name": p.name, "description": p.description }),
    )
}

/// `DELETE /projects/{uuid}`: 400 while any environment holds resources.
pub(crate) fn delete(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let p = d
        .project_by_uuid(ctx.team, ctx.cap(0))
        .ok_or_else(project_not_found)?
        .clone();
    let envs: Vec<i64> = d
        .environments
        .iter()
        .filter(|e| e.project_id == p.id)
        .map(|e| e.id)
        .collect();
    let busy = d.apps.iter().any(|a| envs.contains(&a.environment_id))
        || d.databases.iter().any(|x| envs.contains(&x.environment_id))
        || d.services.iter().any(|x| envs.contains(&x.environment_id));
    if busy {
        return Err(ApiErr::msg(
            400,
            "Project has resources, so it cannot be deleted.",
        ));
    }
    d.environments.retain(|e| e.project_id != p.id);
    d.projects.retain(|x| x.id != p.id);
    ok_message("Project deleted.")
}

/// `GET /projects/{uuid}/environments` → `[{id, name, uuid}]`.
pub(crate) fn environments(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let p = d
        .project_by_uuid(ctx.team, ctx.cap(0))
        .ok_or_else(project_not_found)?;
    let out: Vec<Value> = d
        .environments
        .iter()
        .filter(|e| e.project_id == p.id)
        .map(|e| json!({ "id": e.id, "name": e.name, "uuid": e.uuid }))
        .collect();
    ok(200, Value::Array(out))
}

/// `POST /projects/{uuid}/environments` `{name}` → 201 `{uuid}`; 409 if taken.
pub(crate) fn create_environment(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let input = ctx.validated()?;
    let mut e = Errors::default();
    check_name_description(&mut e, &input, true, false);
    extra_fields(&mut e, &input, &["name"]);
    if !e.is_empty() {
        return Err(ApiErr::validation(e.to_value()));
    }
    let pid = d
        .project_by_uuid(ctx.team, ctx.cap(0))
        .ok_or_else(project_not_found)?
        .id;
    let name = input_str(&input, "name").unwrap_or_default();
    if d.environment_in(pid, Some(&name), None).is_some() {
        return Err(ApiErr::msg(
            409,
            "Environment with this name already exists.",
        ));
    }
    let id = d.insert_environment(pid, &name);
    let uuid = d
        .environment(id)
        .map(|e| e.uuid.clone())
        .unwrap_or_default();
    ok(201, json!({ "uuid": uuid }))
}

/// `GET /projects/{uuid}/{environment_name_or_uuid}`: the environment with its
/// applications, postgresqls, redis, mongodbs, mysqls, mariadbs and services (keydb,
/// dragonfly and clickhouse are not loaded, as in Coolify).
pub(crate) fn environment_details(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let p = d
        .project_by_uuid(ctx.team, ctx.cap(0))
        .ok_or_else(project_not_found)?;
    let which = ctx.cap(1);
    let env = d
        .environment_in(p.id, Some(which), Some(which))
        .ok_or_else(|| ApiErr::msg(404, "Environment not found."))?;
    let mut v = environment_json(env);
    v["applications"] = d
        .apps
        .iter()
        .filter(|a| a.environment_id == env.id)
        .map(|a| super::applications::app_json(d, a, ctx.sensitive, false))
        .collect();
    for (key, kinds) in [
        ("postgresqls", "postgresql"),
        ("redis", "redis"),
        ("mongodbs", "mongodb"),
        ("mysqls", "mysql"),
        ("mariadbs", "mariadb"),
    ] {
        v[key] = d
            .databases
            .iter()
            .filter(|x| x.environment_id == env.id && x.kind.route() == kinds)
            .map(|x| super::databases::db_json(d, x, ctx.sensitive))
            .collect();
    }
    v["services"] = d
        .services
        .iter()
        .filter(|s| s.environment_id == env.id)
        .map(|s| super::services::service_json(d, s, ctx.sensitive, false))
        .collect();
    ok(200, v)
}

/// A server's `settings` (ServerSetting) as the API shows it.
fn settings_json(s: &Server, sensitive: bool) -> Value {
    let mut v = json!({
        "id": s.id,
        "server_id": s.id,
        "concurrent_builds": 2,
        "deployment_queue_limit": 25,
        "docker_cleanup_frequency": "0 0 * * *",
        "docker_cleanup_threshold": 80,
        "dynamic_timeout": 3600,
        "force_disabled": false,
        "force_server_cleanup": false,
        "is_build_server": s.build_server,
        "is_cloudflare_tunnel": false,
        "is_jump_server": false,
        "is_metrics_enabled": false,
        "is_reachable": true,
        "is_sentinel_enabled": false,
        "is_swarm_manager": false,
        "is_swarm_worker": false,
        "is_terminal_enabled": true,
        "is_usable": true,
        "wildcard_domain": null,
        "created_at": fmt_time(s.created),
        "updated_at": fmt_time(s.created),
    });
    if sensitive {
        v["sentinel_token"] = json!("sandbox-sentinel-token");
        v["sentinel_custom_url"] = Value::Null;
    }
    v
}

fn proxy_json(s: &Server) -> Value {
    if s.proxy_on {
        json!({ "type": "TRAEFIK", "status": "running" })
    } else {
        json!({ "type": "NONE", "status": "exited" })
    }
}

/// The server model nested under a resource's `destination` (carries its integer id).
pub(crate) fn nested_server_json(s: &Server) -> Value {
    json!({
        "id": s.id,
        "uuid": s.uuid,
        "name": s.name,
        "description": s.description,
        "ip": s.ip,
        "user": s.user,
        "port": s.port,
        "team_id": s.team_id,
        "proxy": proxy_json(s),
        "is_coolify_host": s.id == 0,
        "created_at": fmt_time(s.created),
        "updated_at": fmt_time(s.created),
    })
}

/// A resource's `destination` (StandaloneDocker) with its server.
pub(crate) fn destination_json(s: &Server) -> Value {
    json!({
        "id": s.destination_id,
        "uuid": s.destination_uuid,
        "name": format!("{}-coolify", s.name),
        "network": "coolify",
        "server_id": s.id,
        "created_at": fmt_time(s.created),
        "updated_at": fmt_time(s.created),
        "server": nested_server_json(s),
    })
}

fn server_list_json(s: &Server, sensitive: bool) -> Value {
    json!({
        "uuid": s.uuid,
        "name": s.name,
        "description": s.description,
        "ip": s.ip,
        "user": s.user,
        "port": s.port,
        "is_reachable": true,
        "is_usable": true,
        "is_coolify_host": s.id == 0,
        "settings": settings_json(s, sensitive),
    })
}

/// `GET /servers` (the server `id` is hidden; `settings.server_id` carries it).
pub(crate) fn servers(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let out: Vec<Value> = d
        .servers
        .iter()
        .filter(|s| s.team_id == ctx.team)
        .map(|s| server_list_json(s, ctx.sensitive))
        .collect();
    ok(200, Value::Array(out))
}

/// `GET /servers/{uuid}`.
pub(crate) fn server(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let s = d
        .server_by_uuid(ctx.team, ctx.cap(0))
        .ok_or_else(|| ApiErr::msg(404, "Server not found."))?;
    let mut v = server_list_json(s, ctx.sensitive);
    v["proxy"] = proxy_json(s);
    v["team_id"] = json!(s.team_id);
    v["created_at"] = json!(fmt_time(s.created));
    v["updated_at"] = json!(fmt_time(s.created));
    ok(200, v)
}

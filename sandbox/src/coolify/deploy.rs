//! Deploy and deployments endpoints (`DeployController`): `POST /deploy` by uuid list
//! or tag, `GET /deployments` (queued and in-progress only), `GET /deployments/{uuid}`
//! (logs only with `read:sensitive`), `POST /deployments/{uuid}/cancel` and
//! `GET /deployments/applications/{uuid}` (`{count, deployments}` with skip/take).

use std::time::Instant;

use serde_json::{Value, json};

use super::api::Ctx;
use super::deployment::{Deployment, QueueOpts, Queued, queue};
use super::http::{ApiErr, ApiResult, input_bool, input_str, ok, truthy, value_str};
use super::state::Data;

/// The 429 Coolify answers when a server's deployment queue is full.
fn queue_full() -> ApiErr {
    ApiErr::msg(
        429,
        "Deployment queue is full. Please wait for existing deployments to complete.",
    )
    .header("retry-after", "60")
}

/// Start a service or database the way `deploy_resource()` does; returns its message.
fn start_other(d: &mut Data, team: i64, uuid: &str) -> Option<String> {
    let running = || Value::String("running:healthy".into());
    if let Some(i) = d.service_index(team, uuid) {
        let s = &mut d.services[i];
        s.row.insert("status".into(), running());
        let name = s
            .row
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Some(format!(
            "Service {name} started. It could take a while, be patient."
        ));
    }
    if let Some(i) = d.database_index(team, uuid) {
        let db = &mut d.databases[i];
        db.row.insert("status".into(), running());
        let name = db
            .row
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Some(format!("Database {name} started."));
    }
    None
}

/// `POST /deploy?uuid=a,b&force=` (or the same in a JSON body).
pub(crate) fn deploy(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let input = ctx.input();
    let uuids = input_str(&input, "uuid");
    let tags = input_str(&input, "tag");
    let force = input_bool(&input, "force", false);
    let pr = input
        .get("pull_request_id")
        .or_else(|| input.get("pr"))
        .and_then(value_str)
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0)
        .max(0);
    let docker_tag = input_str(&input, "docker_tag").filter(|s| !s.is_empty());
    let (has_uuid, has_tag) = (truthy(input.get("uuid")), truthy(input.get("tag")));
    if has_uuid && has_tag {
        return Err(ApiErr::msg(400, "You can only use uuid or tag, not both."));
    }
    if has_tag && pr != 0 {
        return Err(ApiErr::msg(400, "You can only use tag or pr, not both."));
    }
    if docker_tag.is_some() && pr == 0 {
        return Err(ApiErr::msg(400, "docker_tag requires pull_request_id."));
    }
    if docker_tag.is_some() && has_tag {
        return Err(ApiErr::msg(
            400,
            "You can only use tag or docker_tag, not both.",
        ));
    }
    if has_tag {
        return by_tags(d, ctx.team, &tags.unwrap_or_default(), force);
    }
    if !has_uuid {
        return Err(ApiErr::msg(400, "You must provide uuid or tag."));
    }
    let list: Vec<String> = uuids
        .unwrap_or_default()
        .split(',')
        .filter(|u| !u.is_empty() && *u != "0")
        .map(str::to_string)
        .collect();
    if list.is_empty() {
        return Err(ApiErr::msg(400, "No UUIDs provided."));
    }
    let mut deployments = Vec::new();
    for uuid in list {
        if let Some(i) = d.app_index(ctx.team, &uuid) {
            if pr != 0 {
                deployments.push(json!({
                    "message": format!("Pull request {pr} not found for this resource."),
                    "resource_uuid": uuid,
                }));
                continue;
            }
            let (id, name) = (d.apps[i].id, d.apps[i].name());
            let opts = QueueOpts {
                force_rebuild: force,
                ..QueueOpts::default()
            };
            match queue(d, id, opts) {
                Queued::Full => return Err(queue_full()),
                Queued::New(dep) => deployments.push(json!({
                    "message": format!("Application {name} deployment queued."),
                    "resource_uuid": uuid,
                    "deployment_uuid": dep,
                })),
                Queued::Skipped(dep) => deployments.push(json!({
                    "message": "Deployment already queued for this commit.",
                    "resource_uuid": uuid,
                    "deployment_uuid": dep,
                })),
            }
        } else if let Some(message) = start_other(d, ctx.team, &uuid) {
            deployments.push(json!({ "message": message, "resource_uuid": uuid }));
        }
    }
    if deployments.is_empty() {
        return Err(ApiErr::msg(404, "No resources found."));
    }
    ok(200, json!({ "deployments": deployments }))
}

/// `POST /deploy?tag=a,b`: every application and service carrying one of the tags.
fn by_tags(d: &mut Data, team: i64, tags: &str, force: bool) -> ApiResult {
    let tags: Vec<&str> = tags
        .split(',')
        .filter(|t| !t.is_empty() && *t != "0")
        .collect();
    if tags.is_empty() {
        return Err(ApiErr::msg(400, "No TAGs provided."));
    }
    let mut messages: Vec<Value> = Vec::new();
    let mut details = Vec::new();
    for tag in tags {
        let apps: Vec<(i64, String, String)> = d
            .team_apps(team)
            .into_iter()
            .filter(|a| a.tags.iter().any(|t| t == tag))
            .map(|a| (a.id, a.uuid.clone(), a.name()))
            .collect();
        let services: Vec<String> = d
            .services
            .iter()
            .filter(|s| {
                d.env_team(s.environment_id) == Some(team) && s.tags.iter().any(|t| t == tag)
            })
            .map(|s| s.uuid.clone())
            .collect();
        if apps.is_empty() && services.is_empty() {
            continue;
        }
        for (id, uuid, name) in apps {
            let opts = QueueOpts {
                force_rebuild: force,
                ..QueueOpts::default()
            };
            match queue(d, id, opts) {
                Queued::Full => return Err(queue_full()),
                Queued::New(dep) => {
                    messages.push(json!(format!("Application {name} deployment queued.")));
                    details.push(json!({ "resource_uuid": uuid, "deployment_uuid": dep }));
                }
                Queued::Skipped(dep) => {
                    messages.push(json!("Deployment already queued for this commit."));
                    details.push(json!({ "resource_uuid": uuid, "deployment_uuid": dep }));
                }
            }
        }
        for uuid in services {
            if let Some(m) = start_other(d, team, &uuid) {
                messages.push(json!(m));
            }
        }
    }
    if messages.is_empty() {
        return Err(ApiErr::msg(404, "No resources found with this tag."));
    }
    let mut body = json!({ "message": messages });
    if !details.is_empty() {
        body["details"] = json!(details);
    }
    ok(200, body)
}

/// `GET /deployments`: queued and in-progress deployments on the team's servers.
pub(crate) fn list(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let now = Instant::now();
    let servers: Vec<i64> = d
        .servers
        .iter()
        .filter(|s| s.team_id == ctx.team)
        .map(|s| s.id)
        .collect();
    let mut deps: Vec<&Deployment> = d
        .deployments
        .iter()
        .filter(|x| servers.contains(&x.server_id) && x.is_active(now))
        .collect();
    deps.sort_by_key(|x| x.id);
    let out: Vec<Value> = deps.iter().map(|x| x.to_json(now, ctx.sensitive)).collect();
    ok(200, Value::Array(out))
}

/// The deployment `uuid` if its application belongs to `team`.
fn team_deployment<'a>(d: &'a Data, team: i64, uuid: &str) -> Option<&'a Deployment> {
    let dep = d.deployments.iter().find(|x| x.uuid == uuid)?;
    let app = d.app_by_id(dep.app_id)?;
    (d.env_team(app.environment_id) == Some(team)).then_some(dep)
}

/// `GET /deployments/{uuid}`.
pub(crate) fn get(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    match team_deployment(d, ctx.team, ctx.cap(0)) {
        Some(dep) => ok(200, dep.to_json(Instant::now(), ctx.sensitive)),
        None => Err(ApiErr::msg(404, "Deployment not found.")),
    }
}

/// `POST /deployments/{uuid}/cancel`.
pub(crate) fn cancel(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let now = Instant::now();
    let team_servers: Vec<i64> = d
        .servers
        .iter()
        .filter(|s| s.team_id == ctx.team)
        .map(|s| s.id)
        .collect();
    let Some(dep) = d.deployments.iter_mut().find(|x| x.uuid == ctx.cap(0)) else {
        return Err(ApiErr::msg(404, "Deployment not found."));
    };
    if !team_servers.contains(&dep.server_id) {
        return Err(ApiErr::msg(
            403,
            "You do not have permission to cancel this deployment.",
        ));
    }
    let status = dep.status(now);
    if !matches!(status, "queued" | "in_progress") {
        return Err(ApiErr::msg(
            400,
            format!("Deployment cannot be cancelled. Current status: {status}"),
        ));
    }
    dep.cancelled_at = Some(now);
    ok(
        200,
        json!({
            "message": "Deployment cancelled successfully.",
            "deployment_uuid": dep.uuid,
            "status": "cancelled-by-user",
        }),
    )
}

/// `GET /deployments/applications/{uuid}?skip=&take=` → `{count, deployments}`,
/// newest first. Invalid `skip`/`take` raise a ValidationException: 422 JSON when the
/// client accepts JSON, otherwise a 302 back.
pub(crate) fn for_app(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let mut errors = Vec::new();
    let parse = |key: &str, min: i64, default: i64, errors: &mut Vec<(String, String)>| match ctx
        .query
        .get(key)
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => default,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= min => n,
            Ok(_) => {
                errors.push((
                    key.to_string(),
                    format!("The {key} field must be at least {min}."),
                ));
                default
            }
            Err(_) => {
                errors.push((
                    key.to_string(),
                    format!("The {key} field must be an integer."),
                ));
                default
            }
        },
    };
    let skip = parse("skip", 0, 0, &mut errors);
    let take = parse("take", 1, 10, &mut errors);
    if let Some((_, first)) = errors.first() {
        if !ctx.wants_json() {
            return Err(
                ApiErr::with(302, Value::Null).header("location", format!("{}/", ctx.base_url))
            );
        }
        let mut message = first.clone();
        if errors.len() > 1 {
            message.push_str(" (and 1 more error)");
        }
        let mut bag = serde_json::Map::new();
        for (k, m) in &errors {
            bag.insert(k.clone(), json!([m]));
        }
        return Err(ApiErr::with(
            422,
            json!({ "message": message, "errors": bag }),
        ));
    }
    let Some(i) = d.app_index(ctx.team, ctx.cap(0)) else {
        return Err(ApiErr::msg(404, "Application not found"));
    };
    let app_id = d.apps[i].id;
    let now = Instant::now();
    let mut deps: Vec<&Deployment> = d
        .deployments
        .iter()
        .filter(|x| x.app_id == app_id)
        .collect();
    deps.sort_by_key(|x| std::cmp::Reverse(x.id));
    let count = deps.len();
    let page: Vec<Value> = deps
        .into_iter()
        .skip(skip as usize)
        .take(take as usize)
        .map(|x| x.to_json(now, ctx.sensitive))
        .collect();
    ok(200, json!({ "count": count, "deployments": page }))
}

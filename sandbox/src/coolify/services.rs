//! Services (`ServicesController`): one-click create by template `type` (an unknown
//! type is 404 with `valid_service_types`, only after project/environment/server
//! resolve) or from base64 `docker_compose_raw`, per-container `urls`, list and get
//! (+applications, databases), DELETE with the cleanup flags, start/stop/restart.

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::api::{Ctx, cleanup_flags};
use super::domains::{conflicts, domain_list, normalize_domains, sslip_url, validate_domains};
use super::http::{
    ApiErr, ApiResult, Input, blank, fmt_time, input_bool, input_str, ok, ok_message,
};
use super::projects::destination_json;
use super::state::{Data, Server, Service, new_uuid};
use super::templates::{Container, SERVICE_KEYS, containers, is_database_image};
use super::validate::{Errors, Rule, check, extra_fields};

const ALLOWED: &[&str] = &[
    "type",
    "name",
    "description",
    "project_uuid",
    "environment_name",
    "environment_uuid",
    "server_uuid",
    "destination_uuid",
    "instant_deploy",
    "docker_compose_raw",
    "urls",
    "force_domain_override",
    "is_container_label_escape_enabled",
    "tags",
];

fn not_found() -> ApiErr {
    ApiErr::msg(404, "Service not found.")
}

/// The API form of a service; `with_children` adds `applications` and `databases`.
pub(crate) fn service_json(d: &Data, s: &Service, sensitive: bool, with_children: bool) -> Value {
    let mut row = s.row.clone();
    if !sensitive {
        row.remove("docker_compose_raw");
        row.remove("docker_compose");
    }
    row.insert("server_status".into(), json!(true));
    if with_children {
        row.insert("applications".into(), json!(s.applications));
        row.insert("databases".into(), json!(s.databases));
        if let Some(server) = d.server(s.server_id) {
            row.insert("destination".into(), destination_json(server));
        }
    }
    Value::Object(row)
}

/// A JSON row.
type Row = Map<String, Value>;

/// Rows of a new service's containers: (applications, databases).
fn child_rows(server: &Server, service_id: i64, list: &[Container]) -> (Vec<Row>, Vec<Row>) {
    let now = fmt_time(SystemTime::now());
    let (mut apps, mut dbs) = (Vec::new(), Vec::new());
    for c in list {
        let uuid = new_uuid();
        let mut row = json!({
            "uuid": uuid, "name": c.name.clone(), "human_name": null, "description": null,
            "image": c.image.clone(), "status": "exited", "service_id": service_id,
            "exclude_from_status": false, "is_log_drain_enabled": false, "is_gzip_enabled": true,
            "is_stripprefix_enabled": true, "created_at": now, "updated_at": now,
        });
        if c.database {
            row["public_port"] = Value::Null;
            row["is_public"] = json!(false);
            row["is_include_timestamps"] = json!(false);
            if let Value::Object(m) = row {
                dbs.push(m);
            }
        } else {
            row["fqdn"] = match c.url_port {
                Some(port) => {
                    let url = sslip_url(server, &format!("{}-{uuid}", c.name));
                    json!(port.map_or(url.clone(), |p| format!("{url}:{p}")))
                }
                None => Value::Null,
            };
            row["ports"] = Value::Null;
            row["exposes"] = Value::Null;
            if let Value::Object(m) = row {
                apps.push(m);
            }
        }
    }
    (apps, dbs)
}

/// The top-level service names and images of a compose file (a line scan).
fn compose_containers(yaml: &str) -> Vec<Container> {
    let mut out: Vec<Container> = Vec::new();
    let mut in_services = false;
    for line in yaml.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_services = line.trim_end() == "services:";
            continue;
        }
        if !in_services {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if indent == 2 && text.ends_with(':') {
            out.push(Container {
                name: text.trim_end_matches(':').to_string(),
                image: String::new(),
                database: false,
                url_port: None,
            });
        } else if let (Some(last), Some(image)) = (out.last_mut(), text.strip_prefix("image:")) {
            last.image = image.trim().trim_matches(['"', '\'']).to_string();
            last.database = is_database_image(&last.image);
        }
    }
    out
}

/// `applyServiceUrls()`: set per-container domains from `[{name, url}]`.
fn apply_urls(
    d: &Data,
    team: i64,
    s: &mut Service,
    urls: &[Value],
    force: bool,
) -> Result<(), ApiErr> {
    let all: Vec<String> = urls
        .iter()
        .filter_map(|u| u.get("url").and_then(Value::as_str))
        .flat_map(domain_list)
        .collect();
    let mut errors = validate_domains(&json!(all.join(",")));
    let normalized = normalize_domains(&all.join(","))
        .map(|n| domain_list(&n))
        .unwrap_or_default();
    let mut dupes: Vec<&String> = normalized
        .iter()
        .enumerate()
        .filter(|(i, u)| normalized[..*i].contains(u))
        .map(|(_, u)| u)
        .collect();
    dupes.dedup();
    if !dupes.is_empty() && !force {
        let list: Vec<&str> = dupes.iter().map(|s| s.as_str()).collect();
        errors.push(format!("The current request contains conflicting URLs across containers: {}. Use force_domain_override=true to proceed.", list.join(", ")));
    }
    let mut found = Vec::new();
    if errors.is_empty() {
        for item in urls {
            let Some(name) = item
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            else {
                errors.push("Service container name is required to apply URLs.".into());
                continue;
            };
            let Some(app) = s
                .applications
                .iter_mut()
                .find(|a| a.get("name").and_then(Value::as_str) == Some(name))
            else {
                errors.push(format!("Service container with '{name}' not found."));
                continue;
            };
            let fqdn = item
                .get("url")
                .and_then(Value::as_str)
                .and_then(normalize_domains);
            if let Some(f) = &fqdn {
                let own = app.get("uuid").and_then(Value::as_str).map(str::to_string);
                let c = conflicts(d, team, &domain_list(f), own.as_deref());
                if !c.is_empty() && !force {
                    found.extend(c);
                    continue;
                }
            }
            app.insert("fqdn".into(), json!(fqdn));
        }
    }
    if !errors.is_empty() {
        return Err(ApiErr::validation(json!(errors)));
    }
    if !found.is_empty() {
        return Err(super::domains::conflict_error(found));
    }
    Ok(())
}

/// `POST /services` → 201 `{uuid, domains}`.
pub(crate) fn create(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let input: Input = ctx.validated()?;
    let mut e = Errors::default();
    if blank(input.get("type")) && blank(input.get("docker_compose_raw")) {
        e.add(
            "type",
            "The type field is required when docker compose raw is not present.",
        );
        e.add(
            "docker_compose_raw",
            "The docker compose raw field is required when type is not present.",
        );
    }
    check(&mut e, &input, "type", &[Rule::Str]);
    check(&mut e, &input, "docker_compose_raw", &[Rule::Str]);
    check(&mut e, &input, "project_uuid", &[Rule::Str, Rule::Required]);
    check(
        &mut e,
        &input,
        "environment_name",
        &[Rule::Nullable, Rule::Str],
    );
    check(
        &mut e,
        &input,
        "environment_uuid",
        &[Rule::Nullable, Rule::Str],
    );
    check(&mut e, &input, "server_uuid", &[Rule::Str, Rule::Required]);
    check(
        &mut e,
        &input,
        "destination_uuid",
        &[Rule::Nullable, Rule::Str],
    );
    check(&mut e, &input, "name", &[Rule::Str, Rule::Max(255)]);
    check(&mut e, &input, "description", &[Rule::Nullable, Rule::Str]);
    for f in [
        "instant_deploy",
        "force_domain_override",
        "is_container_label_escape_enabled",
    ] {
        check(&mut e, &input, f, &[Rule::Bool]);
    }
    check(&mut e, &input, "urls", &[Rule::Nullable, Rule::Array]);
    check(&mut e, &input, "tags", &[Rule::Nullable, Rule::Array]);
    extra_fields(&mut e, &input, ALLOWED);
    if !e.is_empty() {
        return Err(ApiErr::validation(e.to_value()));
    }
    if !blank(input.get("type")) && !blank(input.get("docker_compose_raw")) {
        return Err(ApiErr::msg(
            422,
            "You cannot provide both service type and docker_compose_raw. Use one or the other.",
        ));
    }
    if blank(input.get("environment_name")) && blank(input.get("environment_uuid")) {
        return Err(ApiErr::msg(
            422,
            "You need to provide at least one of environment_name or environment_uuid.",
        ));
    }
    let project = d
        .project_by_uuid(
            ctx.team,
            &input_str(&input, "project_uuid").unwrap_or_default(),
        )
        .ok_or_else(|| ApiErr::msg(404, "Project not found."))?
        .id;
    let env = d
        .environment_in(
            project,
            input_str(&input, "environment_name").as_deref(),
            input_str(&input, "environment_uuid").as_deref(),
        )
        .ok_or_else(|| ApiErr::msg(404, "Environment not found."))?
        .id;
    let server = d
        .server_by_uuid(
            ctx.team,
            &input_str(&input, "server_uuid").unwrap_or_default(),
        )
        .ok_or_else(|| ApiErr::msg(404, "Server not found."))?
        .clone();
    let kind = input_str(&input, "type");
    let (service_type, list, compose) = match kind.as_deref() {
        Some(k) if SERVICE_KEYS.contains(&k) => {
            let list = containers(k);
            let compose: String = list
                .iter()
                .map(|c| format!("  {}:\n    image: '{}'\n", c.name, c.image))
                .collect();
            (Some(k.to_string()), list, format!("services:\n{compose}"))
        }
        Some(_) => {
            return Err(ApiErr::with(
                404,
                json!({ "message": "Invalid service type.", "valid_service_types": SERVICE_KEYS }),
            ));
        }
        None => {
            use base64::Engine;
            let raw = input_str(&input, "docker_compose_raw").unwrap_or_default();
            let yaml = base64::engine::general_purpose::STANDARD
                .decode(raw.as_bytes())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ApiErr::field(
                        "docker_compose_raw",
                        "The docker_compose_raw should be base64 encoded.",
                    )
                })?;
            (None, compose_containers(&yaml), yaml)
        }
    };
    let id = d.next_id();
    let uuid = new_uuid();
    let now = fmt_time(SystemTime::now());
    let name = input_str(&input, "name").unwrap_or_else(|| match &service_type {
        Some(k) => format!("{k}-{uuid}"),
        None => format!("service-{}", &new_uuid()[..10]),
    });
    let (applications, databases) = child_rows(&server, id, &list);
    let running = input_bool(&input, "instant_deploy", false);
    let row = json!({
        "uuid": uuid, "name": name, "description": input_str(&input, "description"),
        "service_type": service_type, "environment_id": env, "server_id": server.id,
        "destination_id": server.destination_id, "destination_type": "App\\Models\\StandaloneDocker",
        "connect_to_docker_network": false, "config_hash": null,
        "is_container_label_escape_enabled": input_bool(&input, "is_container_label_escape_enabled", true),
        "is_container_label_readonly_enabled": true, "compose_parsing_version": "5",
        "docker_compose_raw": compose, "docker_compose": null,
        "status": if running { "running:healthy" } else { "exited:unhealthy" },
        "created_at": now, "updated_at": now, "deleted_at": null,
    });
    let mut service = Service {
        uuid: uuid.clone(),
        environment_id: env,
        server_id: server.id,
        row: match row {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        applications,
        databases,
        tags: input
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    };
    if let Some(Value::Array(urls)) = input.get("urls") {
        apply_urls(
            d,
            ctx.team,
            &mut service,
            urls,
            input_bool(&input, "force_domain_override", false),
        )?;
    }
    let mut domains: Vec<String> = service
        .applications
        .iter()
        .filter_map(|a| a.get("fqdn").and_then(Value::as_str).map(str::to_string))
        .collect();
    domains.sort();
    d.services.push(service);
    ok(201, json!({ "uuid": uuid, "domains": domains }))
}

/// `GET /services` (rows carry `laravel_through_key` = project id).
pub(crate) fn list(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let out: Vec<Value> = d
        .services
        .iter()
        .filter(|s| d.env_team(s.environment_id) == Some(ctx.team))
        .map(|s| {
            let mut v = service_json(d, s, ctx.sensitive, false);
            v["laravel_through_key"] = json!(d.environment(s.environment_id).map(|e| e.project_id));
            v
        })
        .collect();
    ok(200, Value::Array(out))
}

/// `GET /services/{uuid}` (+applications, databases).
pub(crate) fn get(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let i = d
        .service_index(ctx.team, ctx.cap(0))
        .ok_or_else(not_found)?;
    ok(200, service_json(d, &d.services[i], ctx.sensitive, true))
}

/// `DELETE /services/{uuid}` with the cleanup flags.
pub(crate) fn delete(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let i = d
        .service_index(ctx.team, ctx.cap(0))
        .ok_or_else(not_found)?;
    let s = d.services.remove(i);
    d.deleted
        .push(("service".into(), s.uuid, cleanup_flags(&ctx.query)));
    ok_message("Service deletion request queued.")
}

/// `POST /services/{uuid}/start|stop|restart`.
pub(crate) fn action(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let i = d
        .service_index(ctx.team, ctx.cap(0))
        .ok_or_else(not_found)?;
    let s = &mut d.services[i];
    let status = s
        .row
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let (next, child, message) = match ctx.cap(1) {
        "start" if status.contains("running") => {
            return Err(ApiErr::msg(400, "Service is already running."));
        }
        "start" => (
            "running:healthy",
            "running",
            "Service starting request queued.",
        ),
        "stop" if status.contains("stopped") || status.contains("exited") => {
            return Err(ApiErr::msg(400, "Service is already stopped."));
        }
        "stop" => (
            "exited:unhealthy",
            "exited",
            "Service stopping request queued.",
        ),
        _ => (
            "running:healthy",
            "running",
            "Service restarting request queued.",
        ),
    };
    s.row.insert("status".into(), json!(next));
    for c in s.applications.iter_mut().chain(s.databases.iter_mut()) {
        c.insert("status".into(), json!(child));
    }
    ok_message(message)
}

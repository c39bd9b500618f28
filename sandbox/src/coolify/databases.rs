//! Standalone databases (`DatabasesController`): the eight kinds with their own fields,
//! defaults and connection URLs, create (201 `{uuid, internal_db_url[,
//! external_db_url]}`, dragonfly `{uuid}` only; generated credentials), list and get
//! (URLs and passwords only with `read:sensitive`), PATCH with the per-kind whitelist,
//! DELETE with the cleanup flags, and start/stop/restart.

use serde_json::{Map, Value, json};

use super::api::{Ctx, cleanup_flags};
use super::http::{
    ApiErr, ApiResult, Input, blank, fmt_time, input_bool, input_str, ok, ok_message, truthy,
    value_str,
};
use super::projects::destination_json;
use super::state::{Data, Database};
use super::validate::{Errors, Rule, check, extra_fields};

pub(crate) use super::db_kinds::{DbKind, KINDS};

/// Fields every create accepts (besides the per-kind ones).
const COMMON: &[&str] = &[
    "name",
    "description",
    "image",
    "public_port",
    "public_port_timeout",
    "is_public",
    "project_uuid",
    "environment_name",
    "environment_uuid",
    "server_uuid",
    "destination_uuid",
    "instant_deploy",
    "limits_memory",
    "limits_memory_swap",
    "limits_memory_swappiness",
    "limits_memory_reservation",
    "limits_cpus",
    "limits_cpuset",
    "limits_cpu_shares",
    "tags",
];

/// Fields PATCH accepts besides the per-kind ones.
const PATCH_COMMON: &[&str] = &[
    "name",
    "description",
    "image",
    "public_port",
    "public_port_timeout",
    "is_public",
    "instant_deploy",
    "limits_memory",
    "limits_memory_swap",
    "limits_memory_swappiness",
    "limits_memory_reservation",
    "limits_cpus",
    "limits_cpuset",
    "limits_cpu_shares",
    "health_check_enabled",
    "health_check_interval",
    "health_check_timeout",
    "health_check_retries",
    "health_check_start_period",
];

/// Stripped from the input before the whitelist (`removeUnnecessaryFieldsFromRequest`).
const STRIPPED: &[&str] = &[
    "project_uuid",
    "environment_name",
    "environment_uuid",
    "destination_uuid",
    "server_uuid",
    "type",
    "domains",
    "instant_deploy",
    "github_app_uuid",
    "private_key_uuid",
    "use_build_server",
    "use_build_secrets",
    "is_static",
    "is_spa",
    "is_auto_deploy_enabled",
    "is_force_https_enabled",
    "is_preview_deployments_enabled",
    "connect_to_docker_network",
    "force_domain_override",
    "autogenerate_domain",
    "is_container_label_escape_enabled",
    "is_preserve_repository_enabled",
    "include_source_commit_in_build",
    "docker_compose_raw",
    "tags",
];

fn internal_url(db: &Database) -> String {
    let port = db.kind.defaults().1.to_string();
    db.kind.url(&db.row, &db.uuid, &port)
}

fn external_url(d: &Data, db: &Database) -> Option<String> {
    let public = db.row.get("is_public").and_then(Value::as_bool) == Some(true);
    let port = db.row.get("public_port").filter(|p| !p.is_null())?;
    let server = d.server(db.server_id)?;
    let ip = if server.ip == "host.docker.internal" {
        "127.0.0.1"
    } else {
        server.ip.as_str()
    };
    let port = value_str(port)?;
    public.then(|| db.kind.url(&db.row, ip, &port))
}

/// Whether a column holds a secret (passwords).
fn is_secret(key: &str) -> bool {
    key.ends_with("_password")
}

/// The API form of a database: passwords and URLs only when `sensitive`.
pub(crate) fn db_json(d: &Data, db: &Database, sensitive: bool) -> Value {
    let mut row = db.row.clone();
    if sensitive {
        row.insert("internal_db_url".into(), json!(internal_url(db)));
        row.insert("external_db_url".into(), json!(external_url(d, db)));
    } else {
        row.retain(|k, _| !is_secret(k));
    }
    row.insert("database_type".into(), json!(db.kind.type_name()));
    row.insert("server_status".into(), json!(true));
    if let Some(s) = d.server(db.server_id) {
        row.insert("destination".into(), destination_json(s));
    }
    Value::Object(row)
}

fn not_found() -> ApiErr {
    ApiErr::msg(404, "Database not found.")
}

fn port_in_use(d: &Data, server_id: i64, port: &Value, except: Option<i64>) -> bool {
    d.databases.iter().any(|x| {
        x.server_id == server_id
            && Some(x.id) != except
            && x.row.get("is_public").and_then(Value::as_bool) == Some(true)
            && x.row.get("public_port").map(Value::to_string) == Some(port.to_string())
    })
}

/// `<kind>_conf` must be base64 (stored decoded).
fn decode_conf(kind: DbKind, input: &mut Input) -> Result<(), ApiErr> {
    use base64::Engine;
    for f in kind.fields().iter().filter(|f| f.ends_with("_conf")) {
        if let Some(v) = input.get(*f).cloned() {
            let decoded = v
                .as_str()
                .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                .and_then(|b| String::from_utf8(b).ok());
            match decoded {
                Some(text) => {
                    input.insert(f.to_string(), json!(text));
                }
                None => {
                    return Err(ApiErr::field(
                        f,
                        format!("The {f} should be base64 encoded."),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `POST /databases/{kind}`.
pub(crate) fn create(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let kind = DbKind::from_route(ctx.cap(0)).ok_or_else(ApiErr::route_not_found)?;
    let mut input = ctx.validated()?;
    let all: Vec<&str> = COMMON
        .iter()
        .copied()
        .chain(KINDS.iter().flat_map(|k| k.fields().iter().copied()))
        .collect();
    // `collect([])->add($field, …)` keeps only the field name: errors is a list.
    let unknown: Vec<&String> = input
        .keys()
        .filter(|k| !all.contains(&k.as_str()))
        .collect();
    if !unknown.is_empty() {
        return Err(ApiErr::validation(json!(unknown)));
    }
    if blank(input.get("environment_uuid")) && blank(input.get("environment_name")) {
        return Err(ApiErr::msg(
            422,
            "You need to provide at least one of environment_name or environment_uuid.",
        ));
    }
    if truthy(input.get("is_public")) && !truthy(input.get("public_port")) {
        input.insert("is_public".into(), json!(false));
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
        .ok_or_else(|| {
            ApiErr::msg(
                422,
                "You need to provide a valid environment_name or environment_uuid.",
            )
        })?
        .id;
    let server = d
        .server_by_uuid(
            ctx.team,
            &input_str(&input, "server_uuid").unwrap_or_default(),
        )
        .ok_or_else(|| ApiErr::msg(404, "Server not found."))?
        .clone();
    let public_port = input.get("public_port").cloned().filter(|p| !p.is_null());
    if let Some(port) = &public_port
        && truthy(input.get("is_public"))
        && port_in_use(d, server.id, port, None)
    {
        return Err(ApiErr::msg(
            400,
            "Public port already used by another database.",
        ));
    }
    // The common validator uses `failed()` instead of `fails()`: it never refuses.
    if let Some(port) = public_port.as_ref().and_then(value_str)
        && port
            .parse::<f64>()
            .is_ok_and(|p| !(1024.0..=65535.0).contains(&p))
    {
        return Err(ApiErr::field(
            "public_port",
            "The public port should be between 1024 and 65535.",
        ));
    }
    let mut e = Errors::default();
    kind.check_fields(&mut e, &input);
    let allowed: Vec<&str> = COMMON.iter().chain(kind.fields()).copied().collect();
    extra_fields(&mut e, &input, &allowed);
    if !e.is_empty() {
        return Err(ApiErr::validation(e.to_value()));
    }
    decode_conf(kind, &mut input)?;
    let id = d.next_id();
    let uuid = super::state::new_uuid();
    let (image, _, creds) = kind.defaults();
    let now = fmt_time(std::time::SystemTime::now());
    let mut row = match json!({
        "uuid": uuid, "name": format!("{}-database-{uuid}", kind.route()), "description": null,
        "image": image, "status": "exited:unhealthy", "is_public": false, "public_port": null,
        "public_port_timeout": 3600, "limits_memory": "0", "limits_memory_swap": "0",
        "limits_memory_swappiness": 60, "limits_memory_reservation": "0", "limits_cpus": "0",
        "limits_cpuset": null, "limits_cpu_shares": 1024, "started_at": null,
        "health_check_enabled": true, "health_check_interval": 15, "health_check_timeout": 10,
        "health_check_retries": 10, "health_check_start_period": 5,
        "environment_id": env, "destination_id": server.destination_id,
        "destination_type": "App\\Models\\StandaloneDocker", "created_at": now, "updated_at": now,
    }) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if let Value::Object(c) = creds {
        row.extend(c);
    }
    for (k, v) in &input {
        if allowed.contains(&k.as_str()) && !STRIPPED.contains(&k.as_str()) && !v.is_null() {
            row.insert(k.clone(), v.clone());
        }
    }
    if input_bool(&input, "instant_deploy", false) {
        row.insert("status".into(), json!("running:healthy"));
        row.insert("started_at".into(), json!(now));
    }
    let db = Database {
        id,
        uuid: uuid.clone(),
        kind,
        environment_id: env,
        server_id: server.id,
        row,
    };
    let mut body = json!({ "uuid": uuid });
    if kind != DbKind::Dragonfly {
        body["internal_db_url"] = json!(internal_url(&db));
        if let Some(url) = external_url(d, &db) {
            body["external_db_url"] = json!(url);
        }
    }
    d.databases.push(db);
    ok(201, body)
}

/// `GET /databases`: every database of the team, with `backup_configs`.
pub(crate) fn list(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let out: Vec<Value> = d
        .databases
        .iter()
        .filter(|x| d.env_team(x.environment_id) == Some(ctx.team))
        .map(|x| {
            let mut v = db_json(d, x, ctx.sensitive);
            v["backup_configs"] = json!([]);
            v
        })
        .collect();
    ok(200, Value::Array(out))
}

/// `GET /databases/{uuid}`.
pub(crate) fn get(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let i = d
        .database_index(ctx.team, ctx.cap(0))
        .ok_or_else(not_found)?;
    ok(200, db_json(d, &d.databases[i], ctx.sensitive))
}

/// `PATCH /databases/{uuid}` → `{"message":"Database updated."}`.
pub(crate) fn update(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let mut input = ctx.validated()?;
    let mut e = Errors::default();
    check(&mut e, &input, "name", &[Rule::Str, Rule::Max(255)]);
    check(&mut e, &input, "description", &[Rule::Nullable, Rule::Str]);
    check(&mut e, &input, "image", &[Rule::Str]);
    check(&mut e, &input, "is_public", &[Rule::Bool]);
    check(
        &mut e,
        &input,
        "public_port",
        &[Rule::Nullable, Rule::Numeric],
    );
    check(
        &mut e,
        &input,
        "public_port_timeout",
        &[Rule::Nullable, Rule::Int, Rule::Min(1)],
    );
    for f in [
        "limits_memory",
        "limits_memory_swap",
        "limits_memory_reservation",
        "limits_cpus",
    ] {
        check(&mut e, &input, f, &[Rule::Str]);
    }
    check(&mut e, &input, "limits_memory_swappiness", &[Rule::Numeric]);
    check(&mut e, &input, "limits_cpu_shares", &[Rule::Numeric]);
    if !e.is_empty() {
        return Err(ApiErr::validation(e.to_value()));
    }
    input.retain(|k, _| !STRIPPED.contains(&k.as_str()));
    let i = d
        .database_index(ctx.team, ctx.cap(0))
        .ok_or_else(not_found)?;
    let (kind, db_id, server_id) = (
        d.databases[i].kind,
        d.databases[i].id,
        d.databases[i].server_id,
    );
    if let Some(port) = input.get("public_port").filter(|p| truthy(Some(p)))
        && truthy(input.get("is_public"))
        && port_in_use(d, server_id, port, Some(db_id))
    {
        return Err(ApiErr::msg(
            400,
            "Public port already used by another database.",
        ));
    }
    decode_conf(kind, &mut input)?;
    let mut e = Errors::default();
    kind.check_fields(&mut e, &input);
    check(&mut e, &input, "health_check_enabled", &[Rule::Bool]);
    for f in [
        "health_check_interval",
        "health_check_timeout",
        "health_check_retries",
    ] {
        check(&mut e, &input, f, &[Rule::Int, Rule::Min(1)]);
    }
    check(
        &mut e,
        &input,
        "health_check_start_period",
        &[Rule::Int, Rule::Min(0)],
    );
    let allowed: Vec<&str> = PATCH_COMMON.iter().chain(kind.fields()).copied().collect();
    extra_fields(&mut e, &input, &allowed);
    if !e.is_empty() {
        return Err(ApiErr::validation(e.to_value()));
    }
    let row = &mut d.databases[i].row;
    for (k, v) in input {
        row.insert(k, v);
    }
    row.insert(
        "updated_at".into(),
        json!(fmt_time(std::time::SystemTime::now())),
    );
    ok_message("Database updated.")
}

/// `DELETE /databases/{uuid}` with the cleanup flags.
pub(crate) fn delete(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let i = d
        .database_index(ctx.team, ctx.cap(0))
        .ok_or_else(not_found)?;
    let db = d.databases.remove(i);
    d.deleted
        .push(("database".into(), db.uuid, cleanup_flags(&ctx.query)));
    ok_message("Database deletion request queued.")
}

/// `POST /databases/{uuid}/start|stop|restart`.
pub(crate) fn action(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let i = d
        .database_index(ctx.team, ctx.cap(0))
        .ok_or_else(not_found)?;
    let row = &mut d.databases[i].row;
    let status = row
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let (next, message) = match ctx.cap(1) {
        "start" if status.contains("running") => {
            return Err(ApiErr::msg(400, "Database is already running."));
        }
        "start" => ("running:healthy", "Database starting request queued."),
        "stop" if status.contains("stopped") || status.contains("exited") => {
            return Err(ApiErr::msg(400, "Database is already stopped."));
        }
        "stop" => ("exited:unhealthy", "Database stopping request queued."),
        _ => ("running:healthy", "Database restarting request queued."),
    };
    row.insert("status".into(), json!(next));
    ok_message(message)
}

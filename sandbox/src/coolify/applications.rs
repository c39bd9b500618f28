//! Applications (`ApplicationsController`): list (sorted by name, no project fields)
//! and get (+settings), create from a public repository or with a deploy key, PATCH
//! with the `$allowedFields` whitelist (domains applied only when the server's proxy
//! runs), DELETE with the four cleanup flags defaulting to true, runtime logs and the
//! start/stop/restart lifecycle (start and restart queue deployments).

use serde_json::{Value, json};

use super::api::{Ctx, cleanup_flags};
pub(crate) use super::app_fields::app_json;
use super::app_fields::{
    BUILD_PACKS, CREATE_ALLOWED, PATCH_ALLOWED, SETTING_FIELDS, check_shared, fill_columns,
    fill_settings, git_branch_ok, git_repository_error, new_row, new_settings,
};
use super::deployment::{QueueOpts, Queued, queue};
use super::domains::{
    conflict_error, conflicts, domain_list, normalize_domains, sslip_url, validate_domains,
};
use super::http::{ApiErr, ApiResult, Input, blank, input_bool, input_str, ok, ok_message};
use super::state::{App, Data, DeployOutcome, new_uuid};
use super::validate::{Errors, Rule, attribute, check, extra_fields};

/// Which create endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// `POST /applications/public`.
    Public,
    /// `POST /applications/private-deploy-key`.
    DeployKey,
}

fn not_found_dot() -> ApiErr {
    ApiErr::msg(404, "Application not found.")
}

/// PATCH/DELETE/env endpoints say it without the period.
fn not_found_bare() -> ApiErr {
    ApiErr::msg(404, "Application not found")
}

/// `GET /applications[?tag=]`.
pub(crate) fn list(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let tag = ctx.query.get("tag");
    let out: Vec<Value> = d
        .team_apps(ctx.team)
        .into_iter()
        .filter(|a| tag.is_none_or(|t| a.tags.iter().any(|x| x == t)))
        .map(|a| app_json(d, a, ctx.sensitive, false))
        .collect();
    ok(200, Value::Array(out))
}

/// `GET /applications/{uuid}` (+settings).
pub(crate) fn get(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let i = d
        .app_index(ctx.team, ctx.cap(0))
        .ok_or_else(not_found_dot)?;
    ok(200, app_json(d, &d.apps[i], ctx.sensitive, true))
}

/// `validateDataApplications()`'s domain part: when the proxy runs, validate (errors
/// as a JSON list), normalise and check conflicts. Returns the normalised domains.
fn check_domains_with_proxy(
    d: &Data,
    team: i64,
    input: &Input,
    exclude: Option<&str>,
) -> Result<Option<String>, ApiErr> {
    let value = input.get("domains").cloned().unwrap_or(Value::Null);
    let errors = validate_domains(&value);
    if !errors.is_empty() {
        return Err(ApiErr::validation(json!(errors)));
    }
    let normalized = value.as_str().and_then(normalize_domains);
    let urls = normalized.as_deref().map(domain_list).unwrap_or_default();
    let found = conflicts(d, team, &urls, exclude);
    if !found.is_empty() && !input_bool(input, "force_domain_override", false) {
        return Err(conflict_error(found));
    }
    Ok(normalized)
}

/// `generate_application_name()`: `<repo>:<branch>-<id>`.
fn default_name(repo: &str, branch: &str) -> String {
    let last = repo.rsplit('/').next().unwrap_or(repo);
    format!("{last}:{branch}-{}", new_uuid())
}

/// `POST /applications/public` and `/applications/private-deploy-key` → 201
/// `{uuid, domains}`.
pub(crate) fn create(d: &mut Data, ctx: &Ctx<'_>, source: Source) -> ApiResult {
    let input = ctx.validated()?;
    let mut e = Errors::default();
    check(&mut e, &input, "name", &[Rule::Str, Rule::Max(255)]);
    check(&mut e, &input, "description", &[Rule::Nullable, Rule::Str]);
    check(
        &mut e,
        &input,
        "project_uuid",
        &[Rule::Str, Rule::RequiredApi],
    );
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
    check(
        &mut e,
        &input,
        "server_uuid",
        &[Rule::Str, Rule::RequiredApi],
    );
    check(&mut e, &input, "destination_uuid", &[Rule::Str]);
    check(&mut e, &input, "is_http_basic_auth_enabled", &[Rule::Bool]);
    check(&mut e, &input, "autogenerate_domain", &[Rule::Bool]);
    check(&mut e, &input, "tags", &[Rule::Nullable, Rule::Array]);
    let allowed: Vec<&str> = CREATE_ALLOWED
        .iter()
        .chain(SETTING_FIELDS)
        .copied()
        .collect();
    extra_fields(&mut e, &input, &allowed);
    if !e.is_empty() {
        return Err(ApiErr::validation(e.to_value()));
    }
    let env_name = input_str(&input, "environment_name");
    let env_uuid = input_str(&input, "environment_uuid");
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
        .clone();
    let env = d
        .environment_in(project.id, env_name.as_deref(), env_uuid.as_deref())
        .ok_or_else(|| ApiErr::msg(404, "Environment not found."))?
        .clone();
    let server = d
        .server_by_uuid(
            ctx.team,
            &input_str(&input, "server_uuid").unwrap_or_default(),
        )
        .ok_or_else(|| ApiErr::msg(404, "Server not found."))?
        .clone();
    // The per-source rules merged over sharedDataApplications().
    let mut e = Errors::default();
    check_shared(
        &mut e,
        &input,
        &["git_repository", "git_branch", "build_pack"],
    );
    check(
        &mut e,
        &input,
        "git_repository",
        &[
            Rule::Required,
            Rule::Custom(|v| {
                v.as_str()
                    .and_then(git_repository_error)
                    .map(|m| vec![m.replace(":attribute", &attribute("git_repository"))])
                    .unwrap_or_default()
            }),
        ],
    );
    check(
        &mut e,
        &input,
        "git_branch",
        &[
            Rule::Str,
            Rule::Required,
            Rule::Check(
                git_branch_ok,
                "The :attribute contains invalid characters. Only letters, numbers, hyphens, underscores, forward slashes, and dots are allowed.",
            ),
        ],
    );
    check(
        &mut e,
        &input,
        "build_pack",
        &[Rule::Required, Rule::In(BUILD_PACKS)],
    );
    if source == Source::DeployKey {
        check(
            &mut e,
            &input,
            "private_key_uuid",
            &[Rule::Str, Rule::Required],
        );
        check(&mut e, &input, "watch_paths", &[Rule::Nullable, Rule::Str]);
    }
    if !e.is_empty() {
        return Err(ApiErr::validation(e.to_value()));
    }
    let build_pack = input_str(&input, "build_pack").unwrap_or_default();
    if build_pack == "dockercompose" && input.contains_key("domains") {
        return Err(ApiErr::field(
            "domains",
            "The domains field cannot be used for dockercompose applications. Use docker_compose_domains instead to set domains for individual services.",
        ));
    }
    let mut fqdn = input
        .get("domains")
        .and_then(Value::as_str)
        .and_then(normalize_domains);
    if input.contains_key("domains") && server.proxy_should_run() {
        fqdn = check_domains_with_proxy(d, ctx.team, &input, None)?;
    }
    let private_key_id = match source {
        Source::Public => None,
        Source::DeployKey => {
            let key = input_str(&input, "private_key_uuid").unwrap_or_default();
            let found = d
                .private_keys
                .iter()
                .find(|k| k.team_id == ctx.team && k.uuid == key)
                .ok_or_else(|| ApiErr::msg(404, "Private Key not found."))?;
            Some(found.id)
        }
    };
    let id = d.next_id();
    let uuid = new_uuid();
    let mut row = new_row(&uuid, env.id, server.destination_id);
    fill_columns(&mut row, &input, &allowed);
    let repo = input_str(&input, "git_repository").unwrap_or_default();
    let branch = input_str(&input, "git_branch").unwrap_or_default();
    if !input.contains_key("name") {
        row.insert("name".into(), json!(default_name(&repo, &branch)));
    }
    if build_pack == "dockercompose" {
        row.insert("ports_exposes".into(), json!("80"));
    }
    if source == Source::Public
        && let Some(path) = repo
            .strip_prefix("https://github.com/")
            .or_else(|| repo.strip_prefix("http://github.com/"))
    {
        let short: Vec<&str> = path.split('/').take(2).collect();
        row.insert("git_repository".into(), json!(short.join("/")));
        row.insert("source_type".into(), json!("App\\Models\\GithubApp"));
        row.insert("source_id".into(), json!(0));
    }
    if let Some(k) = private_key_id {
        row.insert("private_key_id".into(), json!(k));
    }
    if fqdn.is_none() && input_bool(&input, "autogenerate_domain", true) {
        fqdn = Some(sslip_url(&server, &uuid));
    }
    row.insert("fqdn".into(), json!(fqdn));
    let mut settings = new_settings();
    fill_settings(&mut settings, &input);
    let tags = input
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    d.apps.push(App {
        id,
        uuid: uuid.clone(),
        environment_id: env.id,
        server_id: server.id,
        row,
        settings,
        tags,
        runtime_logs: None,
        outcome: DeployOutcome::Finish,
    });
    if input_bool(&input, "instant_deploy", false) {
        let opts = QueueOpts {
            no_questions_asked: true,
            ..QueueOpts::default()
        };
        if let Queued::Skipped(_) = queue(d, id, opts) {
            return ok_message("Deployment already queued for this commit.");
        }
    }
    ok(201, json!({ "uuid": uuid, "domains": fqdn }))
}

/// `PATCH /applications/{uuid}` → 200 `{uuid}`.
pub(crate) fn update(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let input = ctx.validated()?;
    let i = d
        .app_index(ctx.team, ctx.cap(0))
        .ok_or_else(not_found_bare)?;
    let (app_uuid, server_id) = (d.apps[i].uuid.clone(), d.apps[i].server_id);
    let proxy_on = d.server(server_id).is_some_and(|s| s.proxy_should_run());
    let mut e = Errors::default();
    check_shared(
        &mut e,
        &input,
        &["name", "description", "static_image", "watch_paths"],
    );
    check(&mut e, &input, "name", &[Rule::Str, Rule::Max(255)]);
    check(&mut e, &input, "description", &[Rule::Nullable, Rule::Str]);
    check(&mut e, &input, "static_image", &[Rule::Str]);
    check(&mut e, &input, "watch_paths", &[Rule::Nullable, Rule::Str]);
    check(
        &mut e,
        &input,
        "custom_nginx_configuration",
        &[Rule::Nullable, Rule::Str],
    );
    check(
        &mut e,
        &input,
        "is_http_basic_auth_enabled",
        &[Rule::Nullable, Rule::Bool],
    );
    check(&mut e, &input, "http_basic_auth_username", &[Rule::Str]);
    check(&mut e, &input, "http_basic_auth_password", &[Rule::Str]);
    if let Some(ports) = input_str(&input, "ports_exposes")
        && ports.split(',').any(|p| p.trim().parse::<f64>().is_err())
    {
        return Err(ApiErr::field(
            "ports_exposes",
            "The ports_exposes should be a comma separated list of numbers.",
        ));
    }
    let domains_applied = input.contains_key("domains") && proxy_on;
    let mut fqdn = None;
    if domains_applied {
        fqdn = check_domains_with_proxy(d, ctx.team, &input, Some(&app_uuid))?;
    }
    let allowed: Vec<&str> = PATCH_ALLOWED
        .iter()
        .chain(SETTING_FIELDS)
        .copied()
        .collect();
    extra_fields(&mut e, &input, &allowed);
    if !e.is_empty() {
        return Err(ApiErr::validation(e.to_value()));
    }
    let app = &d.apps[i];
    if input.get("is_http_basic_auth_enabled") == Some(&Value::Bool(true))
        && (blank(app.row.get("http_basic_auth_username"))
            || blank(app.row.get("http_basic_auth_password")))
    {
        let mut errors = serde_json::Map::new();
        for f in ["http_basic_auth_username", "http_basic_auth_password"] {
            if blank(input.get(f)) {
                errors.insert(f.to_string(), json!(format!("The {f} is required.")));
            }
        }
        if !errors.is_empty() {
            return Err(ApiErr::validation(Value::Object(errors)));
        }
    }
    if app.str_col("build_pack").as_deref() == Some("dockercompose")
        && input.contains_key("domains")
    {
        return Err(ApiErr::field(
            "domains",
            "The domains field cannot be used for dockercompose applications. Use docker_compose_domains instead to set domains for individual services.",
        ));
    }
    let app = &mut d.apps[i];
    fill_settings(&mut app.settings, &input);
    fill_columns(&mut app.row, &input, &allowed);
    if domains_applied {
        app.row.insert("fqdn".into(), json!(fqdn));
    }
    let id = app.id;
    if input_bool(&input, "instant_deploy", false)
        && let Queued::Skipped(_) = queue(d, id, QueueOpts::default())
    {
        return ok_message("Deployment already queued for this commit.");
    }
    ok(200, json!({ "uuid": app_uuid }))
}

/// `DELETE /applications/{uuid}?delete_configurations=&delete_volumes=&docker_cleanup=&delete_connected_networks=`.
pub(crate) fn delete(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let i = d
        .app_index(ctx.team, ctx.cap(0))
        .ok_or_else(not_found_bare)?;
    let app = d.apps.remove(i);
    d.envs.retain(|e| e.app_id != app.id);
    d.deleted
        .push(("application".into(), app.uuid, cleanup_flags(&ctx.query)));
    ok_message("Application deletion request queued.")
}

/// `GET /applications/{uuid}/logs?lines=` → `{logs}`: the last `lines` (default 100,
/// at most 10000) of the runtime log; 400 unless the application runs.
pub(crate) fn logs(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let i = d
        .app_index(ctx.team, ctx.cap(0))
        .ok_or_else(not_found_dot)?;
    let app = &d.apps[i];
    if !app.status().starts_with("running") {
        return Err(ApiErr::msg(400, "Application is not running."));
    }
    let lines = ctx
        .query
        .get("lines")
        .and_then(|l| l.trim().parse::<i64>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(100)
        .min(10000) as usize;
    let text = app.runtime_logs.clone().unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let tail = all[all.len().saturating_sub(lines)..].join("\n");
    ok(200, json!({ "logs": tail }))
}

/// `POST /applications/{uuid}/start?force=&instant_deploy=`.
pub(crate) fn start(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let input = ctx.input();
    let i = d
        .app_index(ctx.team, ctx.cap(0))
        .ok_or_else(not_found_dot)?;
    let opts = QueueOpts {
        force_rebuild: input_bool(&input, "force", false),
        no_questions_asked: input_bool(&input, "instant_deploy", false),
        ..QueueOpts::default()
    };
    let id = d.apps[i].id;
    match queue(d, id, opts) {
        Queued::Skipped(_) => ok_message("Deployment already queued for this commit."),
        // A full queue is not handled here: Coolify answers a uuid never created.
        Queued::New(uuid) => queued("Deployment request queued.", &uuid),
        Queued::Full => queued("Deployment request queued.", &new_uuid()),
    }
}

fn queued(message: &str, uuid: &str) -> ApiResult {
    ok(200, json!({ "message": message, "deployment_uuid": uuid }))
}

/// `POST /applications/{uuid}/stop`.
pub(crate) fn stop(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let i = d
        .app_index(ctx.team, ctx.cap(0))
        .ok_or_else(not_found_dot)?;
    d.apps[i]
        .row
        .insert("status".into(), json!("exited:unhealthy"));
    ok_message("Application stopping request queued.")
}

/// `POST /applications/{uuid}/restart` (through the deployment queue).
pub(crate) fn restart(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let i = d
        .app_index(ctx.team, ctx.cap(0))
        .ok_or_else(not_found_dot)?;
    let id = d.apps[i].id;
    let opts = QueueOpts {
        restart_only: true,
        ..QueueOpts::default()
    };
    match queue(d, id, opts) {
        Queued::Skipped(_) => ok_message("Deployment already queued for this commit."),
        Queued::New(uuid) => queued("Restart request queued.", &uuid),
        Queued::Full => queued("Restart request queued.", &new_uuid()),
    }
}

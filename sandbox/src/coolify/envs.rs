//! Application environment variables (`ApplicationsController` env endpoints): the
//! list merging production rows and their `is_preview` twins (a production create
//! adds the twin, as the model's `created` hook does), create (409 when the key exists
//! in that scope), PATCH by key with Coolify's resets (an omitted `value` becomes null,
//! omitted `is_literal`/`is_multiline`/`is_shown_once` become false), the bulk upsert
//! and delete by env uuid. Values are shown only with `read:sensitive`.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::COOLIFY_VERSION;
use super::api::Ctx;
use super::http::{ApiErr, ApiResult, Input, fmt_time, input_str, ok, ok_message, truthy};
use super::state::{Data, EnvVar, new_uuid};
use super::validate::{Errors, Rule, check, env_key_pattern, extra_fields};

/// The fields env endpoints accept.
const ALLOWED: &[&str] = &[
    "key",
    "value",
    "is_preview",
    "is_literal",
    "is_multiline",
    "is_shown_once",
    "is_runtime",
    "is_buildtime",
    "comment",
];

fn app_not_found() -> ApiErr {
    ApiErr::msg(404, "Application not found")
}

/// The API form of a variable (`value`/`real_value` only when `sensitive` and not
/// shown-once).
pub(crate) fn env_json(e: &EnvVar, sensitive: bool) -> Value {
    let key = e.key.as_str();
    let mut v = json!({
        "uuid": e.uuid,
        "key": key,
        "is_preview": e.is_preview,
        "is_literal": e.is_literal,
        "is_multiline": e.is_multiline,
        "is_shown_once": e.is_shown_once,
        "is_runtime": e.is_runtime,
        "is_buildtime": e.is_buildtime,
        "is_shared": e.value.as_deref().is_some_and(|v| v.contains("{{") && v.contains("}}")),
        "is_required": false,
        "is_really_required": false,
        "is_buildpack_control": key.starts_with("NIXPACKS_") || key.starts_with("RAILPACK_"),
        "is_coolify": key.starts_with("SERVICE_"),
        "comment": e.comment,
        "version": COOLIFY_VERSION,
        "order": null,
        "created_at": fmt_time(e.created),
        "updated_at": fmt_time(e.updated),
    });
    if sensitive && !e.is_shown_once {
        v["value"] = json!(e.value);
        v["real_value"] = json!(e.value);
    }
    v
}

/// The env validator (`customApiValidator` rules); `strict` adds the extra-field check.
fn validate(input: &Input, strict: bool) -> Result<(), ApiErr> {
    let mut e = Errors::default();
    check(
        &mut e,
        input,
        "key",
        &[
            Rule::RequiredApi,
            Rule::Str,
            Rule::Max(255),
            Rule::Format(env_key_pattern),
        ],
    );
    check(&mut e, input, "value", &[Rule::Nullable, Rule::Str]);
    for f in [
        "is_preview",
        "is_literal",
        "is_multiline",
        "is_shown_once",
        "is_runtime",
        "is_buildtime",
    ] {
        check(&mut e, input, f, &[Rule::Bool]);
    }
    check(
        &mut e,
        input,
        "comment",
        &[Rule::Nullable, Rule::Str, Rule::Max(256)],
    );
    if strict {
        extra_fields(&mut e, input, ALLOWED);
    }
    if e.is_empty() {
        Ok(())
    } else {
        Err(ApiErr::validation(e.to_value()))
    }
}

/// `str($key)->trim()->replace(' ', '_')`.
fn normalized_key(input: &Input) -> String {
    input_str(input, "key")
        .unwrap_or_default()
        .trim()
        .replace(' ', "_")
}

fn find(d: &Data, app_id: i64, key: &str, preview: bool) -> Option<usize> {
    d.envs
        .iter()
        .position(|e| e.app_id == app_id && e.key == key && e.is_preview == preview)
}

/// `?? default` then PHP truthiness.
fn flag(input: &Input, key: &str, default: bool) -> bool {
    match input.get(key) {
        None | Some(Value::Null) => default,
        v => truthy(v),
    }
}

/// Create a variable (and, for production, its preview twin); returns its index.
fn insert(d: &mut Data, app_id: i64, input: &Input) -> usize {
    let now = SystemTime::now();
    let id = d.next_id();
    let env = EnvVar {
        id,
        uuid: new_uuid(),
        app_id,
        key: normalized_key(input),
        value: input_str(input, "value"),
        is_preview: flag(input, "is_preview", false),
        is_literal: flag(input, "is_literal", false),
        is_multiline: flag(input, "is_multiline", false),
        is_shown_once: flag(input, "is_shown_once", false),
        is_runtime: flag(input, "is_runtime", true),
        is_buildtime: flag(input, "is_buildtime", true),
        comment: input_str(input, "comment"),
        created: now,
        updated: now,
    };
    let twin = (!env.is_preview && find(d, app_id, &env.key, true).is_none()).then(|| EnvVar {
        id: 0,
        uuid: new_uuid(),
        is_preview: true,
        ..env.clone()
    });
    d.envs.push(env);
    let index = d.envs.len() - 1;
    if let Some(mut twin) = twin {
        twin.id = d.next_id();
        d.envs.push(twin);
    }
    index
}

/// Overwrite a variable the way PATCH and bulk do.
fn overwrite(e: &mut EnvVar, input: &Input) {
    e.value = input_str(input, "value");
    e.is_literal = flag(input, "is_literal", false);
    e.is_multiline = truthy(input.get("is_multiline"));
    e.is_shown_once = truthy(input.get("is_shown_once"));
    if input.contains_key("is_runtime") {
        e.is_runtime = truthy(input.get("is_runtime"));
    }
    if input.contains_key("is_buildtime") {
        e.is_buildtime = truthy(input.get("is_buildtime"));
    }
    if input.contains_key("comment") {
        e.comment = input_str(input, "comment");
    }
    e.updated = SystemTime::now();
}

/// `GET /applications/{uuid}/envs`: production rows, then preview rows.
pub(crate) fn list(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let i = d
        .app_index(ctx.team, ctx.cap(0))
        .ok_or_else(app_not_found)?;
    let app_id = d.apps[i].id;
    let mut rows: Vec<&EnvVar> = d.envs.iter().filter(|e| e.app_id == app_id).collect();
    rows.sort_by_key(|e| (e.is_preview, e.id));
    ok(
        200,
        rows.into_iter()
            .map(|e| env_json(e, ctx.sensitive))
            .collect(),
    )
}

/// `POST /applications/{uuid}/envs` → 201 `{uuid}`.
pub(crate) fn create(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let input = ctx.input();
    let i = d
        .app_index(ctx.team, ctx.cap(0))
        .ok_or_else(app_not_found)?;
    validate(&input, true)?;
    let app_id = d.apps[i].id;
    let preview = flag(&input, "is_preview", false);
    if find(d, app_id, &normalized_key(&input), preview).is_some() {
        return Err(ApiErr::msg(
            409,
            "Environment variable already exists. Use PATCH request to update it.",
        ));
    }
    let index = insert(d, app_id, &input);
    ok(201, json!({ "uuid": d.envs[index].uuid }))
}

/// `PATCH /applications/{uuid}/envs` (by `key` in the body) → 201 with the variable.
pub(crate) fn update(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let input = ctx.validated()?;
    let i = d
        .app_index(ctx.team, ctx.cap(0))
        .ok_or_else(app_not_found)?;
    validate(&input, true)?;
    let app_id = d.apps[i].id;
    let preview = flag(&input, "is_preview", false);
    let index = find(d, app_id, &normalized_key(&input), preview)
        .ok_or_else(|| ApiErr::msg(404, "Environment variable not found."))?;
    overwrite(&mut d.envs[index], &input);
    ok(201, env_json(&d.envs[index], ctx.sensitive))
}

/// `PATCH /applications/{uuid}/envs/bulk` `{"data":[…]}` → 201 `[env…]`: an upsert, not
/// transactional (a bad item N answers 422 after items 0..N-1 were saved); unknown
/// per-item fields are dropped.
pub(crate) fn bulk(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let input = ctx.validated()?;
    let i = d
        .app_index(ctx.team, ctx.cap(0))
        .ok_or_else(app_not_found)?;
    let app_id = d.apps[i].id;
    if !truthy(input.get("data")) {
        return Err(ApiErr::msg(400, "Bulk data is required."));
    }
    let items: Vec<Value> = match input.get("data") {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Object(map)) => map.values().cloned().collect(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for item in items {
        let item: Input = match item {
            Value::Object(map) => map
                .into_iter()
                .filter(|(k, _)| ALLOWED.contains(&k.as_str()))
                .collect(),
            _ => Input::new(),
        };
        validate(&item, false)?;
        let preview = flag(&item, "is_preview", false);
        let index = match find(d, app_id, &normalized_key(&item), preview) {
            Some(index) => {
                overwrite(&mut d.envs[index], &item);
                index
            }
            None => insert(d, app_id, &item),
        };
        out.push(env_json(&d.envs[index], ctx.sensitive));
    }
    ok(201, Value::Array(out))
}

/// `DELETE /applications/{uuid}/envs/{env_uuid}` (hard delete; the twin stays).
pub(crate) fn delete(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let i = d
        .app_index(ctx.team, ctx.cap(0))
        .ok_or_else(|| ApiErr::msg(404, "Application not found."))?;
    let app_id = d.apps[i].id;
    let index = d
        .envs
        .iter()
        .position(|e| e.app_id == app_id && e.uuid == ctx.cap(1))
        .ok_or_else(|| ApiErr::msg(404, "Environment variable not found."))?;
    d.envs.remove(index);
    ok_message("Environment variable deleted.")
}

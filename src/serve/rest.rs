//! The REST surface of one workspace (seed 003 §4): `/api/workspaces/{slug}/…`, each
//! route one control-plane operation. A route's params are the MCP tool's params — the
//! JSON body's fields, the query's and the path's (`{uuid}`, `{deployment_uuid}`, …,
//! named as the tool names them) merged into one object — handed to `dispatch::call`,
//! so shapes, guards and status codes are the tool's. The bearer must be a key of
//! `{slug}`'s workspace (another workspace's key is 403 before anything is read).
//!
//! Conveniences that change no rule: a `PATCH` body without `patch` is the patch
//! itself; `PATCH …/domains` takes the bare list; `PATCH …/envs` takes one variable or
//! many (`{"envs": […]}` or a bare list: every item is checked first, then each is
//! upserted in order, stopping at the first failure, which says how many were applied).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, RawPathParams, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::AppState;
use super::auth::Auth;
use super::dispatch;
use super::reply::json_response;
use crate::api::caller::RequestKey;
use crate::api::control_plane_api::AppsEnvsUpsertParams;
use crate::error::{ApiError, cut, quote};

/// Variables one bulk upsert may carry.
const MAX_BULK_ENVS: usize = 100;

/// How a route's body becomes params.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The body's fields as they are.
    Plain,
    /// A body without `patch` is the patch.
    Patch,
    /// A bare list is `domains`.
    Domains,
}

type Reply = Pin<Box<dyn Future<Output = Response> + Send>>;

/// The handler of `operation` with params shaped by `shape`.
#[allow(clippy::type_complexity)]
fn op(
    operation: &'static str,
    shape: Shape,
) -> impl Fn(State<AppState>, Auth, RawPathParams, Query<HashMap<String, String>>, Bytes) -> Reply
+ Clone
+ Send
+ Sync
+ 'static {
    move |State(state), auth, path, Query(query), body| {
        let path: Vec<(String, String)> = path
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Box::pin(async move {
            json_response(call(&state, &auth, operation, shape, path, query, &body).await)
        })
    }
}

/// The workspace routes.
pub(crate) fn routes() -> Router<AppState> {
    use Shape::{Domains, Patch, Plain};
    let w = |rest: &str| format!("/api/workspaces/{{slug}}{rest}");
    Router::new()
        .route(
            &w("/gitea-credentials"),
            get(op("gitea_credentials", Plain)),
        )
        .route(&w("/projects"), get(op("projects_list", Plain)))
        .route(&w("/projects/{project_id}"), get(op("projects_get", Plain)))
        .route(
            &w("/repos"),
            get(op("repos_list", Plain)).post(op("repos_create", Plain)),
        )
        .route(
            &w("/apps"),
            get(op("apps_list", Plain)).post(op("apps_create", Plain)),
        )
        .route(
            &w("/apps/{uuid}"),
            get(op("apps_get", Plain))
                .patch(op("apps_update", Patch))
                .delete(op("apps_delete", Plain)),
        )
        .route(&w("/apps/{uuid}/deploy"), post(op("apps_deploy", Plain)))
        .route(
            &w("/apps/{uuid}/rewire-git"),
            post(op("apps_rewire_git", Plain)),
        )
        .route(
            &w("/apps/{uuid}/deployments"),
            get(op("apps_deployments", Plain)),
        )
        .route(&w("/apps/{uuid}/logs"), get(op("apps_logs", Plain)))
        .route(
            &w("/apps/{uuid}/domains"),
            get(op("apps_domains_list", Plain)).patch(op("apps_domains_set", Domains)),
        )
        .route(
            &w("/apps/{uuid}/envs"),
            get(op("apps_envs_list", Plain))
                .patch(envs_upsert)
                .delete(op("apps_envs_delete", Plain)),
        )
        .route(
            &w("/deployments/{deployment_uuid}/logs"),
            get(op("deployments_logs", Plain)),
        )
        .route(
            &w("/databases"),
            get(op("databases_list", Plain)).post(op("databases_create", Plain)),
        )
        .route(
            &w("/databases/{uuid}"),
            get(op("databases_get", Plain))
                .patch(op("databases_update", Patch))
                .delete(op("databases_delete", Plain)),
        )
        .route(
            &w("/auth"),
            get(op("auth_list", Plain)).post(op("auth_create", Plain)),
        )
        .route(
            &w("/auth/{uuid}"),
            get(op("auth_get", Plain)).delete(op("auth_delete", Plain)),
        )
        .route(
            &w("/domains"),
            get(op("domains_list", Plain)).post(op("domains_register", Plain)),
        )
        .route(&w("/domains/search"), post(op("domains_search", Plain)))
        .route(&w("/domains/{domain}"), get(op("domains_get", Plain)))
        .route(
            &w("/domains/{domain}/attach"),
            post(op("domains_attach", Plain)),
        )
        .route(&w("/storage"), get(op("storage_describe", Plain)))
        .route(
            &w("/storage/provision"),
            post(op("storage_provision", Plain)),
        )
        .route(
            &w("/storage/inject-env"),
            post(op("storage_inject_env", Plain)),
        )
}

/// One REST call: the key checked against the slug, the operation against the served
/// tools, the params merged, then the same call an MCP tool makes.
async fn call(
    state: &AppState,
    auth: &Auth,
    operation: &str,
    shape: Shape,
    path: Vec<(String, String)>,
    query: HashMap<String, String>,
    body: &[u8],
) -> Result<Value, ApiError> {
    let slug = path
        .iter()
        .find(|(k, _)| k == "slug")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let key = auth.workspace_key(&slug)?;
    dispatch::check_served(&state.served, operation)?;
    let params = merge(shape, body, query, &path)?;
    let caller = state
        .pinning
        .caller_for("control-plane", operation, Some(&RequestKey(key)))
        .await?;
    dispatch::call(&state.api, &caller, operation, params).await
}

/// The JSON body (empty is `{}`), shaped, with the query's and the path's params added;
/// a body field that contradicts the path is 400.
fn merge(
    shape: Shape,
    body: &[u8],
    query: HashMap<String, String>,
    path: &[(String, String)],
) -> Result<Value, ApiError> {
    let parsed = parse_body(body)?;
    let mut params = match (shape, parsed) {
        (_, Value::Null) => Map::new(),
        (Shape::Domains, Value::Array(list)) => {
            Map::from_iter([("domains".into(), Value::Array(list))])
        }
        (Shape::Patch, Value::Object(o)) if !o.contains_key("patch") => {
            Map::from_iter([("patch".into(), Value::Object(o))])
        }
        (_, Value::Object(o)) => o,
        _ => {
            return Err(ApiError::bad_request("the body must be a JSON object")
                .with_hint("send the tool's params as a JSON object"));
        }
    };
    for (k, v) in query {
        params.entry(k).or_insert(Value::String(v));
    }
    for (k, v) in path.iter().filter(|(k, _)| k != "slug") {
        match params.get(k) {
            Some(Value::String(given)) if given != v => {
                return Err(ApiError::bad_request(format!(
                    "{k} in the body ({}) is not the one in the path ({})",
                    quote(given),
                    quote(v)
                )));
            }
            _ => {
                params.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    Ok(Value::Object(params))
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the body is not JSON: {e}"))
            .with_hint("send a JSON object (Content-Type: application/json)")
    })
}

/// `PATCH …/apps/{uuid}/envs`: one variable, or many, upserted in order.
async fn envs_upsert(
    State(state): State<AppState>,
    auth: Auth,
    path: RawPathParams,
    body: Bytes,
) -> Response {
    let path: Vec<(String, String)> = path
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    json_response(bulk_envs(&state, &auth, path, &body).await)
}

async fn bulk_envs(
    state: &AppState,
    auth: &Auth,
    path: Vec<(String, String)>,
    body: &[u8],
) -> Result<Value, ApiError> {
    const OP: &str = "apps_envs_upsert";
    let slug = path
        .iter()
        .find(|(k, _)| k == "slug")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let key = auth.workspace_key(&slug)?;
    dispatch::check_served(&state.served, OP)?;
    let items = match parse_body(body)? {
        Value::Array(items) => items,
        Value::Object(mut o) if o.contains_key("envs") => match o.remove("envs") {
            Some(Value::Array(items)) => items,
            _ => return Err(ApiError::bad_request("envs must be a list of variables")),
        },
        single @ Value::Object(_) => {
            let params = merge(
                Shape::Plain,
                &serde_json::to_vec(&single).unwrap_or_default(),
                HashMap::new(),
                &path,
            )?;
            let caller = state
                .pinning
                .caller_for("control-plane", OP, Some(&RequestKey(key)))
                .await?;
            return dispatch::call(&state.api, &caller, OP, params).await;
        }
        _ => {
            return Err(ApiError::bad_request(
                "the body must be a variable or a list of them",
            ));
        }
    };
    if items.is_empty() || items.len() > MAX_BULK_ENVS {
        return Err(ApiError::bad_request(format!(
            "a bulk upsert takes 1 to {MAX_BULK_ENVS} variables, not {}",
            items.len()
        )));
    }
    let mut all = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let bytes = serde_json::to_vec(&item).unwrap_or_default();
        let params =
            merge(Shape::Plain, &bytes, HashMap::new(), &path).map_err(|e| at_item(e, i, 0))?;
        let key_name = params
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or_default();
        crate::policy::env_key::check(key_name).map_err(|e| at_item(e.into(), i, 0))?;
        serde_json::from_value::<AppsEnvsUpsertParams>(params.clone()).map_err(|e| {
            at_item(
                ApiError::bad_request(format!("invalid params: {}", cut(&e.to_string(), 300))),
                i,
                0,
            )
        })?;
        all.push(params);
    }
    let caller = state
        .pinning
        .caller_for("control-plane", OP, Some(&RequestKey(key)))
        .await?;
    let mut results = Vec::with_capacity(all.len());
    for (i, params) in all.into_iter().enumerate() {
        let done = dispatch::call(&state.api, &caller, OP, params)
            .await
            .map_err(|e| at_item(e, i, i))?;
        results.push(done);
    }
    Ok(json!({ "upserted": results.len(), "results": results }))
}

/// The error of item `index` of a bulk call, saying how many were applied before it.
fn at_item(e: ApiError, index: usize, applied: usize) -> ApiError {
    let message = format!(
        "variable {} of the list: {} ({applied} applied before it)",
        index + 1,
        e.message()
    );
    let out = ApiError::new(e.kind(), message);
    match e.hint() {
        Some(h) => out.with_hint(h.to_string()),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn body_query_and_path_merge_into_the_tools_params() {
        let q = HashMap::from([("confirm".to_string(), "web".to_string())]);
        let p = merge(
            Shape::Plain,
            b"",
            q,
            &path(&[("slug", "mark"), ("uuid", "u1")]),
        )
        .unwrap();
        assert_eq!(p, json!({"confirm": "web", "uuid": "u1"}));
        let p = merge(
            Shape::Patch,
            br#"{"name": "x"}"#,
            HashMap::new(),
            &path(&[("uuid", "u1")]),
        )
        .unwrap();
        assert_eq!(p, json!({"patch": {"name": "x"}, "uuid": "u1"}));
        let p = merge(
            Shape::Domains,
            br#"["a.mark.vibnai.com"]"#,
            HashMap::new(),
            &path(&[("uuid", "u1")]),
        )
        .unwrap();
        assert_eq!(p, json!({"domains": ["a.mark.vibnai.com"], "uuid": "u1"}));
    }

    #[test]
    fn a_body_contradicting_the_path_or_not_an_object_is_refused() {
        let e = merge(
            Shape::Plain,
            br#"{"uuid": "other"}"#,
            HashMap::new(),
            &path(&[("uuid", "u1")]),
        )
        .unwrap_err();
        assert_eq!(e.status(), 400);
        for bad in [&b"[1]"[..], b"3", b"{not json"] {
            assert_eq!(
                merge(Shape::Plain, bad, HashMap::new(), &[])
                    .unwrap_err()
                    .status(),
                400
            );
        }
    }
}

//! The routes around the tools: workspaces (seed 003 §4.1), keys, provisioning, the
//! workspace's `bootstrap.sh` (seed 001), org tokens (seed 004) and the seed's
//! `GET`/`POST /api/mcp` (§3, §10). Workspace listing, provisioning and org tokens need
//! an org token; a workspace key manages the keys of its own workspace only (another
//! workspace's key is 403 whether or not the slug exists).

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::{Auth, Bearer};
use super::dispatch;
use super::reply::{error_response, json_response};
use crate::api::caller::RequestKey;
use crate::error::{ApiError, cut, quote};
use crate::keystore::{KeyRecord, MintedKey, Revoked, now_ms};
use crate::mcp::control_plane_server::{ALIASES, TOOL_NAMES, resolve};

/// The admin and self-description routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/mcp", get(describe).post(call_tool))
        .route("/api/workspaces", get(list_workspaces))
        .route("/api/workspaces/{slug}", get(workspace))
        .route("/api/workspaces/{slug}/provision", post(provision))
        .route("/api/workspaces/{slug}/keys", get(list_keys).post(mint_key))
        .route("/api/workspaces/{slug}/keys/{key_id}", delete(revoke_key))
        .route("/api/workspaces/{slug}/bootstrap.sh", get(bootstrap))
        .route("/org/tokens", get(list_tokens).post(mint_token))
        .route("/org/tokens/{id}", delete(revoke_token))
}

/// `GET /api/mcp`: name, version, where MCP is served, and every tool served (with
/// its dotted aliases).
async fn describe(State(state): State<AppState>) -> Response {
    let tools: Vec<Value> = state
        .server
        .served_tools()
        .into_iter()
        .map(|t| {
            let name = t.name.to_string();
            let aliases: Vec<&str> = ALIASES
                .iter()
                .filter(|(_, tool)| *tool == name)
                .map(|(alias, _)| *alias)
                .collect();
            json!({
                "name": name,
                "title": t.title,
                "description": t.description,
                "read_only": t.annotations.as_ref().and_then(|a| a.read_only_hint),
                "aliases": aliases,
                "input_schema": t.input_schema,
            })
        })
        .collect();
    json_response(Ok(json!({
        "name": "vibn-control-plane",
        "version": env!("CARGO_PKG_VERSION"),
        "mcp": {
            "url": format!("{}/mcp", state.public_url),
            "transport": "streamable-http",
            "protocol_versions": ["2026-07-28", "2025-11-25"],
        },
        "call": "POST /api/mcp {\"tool\": \"<name or dotted alias>\", \"params\": {…}} with Authorization: Bearer vibn_sk_…",
        "tools": tools,
    })))
}

/// The body of `POST /api/mcp`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolCall {
    tool: String,
    #[serde(default)]
    params: Value,
}

/// `POST /api/mcp {tool, params}`: one tool, by name or dotted alias, as the key's
/// workspace.
async fn call_tool(State(state): State<AppState>, auth: Auth, body: Bytes) -> Response {
    let result = async {
        let key = auth.any_workspace_key()?;
        let call: ToolCall = serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!("invalid body: {}", cut(&e.to_string(), 300)))
                .with_hint("send {\"tool\": \"apps_list\", \"params\": {}}")
        })?;
        let tool = resolve(&call.tool);
        if !TOOL_NAMES.contains(&tool) {
            return Err(
                ApiError::not_found(format!("no tool {} on this server", quote(tool)))
                    .with_hint("GET /api/mcp lists the tools this server serves"),
            );
        }
        dispatch::check_served(&state.served, tool)?;
        let caller = state
            .pinning
            .caller_for("control-plane", tool, Some(&RequestKey(key)))
            .await?;
        dispatch::call(&state.api, &caller, tool, call.params).await
    }
    .await;
    json_response(result)
}

/// `GET /api/workspaces`: every workspace with an org token; the key's own with a key.
async fn list_workspaces(State(state): State<AppState>, auth: Auth) -> Response {
    let result = async {
        match &auth.0 {
            Some(Bearer::Workspace(key)) => Ok(json!({ "workspaces": [key.workspace] })),
            _ => {
                auth.admin()?;
                let all = state.store.get().await?.list_workspaces().await?;
                Ok(json!({ "workspaces": all }))
            }
        }
    }
    .await;
    json_response(result)
}

/// `GET /api/workspaces/{slug}`: `workspace_describe` with the workspace's key; the
/// keystore's record with an org token.
async fn workspace(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Response {
    let result = async {
        if let Some(Bearer::Admin(_)) = &auth.0 {
            let ws = state.store.get().await?.require_workspace(&slug).await?;
            return Ok(json!(ws));
        }
        let key = auth.workspace_key(&slug)?;
        dispatch::check_served(&state.served, "workspace_describe")?;
        let caller = state
            .pinning
            .caller_for(
                "control-plane",
                "workspace_describe",
                Some(&RequestKey(key)),
            )
            .await?;
        dispatch::call(&state.api, &caller, "workspace_describe", Value::Null).await
    }
    .await;
    json_response(result)
}

/// `POST /api/workspaces/{slug}/provision`: the idempotent provisioning run (org token).
async fn provision(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Response {
    let result = async {
        let token = auth.admin()?;
        tracing::info!(target: "vibn::audit", slug = %slug, key = %token.hint, "provision requested over HTTP");
        let store = state.store.get().await?;
        let report = state
            .api
            .provision_workspace(store, state.keyring.clone(), &slug)
            .await?;
        Ok(json!(report))
    }
    .await;
    json_response(result)
}

/// The body of a mint.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Mint {
    name: String,
    /// A duration like `30d` or `12h`.
    #[serde(default, alias = "expiresIn")]
    expires_in: Option<String>,
}

fn parse_mint(body: &[u8]) -> Result<(String, Option<i64>), ApiError> {
    let mint: Mint = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("invalid body: {}", cut(&e.to_string(), 300))).with_hint(
            "send {\"name\": \"<label>\", \"expires_in\": \"30d\"} (expires_in optional)",
        )
    })?;
    let expires_at = match mint.expires_in.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => {
            let d: Duration = humantime::parse_duration(text).map_err(|_| {
                ApiError::bad_request(format!(
                    "expires_in {} is not a duration like 30d or 12h",
                    quote(text)
                ))
            })?;
            if d.is_zero() {
                return Err(ApiError::bad_request("expires_in must be longer than zero"));
            }
            Some(now_ms().saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
        }
    };
    Ok((mint.name, expires_at))
}

fn minted_json(minted: &MintedKey) -> Value {
    let mut v = json!(minted.record);
    v["token"] = Value::String(minted.token.expose_secret().to_string());
    v
}

fn revoked_json(id: &str, outcome: Revoked) -> Value {
    json!({
        "id": id,
        "revoked": match outcome { Revoked::Now => "now", Revoked::Already => "already" },
    })
}

fn keys_json(keys: Vec<KeyRecord>) -> Value {
    json!({ "keys": keys })
}

/// `GET /api/workspaces/{slug}/keys`: metadata only.
async fn list_keys(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Response {
    let result = async {
        auth.admin_or_workspace(&slug)?;
        let keys = state.store.get().await?.list_workspace_keys(&slug).await?;
        Ok(keys_json(keys))
    }
    .await;
    json_response(result)
}

/// `POST /api/workspaces/{slug}/keys {name, expires_in?}`: the token is in the answer,
/// once.
async fn mint_key(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let by = auth.admin_or_workspace(&slug)?;
        let (name, expires_at) = parse_mint(&body)?;
        let minted = state
            .store
            .get()
            .await?
            .mint_workspace_key(&slug, &name, expires_at, &by)
            .await?;
        tracing::info!(target: "vibn::audit", slug = %slug, by = %by, key = %minted.record.hint, "workspace key minted over HTTP");
        Ok(minted_json(&minted))
    }
    .await;
    no_store(json_response(result))
}

/// `DELETE /api/workspaces/{slug}/keys/{key_id}` (idempotent).
async fn revoke_key(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, key_id)): Path<(String, String)>,
) -> Response {
    let result = async {
        let by = auth.admin_or_workspace(&slug)?;
        let outcome = state
            .store
            .get()
            .await?
            .revoke_workspace_key(&slug, &key_id)
            .await?;
        tracing::info!(target: "vibn::audit", slug = %slug, by = %by, key_id = %key_id, "workspace key revoked over HTTP");
        Ok(revoked_json(&key_id, outcome))
    }
    .await;
    json_response(result)
}

/// `GET /org/tokens`: every org token, metadata only.
async fn list_tokens(State(state): State<AppState>, auth: Auth) -> Response {
    let result = async {
        auth.admin()?;
        let tokens = state.store.get().await?.list_admin_tokens().await?;
        Ok(json!({ "tokens": tokens }))
    }
    .await;
    json_response(result)
}

/// `POST /org/tokens {name, expires_in?}`: an org token mints another (never without
/// one: the first comes from `vibn org-tokens mint`).
async fn mint_token(State(state): State<AppState>, auth: Auth, body: Bytes) -> Response {
    let result = async {
        let token = auth.admin()?;
        let (name, expires_at) = parse_mint(&body)?;
        let by = format!("org-token:{}", token.hint);
        let minted = state
            .store
            .get()
            .await?
            .mint_admin_token(&name, expires_at, &by)
            .await?;
        tracing::info!(target: "vibn::audit", by = %by, key = %minted.record.hint, "org token minted over HTTP");
        Ok(minted_json(&minted))
    }
    .await;
    no_store(json_response(result))
}

/// `DELETE /org/tokens/{id}` (idempotent).
async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let token = auth.admin()?;
        let outcome = state.store.get().await?.revoke_admin_token(&id).await?;
        tracing::info!(target: "vibn::audit", by = %token.hint, token_id = %id, "org token revoked over HTTP");
        Ok(revoked_json(&id, outcome))
    }
    .await;
    json_response(result)
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /api/workspaces/{slug}/bootstrap.sh`: a `curl … | sh` installer that writes
/// `.cursor/mcp.json` (this server's `/mcp` with the key as a bearer header),
/// `.cursor/rules/vibn-workspace.mdc` (the house rules) and the `VIBN_*` lines of
/// `.env.local`. With the workspace's key as bearer the key is embedded; without a
/// bearer the script takes `VIBN_API_KEY` from the environment it runs in (and nothing
/// about the workspace is looked up, so the route reveals no slug).
async fn bootstrap(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !crate::policy::naming::is_valid_slug(&slug) {
        return error_response(&ApiError::bad_request(format!(
            "{} is not a workspace slug",
            quote(&slug)
        )));
    }
    let key = match &auth.0 {
        None => None,
        Some(_) => match auth.workspace_key(&slug) {
            // The middleware validated this very header for this request.
            Ok(_) => headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().split_once(' '))
                .map(|(_, token)| token.trim().to_string()),
            Err(e) => return error_response(&e),
        },
    };
    let script = bootstrap_script(&state.public_url, &slug, key.as_deref());
    let response = (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/x-shellscript; charset=utf-8"),
        )],
        script,
    )
        .into_response();
    no_store(response)
}

/// `text` in single quotes for sh.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn bootstrap_script(public_url: &str, slug: &str, key: Option<&str>) -> String {
    let servers: Vec<&crate::mcp::registry::ServerEntry> =
        crate::mcp::registry::find("control-plane")
            .into_iter()
            .collect();
    let facts = crate::cli::setup::WorkspaceFacts {
        slug: Some(slug.to_string()),
        org: None,
    };
    let rules = crate::cli::setup::house_rules(&facts, &servers, "`.env.local`");
    let key_line = if let Some(key) = key {
        format!("VIBN_API_KEY={}", sh_quote(key))
    } else {
        "VIBN_API_KEY=\"${VIBN_API_KEY:?set VIBN_API_KEY to this workspace's key (vibn_sk_…)}\""
            .to_string()
    };
    format!(
        r#"#!/bin/sh
# vibn bootstrap for workspace {slug}: writes .cursor/mcp.json (the control plane at
# {url}/mcp), .cursor/rules/vibn-workspace.mdc and the VIBN_* lines of .env.local in the
# current folder. An existing .cursor/mcp.json is kept as .cursor/mcp.json.bak.<time>.
set -eu
VIBN_URL={url_q}
VIBN_WORKSPACE={slug_q}
{key_line}
case "$VIBN_API_KEY" in
  vibn_sk_*) ;;
  *) echo "vibn bootstrap: VIBN_API_KEY is not a workspace key (vibn_sk_…)" >&2; exit 1 ;;
esac
case "$VIBN_API_KEY" in
  *[!A-Za-z0-9_]*) echo "vibn bootstrap: VIBN_API_KEY has characters a key never has" >&2; exit 1 ;;
esac
umask 077
mkdir -p .cursor/rules
if [ -e .cursor/mcp.json ]; then cp .cursor/mcp.json ".cursor/mcp.json.bak.$(date +%s)"; fi
cat > .cursor/mcp.json <<VIBN_JSON_EOF
{{
  "mcpServers": {{
    "vibn-$VIBN_WORKSPACE": {{
      "url": "$VIBN_URL/mcp",
      "headers": {{ "Authorization": "Bearer $VIBN_API_KEY" }}
    }}
  }}
}}
VIBN_JSON_EOF
cat > .cursor/rules/vibn-workspace.mdc <<'VIBN_RULES_EOF'
---
description: vibn workspace rules
alwaysApply: true
---
{rules}
VIBN_RULES_EOF
touch .env.local
grep -q '^VIBN_API_KEY=' .env.local || printf 'VIBN_API_KEY=%s\n' "$VIBN_API_KEY" >> .env.local
grep -q '^VIBN_WORKSPACE=' .env.local || printf 'VIBN_WORKSPACE=%s\n' "$VIBN_WORKSPACE" >> .env.local
grep -q '^VIBN_MCP_URL=' .env.local || printf 'VIBN_MCP_URL=%s/mcp\n' "$VIBN_URL" >> .env.local
echo "vibn: wrote .cursor/mcp.json, .cursor/rules/vibn-workspace.mdc and .env.local for workspace $VIBN_WORKSPACE" >&2
"#,
        url = public_url.replace(['\n', '\r'], ""),
        url_q = sh_quote(public_url),
        slug_q = sh_quote(slug),
    )
}

//! Who a request is: its `Authorization: Bearer …` validated against the keystore for
//! this request alone (so a key revoked a moment ago fails now, on every replica sharing
//! the keystore). A workspace key (`vibn_sk_`) makes the request act for its workspace —
//! its `RequestKey` rides in the request's extensions, where rmcp hands it to the tool
//! call and the REST adapters read it; an org token (`vibn_at_`) opens the admin routes.
//! Tiers are exactly these two: no session cookies, no environment token, no fail-open
//! bootstrap (seed 004's tier 0 and tier 3 are its bugs) — the first org token comes from
//! `vibn org-tokens mint` on the keystore's host.
//!
//! Also here: the binding of a 2025-11-25 MCP session to the workspace of the key that
//! opened it (a request on that session with another workspace's key is refused).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

use super::AppState;
use super::reply::error_response;
use crate::api::caller::{INVALID_KEY, RequestKey};
use crate::error::ApiError;
use crate::keystore::tokens::TokenKind;
use crate::keystore::{ValidAdminToken, ValidWorkspaceKey};

/// The hint of every 401.
const KEY_HINT: &str = "send `Authorization: Bearer vibn_sk_…` (a workspace key from `vibn keys \
     mint --workspace <slug> --name <label>`), or a `vibn_at_…` org token for admin routes";

/// A validated bearer.
#[derive(Debug, Clone)]
pub(crate) enum Bearer {
    /// A live workspace key and its workspace.
    Workspace(Arc<ValidWorkspaceKey>),
    /// A live admin org token.
    Admin(Arc<ValidAdminToken>),
}

impl Bearer {
    /// The id rate limits are kept under (never the secret).
    pub(crate) fn limit_key(&self) -> String {
        match self {
            Bearer::Workspace(k) => format!("key:{}", k.key_id),
            Bearer::Admin(t) => format!("org:{}", t.token_id),
        }
    }

    /// The display hint (safe to log).
    pub(crate) fn hint(&self) -> &str {
        match self {
            Bearer::Workspace(k) => &k.hint,
            Bearer::Admin(t) => &t.hint,
        }
    }
}

/// The one 401.
pub(crate) fn unauthorized() -> ApiError {
    ApiError::unauthorized(INVALID_KEY).with_hint(KEY_HINT)
}

/// The bearer token of `headers`: `None` without an Authorization header, `Err` when the
/// header is there but is not `Bearer <token>`.
fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| unauthorized())?;
    let (scheme, token) = text.trim().split_once(' ').ok_or_else(unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthorized());
    }
    Ok(Some(token.trim()))
}

/// A bearer that was sent but is not valid (or could not be checked): the request is
/// answered with this error once the rate limit — kept per client address for such
/// requests, so guessing keys is throttled too — has been charged.
#[derive(Debug, Clone)]
pub(crate) struct Refused(pub(crate) ApiError);

/// Middleware: validate the request's bearer (if any) now and put what it is into the
/// request's extensions; a bearer that is there but not valid (401) or a keystore that
/// cannot answer (503) is marked `Refused`, and `guard::rate_limit` answers it.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = match bearer_token(request.headers()) {
        Ok(None) => return next.run(request).await,
        Ok(Some(token)) => token.to_string(),
        Err(e) => {
            request.extensions_mut().insert(Refused(e));
            return next.run(request).await;
        }
    };
    match validate(&state, &token).await {
        Ok(Bearer::Workspace(key)) => {
            request
                .extensions_mut()
                .insert(RequestKey(Arc::clone(&key)));
            request.extensions_mut().insert(Bearer::Workspace(key));
        }
        Ok(bearer) => {
            request.extensions_mut().insert(bearer);
        }
        Err(e) => {
            request.extensions_mut().insert(Refused(e));
        }
    }
    next.run(request).await
}

async fn validate(state: &AppState, token: &str) -> Result<Bearer, ApiError> {
    let store = state.store.get().await?;
    if token.starts_with(TokenKind::AdminToken.prefix()) {
        return match store.validate_admin_token(token).await? {
            Some(valid) => Ok(Bearer::Admin(Arc::new(valid))),
            None => Err(unauthorized()),
        };
    }
    match store.validate_workspace_key(token, None).await? {
        Some(valid) => Ok(Bearer::Workspace(Arc::new(valid))),
        None => Err(unauthorized()),
    }
}

/// The request's validated bearer, if it had one (an extractor).
pub(crate) struct Auth(pub(crate) Option<Bearer>);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Auth(parts.extensions.get::<Bearer>().cloned()))
    }
}

impl Auth {
    /// The workspace key of the request, which must belong to `slug`: 401 without one,
    /// 403 for an org token or another workspace's key (whether or not `slug` exists).
    pub(crate) fn workspace_key(&self, slug: &str) -> Result<Arc<ValidWorkspaceKey>, ApiError> {
        match &self.0 {
            None => Err(unauthorized()),
            Some(Bearer::Admin(_)) => Err(ApiError::forbidden(
                "an org token manages workspaces, keys and tokens; a workspace's resources \
                 are reached with that workspace's key",
            )
            .with_hint("send the workspace's vibn_sk_ key")),
            Some(Bearer::Workspace(key)) if key.workspace.slug == slug => Ok(Arc::clone(key)),
            Some(Bearer::Workspace(_)) => Err(other_workspace()),
        }
    }

    /// Any workspace key (for routes without a slug: /mcp, POST /api/mcp).
    pub(crate) fn any_workspace_key(&self) -> Result<Arc<ValidWorkspaceKey>, ApiError> {
        match &self.0 {
            Some(Bearer::Workspace(key)) => Ok(Arc::clone(key)),
            _ => Err(unauthorized()),
        }
    }

    /// The org token of an admin route: 401 without a bearer, 403 with a workspace key.
    pub(crate) fn admin(&self) -> Result<Arc<ValidAdminToken>, ApiError> {
        match &self.0 {
            None => Err(unauthorized()),
            Some(Bearer::Admin(token)) => Ok(Arc::clone(token)),
            Some(Bearer::Workspace(_)) => Err(ApiError::forbidden(
                "this route needs an org token (vibn_at_…); a workspace key cannot use it",
            )
            .with_hint("ask the operator (vibn org-tokens mint --name <label>)")),
        }
    }

    /// An org token, or the workspace key of `slug` (key management of one's own
    /// workspace); who did it, for `created_by`.
    pub(crate) fn admin_or_workspace(&self, slug: &str) -> Result<String, ApiError> {
        match &self.0 {
            Some(Bearer::Admin(token)) => Ok(format!("org-token:{}", token.hint)),
            _ => Ok(format!("key:{}", self.workspace_key(slug)?.hint)),
        }
    }
}

/// The 403 of another workspace's key.
pub(crate) fn other_workspace() -> ApiError {
    ApiError::forbidden("this key belongs to another workspace").with_hint(
        "a key acts only for its own workspace: stop and ask the user for this workspace's key",
    )
}

/// Which workspace opened each live MCP session (2025-11-25 era).
#[derive(Clone, Default)]
pub(crate) struct SessionOwners {
    owners: Arc<Mutex<HashMap<String, String>>>,
    sessions: Arc<LocalSessionManager>,
}

/// Sessions remembered before the ones rmcp has closed are forgotten.
const PRUNE_AT: usize = 1024;

impl SessionOwners {
    /// The session manager rmcp keeps the sessions in.
    pub(crate) fn manager(&self) -> Arc<LocalSessionManager> {
        Arc::clone(&self.sessions)
    }

    fn owner(&self, session: &str) -> Option<String> {
        self.owners.lock().ok()?.get(session).cloned()
    }

    async fn bind(&self, session: String, workspace: String) {
        let prune = {
            let Ok(mut owners) = self.owners.lock() else {
                return;
            };
            owners.insert(session, workspace);
            owners.len() >= PRUNE_AT
        };
        if prune {
            let live: Vec<String> = self
                .sessions
                .sessions
                .read()
                .await
                .keys()
                .map(ToString::to_string)
                .collect();
            if let Ok(mut owners) = self.owners.lock() {
                owners.retain(|id, _| live.contains(id));
            }
        }
    }

    fn forget(&self, session: &str) {
        if let Ok(mut owners) = self.owners.lock() {
            owners.remove(session);
        }
    }
}

const SESSION_HEADER: &str = "mcp-session-id";

/// Middleware of `/mcp`: a workspace key is required (401 with `WWW-Authenticate`), and
/// a request on a session must carry a key of the workspace that opened it (403); a
/// session this server does not know is 404, as the spec asks.
pub(crate) async fn mcp_gate(
    State(owners): State<SessionOwners>,
    request: Request,
    next: Next,
) -> Response {
    let Some(key) = request.extensions().get::<RequestKey>().cloned() else {
        return error_response(&unauthorized());
    };
    let workspace = key.0.workspace.id.clone();
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(id) = &session {
        match owners.owner(id) {
            Some(owner) if owner == workspace => {}
            Some(_) => {
                tracing::warn!(key = %key.0.hint, "refused a request on another workspace's MCP session");
                return error_response(
                    &ApiError::forbidden(
                        "this MCP session was opened with another workspace's key",
                    )
                    .with_hint("open a session of your own (initialize) with your own key"),
                );
            }
            None => {
                return (
                    axum::http::StatusCode::NOT_FOUND,
                    "Not Found: Session not found",
                )
                    .into_response();
            }
        }
    }
    let deleting = request.method() == Method::DELETE;
    let response = next.run(request).await;
    match &session {
        None => {
            if let Some(id) = response
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
            {
                owners.bind(id.to_string(), workspace).await;
            }
        }
        Some(id) if deleting && response.status().is_success() => owners.forget(id),
        Some(_) => {}
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    #[test]
    fn only_bearer_schemes_carry_a_token() {
        assert_eq!(bearer_token(&HeaderMap::new()).unwrap(), None);
        assert_eq!(bearer_token(&headers("Bearer abc")).unwrap(), Some("abc"));
        assert_eq!(bearer_token(&headers("bearer  abc ")).unwrap(), Some("abc"));
        for bad in ["Basic abc", "Bearer", "abc", "Token abc"] {
            assert_eq!(
                bearer_token(&headers(bad)).unwrap_err().status(),
                401,
                "{bad}"
            );
        }
    }
}

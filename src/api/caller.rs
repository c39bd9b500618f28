//! The per-call context every `api` function takes: who calls (the operator, or a
//! workspace by a key validated for this very call), through which server and tool,
//! with the call's progress reporter, cancellation and keystore. Auditing goes through it.
//!
//! A `Caller` is built in one place per entry point: over stdio by `Pinning::caller`
//! (from the key the server was started with, re-validated on every call, so a key
//! revoked mid-session fails on the very next call); over HTTP (`vibn serve`) from the
//! key the HTTP layer validated for that very request (`RequestKey`, carried in the
//! request's extensions), so one process serves many workspaces and each request acts
//! for its own key's workspace alone. Every rejection — malformed, unknown, revoked, expired, another workspace's —
//! is the same 401; a keystore that cannot be opened or read is a 503. The keystore is
//! opened lazily, on the first call that needs it, and a failed open is retried next time.
//!
//! Per-workspace state travels with the caller, never in an API struct, so one API
//! instance can serve many workspaces at once.

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

use crate::api::Progress;
use crate::config::{GiteaCredentials, PinConfig};
use crate::error::ApiError;
use crate::keystore::{Keyring, Keystore, NewAuditEvent, Store, ValidWorkspaceKey, Workspace};

/// The one message for every invalid key.
pub const INVALID_KEY: &str =
    "the workspace key is not valid (unknown, revoked, expired or malformed)";
const INVALID_KEY_HINT: &str = "ask the user for a new key (vibn keys mint --workspace <slug> \
     --name <label>) and set it as VIBN_API_KEY in the MCP client's config";

/// The keystore, opened on first use.
#[derive(Debug)]
pub struct LazyKeystore {
    path: PathBuf,
    must_exist: bool,
    open: tokio::sync::OnceCell<Keystore>,
}

impl LazyKeystore {
    /// A keystore at `path`, not opened yet (created on first use if missing).
    pub fn new(path: PathBuf) -> Self {
        LazyKeystore {
            path,
            must_exist: false,
            open: tokio::sync::OnceCell::new(),
        }
    }

    /// A keystore at `path` that must already exist (a pinned server's: its key was
    /// minted there, so a missing file is a wrong path, never a new keystore).
    pub fn existing(path: PathBuf) -> Self {
        LazyKeystore {
            must_exist: true,
            ..LazyKeystore::new(path)
        }
    }

    /// The open keystore, opening it now if needed (503 when that fails; a later call
    /// tries again).
    pub async fn get(&self) -> Result<Keystore, ApiError> {
        let store = self
            .open
            .get_or_try_init(|| async {
                if self.must_exist {
                    Keystore::open_existing(&self.path).await
                } else {
                    Keystore::open(&self.path).await
                }
            })
            .await?;
        Ok(store.clone())
    }

    /// The keystore opened now, on this thread, and kept for the calls that follow: for
    /// start-up work outside the runtime. `None` when it cannot be opened; a call then
    /// tries again and says why.
    pub fn open_now(&self) -> Option<Keystore> {
        if self.open.get().is_none() {
            let store = if self.must_exist {
                Store::open_existing(&self.path)
            } else {
                Store::open(&self.path)
            };
            // Fails only when a call opened it meanwhile; that one is kept.
            let _ = self.open.set(Keystore::from_store(store.ok()?));
        }
        self.open.get().cloned()
    }
}

/// Who a call acts for.
#[derive(Debug, Clone)]
pub enum Principal {
    /// Operator mode: no workspace key; the protected lists still apply.
    Operator,
    /// Pinned to one workspace by a valid key.
    Workspace(Box<ValidWorkspaceKey>),
}

impl Principal {
    /// The pinned workspace, if any.
    pub fn workspace(&self) -> Option<&Workspace> {
        match self {
            Principal::Operator => None,
            Principal::Workspace(key) => Some(&key.workspace),
        }
    }

    /// The Gitea org writes are confined to, when pinned.
    pub fn gitea_org(&self) -> Option<&str> {
        self.workspace().map(|w| w.gitea_org.as_str())
    }
}

/// A workspace key validated by the HTTP layer for one request (`vibn serve`), put in
/// that request's extensions; a per-request `Pinning` makes the call's `Caller` from it.
#[derive(Debug, Clone)]
pub struct RequestKey(pub Arc<ValidWorkspaceKey>);

/// How a server is pinned: its key (if any) and its keystore (if any) over stdio, or each
/// request's own key over HTTP. It makes the `Caller` of each tool call.
#[derive(Debug, Clone, Default)]
pub struct Pinning {
    key: Option<Arc<SecretString>>,
    expected_workspace: Option<String>,
    store: Option<Arc<LazyKeystore>>,
    keyring: Option<Arc<Keyring>>,
    /// Every call acts for the key its own request carries (`vibn serve`); a call without
    /// one is 401, whatever else is configured.
    per_request: bool,
}

impl Pinning {
    /// Operator mode with no keystore (audit goes to the log only).
    pub fn operator() -> Self {
        Pinning::default()
    }

    /// The pinning a server's configuration asks for.
    pub fn from_config(config: &PinConfig) -> Self {
        Pinning {
            key: config.api_key.clone().map(Arc::new),
            expected_workspace: config.expected_workspace.clone(),
            store: config.keystore.clone().map(|p| {
                Arc::new(if config.api_key.is_some() {
                    LazyKeystore::existing(p)
                } else {
                    LazyKeystore::new(p)
                })
            }),
            keyring: config.keyring.clone(),
            per_request: false,
        }
    }

    /// Pinned per request (`vibn serve`): each call acts for the workspace of the key its
    /// own request carries, validated by the HTTP layer for that request.
    pub fn per_request(store: Arc<LazyKeystore>, keyring: Option<Arc<Keyring>>) -> Self {
        Pinning {
            store: Some(store),
            keyring,
            per_request: true,
            ..Pinning::default()
        }
    }

    /// The pinned keystore, opened now on this thread and kept for the calls (`None`
    /// without one, or when it cannot be opened: each call then tries again).
    pub fn keystore_now(&self) -> Option<Keystore> {
        self.store.as_ref()?.open_now()
    }

    /// True when a workspace key is configured (or each request brings its own).
    pub fn is_pinned(&self) -> bool {
        self.key.is_some() || self.per_request
    }

    /// The caller of one tool call of `server`: the key validated now (401 or 503).
    pub async fn caller(&self, server: &'static str, tool: &str) -> Result<Caller, ApiError> {
        self.caller_for(server, tool, None).await
    }

    /// The caller of one tool call of `server` whose request brought `request` (a key
    /// the HTTP layer validated for it). Only a per-request pinning reads it, and then
    /// requires it (401 without); a stdio pinning ignores it and validates its own key.
    pub async fn caller_for(
        &self,
        server: &'static str,
        tool: &str,
        request: Option<&RequestKey>,
    ) -> Result<Caller, ApiError> {
        if self.per_request {
            let Some(RequestKey(valid)) = request else {
                return Err(ApiError::unauthorized(INVALID_KEY).with_hint(INVALID_KEY_HINT));
            };
            return Ok(self.make(
                server,
                tool,
                Principal::Workspace(Box::new((**valid).clone())),
            ));
        }
        let principal = match &self.key {
            None => Principal::Operator,
            Some(key) => {
                let store = self.store().await?;
                let valid = store
                    .validate_workspace_key(key.expose_secret(), self.expected_workspace.as_deref())
                    .await?;
                match valid {
                    Some(valid) => Principal::Workspace(Box::new(valid)),
                    None => {
                        return Err(ApiError::unauthorized(INVALID_KEY).with_hint(INVALID_KEY_HINT));
                    }
                }
            }
        };
        Ok(self.make(server, tool, principal))
    }

    fn make(&self, server: &'static str, tool: &str, principal: Principal) -> Caller {
        Caller {
            principal,
            server,
            tool: tool.to_string(),
            progress: None,
            cancel: CancellationToken::new(),
            store: self.store.clone(),
            keyring: self.keyring.clone(),
        }
    }

    async fn store(&self) -> Result<Keystore, ApiError> {
        match &self.store {
            Some(lazy) => lazy.get().await,
            None => Err(no_keystore()),
        }
    }
}

fn no_keystore() -> ApiError {
    ApiError::not_provisioned("no keystore is configured")
        .with_hint("set VIBN_KEYSTORE, or VIBN_API_KEY to pin this server to a workspace")
}

/// One tool call: who, where, and the call's progress, cancellation and keystore.
#[derive(Clone)]
pub struct Caller {
    principal: Principal,
    server: &'static str,
    tool: String,
    progress: Option<Progress>,
    cancel: CancellationToken,
    store: Option<Arc<LazyKeystore>>,
    keyring: Option<Arc<Keyring>>,
}

/// Who a call acts as on Gitea: a user and its token.
#[derive(Clone)]
pub struct GiteaLogin {
    /// The Gitea user.
    pub username: String,
    /// Its access token.
    pub token: SecretString,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("principal", &self.principal)
            .field("server", &self.server)
            .field("tool", &self.tool)
            .finish_non_exhaustive()
    }
}

impl Caller {
    /// An operator call with no keystore (library use, tests).
    pub fn operator(server: &'static str, tool: &str) -> Self {
        Caller {
            principal: Principal::Operator,
            server,
            tool: tool.to_string(),
            progress: None,
            cancel: CancellationToken::new(),
            store: None,
            keyring: None,
        }
    }

    /// The same call reporting progress through `progress`.
    pub fn with_progress(mut self, progress: Option<Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// The same call, cancelled when `cancel` is.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// The same call with the keystore at `path` (opened when first needed).
    pub fn with_keystore(mut self, path: PathBuf) -> Self {
        self.store = Some(Arc::new(LazyKeystore::new(path)));
        self
    }

    /// Who this call acts for.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The pinned workspace, if any.
    pub fn workspace(&self) -> Option<&Workspace> {
        self.principal.workspace()
    }

    /// The Gitea org writes are confined to, when pinned.
    pub fn gitea_org(&self) -> Option<&str> {
        self.principal.gitea_org()
    }

    /// The tool this call is for.
    pub fn tool(&self) -> &str {
        &self.tool
    }

    /// Report progress (a notification when the request asked for them).
    pub async fn progress(&self, step: u32, message: String) {
        if let Some(report) = &self.progress {
            report(step, message).await;
        }
    }

    /// Whether progress is being reported (so a caller can skip building messages).
    pub fn wants_progress(&self) -> bool {
        self.progress.is_some()
    }

    /// Cancelled when the client cancels the request.
    pub fn cancelled(&self) -> &CancellationToken {
        &self.cancel
    }

    /// The secrets key the keystore's secrets are sealed with, when configured.
    pub fn keyring(&self) -> Option<&Arc<Keyring>> {
        self.keyring.as_ref()
    }

    /// The keystore (503 when none is configured or it cannot be opened).
    pub async fn store(&self) -> Result<Keystore, ApiError> {
        match &self.store {
            Some(lazy) => lazy.get().await,
            None => Err(no_keystore()),
        }
    }

    /// Who this call acts as on Gitea: when pinned, the workspace's bot (its token
    /// unsealed from the keystore now, so a rotated token is used at once), never the
    /// operator; otherwise the operator's configured credentials.
    pub async fn gitea_login(
        &self,
        operator: Option<&GiteaCredentials>,
    ) -> Result<GiteaLogin, ApiError> {
        let Some(workspace) = self.workspace() else {
            return operator
                .map(|o| GiteaLogin {
                    username: o.username.clone(),
                    token: o.token.clone(),
                })
                .ok_or_else(|| {
                    ApiError::not_provisioned("Gitea credentials are not configured").with_hint(
                        "set GITEA_API_URL, GITEA_USERNAME and GITEA_API_TOKEN in the MCP \
                         client's config (or VIBN_API_KEY to act as a workspace's bot)",
                    )
                });
        };
        let Some(ring) = &self.keyring else {
            return Err(ApiError::not_provisioned(
                "VIBN_SECRETS_KEY is not set: a pinned server unseals its workspace bot's Gitea \
                 token with it",
            )
            .with_hint(
                "set VIBN_SECRETS_KEY (the key the keystore's secrets were sealed with) in \
                        the MCP client's config",
            ));
        };
        let not_provisioned = || {
            ApiError::not_provisioned(format!(
                "workspace {} has no Gitea bot yet (provision status: {})",
                workspace.slug, workspace.provision_status
            ))
            .with_hint(format!(
                "ask the operator to run `vibn workspace provision {}`",
                workspace.slug
            ))
        };
        let username = workspace
            .gitea_bot_username
            .clone()
            .ok_or_else(not_provisioned)?;
        let token = self
            .store()
            .await?
            .bot_token(&workspace.slug, ring)
            .await?
            .ok_or_else(not_provisioned)?;
        Ok(GiteaLogin { username, token })
    }

    /// Record this call as a write (in the keystore when there is one, always in the
    /// log) and pass its result through.
    pub async fn audited<T>(
        &self,
        target: &str,
        result: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.audit(target, &result).await;
        result
    }

    async fn audit<T>(&self, target: &str, result: &Result<T, ApiError>) {
        let (server, tool) = (self.server, self.tool.as_str());
        let outcome = match result {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("error {}", e.status()),
        };
        let (workspace_id, key_hint) = match &self.principal {
            Principal::Operator => (None, None),
            Principal::Workspace(k) => (Some(k.workspace.id.as_str()), Some(k.hint.as_str())),
        };
        tracing::info!(target: "vibn::audit", server, tool, target, outcome, key = key_hint, "audit");
        if self.store.is_none() {
            return;
        }
        let event = NewAuditEvent {
            workspace_id,
            key_hint,
            server,
            tool,
            target,
            outcome: &outcome,
        };
        let recorded = match self.store().await {
            Ok(store) => store.append_audit(&event).await.map_err(ApiError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = recorded {
            tracing::error!(server, tool, "could not record the audit event: {e}");
        }
    }
}

//! Workspace pinning and the audit trail, shared by every server.
//!
//! A `Pin` holds the configured workspace key and re-validates it against the keystore
//! on every tool call, so a key revoked mid-session fails on the very next call. Every
//! rejection — malformed, unknown, revoked, expired, another workspace's — is the same
//! 401; a keystore that cannot be opened or read is a 503. The keystore itself is opened
//! lazily, on the first call that needs it, and a failed open is retried next time.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};

use crate::config::PinConfig;
use crate::error::ApiError;
use crate::keystore::{Keystore, NewAuditEvent, ValidWorkspaceKey, Workspace};

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
    open: Mutex<Option<Arc<Keystore>>>,
}

impl LazyKeystore {
    /// A keystore at `path`, not opened yet (created on first use if missing).
    pub fn new(path: PathBuf) -> Self {
        LazyKeystore {
            path,
            must_exist: false,
            open: Mutex::new(None),
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

    /// The open keystore, opening it now if needed (503 when that fails).
    pub fn get(&self) -> Result<Arc<Keystore>, ApiError> {
        let mut slot = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(store) = slot.as_ref() {
            return Ok(store.clone());
        }
        let store = Arc::new(if self.must_exist {
            Keystore::open_existing(&self.path)?
        } else {
            Keystore::open(&self.path)?
        });
        *slot = Some(store.clone());
        Ok(store)
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

/// A server's pin: its key (if any) and its keystore (if any).
#[derive(Debug, Clone, Default)]
pub struct Pin {
    key: Option<Arc<SecretString>>,
    expected_workspace: Option<String>,
    store: Option<Arc<LazyKeystore>>,
}

impl Pin {
    /// Operator mode with no keystore (audit goes to the log only).
    pub fn operator() -> Self {
        Pin::default()
    }

    /// The pin a server's configuration asks for.
    pub fn from_config(config: &PinConfig) -> Self {
        Pin {
            key: config.api_key.clone().map(Arc::new),
            expected_workspace: config.expected_workspace.clone(),
            store: config.keystore.clone().map(|p| {
                Arc::new(if config.api_key.is_some() {
                    LazyKeystore::existing(p)
                } else {
                    LazyKeystore::new(p)
                })
            }),
        }
    }

    /// True when a workspace key is configured.
    pub fn is_pinned(&self) -> bool {
        self.key.is_some()
    }

    /// Validate the key now (every call): the principal, 401 or 503.
    pub fn resolve(&self) -> Result<Principal, ApiError> {
        let Some(key) = &self.key else {
            return Ok(Principal::Operator);
        };
        let store = self.store()?;
        match store
            .validate_workspace_key(key.expose_secret(), self.expected_workspace.as_deref())?
        {
            Some(valid) => Ok(Principal::Workspace(Box::new(valid))),
            None => Err(ApiError::unauthorized(INVALID_KEY).with_hint(INVALID_KEY_HINT)),
        }
    }

    /// The keystore (503 when it is not configured or cannot be opened).
    pub fn store(&self) -> Result<Arc<Keystore>, ApiError> {
        match &self.store {
            Some(lazy) => lazy.get(),
            None => Err(ApiError::not_provisioned("no keystore is configured")
                .with_hint("set VIBN_KEYSTORE, or VIBN_API_KEY to pin this server to a workspace")),
        }
    }

    /// Record a write tool call (in the keystore when there is one, always in the log)
    /// and pass its result through.
    pub fn audited<T>(
        &self,
        who: &Principal,
        server: &str,
        tool: &str,
        target: &str,
        result: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.audit(who, server, tool, target, &result);
        result
    }

    fn audit<T>(
        &self,
        who: &Principal,
        server: &str,
        tool: &str,
        target: &str,
        result: &Result<T, ApiError>,
    ) {
        let outcome = match result {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("error {}", e.status()),
        };
        let (workspace_id, key_hint) = match who {
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
        if let Err(e) = self
            .store()
            .and_then(|s| s.append_audit(&event).map_err(ApiError::from))
        {
            tracing::error!(server, tool, "could not record the audit event: {e}");
        }
    }
}

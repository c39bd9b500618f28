//! The keystore: workspaces, API keys, admin tokens, encrypted secrets, memory, PRDs,
//! jobs and the audit trail (DESIGN §5). `Keystore` is the async façade servers use
//! (`facade`): its work runs on the blocking pool, so no async worker ever waits on the
//! database. `Store` is the synchronous keystore under it, used directly by the one-shot
//! CLI commands; every module writes its queries once against `db`'s dialect-neutral
//! layer, and the `Location` a store was opened with picks the backend.
//!
//! Embedded SQLite (the default): one file shared by every vibn process on the
//! machine. The directory is created 0700 and the file 0600 before SQLite first opens
//! it; connections set busy_timeout before WAL, `synchronous=FULL` (a revoked key must
//! never come back after a crash), `foreign_keys` and `secure_delete`; every write runs
//! in `BEGIN IMMEDIATE`, so several processes never see "database is locked" within the
//! busy timeout. PostgreSQL (`VIBN_KEYSTORE=postgres://…`): one database shared by
//! every replica; each write runs in `BEGIN` plus a transaction-wide advisory lock (one
//! writer at a time, as in SQLite), with `lock_timeout` as the busy timeout and
//! `synchronous_commit=on`. Nothing about a key is cached between requests, so a
//! revocation is seen by every process or replica on its next validation. Migrations
//! are additive and idempotent, the same numbered steps on both backends.
//! May import `policy`, `error`; never `api`, `mcp` or `clients`.

mod audit;
pub(crate) mod db;
mod domains;
mod facade;
pub mod inspect;
mod jobs;
mod keys;
mod location;
mod memory;
mod pg;
mod provision;
mod schema;
pub mod secret_box;
mod secrets;
mod storage;
mod store;
pub mod tokens;
mod workspaces;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::TryRngCore;
use rand::distr::{Alphanumeric, Distribution};
use rand::rngs::OsRng;

use crate::error::ApiError;

pub use audit::{AuditEvent, NewAuditEvent};
pub use domains::{DomainEvent, DomainPatch, DomainRecord, LedgerEntry};
pub use facade::Keystore;
pub use jobs::{JobRecord, JobUpdate};
pub use keys::{KeyRecord, MintedKey, Revoked, ValidAdminToken, ValidWorkspaceKey};
pub use location::{Location, is_postgres_url, redact_url};
pub use memory::{MAX_MEMORY_BYTES, MAX_MEMORY_KEY, MAX_PRD_BYTES, Memory, PrdVersion};
pub use provision::{ProvisionRecord, ProvisionState, ProvisionStatus};
pub use secret_box::{Keyring, SecretError, SecretKey};
pub use secrets::{KeyMatch, RewrapReport};
pub use storage::{StoragePatch, StorageRecord};
pub use store::{MAX_CONNECTIONS, Store};
pub use workspaces::{EnsuredWorkspace, Workspace};

/// How long a writer waits for another process's lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// What can go wrong in the keystore; each variant keeps its context as data.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The database could not be opened, read or written.
    #[error("keystore {path} is unavailable: {reason}")]
    Unavailable { path: String, reason: String },
    /// There is no keystore where one must already exist.
    #[error("keystore {path} does not exist")]
    Missing { path: String },
    /// No such row (in this scope).
    #[error("{what} not found")]
    NotFound { what: String },
    /// The input was refused before touching the database.
    #[error("{0}")]
    Invalid(String),
    /// Another process holds what this one needs (a provisioning lease).
    #[error("{0}")]
    Busy(String),
    /// A secret could not be sealed or opened.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

impl From<KeystoreError> for ApiError {
    fn from(e: KeystoreError) -> Self {
        match e {
            KeystoreError::Unavailable { .. } => ApiError::not_provisioned(e.to_string())
                .with_hint(
                    "check VIBN_KEYSTORE and the file's permissions (or that the PostgreSQL \
                     server it names is reachable), then retry",
                ),
            KeystoreError::Missing { .. } => ApiError::not_provisioned(e.to_string()).with_hint(
                "a server pinned by VIBN_API_KEY never creates a keystore: point VIBN_KEYSTORE \
                 at the one the key was minted in",
            ),
            KeystoreError::NotFound { .. } => ApiError::not_found(e.to_string()),
            KeystoreError::Invalid(_) => ApiError::bad_request(e.to_string()),
            KeystoreError::Busy(_) => ApiError::not_provisioned(e.to_string())
                .with_hint("wait for the other run to finish, then retry"),
            KeystoreError::Secret(_) => ApiError::not_provisioned(e.to_string())
                .with_hint("set VIBN_SECRETS_KEY to the key this keystore was sealed with"),
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A new random id such as `ws_3kQ9…` (16 base62 characters from the OS RNG).
pub fn new_id(prefix: &str) -> String {
    let mut rng = OsRng.unwrap_err();
    let body: String = Alphanumeric
        .sample_iter(&mut rng)
        .take(16)
        .map(char::from)
        .collect();
    format!("{prefix}_{body}")
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::Path;

    use super::Store;

    /// A SQLite keystore in a fresh temp dir (kept alive by the returned guard).
    pub fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("vibn/keystore.db")).expect("open keystore");
        (dir, store)
    }

    /// The URL of a fresh database on the test process's PostgreSQL server; `None`
    /// (said on stderr) where PostgreSQL is not installed.
    pub fn postgres_url() -> Option<String> {
        vibn_sandbox::postgres::shared().map(|server| server.fresh_database())
    }

    /// Run `test` against a fresh SQLite keystore, then against a fresh PostgreSQL one
    /// (skipped, with a message, where PostgreSQL is not installed): one suite, both
    /// backends. A failure's panic message names the backend it failed on.
    pub fn each(test: impl Fn(&Store)) {
        let (_dir, store) = store();
        on_backend("sqlite", || test(&store));
        drop(store);
        if let Some(url) = postgres_url() {
            let store = Store::open(Path::new(&url)).expect("open PostgreSQL keystore");
            on_backend("postgres", || test(&store));
        }
    }

    /// Run `test`; if it panics, panic again with `backend` named in the message.
    fn on_backend(backend: &str, test: impl FnOnce()) {
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(test)) {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            panic!("on the {backend} keystore: {why}");
        }
    }

    #[test]
    fn a_failure_names_the_backend_it_failed_on() {
        let caught =
            std::panic::catch_unwind(|| on_backend("postgres", || panic!("boom"))).unwrap_err();
        let message = caught.downcast_ref::<String>().unwrap();
        assert_eq!(message, "on the postgres keystore: boom");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_prefixed() {
        let a = new_id("ws");
        assert!(a.starts_with("ws_") && a.len() == 19, "{a}");
        assert_ne!(a, new_id("ws"));
    }
}

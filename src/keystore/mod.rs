//! The keystore: workspaces, API keys, admin tokens, encrypted secrets, memory, PRDs,
//! jobs and the audit trail (DESIGN §5). `Keystore` is the async façade servers use
//! (`facade`): its work runs on the blocking pool, so no async worker ever waits on the
//! database. `SqliteStore` is the embedded backend, synchronous, used by the façade and
//! directly by the one-shot CLI commands.
//!
//! One SQLite file shared by every vibn process on the machine. The directory is created 0700
//! and the file 0600 before SQLite first opens it; connections set busy_timeout before
//! WAL, `synchronous=FULL` (a revoked key must never come back after a crash),
//! `foreign_keys` and `secure_delete`; every write runs in `BEGIN IMMEDIATE`, so several
//! processes never see "database is locked" within the busy timeout. Migrations are
//! additive and idempotent, recorded in `PRAGMA user_version` and `schema_migrations`.
//! May import `policy`, `error`; never `api`, `mcp` or `clients`.

mod audit;
mod domains;
mod facade;
pub mod inspect;
mod jobs;
mod keys;
mod memory;
mod provision;
mod schema;
pub mod secret_box;
mod secrets;
mod storage;
pub mod tokens;
mod workspaces;

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::TryRngCore;
use rand::distr::{Alphanumeric, Distribution};
use rand::rngs::OsRng;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::ApiError;

pub use audit::{AuditEvent, NewAuditEvent};
pub use domains::{DomainEvent, DomainPatch, DomainRecord, LedgerEntry};
pub use facade::Keystore;
pub use jobs::{JobRecord, JobUpdate};
pub use keys::{KeyRecord, MintedKey, Revoked, ValidAdminToken, ValidWorkspaceKey};
pub use memory::{MAX_MEMORY_BYTES, MAX_MEMORY_KEY, MAX_PRD_BYTES, Memory, PrdVersion};
pub use provision::{ProvisionRecord, ProvisionState, ProvisionStatus};
pub use secret_box::{Keyring, SecretError, SecretKey};
pub use secrets::{KeyMatch, RewrapReport};
pub use storage::{StoragePatch, StorageRecord};
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
                .with_hint("check VIBN_KEYSTORE and the file's permissions, then retry"),
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

/// Connections one process keeps open at most (WAL lets readers run beside the one
/// writer; more would only queue on SQLite's own lock).
pub const MAX_CONNECTIONS: usize = 4;

/// An open SQLite keystore with a small pool of connections.
pub struct SqliteStore {
    pool: Mutex<Pool>,
    returned: Condvar,
    path: PathBuf,
}

/// Idle connections, and how many exist in all.
struct Pool {
    idle: Vec<Connection>,
    open: usize,
}

/// A connection checked out of the pool; back in it when dropped.
struct Lease<'a> {
    store: &'a SqliteStore,
    conn: Option<Connection>,
}

impl std::ops::Deref for Lease<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .unwrap_or_else(|| unreachable!("a lease holds its connection"))
    }
}

impl std::ops::DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .unwrap_or_else(|| unreachable!("a lease holds its connection"))
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            relock(&self.store.pool).idle.push(conn);
            self.store.returned.notify_one();
        }
    }
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open (creating if needed) the keystore at `path` and bring its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, KeystoreError> {
        let unavailable = |reason: String| KeystoreError::Unavailable {
            path: path.display().to_string(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        // Create the file 0600 before SQLite sees it: its -wal and -shm copy this mode.
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| unavailable(e.to_string()))?;
        let meta = file.metadata().map_err(|e| unavailable(e.to_string()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "keystore was readable by others; setting 0600");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| unavailable(format!("cannot restrict permissions: {e}")))?;
        }
        drop(file);
        let conn = Connection::open(path).map_err(|e| unavailable(e.to_string()))?;
        configure(&conn).map_err(|e| unavailable(e.to_string()))?;
        let store = SqliteStore {
            pool: Mutex::new(Pool {
                idle: vec![conn],
                open: 1,
            }),
            returned: Condvar::new(),
            path: path.to_path_buf(),
        };
        schema::migrate(&store)?;
        Ok(store)
    }

    /// Open the keystore at `path` only if the file is already there: a mistyped path
    /// must not become a fresh, empty keystore.
    pub fn open_existing(path: &Path) -> Result<SqliteStore, KeystoreError> {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => SqliteStore::open(path),
            _ => Err(KeystoreError::Missing {
                path: path.display().to_string(),
            }),
        }
    }

    /// The file this keystore lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A connection: an idle one, a new one while fewer than `MAX_CONNECTIONS` exist,
    /// else the next one returned.
    fn lease(&self) -> Result<Lease<'_>, KeystoreError> {
        let mut pool = relock(&self.pool);
        loop {
            if let Some(conn) = pool.idle.pop() {
                return Ok(Lease {
                    store: self,
                    conn: Some(conn),
                });
            }
            if pool.open < MAX_CONNECTIONS {
                pool.open += 1;
                drop(pool);
                let opened = Connection::open(&self.path)
                    .and_then(|conn| configure(&conn).map(|()| conn))
                    .map_err(|e| self.db_error(e));
                if opened.is_err() {
                    relock(&self.pool).open -= 1;
                }
                return opened.map(|conn| Lease {
                    store: self,
                    conn: Some(conn),
                });
            }
            pool = self
                .returned
                .wait(pool)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Run `f` on a connection (reads).
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, KeystoreError> {
        let conn = self.lease()?;
        f(&conn).map_err(|e| self.db_error(e))
    }

    /// Run `f` inside `BEGIN IMMEDIATE … COMMIT`; any error rolls everything back.
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, KeystoreError>,
    ) -> Result<T, KeystoreError> {
        let mut conn = self.lease()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db_error(e))?;
        let value = f(&tx)?;
        tx.commit().map_err(|e| self.db_error(e))?;
        Ok(value)
    }

    fn db_error(&self, e: rusqlite::Error) -> KeystoreError {
        KeystoreError::Unavailable {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        }
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // busy_timeout first: switching to WAL needs a lock another process may hold.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    enable_wal(conn)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    Ok(())
}

/// Switch to WAL. SQLite answers this switch with SQLITE_BUSY without calling the busy
/// handler when another connection is switching the same new file at once, so retry
/// until `BUSY_TIMEOUT` as the busy handler would.
fn enable_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            done => return done,
        }
    }
}

/// Map a SQLite error inside a write transaction to the keystore error of `store`.
fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> KeystoreError + '_ {
    move |e| KeystoreError::Unavailable {
        path: path.display().to_string(),
        reason: e.to_string(),
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
    use super::SqliteStore;

    /// A keystore in a fresh temp dir (kept alive by the returned guard).
    pub fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("vibn/keystore.db")).expect("open keystore");
        (dir, store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_is_0600_in_a_0700_directory_with_wal_and_shm_too() {
        let (dir, store) = testutil::store();
        store.read(|c| c.execute_batch("SELECT 1")).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("vibn")), 0o700);
        assert_eq!(mode(store.path()), 0o600);
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", store.path().display()));
            assert!(side.exists(), "{suffix} missing");
            assert_eq!(mode(&side), 0o600, "{suffix}");
        }
    }

    #[test]
    fn processes_opening_a_new_keystore_at_once_all_succeed() {
        // SQLite answers a concurrent switch to WAL with SQLITE_BUSY without calling
        // the busy handler; every opener must still get a working keystore.
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("vibn/keystore.db");
            let start = std::sync::Barrier::new(4);
            std::thread::scope(|s| {
                let openers: Vec<_> = (0..4)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            SqliteStore::open(&path).map(|_| ())
                        })
                    })
                    .collect();
                for opener in openers {
                    let opened = opener.join().expect("opener thread");
                    assert!(opened.is_ok(), "{opened:?}");
                }
            });
        }
    }

    #[test]
    fn pragmas_are_in_effect() {
        let (_dir, store) = testutil::store();
        let get = |name: &str| -> String {
            store
                .read(|c| {
                    c.pragma_query_value(None, name, |r| r.get::<_, rusqlite::types::Value>(0))
                })
                .map(|v| match v {
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    other => format!("{other:?}"),
                })
                .unwrap()
        };
        assert_eq!(get("journal_mode"), "wal");
        assert_eq!(get("synchronous"), "2");
        assert_eq!(get("foreign_keys"), "1");
        assert_eq!(get("secure_delete"), "1");
        assert_eq!(get("busy_timeout"), BUSY_TIMEOUT.as_millis().to_string());
    }

    #[test]
    fn a_world_readable_file_is_tightened_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ks.db");
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        SqliteStore::open(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn ids_are_random_and_prefixed() {
        let a = new_id("ws");
        assert!(a.starts_with("ws_") && a.len() == 19, "{a}");
        assert_ne!(a, new_id("ws"));
    }
}

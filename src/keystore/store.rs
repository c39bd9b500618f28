//! `Store`: an open keystore — an embedded SQLite file or a PostgreSQL database, as
//! its `Location` says — with a small pool of connections, and the read and write
//! transactions every keystore module runs its queries in (through `db::Conn`). The
//! SQLite file is prepared private (0600 in a 0700 folder) and configured (busy
//! timeout, WAL, `synchronous=FULL`, foreign keys, secure delete) before first use.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

use super::db::{Conn, RawConn};
use super::location::Location;
use super::pg::{self, PgConn};
use super::{BUSY_TIMEOUT, KeystoreError, schema};

/// Connections one process keeps open at most (WAL lets readers run beside the one
/// writer; more would only queue on SQLite's own lock, or on the writers' advisory lock
/// in PostgreSQL).
pub const MAX_CONNECTIONS: usize = 4;

/// An open keystore — an embedded SQLite file or a PostgreSQL database, chosen by its
/// `Location` — with a small pool of connections.
pub struct Store {
    pool: Mutex<Pool>,
    returned: Condvar,
    location: Location,
    /// The location as messages show it (a URL's password redacted).
    shown: String,
}

/// Idle connections, and how many exist in all.
struct Pool {
    idle: Vec<RawConn>,
    open: usize,
}

/// A connection checked out of the pool; back in it when dropped (unless it broke).
struct Lease<'a> {
    store: &'a Store,
    conn: Option<RawConn>,
}

impl Lease<'_> {
    fn conn(&self) -> Conn<'_> {
        Conn::new(
            self.conn
                .as_ref()
                .unwrap_or_else(|| unreachable!("a lease holds its connection")),
            &self.store.shown,
        )
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let broken = match &conn {
                RawConn::Sqlite(_) => false,
                // Closed by the server, or left inside a transaction by a panic: never reuse.
                RawConn::Postgres(pg) => pg.is_closed() || pg.in_transaction.load(Relaxed),
            };
            let mut pool = relock(&self.store.pool);
            if broken {
                pool.open -= 1;
            } else {
                pool.idle.push(conn);
            }
            drop(pool);
            self.store.returned.notify_one();
        }
    }
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.shown)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Open (creating if needed) the keystore `path` names — a SQLite file, or a
    /// `postgres://` URL — and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Store, KeystoreError> {
        let location = Location::of(path);
        let shown = location.to_string();
        let unavailable = |reason: String| KeystoreError::Unavailable {
            path: shown.clone(),
            reason,
        };
        let first = match &location {
            Location::Sqlite(path) => {
                prepare_file(path).map_err(unavailable)?;
                let conn = Connection::open(path).map_err(|e| unavailable(e.to_string()))?;
                configure(&conn).map_err(|e| unavailable(e.to_string()))?;
                RawConn::Sqlite(conn)
            }
            Location::Postgres { url, redacted } => {
                RawConn::Postgres(PgConn::connect(url, redacted).map_err(unavailable)?)
            }
        };
        let store = Store {
            pool: Mutex::new(Pool {
                idle: vec![first],
                open: 1,
            }),
            returned: Condvar::new(),
            shown: shown.clone(),
            location,
        };
        schema::migrate(&store)?;
        Ok(store)
    }

    /// Open the keystore only if it is already there: a mistyped path or URL must not
    /// become a fresh, empty keystore. For SQLite the file must exist; for PostgreSQL
    /// the database must already hold the keystore's schema.
    pub fn open_existing(path: &Path) -> Result<Store, KeystoreError> {
        let location = Location::of(path);
        let missing = || KeystoreError::Missing {
            path: location.to_string(),
        };
        match &location {
            Location::Sqlite(file) => match std::fs::metadata(file) {
                Ok(meta) if meta.is_file() && meta.len() > 0 => Store::open(path),
                // An empty file is not a keystore: opening it would make one there.
                _ => Err(missing()),
            },
            Location::Postgres { url, redacted } => {
                let raw = RawConn::Postgres(PgConn::connect(url, redacted).map_err(|reason| {
                    KeystoreError::Unavailable {
                        path: redacted.clone(),
                        reason,
                    }
                })?);
                if !Conn::new(&raw, redacted).has_table("schema_migrations")? {
                    return Err(missing());
                }
                drop(raw);
                Store::open(path)
            }
        }
    }

    /// The path this keystore was opened with (a URL for PostgreSQL, password included:
    /// pass it on to open the same keystore, never print it — print `location()`).
    pub fn path(&self) -> &Path {
        match &self.location {
            Location::Sqlite(path) => path,
            Location::Postgres { url, .. } => Path::new(url),
        }
    }

    /// Where this keystore lives.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The SQLite file, when this keystore is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.location {
            Location::Sqlite(path) => Some(path),
            Location::Postgres { .. } => None,
        }
    }

    /// A connection: an idle one, a new one while fewer than `MAX_CONNECTIONS` exist,
    /// else the next one returned.
    fn lease(&self) -> Result<Lease<'_>, KeystoreError> {
        let mut pool = relock(&self.pool);
        loop {
            if let Some(conn) = pool.idle.pop() {
                if matches!(&conn, RawConn::Postgres(pg) if pg.is_closed()) {
                    pool.open -= 1; // the server went away: reconnect below
                    continue;
                }
                return Ok(Lease {
                    store: self,
                    conn: Some(conn),
                });
            }
            if pool.open < MAX_CONNECTIONS {
                pool.open += 1;
                drop(pool);
                let opened = self.connect();
                if opened.is_err() {
                    relock(&self.pool).open -= 1;
                    self.returned.notify_one();
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

    fn connect(&self) -> Result<RawConn, KeystoreError> {
        let unavailable = |reason: String| KeystoreError::Unavailable {
            path: self.shown.clone(),
            reason,
        };
        match &self.location {
            Location::Sqlite(path) => Connection::open(path)
                .and_then(|conn| configure(&conn).map(|()| conn))
                .map(RawConn::Sqlite)
                .map_err(|e| unavailable(e.to_string())),
            Location::Postgres { url, redacted } => PgConn::connect(url, redacted)
                .map(RawConn::Postgres)
                .map_err(unavailable),
        }
    }

    /// Run `f` on a connection (reads, outside any transaction).
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&Conn<'_>) -> Result<T, KeystoreError>,
    ) -> Result<T, KeystoreError> {
        let lease = self.lease()?;
        f(&lease.conn())
    }

    /// Run `f` inside one write transaction; any error rolls everything back. SQLite:
    /// `BEGIN IMMEDIATE`. PostgreSQL: `BEGIN` and the writers' advisory lock, so writes
    /// are serialized across replicas as SQLite serializes them across processes.
    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&Conn<'_>) -> Result<T, KeystoreError>,
    ) -> Result<T, KeystoreError> {
        let mut lease = self.lease()?;
        match lease.conn.as_mut() {
            Some(RawConn::Sqlite(conn)) => {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| self.db_error(e))?;
                // `Transaction` derefs to the connection it runs on.
                let value = f(&Conn::sqlite_conn(&tx, &self.shown))?;
                tx.commit().map_err(|e| self.db_error(e))?;
                Ok(value)
            }
            Some(RawConn::Postgres(pg)) => {
                let fail = |reason: String| KeystoreError::Unavailable {
                    path: self.shown.clone(),
                    reason,
                };
                pg.in_transaction.store(true, Relaxed);
                pg.batch(&format!(
                    "BEGIN; SELECT pg_advisory_xact_lock({})",
                    pg::WRITE_LOCK
                ))
                .map_err(fail)?;
                let value = f(&lease.conn());
                let RawConn::Postgres(pg) = lease.conn.as_ref().unwrap_or_else(|| unreachable!())
                else {
                    unreachable!("the lease still holds its PostgreSQL connection")
                };
                let end = if value.is_ok() { "COMMIT" } else { "ROLLBACK" };
                let ended = pg.batch(end);
                if ended.is_ok() {
                    pg.in_transaction.store(false, Relaxed);
                }
                let value = value?;
                ended.map_err(fail)?;
                Ok(value)
            }
            None => unreachable!("a lease holds its connection"),
        }
    }

    fn db_error(&self, e: rusqlite::Error) -> KeystoreError {
        KeystoreError::Unavailable {
            path: self.shown.clone(),
            reason: e.to_string(),
        }
    }
}

/// Create the SQLite file's directory 0700 and the file 0600 (tightening a file others
/// could read) before SQLite first opens it: its -wal and -shm copy the file's mode.
fn prepare_file(path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    // A file that is already there must be a SQLite database before anything of it changes
    // (a mistyped path may name any file the user owns).
    if meta.len() > 0 && !is_sqlite(&mut file) {
        return Err(
            "it is not a vibn keystore (not a SQLite database); nothing was changed".into(),
        );
    }
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(path = %path.display(), "keystore was readable by others; setting 0600");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot restrict permissions: {e}"))?;
    }
    Ok(())
}

/// Whether `file` starts with SQLite's 16-byte header string.
fn is_sqlite(file: &mut std::fs::File) -> bool {
    let mut header = [0u8; 16];
    file.read_exact(&mut header).is_ok() && &header == b"SQLite format 3\0"
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

#[cfg(test)]
impl Store {
    /// The first column of the first row `sql` answers (tests look inside with it).
    pub(crate) fn test_value<T: super::db::FromValue>(
        &self,
        sql: &str,
        params: &[super::db::Value],
    ) -> Result<T, KeystoreError> {
        self.read(|c| c.query_one(sql, params)?.get(0))
    }

    /// Run one statement outside the keystore's own code (tests tamper with it).
    pub(crate) fn test_execute(
        &self,
        sql: &str,
        params: &[super::db::Value],
    ) -> Result<u64, KeystoreError> {
        self.read(|c| c.execute(sql, params))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;

    #[test]
    fn file_is_0600_in_a_0700_directory_with_wal_and_shm_too() {
        let (dir, store) = testutil::store();
        store.read(|c| c.batch("SELECT 1")).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("vibn")), 0o700);
        assert_eq!(mode(store.path()), 0o600);
        for suffix in ["-wal", "-shm"] {
            let side = std::path::PathBuf::from(format!("{}{suffix}", store.path().display()));
            assert!(side.exists(), "{suffix} missing");
            assert_eq!(mode(&side), 0o600, "{suffix}");
        }
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "not a database\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        for opened in [Store::open(&path), Store::open_existing(&path)] {
            let err = opened.unwrap_err().to_string();
            assert!(err.contains("not a vibn keystore"), "{err}");
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a database\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "its permissions were changed");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "files were added"
        );
    }

    #[test]
    fn an_empty_file_is_not_an_existing_keystore() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.db");
        std::fs::write(&path, "").unwrap();
        assert!(matches!(
            Store::open_existing(&path),
            Err(KeystoreError::Missing { .. })
        ));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
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
                            Store::open(&path).map(|_| ())
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
                    c.sqlite()
                        .expect("a SQLite keystore")
                        .pragma_query_value(None, name, |r| r.get::<_, rusqlite::types::Value>(0))
                        .map_err(|e| KeystoreError::Invalid(e.to_string()))
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
    fn postgres_sessions_wait_like_sqlite_and_commit_durably() {
        let Some(url) = testutil::postgres_url() else {
            return;
        };
        let store = Store::open(Path::new(&url)).unwrap();
        let setting = |name: &str| -> String {
            store
                .test_value(
                    "SELECT current_setting(?1)",
                    crate::keystore::db::params![name],
                )
                .unwrap()
        };
        assert_eq!(setting("lock_timeout"), "10s");
        assert_eq!(setting("synchronous_commit"), "on");
    }

    #[test]
    fn postgres_writers_take_turns_across_replicas() {
        // A read-then-write (here: the next PRD version) from many handles at once
        // never loses an update: the writers' advisory lock serializes them.
        let Some(url) = testutil::postgres_url() else {
            return;
        };
        let handles: Vec<Store> = (0..4)
            .map(|_| Store::open(Path::new(&url)).unwrap())
            .collect();
        std::thread::scope(|s| {
            for store in &handles {
                s.spawn(move || {
                    for i in 0..5 {
                        store
                            .finalize_prd("local", None, "site", &format!("v{i}"), None)
                            .unwrap();
                    }
                });
            }
        });
        let (_, versions) = handles[0].get_prd("local", "site", None).unwrap().unwrap();
        assert_eq!(versions, (1..=20).collect::<Vec<u32>>());
    }

    #[test]
    fn a_postgres_url_demanding_tls_is_refused_clearly() {
        // The driver runs without TLS: a URL that requires it must fail, never fall
        // back to plain text.
        let Some(url) = testutil::postgres_url() else {
            return;
        };
        let err = Store::open(Path::new(&format!("{url}?sslmode=require"))).unwrap_err();
        assert!(matches!(err, KeystoreError::Unavailable { .. }), "{err:?}");
        assert!(err.to_string().to_lowercase().contains("tls"), "{err}");
    }

    #[test]
    fn an_unreachable_postgres_is_unavailable_and_its_password_never_shown() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("postgres://vibn:hunter2-secret@127.0.0.1:{port}/ks");
        let err = Store::open(Path::new(&url)).unwrap_err();
        assert!(matches!(err, KeystoreError::Unavailable { .. }), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("vibn:***@127.0.0.1"), "{text}");
    }

    #[test]
    fn a_world_readable_file_is_tightened_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ks.db");
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        Store::open(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

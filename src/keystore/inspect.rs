//! A read-only look at a keystore for `vibn doctor`: its backend, the file's
//! permissions (SQLite), schema version, workspaces and whether a secrets key matches
//! its key-check rows. Nothing is created, migrated or recorded: a diagnosis must not
//! change what it diagnoses (SQLite opens the file read-only; PostgreSQL runs with
//! `default_transaction_read_only`).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::db::{Conn, RawConn};
use super::location::Location;
use super::pg::PgConn;
use super::secret_box::Keyring;
use super::secrets::{KeyMatch, key_match, keycheck_rows};
use super::{KeystoreError, schema};

/// What a keystore looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The file's permission bits (SQLite only).
    pub file_mode: Option<u32>,
    /// Its folder's permission bits (SQLite only).
    pub dir_mode: Option<u32>,
    /// The migrations applied (`PRAGMA user_version`, or the newest `schema_migrations`
    /// row in PostgreSQL).
    pub schema_version: i64,
    /// The version this vibn migrates to.
    pub latest_version: i64,
    /// Workspaces recorded (when the schema has them).
    pub workspaces: Option<i64>,
    /// How the given keyring matches the key-check rows (when one was given and the
    /// schema has them).
    pub key: Option<KeyMatch>,
}

/// Inspect the keystore `path` names (a file, or a `postgres://` URL) without writing.
pub fn inspect(path: &Path, ring: Option<&Keyring>) -> Result<Inspection, KeystoreError> {
    let location = Location::of(path);
    let shown = location.to_string();
    let unavailable = |reason: String| KeystoreError::Unavailable {
        path: shown.clone(),
        reason,
    };
    let missing = || KeystoreError::Missing {
        path: shown.clone(),
    };
    match &location {
        Location::Sqlite(file) => {
            let meta = match std::fs::metadata(file) {
                Ok(meta) if meta.is_file() => meta,
                Ok(_) => return Err(unavailable("not a regular file".into())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
                Err(e) => return Err(unavailable(e.to_string())),
            };
            let dir_mode = file
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .and_then(|d| std::fs::metadata(d).ok())
                .map(|m| m.permissions().mode() & 0o7777);
            let conn = Connection::open_with_flags(
                file,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| unavailable(e.to_string()))?;
            let mut seen = look(&Conn::sqlite_conn(&conn, &shown), ring)?;
            seen.file_mode = Some(meta.permissions().mode() & 0o7777);
            seen.dir_mode = dir_mode;
            Ok(seen)
        }
        Location::Postgres { url, redacted } => {
            let pg = PgConn::connect(url, redacted).map_err(unavailable)?;
            pg.batch("SET default_transaction_read_only = on")
                .map_err(unavailable)?;
            let raw = RawConn::Postgres(pg);
            let conn = Conn::new(&raw, redacted);
            if !conn.has_table("schema_migrations")? {
                return Err(missing());
            }
            look(&conn, ring)
        }
    }
}

/// What every backend answers alike.
fn look(conn: &Conn<'_>, ring: Option<&Keyring>) -> Result<Inspection, KeystoreError> {
    let schema_version = schema::current_version(conn)?;
    let workspaces = if conn.has_table("workspaces")? {
        Some(
            conn.query_one("SELECT count(*) FROM workspaces", super::db::params![])?
                .get(0)?,
        )
    } else {
        None
    };
    let key = match ring {
        Some(ring) if conn.has_table("secret_keys")? => {
            Some(key_match(&keycheck_rows(conn)?, ring))
        }
        Some(_) => Some(KeyMatch::NotRecorded),
        None => None,
    };
    Ok(Inspection {
        backend: match conn.dialect() {
            super::db::Dialect::Sqlite => "sqlite",
            super::db::Dialect::Postgres => "postgres",
        },
        file_mode: None,
        dir_mode: None,
        schema_version,
        latest_version: schema::latest_version(),
        workspaces,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystore::SecretKey;
    use crate::keystore::testutil;

    fn ring() -> Keyring {
        let key = SecretKey::parse("K", &SecretKey::generate_base64()).unwrap();
        Keyring::new(key, None)
    }

    #[test]
    fn a_fresh_keystore_is_current_private_and_unrecorded() {
        testutil::each(|store| {
            let seen = inspect(store.path(), Some(&ring())).unwrap();
            assert_eq!(seen.backend, store.location().backend());
            assert_eq!(seen.schema_version, seen.latest_version);
            assert_eq!(seen.file_mode.is_some(), store.sqlite_path().is_some());
            assert_eq!(seen.file_mode.unwrap_or(0) & 0o077, 0);
            assert_eq!(seen.workspaces, Some(0));
            assert_eq!(seen.key, Some(KeyMatch::NotRecorded));
        });
    }

    #[test]
    fn the_recorded_key_matches_and_another_does_not() {
        testutil::each(|store| {
            let recorded = ring();
            store.check_keyring(&recorded).unwrap();
            let seen = inspect(store.path(), Some(&recorded)).unwrap();
            assert_eq!(seen.key, Some(KeyMatch::Current));
            let seen = inspect(store.path(), Some(&ring())).unwrap();
            assert!(matches!(seen.key, Some(KeyMatch::Mismatch { .. })));
        });
    }

    #[test]
    fn inspecting_writes_nothing() {
        testutil::each(|store| {
            let before = store.sqlite_path().map(|p| std::fs::read(p).unwrap());
            let key = ring();
            inspect(store.path(), Some(&key)).unwrap();
            assert_eq!(
                store.sqlite_path().map(|p| std::fs::read(p).unwrap()),
                before
            );
            assert_eq!(
                inspect(store.path(), Some(&key)).unwrap().key,
                Some(KeyMatch::NotRecorded),
                "the key was not recorded by the first look"
            );
        });
    }

    #[test]
    fn a_postgres_database_without_the_schema_is_missing_and_left_empty() {
        let Some(url) = testutil::postgres_url() else {
            return;
        };
        let path = std::path::Path::new(&url);
        assert!(matches!(
            inspect(path, None),
            Err(KeystoreError::Missing { .. })
        ));
        assert!(matches!(
            crate::keystore::Store::open_existing(path),
            Err(KeystoreError::Missing { .. })
        ));
        // Neither look created anything: opening it for real now migrates from zero.
        let store = crate::keystore::Store::open(path).unwrap();
        let applied: i64 = store
            .test_value(
                "SELECT min(version) FROM schema_migrations",
                crate::keystore::db::params![],
            )
            .unwrap();
        assert_eq!(applied, 1);
        assert!(crate::keystore::Store::open_existing(path).is_ok());
    }

    #[test]
    fn a_missing_file_is_reported_missing_and_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.db");
        assert!(matches!(
            inspect(&path, None),
            Err(KeystoreError::Missing { .. })
        ));
        assert!(!path.exists());
    }
}

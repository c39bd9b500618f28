//! A read-only look at a keystore file for `vibn doctor`: its permissions, schema
//! version, workspaces and whether a secrets key matches its key-check rows. Nothing is
//! created, migrated or recorded: a diagnosis must not change what it diagnoses.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::secret_box::Keyring;
use super::secrets::{KeyMatch, key_match};
use super::{KeystoreError, schema};

/// What a keystore file looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The file's permission bits.
    pub file_mode: u32,
    /// Its folder's permission bits.
    pub dir_mode: Option<u32>,
    /// `PRAGMA user_version`: the migrations applied.
    pub schema_version: i64,
    /// The version this vibn migrates to.
    pub latest_version: i64,
    /// Workspaces recorded (when the schema has them).
    pub workspaces: Option<i64>,
    /// How the given keyring matches the key-check rows (when one was given and the
    /// schema has them).
    pub key: Option<KeyMatch>,
}

/// Inspect the keystore at `path` without writing to it.
pub fn inspect(path: &Path, ring: Option<&Keyring>) -> Result<Inspection, KeystoreError> {
    let unavailable = |reason: String| KeystoreError::Unavailable {
        path: path.display().to_string(),
        reason,
    };
    let meta = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => meta,
        Ok(_) => return Err(unavailable("not a regular file".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(KeystoreError::Missing {
                path: path.display().to_string(),
            });
        }
        Err(e) => return Err(unavailable(e.to_string())),
    };
    let dir_mode = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .and_then(|d| std::fs::metadata(d).ok())
        .map(|m| m.permissions().mode() & 0o7777);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| unavailable(e.to_string()))?;
    let read = |e: rusqlite::Error| unavailable(e.to_string());
    let schema_version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(read)?;
    let has_table = |name: &str| -> Result<bool, KeystoreError> {
        conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(read)
    };
    let workspaces = if has_table("workspaces")? {
        Some(
            conn.query_row("SELECT count(*) FROM workspaces", [], |r| r.get(0))
                .map_err(read)?,
        )
    } else {
        None
    };
    let key = match ring {
        Some(ring) if has_table("secret_keys")? => {
            let rows: Vec<(i64, Vec<u8>)> = conn
                .prepare("SELECT key_id, check_envelope FROM secret_keys")
                .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
                .map_err(read)?;
            Some(key_match(&rows, ring))
        }
        Some(_) => Some(KeyMatch::NotRecorded),
        None => None,
    };
    Ok(Inspection {
        file_mode: meta.permissions().mode() & 0o7777,
        dir_mode,
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
    use crate::keystore::testutil::store;

    fn ring() -> Keyring {
        let key = SecretKey::parse("K", &SecretKey::generate_base64()).unwrap();
        Keyring::new(key, None)
    }

    #[test]
    fn a_fresh_keystore_is_current_private_and_unrecorded() {
        let (_dir, store) = store();
        let seen = inspect(store.path(), Some(&ring())).unwrap();
        assert_eq!(seen.schema_version, seen.latest_version);
        assert_eq!(seen.file_mode & 0o077, 0);
        assert_eq!(seen.workspaces, Some(0));
        assert_eq!(seen.key, Some(KeyMatch::NotRecorded));
    }

    #[test]
    fn the_recorded_key_matches_and_another_does_not() {
        let (_dir, store) = store();
        let recorded = ring();
        store.check_keyring(&recorded).unwrap();
        let seen = inspect(store.path(), Some(&recorded)).unwrap();
        assert_eq!(seen.key, Some(KeyMatch::Current));
        let seen = inspect(store.path(), Some(&ring())).unwrap();
        assert!(matches!(seen.key, Some(KeyMatch::Mismatch { .. })));
    }

    #[test]
    fn inspecting_writes_nothing() {
        let (_dir, store) = store();
        let path = store.path().to_path_buf();
        let before = std::fs::read(&path).unwrap();
        let key = ring();
        inspect(&path, Some(&key)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(
            inspect(&path, Some(&key)).unwrap().key,
            Some(KeyMatch::NotRecorded),
            "the key was not recorded by the first look"
        );
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

//! Memory (key → content with tags) and finalized PRDs, each scoped to a workspace (or
//! the local operator scope) and, for memory, to a session.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::db::params;
use super::{KeystoreError, Store, new_id, now_ms};

/// Longest memory key.
pub const MAX_MEMORY_KEY: usize = 200;
/// Largest memory content.
pub const MAX_MEMORY_BYTES: usize = 64 * 1024;
/// Largest PRD.
pub const MAX_PRD_BYTES: usize = 1024 * 1024;

/// A stored memory.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Memory {
    /// Its key (unique within the scope and session).
    pub key: String,
    /// The text.
    pub content: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms of the last save.
    pub updated_at: i64,
}

/// One finalized version of a PRD.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PrdVersion {
    /// The project it belongs to.
    pub project: String,
    /// Version number, from 1.
    pub version: u32,
    /// The text (empty in listings).
    pub content: String,
    /// SHA-256 of the text, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Who finalized it (`cli`, a key hint).
    pub created_by: Option<String>,
    /// Unix ms.
    pub created_at: i64,
}

fn check_text(what: &str, value: &str, max: usize) -> Result<(), KeystoreError> {
    if value.trim().is_empty() {
        return Err(KeystoreError::Invalid(format!("{what} must not be empty")));
    }
    if value.len() > max {
        return Err(KeystoreError::Invalid(format!(
            "{what} is {} bytes; the limit is {max}",
            value.len()
        )));
    }
    Ok(())
}

fn check_name(what: &str, value: &str) -> Result<(), KeystoreError> {
    check_text(what, value, MAX_MEMORY_KEY)?;
    if value.chars().any(char::is_control) {
        return Err(KeystoreError::Invalid(format!("{what} must be printable")));
    }
    Ok(())
}

impl Store {
    /// Save (insert or replace) memory `key` in `scope`/`session`; true when created.
    pub fn save_memory(
        &self,
        scope: &str,
        session: &str,
        key: &str,
        content: &str,
        tags: &[String],
    ) -> Result<(Memory, bool), KeystoreError> {
        check_name("key", key)?;
        check_text("content", content, MAX_MEMORY_BYTES)?;
        let mut clean: Vec<String> = tags
            .iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        clean.sort();
        clean.dedup();
        if clean
            .iter()
            .any(|t| t.len() > 64 || t.chars().any(char::is_control))
        {
            return Err(KeystoreError::Invalid(
                "tags must be printable and at most 64 bytes".into(),
            ));
        }
        let tags_json = serde_json::to_string(&clean).unwrap_or_else(|_| "[]".into());
        let now = now_ms();
        self.write(|tx| {
            let existed: Option<i64> = tx
                .query_opt(
                    "SELECT created_at FROM memories \
                     WHERE scope = ?1 AND session_key = ?2 AND key = ?3",
                    params![scope, session, key],
                )?
                .map(|r| r.get(0))
                .transpose()?;
            tx.execute(
                "INSERT INTO memories (id, scope, session_key, key, content, tags, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) \
                 ON CONFLICT(scope, session_key, key) DO UPDATE SET \
                 content = excluded.content, tags = excluded.tags, updated_at = excluded.updated_at",
                params![new_id("mem"), scope, session, key, content, tags_json, now],
            )?;
            Ok((
                Memory {
                    key: key.to_string(),
                    content: content.to_string(),
                    tags: clean.clone(),
                    created_at: existed.unwrap_or(now),
                    updated_at: now,
                },
                existed.is_none(),
            ))
        })
    }

    /// Memories of `scope`/`session`, newest first, matching `query` (in key, content or
    /// tags, case-insensitive) and carrying `tag`.
    pub fn list_memory(
        &self,
        scope: &str,
        session: &str,
        query: Option<&str>,
        tag: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<Memory>, u64), KeystoreError> {
        // Case-insensitive the same way on both backends: ASCII letters fold.
        let pattern = query.map(|q| {
            format!(
                "%{}%",
                q.to_ascii_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
        self.read(|c| {
            let filter = format!(
                "scope = ?1 AND session_key = ?2 \
                 AND (CAST(?3 AS TEXT) IS NULL OR lower(key) LIKE ?3 ESCAPE '\\' \
                      OR lower(content) LIKE ?3 ESCAPE '\\' OR lower(tags) LIKE ?3 ESCAPE '\\') \
                 AND (CAST(?4 AS TEXT) IS NULL OR {})",
                c.dialect().json_array_contains("memories.tags", 4)
            );
            let total: i64 = c
                .query_one(
                    &format!("SELECT count(*) FROM memories WHERE {filter}"),
                    params![scope, session, pattern, tag],
                )?
                .get(0)?;
            let rows = c
                .query(
                    &format!(
                        "SELECT key, content, tags, created_at, updated_at FROM memories \
                         WHERE {filter} ORDER BY updated_at DESC, key LIMIT ?5"
                    ),
                    params![scope, session, pattern, tag, limit],
                )?
                .iter()
                .map(|r| {
                    let tags: String = r.get(2)?;
                    Ok(Memory {
                        key: r.get(0)?,
                        content: r.get(1)?,
                        tags: serde_json::from_str(&tags).unwrap_or_default(),
                        created_at: r.get(3)?,
                        updated_at: r.get(4)?,
                    })
                })
                .collect::<Result<Vec<_>, KeystoreError>>()?;
            Ok((rows, total as u64))
        })
    }

    /// Finalize a new version of `project`'s PRD in `scope`; earlier versions stay.
    pub fn finalize_prd(
        &self,
        scope: &str,
        workspace_id: Option<&str>,
        project: &str,
        content: &str,
        created_by: Option<&str>,
    ) -> Result<PrdVersion, KeystoreError> {
        check_name("project", project)?;
        check_text("content", content, MAX_PRD_BYTES)?;
        let now = now_ms();
        let sha256 = hex(&Sha256::digest(content.as_bytes()));
        self.write(|tx| {
            let latest: Option<i64> = tx
                .query_one(
                    "SELECT max(version) FROM projects WHERE scope = ?1 AND name = ?2",
                    params![scope, project],
                )?
                .get(0)?;
            let version = latest.unwrap_or(0) + 1;
            tx.execute(
                "INSERT INTO projects (id, workspace_id, scope, name, version, content, status, created_by, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'final', ?7, ?8)",
                params![new_id("prd"), workspace_id, scope, project, version, content, created_by, now],
            )?;
            Ok(PrdVersion {
                project: project.to_string(),
                version: version as u32,
                content: String::new(),
                sha256: sha256.clone(),
                bytes: content.len() as u64,
                created_by: created_by.map(str::to_string),
                created_at: now,
            })
        })
    }

    /// A PRD version (the latest when `version` is `None`) and every version number.
    pub fn get_prd(
        &self,
        scope: &str,
        project: &str,
        version: Option<u32>,
    ) -> Result<Option<(PrdVersion, Vec<u32>)>, KeystoreError> {
        self.read(|c| {
            let versions: Vec<u32> = c
                .query(
                    "SELECT version FROM projects WHERE scope = ?1 AND name = ?2 ORDER BY version",
                    params![scope, project],
                )?
                .iter()
                .map(|r| r.get::<i64>(0).map(|v| v as u32))
                .collect::<Result<_, KeystoreError>>()?;
            let wanted = match version.or(versions.last().copied()) {
                Some(v) => v,
                None => return Ok(None),
            };
            let found = c
                .query_opt(
                    "SELECT version, content, created_by, created_at FROM projects \
                     WHERE scope = ?1 AND name = ?2 AND version = ?3",
                    params![scope, project, wanted],
                )?
                .map(|r| -> Result<PrdVersion, KeystoreError> {
                    let content: String = r.get(1)?;
                    Ok(PrdVersion {
                        project: project.to_string(),
                        version: r.get::<i64>(0)? as u32,
                        sha256: hex(&Sha256::digest(content.as_bytes())),
                        bytes: content.len() as u64,
                        content,
                        created_by: r.get(2)?,
                        created_at: r.get(3)?,
                    })
                })
                .transpose()?;
            Ok(found.map(|prd| (prd, versions)))
        })
    }

    /// The PRD projects of `scope` with their latest version number.
    pub fn list_prd_projects(&self, scope: &str) -> Result<Vec<(String, u32)>, KeystoreError> {
        self.read(|c| {
            c.query(
                "SELECT name, max(version) FROM projects WHERE scope = ?1 \
                 GROUP BY name ORDER BY name",
                params![scope],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get::<i64>(1)? as u32)))
            .collect()
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn save_upserts_by_key_and_lists_newest_first() {
        testutil::each(|store| {
            let (_, created) = store
                .save_memory("ws_1", "", "stack", "Next.js + Postgres", &tags(&["arch"]))
                .unwrap();
            assert!(created);
            std::thread::sleep(std::time::Duration::from_millis(3));
            store
                .save_memory(
                    "ws_1",
                    "",
                    "deploy",
                    "Coolify app site",
                    &tags(&["ops", "arch"]),
                )
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(3));
            let (m, created) = store
                .save_memory("ws_1", "", "stack", "Next.js + SQLite", &tags(&["arch"]))
                .unwrap();
            assert!(!created);
            assert_eq!(m.content, "Next.js + SQLite");
            let (all, total) = store.list_memory("ws_1", "", None, None, 10).unwrap();
            assert_eq!(total, 2);
            assert_eq!(all[0].key, "stack", "the latest save comes first");
            assert_eq!(all[0].content, "Next.js + SQLite");
        });
    }

    #[test]
    fn list_searches_key_content_and_tags_and_filters_by_tag() {
        testutil::each(|store| {
            store
                .save_memory("ws_1", "", "a", "uses Postgres", &tags(&["db"]))
                .unwrap();
            store
                .save_memory("ws_1", "", "b", "uses Redis", &tags(&["cache"]))
                .unwrap();
            store
                .save_memory("ws_1", "", "postgres-notes", "x", &[])
                .unwrap();
            let keys = |q: Option<&str>, t: Option<&str>| -> Vec<String> {
                let mut k: Vec<String> = store
                    .list_memory("ws_1", "", q, t, 10)
                    .unwrap()
                    .0
                    .into_iter()
                    .map(|m| m.key)
                    .collect();
                k.sort();
                k
            };
            assert_eq!(keys(Some("POSTGRES"), None), ["a", "postgres-notes"]);
            assert_eq!(keys(None, Some("cache")), ["b"]);
            assert_eq!(keys(Some("cache"), None), ["b"], "tags are searched");
            assert_eq!(
                keys(Some("100%"), None),
                Vec::<String>::new(),
                "LIKE wildcards are literal"
            );
        });
    }

    #[test]
    fn scopes_and_sessions_are_separate() {
        testutil::each(|store| {
            store.save_memory("ws_1", "", "k", "one", &[]).unwrap();
            store.save_memory("ws_2", "", "k", "two", &[]).unwrap();
            store
                .save_memory("ws_1", "sess-a", "k", "three", &[])
                .unwrap();
            assert_eq!(
                store.list_memory("ws_1", "", None, None, 10).unwrap().0[0].content,
                "one"
            );
            assert_eq!(
                store.list_memory("ws_2", "", None, None, 10).unwrap().0[0].content,
                "two"
            );
            assert_eq!(
                store
                    .list_memory("ws_1", "sess-a", None, None, 10)
                    .unwrap()
                    .0[0]
                    .content,
                "three"
            );
        });
    }

    #[test]
    fn bad_memory_input_is_refused() {
        testutil::each(|store| {
            assert!(store.save_memory("s", "", "", "x", &[]).is_err());
            assert!(store.save_memory("s", "", "k", "  ", &[]).is_err());
            assert!(
                store
                    .save_memory("s", "", "k", &"x".repeat(MAX_MEMORY_BYTES + 1), &[])
                    .is_err()
            );
            assert!(store.save_memory("s", "", "k\n", "x", &[]).is_err());
            assert!(
                store
                    .list_memory("s", "", None, None, 10)
                    .unwrap()
                    .0
                    .is_empty()
            );
        });
    }

    #[test]
    fn prd_versions_increase_and_stay_immutable() {
        testutil::each(|store| {
            let v1 = store
                .finalize_prd("local", None, "site", "# PRD v1", Some("cli"))
                .unwrap();
            let v2 = store
                .finalize_prd("local", None, "site", "# PRD v2", Some("cli"))
                .unwrap();
            assert_eq!((v1.version, v2.version), (1, 2));
            let (latest, versions) = store.get_prd("local", "site", None).unwrap().unwrap();
            assert_eq!(latest.version, 2);
            assert_eq!(latest.content, "# PRD v2");
            assert_eq!(versions, [1, 2]);
            let (first, _) = store.get_prd("local", "site", Some(1)).unwrap().unwrap();
            assert_eq!(first.content, "# PRD v1");
            assert!(store.get_prd("local", "site", Some(3)).unwrap().is_none());
            assert!(store.get_prd("other", "site", None).unwrap().is_none());
            let tampered = store.test_execute("UPDATE projects SET content = 'hacked'", params![]);
            assert!(
                tampered.is_err(),
                "the database refuses to change a finalized version"
            );
            let deleted = store.test_execute("DELETE FROM projects", params![]);
            assert!(deleted.is_err(), "nor to delete one");
            assert_eq!(
                store
                    .get_prd("local", "site", Some(1))
                    .unwrap()
                    .unwrap()
                    .0
                    .content,
                "# PRD v1"
            );
            assert_eq!(
                store.list_prd_projects("local").unwrap(),
                [("site".to_string(), 2)]
            );
        });
    }
}

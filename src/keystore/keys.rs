//! Workspace API keys (`vibn_sk_`) and admin org tokens (`vibn_at_`): mint (plaintext
//! returned once), list (hints only), revoke (idempotent) and validate.
//!
//! Validation answers found / not found / database error. Malformed, bad checksum,
//! unknown, revoked, expired and wrong-workspace are all the same "not found", so the
//! caller can only give one identical 401; a database failure is an error (503).

use secrecy::SecretString;
use serde::Serialize;

use super::db::{Row, params};
use super::tokens::{self, TokenKind};
use super::workspaces::{WORKSPACE_COLUMNS, Workspace, workspace_from_row};
use super::{KeystoreError, Store, new_id, now_ms};

/// `last_used_at` is written at most this often per key (ms).
pub const LAST_USED_INTERVAL_MS: i64 = 30_000;
/// Longest key name.
pub const MAX_NAME_LEN: usize = 100;

/// A key or token as listed: never the hash, never the plaintext.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeyRecord {
    /// The id used to revoke it.
    pub id: String,
    /// The label given at mint time.
    pub name: String,
    /// Prefix plus the first 8 random characters.
    pub hint: String,
    /// Who minted it: `cli` or `org-token:<hint>`.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms of the last use (updated at most every 30 s).
    pub last_used_at: Option<i64>,
    /// Unix ms after which it stops working.
    pub expires_at: Option<i64>,
    /// Unix ms of revocation.
    pub revoked_at: Option<i64>,
}

/// A freshly minted key: its record and the plaintext, which exists only here.
pub struct MintedKey {
    /// What is stored.
    pub record: KeyRecord,
    /// The token; show it once.
    pub token: SecretString,
}

/// The outcome of an idempotent revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked by this call.
    Now,
    /// It was already revoked.
    Already,
}

/// A valid workspace key and the workspace it is pinned to.
#[derive(Debug, Clone)]
pub struct ValidWorkspaceKey {
    /// The key's id.
    pub key_id: String,
    /// The key's display hint (safe to log).
    pub hint: String,
    /// The workspace.
    pub workspace: Workspace,
}

/// A valid admin token.
#[derive(Debug, Clone)]
pub struct ValidAdminToken {
    /// The token's id.
    pub token_id: String,
    /// The token's display hint (safe to log).
    pub hint: String,
}

const RECORD_COLUMNS: &str =
    "k.id, k.name, k.hint, k.created_by, k.created_at, k.last_used_at, k.expires_at, k.revoked_at";

fn record_from_row(row: &Row) -> Result<KeyRecord, KeystoreError> {
    Ok(KeyRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        hint: row.get(2)?,
        created_by: row.get(3)?,
        created_at: row.get(4)?,
        last_used_at: row.get(5)?,
        expires_at: row.get(6)?,
        revoked_at: row.get(7)?,
    })
}

fn check_name(name: &str) -> Result<String, KeystoreError> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(KeystoreError::Invalid(format!(
            "a key name must be 1 to {MAX_NAME_LEN} printable characters"
        )));
    }
    Ok(name.to_string())
}

/// A fresh token of `kind` and the record that will describe it.
fn new_key(
    kind: TokenKind,
    id_prefix: &str,
    name: String,
    expires_at: Option<i64>,
    created_by: &str,
) -> (KeyRecord, tokens::Minted) {
    let minted = tokens::mint(kind);
    let record = KeyRecord {
        id: new_id(id_prefix),
        name,
        hint: minted.hint.clone(),
        created_by: created_by.to_string(),
        created_at: now_ms(),
        last_used_at: None,
        expires_at,
        revoked_at: None,
    };
    (record, minted)
}

fn live(expires_at: Option<i64>, revoked_at: Option<i64>, now: i64) -> bool {
    revoked_at.is_none() && expires_at.is_none_or(|at| at > now)
}

impl Store {
    /// Mint a workspace key for `slug`; the plaintext is returned once.
    pub fn mint_workspace_key(
        &self,
        slug: &str,
        name: &str,
        expires_at: Option<i64>,
        created_by: &str,
    ) -> Result<MintedKey, KeystoreError> {
        let name = check_name(name)?;
        let workspace = self.require_workspace(slug)?;
        let (record, minted) =
            new_key(TokenKind::WorkspaceKey, "key", name, expires_at, created_by);
        self.write(|tx| {
            tx.execute(
                "INSERT INTO api_keys (id, workspace_id, token_hash, hint, name, created_by, \
                 created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    record.id,
                    workspace.id,
                    minted.hash.as_slice(),
                    record.hint,
                    record.name,
                    record.created_by,
                    record.created_at,
                    record.expires_at
                ],
            )
        })?;
        Ok(MintedKey {
            record,
            token: minted.token,
        })
    }

    /// Every key of `slug`, newest first (revoked ones included, marked).
    pub fn list_workspace_keys(&self, slug: &str) -> Result<Vec<KeyRecord>, KeystoreError> {
        let workspace = self.require_workspace(slug)?;
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM api_keys k WHERE k.workspace_id = ?1 \
                     ORDER BY k.created_at DESC, k.id"
                ),
                params![workspace.id],
            )?
            .iter()
            .map(record_from_row)
            .collect()
        })
    }

    /// Revoke key `key_id` of `slug`; a key of another workspace is "not found".
    pub fn revoke_workspace_key(&self, slug: &str, key_id: &str) -> Result<Revoked, KeystoreError> {
        let workspace = self.require_workspace(slug)?;
        self.revoke_row(
            "api_keys",
            key_id,
            Some(&workspace.id),
            format!("key {key_id:?} in workspace {slug:?}"),
        )
    }

    /// Validate a workspace key, optionally requiring it to belong to `expected_slug`.
    pub fn validate_workspace_key(
        &self,
        token: &str,
        expected_slug: Option<&str>,
    ) -> Result<Option<ValidWorkspaceKey>, KeystoreError> {
        if !tokens::is_well_formed(TokenKind::WorkspaceKey, token) {
            return Ok(None);
        }
        let hash = tokens::hash(token);
        let now = now_ms();
        let found = self.read(|c| {
            c.query_opt(
                &format!(
                    "SELECT k.id, k.hint, k.expires_at, k.revoked_at, k.last_used_at, \
                     {WORKSPACE_COLUMNS} \
                     FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id \
                     JOIN users u ON u.id = w.owner_user_id \
                     WHERE k.token_hash = ?1"
                ),
                params![hash.as_slice()],
            )?
            .map(|r| -> Result<_, KeystoreError> {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<String>(1)?,
                    r.get::<Option<i64>>(2)?,
                    r.get::<Option<i64>>(3)?,
                    r.get::<Option<i64>>(4)?,
                    workspace_from_row(&r, 5)?,
                ))
            })
            .transpose()
        })?;
        let Some((key_id, hint, expires_at, revoked_at, last_used, workspace)) = found else {
            return Ok(None);
        };
        if !live(expires_at, revoked_at, now)
            || expected_slug.is_some_and(|slug| slug != workspace.slug)
        {
            return Ok(None);
        }
        self.touch("api_keys", &key_id, last_used, now);
        Ok(Some(ValidWorkspaceKey {
            key_id,
            hint,
            workspace,
        }))
    }

    /// Mint an admin org token; the plaintext is returned once.
    pub fn mint_admin_token(
        &self,
        name: &str,
        expires_at: Option<i64>,
        created_by: &str,
    ) -> Result<MintedKey, KeystoreError> {
        let name = check_name(name)?;
        let (record, minted) = new_key(TokenKind::AdminToken, "at", name, expires_at, created_by);
        self.write(|tx| {
            tx.execute(
                "INSERT INTO org_tokens (id, token_hash, hint, name, created_by, created_at, \
                 expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    record.id,
                    minted.hash.as_slice(),
                    record.hint,
                    record.name,
                    record.created_by,
                    record.created_at,
                    record.expires_at
                ],
            )
        })?;
        Ok(MintedKey {
            record,
            token: minted.token,
        })
    }

    /// Every admin token, newest first.
    pub fn list_admin_tokens(&self) -> Result<Vec<KeyRecord>, KeystoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM org_tokens k ORDER BY k.created_at DESC, k.id"
                ),
                params![],
            )?
            .iter()
            .map(record_from_row)
            .collect()
        })
    }

    /// Revoke admin token `id` (idempotent).
    pub fn revoke_admin_token(&self, id: &str) -> Result<Revoked, KeystoreError> {
        self.revoke_row("org_tokens", id, None, format!("org token {id:?}"))
    }

    /// Validate an admin org token.
    pub fn validate_admin_token(
        &self,
        token: &str,
    ) -> Result<Option<ValidAdminToken>, KeystoreError> {
        if !tokens::is_well_formed(TokenKind::AdminToken, token) {
            return Ok(None);
        }
        let hash = tokens::hash(token);
        let now = now_ms();
        let found = self.read(|c| {
            c.query_opt(
                "SELECT id, hint, expires_at, revoked_at, last_used_at FROM org_tokens \
                 WHERE token_hash = ?1",
                params![hash.as_slice()],
            )?
            .map(|r| -> Result<_, KeystoreError> {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<String>(1)?,
                    r.get::<Option<i64>>(2)?,
                    r.get::<Option<i64>>(3)?,
                    r.get::<Option<i64>>(4)?,
                ))
            })
            .transpose()
        })?;
        let Some((token_id, hint, expires_at, revoked_at, last_used)) = found else {
            return Ok(None);
        };
        if !live(expires_at, revoked_at, now) {
            return Ok(None);
        }
        self.touch("org_tokens", &token_id, last_used, now);
        Ok(Some(ValidAdminToken { token_id, hint }))
    }

    /// Revoke row `id` of `table` (`api_keys` restricted to `workspace_id`, or
    /// `org_tokens`), idempotently; a row outside the restriction is `what` not found.
    fn revoke_row(
        &self,
        table: &'static str,
        id: &str,
        workspace_id: Option<&str>,
        what: String,
    ) -> Result<Revoked, KeystoreError> {
        self.write(|tx| {
            // org_tokens has no workspace column: restrict only when asked to.
            let restriction = if workspace_id.is_some() {
                "workspace_id = ?2"
            } else {
                "CAST(?2 AS TEXT) IS NULL"
            };
            let revoked_at: Option<Option<i64>> = tx
                .query_opt(
                    &format!("SELECT revoked_at FROM {table} WHERE id = ?1 AND {restriction}"),
                    params![id, workspace_id],
                )?
                .map(|r| r.get(0))
                .transpose()?;
            match revoked_at {
                None => Err(KeystoreError::NotFound { what }),
                Some(Some(_)) => Ok(Revoked::Already),
                Some(None) => {
                    tx.execute(
                        &format!("UPDATE {table} SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL"),
                        params![now_ms(), id],
                    )?;
                    Ok(Revoked::Now)
                }
            }
        })
    }

    /// Record a use, at most once per interval; a failure never fails the caller.
    fn touch(&self, table: &'static str, id: &str, last_used: Option<i64>, now: i64) {
        if last_used.is_some_and(|at| now - at < LAST_USED_INTERVAL_MS) {
            return;
        }
        // A write like any other: inside the write transaction, so it waits its turn behind
        // another process's writer instead of failing on a read lock it cannot upgrade.
        let result = self.write(|tx| {
            tx.execute(
                &format!(
                    "UPDATE {table} SET last_used_at = ?1 WHERE id = ?2 \
                     AND (last_used_at IS NULL OR last_used_at < ?3)"
                ),
                params![now, id, now - LAST_USED_INTERVAL_MS],
            )
        });
        if let Err(e) = result {
            tracing::warn!(table, id, "could not record last use: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::super::testutil;
    use super::*;

    fn ws(store: &Store, email: &str) -> String {
        store.create_workspace(email, None).unwrap().slug
    }

    #[test]
    fn a_minted_key_validates_to_its_workspace_and_stores_only_its_hash() {
        testutil::each(|store| {
            let slug = ws(store, "mark@x.io");
            let minted = store
                .mint_workspace_key(&slug, "laptop", None, "cli")
                .unwrap();
            let token = minted.token.expose_secret();
            let valid = store.validate_workspace_key(token, None).unwrap().unwrap();
            assert_eq!(valid.workspace.slug, slug);
            assert_eq!(valid.key_id, minted.record.id);
            let stored: Vec<u8> = store
                .test_value("SELECT token_hash FROM api_keys", params![])
                .unwrap();
            assert_eq!(stored, tokens::hash(token).to_vec());
            assert_eq!(minted.record.hint, &token[..16]);
        });
    }

    #[test]
    fn revoked_expired_malformed_unknown_and_foreign_keys_are_all_not_found() {
        testutil::each(|store| {
            let a = ws(store, "a@x.io");
            let b = ws(store, "b@x.io");
            let revoked = store.mint_workspace_key(&a, "r", None, "cli").unwrap();
            store.revoke_workspace_key(&a, &revoked.record.id).unwrap();
            let expired = store
                .mint_workspace_key(&a, "e", Some(now_ms() - 1), "cli")
                .unwrap();
            let good = store.mint_workspace_key(&a, "g", None, "cli").unwrap();
            let good_token = good.token.expose_secret().to_string();
            let mut bad_sum = good_token.clone();
            bad_sum.pop();
            bad_sum.push(if good_token.ends_with('0') { '1' } else { '0' });
            let unknown = tokens::mint(TokenKind::WorkspaceKey);
            let admin = tokens::mint(TokenKind::AdminToken);
            for (what, token, expected) in [
                ("revoked", revoked.token.expose_secret(), None),
                ("expired", expired.token.expose_secret(), None),
                ("bad checksum", bad_sum.as_str(), None),
                ("malformed", "vibn_sk_short", None),
                ("empty", "", None),
                ("unknown", unknown.token.expose_secret(), None),
                ("admin token as key", admin.token.expose_secret(), None),
                ("other workspace", good_token.as_str(), Some(b.as_str())),
            ] {
                let result = store.validate_workspace_key(token, expected).unwrap();
                assert!(result.is_none(), "{what} must not validate");
            }
            assert!(
                store
                    .validate_workspace_key(&good_token, Some(&a))
                    .unwrap()
                    .is_some()
            );
        });
    }

    #[test]
    fn revoke_is_idempotent_and_scoped_to_the_workspace() {
        testutil::each(|store| {
            let a = ws(store, "a@x.io");
            let b = ws(store, "b@x.io");
            let key = store.mint_workspace_key(&a, "k", None, "cli").unwrap();
            assert!(matches!(
                store.revoke_workspace_key(&b, &key.record.id),
                Err(KeystoreError::NotFound { .. })
            ));
            assert_eq!(
                store.revoke_workspace_key(&a, &key.record.id).unwrap(),
                Revoked::Now
            );
            assert_eq!(
                store.revoke_workspace_key(&a, &key.record.id).unwrap(),
                Revoked::Already
            );
            assert!(matches!(
                store.revoke_workspace_key(&a, "key_nope"),
                Err(KeystoreError::NotFound { .. })
            ));
        });
    }

    #[test]
    fn a_revoked_key_stays_revoked_after_reopening() {
        testutil::each(|store| {
            let a = ws(store, "a@x.io");
            let key = store.mint_workspace_key(&a, "k", None, "cli").unwrap();
            store.revoke_workspace_key(&a, &key.record.id).unwrap();
            let reopened = Store::open(store.path()).unwrap();
            assert!(
                reopened
                    .validate_workspace_key(key.token.expose_secret(), None)
                    .unwrap()
                    .is_none()
            );
        });
    }

    #[test]
    fn a_key_revoked_through_one_handle_fails_at_once_through_another() {
        // Two handles on one keystore are two replicas (two processes on one SQLite
        // file, two servers on one PostgreSQL database): nothing is cached between
        // validations, so a revocation is seen on the very next one.
        testutil::each(|store| {
            let replica = Store::open(store.path()).unwrap();
            let a = ws(store, "a@x.io");
            let key = store.mint_workspace_key(&a, "k", None, "cli").unwrap();
            let token = key.token.expose_secret();
            assert!(
                replica
                    .validate_workspace_key(token, None)
                    .unwrap()
                    .is_some()
            );
            store.revoke_workspace_key(&a, &key.record.id).unwrap();
            assert!(
                replica
                    .validate_workspace_key(token, None)
                    .unwrap()
                    .is_none()
            );
            let admin = replica.mint_admin_token("ops", None, "cli").unwrap();
            let admin_token = admin.token.expose_secret();
            assert!(store.validate_admin_token(admin_token).unwrap().is_some());
            replica.revoke_admin_token(&admin.record.id).unwrap();
            assert!(store.validate_admin_token(admin_token).unwrap().is_none());
        });
    }

    #[test]
    fn listing_shows_hints_and_states_never_tokens() {
        testutil::each(|store| {
            let a = ws(store, "a@x.io");
            let k1 = store.mint_workspace_key(&a, "one", None, "cli").unwrap();
            let k2 = store
                .mint_workspace_key(&a, "two", None, "org-token:vibn_at_abcd1234")
                .unwrap();
            store.revoke_workspace_key(&a, &k1.record.id).unwrap();
            let list = store.list_workspace_keys(&a).unwrap();
            assert_eq!(list.len(), 2);
            let text = format!("{list:?}");
            assert!(
                !text.contains(k1.token.expose_secret())
                    && !text.contains(k2.token.expose_secret())
            );
            let one = list.iter().find(|k| k.name == "one").unwrap();
            assert!(one.revoked_at.is_some());
            let two = list.iter().find(|k| k.name == "two").unwrap();
            assert_eq!(two.created_by, "org-token:vibn_at_abcd1234");
        });
    }

    #[test]
    fn last_used_is_written_once_per_interval() {
        testutil::each(|store| {
            let a = ws(store, "a@x.io");
            let key = store.mint_workspace_key(&a, "k", None, "cli").unwrap();
            let token = key.token.expose_secret();
            let last_used = || -> Option<i64> {
                store
                    .test_value("SELECT last_used_at FROM api_keys", params![])
                    .unwrap()
            };
            assert_eq!(last_used(), None);
            store.validate_workspace_key(token, None).unwrap().unwrap();
            let first = last_used().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(5));
            store.validate_workspace_key(token, None).unwrap().unwrap();
            assert_eq!(
                last_used(),
                Some(first),
                "second use within 30 s must not write"
            );
            // Pretend the last use was long ago: the next use records again.
            store
                .test_execute("UPDATE api_keys SET last_used_at = 1", params![])
                .unwrap();
            store.validate_workspace_key(token, None).unwrap().unwrap();
            assert!(last_used().unwrap() >= first);
        });
    }

    #[test]
    fn admin_tokens_mint_validate_and_revoke() {
        testutil::each(|store| {
            let t = store.mint_admin_token("ops", None, "cli").unwrap();
            assert!(t.token.expose_secret().starts_with("vibn_at_"));
            let valid = store
                .validate_admin_token(t.token.expose_secret())
                .unwrap()
                .unwrap();
            assert_eq!(valid.token_id, t.record.id);
            assert_eq!(store.list_admin_tokens().unwrap().len(), 1);
            assert_eq!(
                store.revoke_admin_token(&t.record.id).unwrap(),
                Revoked::Now
            );
            assert_eq!(
                store.revoke_admin_token(&t.record.id).unwrap(),
                Revoked::Already
            );
            assert!(
                store
                    .validate_admin_token(t.token.expose_secret())
                    .unwrap()
                    .is_none()
            );
            let key = tokens::mint(TokenKind::WorkspaceKey);
            assert!(
                store
                    .validate_admin_token(key.token.expose_secret())
                    .unwrap()
                    .is_none()
            );
        });
    }

    #[test]
    fn bad_key_names_are_refused() {
        testutil::each(|store| {
            let a = ws(store, "a@x.io");
            for name in ["", "   ", &"x".repeat(101), "a\nb"] {
                assert!(matches!(
                    store.mint_workspace_key(&a, name, None, "cli"),
                    Err(KeystoreError::Invalid(_))
                ));
            }
            assert!(store.list_workspace_keys(&a).unwrap().is_empty());
        });
    }

    #[test]
    fn minting_for_an_unknown_workspace_is_not_found() {
        testutil::each(|store| {
            assert!(matches!(
                store.mint_workspace_key("ghost", "k", None, "cli"),
                Err(KeystoreError::NotFound { .. })
            ));
        });
    }
}

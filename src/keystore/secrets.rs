//! Encrypted columns (the Gitea bot token, an SSH private key): sealing, opening, the
//! key-check rows that make a wrong `VIBN_SECRETS_KEY` fail clearly, and rewrap.

use secrecy::{ExposeSecret, SecretString};

use super::db::{Conn, params};
use super::secret_box::{self, Aad, Keyring, SecretError, SecretKey};
use super::{KeystoreError, Store, now_ms};

/// Every encrypted column: (table, column). Rows are keyed by `id`.
const ENCRYPTED_COLUMNS: [(&str, &str); 4] = [
    ("workspaces", "gitea_bot_token_enc"),
    ("workspaces", "ssh_private_key_enc"),
    ("domains", "reg_password_enc"),
    ("workspace_storage", "hmac_secret_enc"),
];

const KEYCHECK_PLAINTEXT: &[u8] = b"vibn-keycheck-v1";

/// What `rewrap` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewrapReport {
    /// Secrets re-sealed under the current key.
    pub rewrapped: usize,
    /// Secrets already under the current key.
    pub already_current: usize,
    /// Key ids no longer needed (their check rows were removed).
    pub retired_key_ids: Vec<u32>,
}

fn keycheck_aad(id: &str) -> Aad<'_> {
    Aad {
        table: "secret_keys",
        column: "check_envelope",
        row_id: id,
    }
}

/// True when one of the key-check `rows` (key id, envelope) opens under `key`.
fn key_verifies(rows: &[(i64, Vec<u8>)], key: &SecretKey) -> bool {
    rows.iter().any(|(id, envelope)| {
        *id == i64::from(key.id())
            && secret_box::open_with(key, keycheck_aad(&format!("{:08x}", key.id())), envelope)
                .is_ok_and(|p| p.as_slice() == KEYCHECK_PLAINTEXT)
    })
}

/// How a keyring matches a keystore's key-check rows (read without writing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMatch {
    /// No key has been recorded yet: the first command that seals a secret records it.
    NotRecorded,
    /// The current key is the recorded one.
    Current,
    /// Only the previous key matches: secrets still need `vibn secrets rewrap`.
    PreviousOnly,
    /// Neither key matches (the recorded key ids, hex).
    Mismatch {
        /// Key ids recorded in the keystore.
        known: Vec<String>,
    },
}

/// Match `ring` against key-check `rows` (key id, envelope).
pub fn key_match(rows: &[(i64, Vec<u8>)], ring: &Keyring) -> KeyMatch {
    if rows.is_empty() {
        KeyMatch::NotRecorded
    } else if key_verifies(rows, ring.current()) {
        KeyMatch::Current
    } else if ring.previous().is_some_and(|k| key_verifies(rows, k)) {
        KeyMatch::PreviousOnly
    } else {
        KeyMatch::Mismatch {
            known: rows.iter().map(|(id, _)| format!("{id:08x}")).collect(),
        }
    }
}

/// The key-check rows (key id, envelope).
pub(super) fn keycheck_rows(c: &Conn<'_>) -> Result<Vec<(i64, Vec<u8>)>, KeystoreError> {
    c.query("SELECT key_id, check_envelope FROM secret_keys", params![])?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect()
}

impl Store {
    /// Verify `ring` against this keystore's key-check rows (recording the current key
    /// on first use). A key that does not match is refused before any secret is touched.
    pub fn check_keyring(&self, ring: &Keyring) -> Result<(), KeystoreError> {
        self.write(|tx| {
            let rows = keycheck_rows(tx)?;
            let verifies = |key: &SecretKey| key_verifies(&rows, key);
            let current = ring.current();
            if rows.iter().any(|(id, _)| *id == i64::from(current.id())) {
                return if verifies(current) {
                    Ok(())
                } else {
                    Err(SecretError::Tampered.into())
                };
            }
            let previous_ok = ring.previous().is_some_and(verifies);
            if !rows.is_empty() && !previous_ok {
                let known: Vec<String> = rows.iter().map(|(id, _)| format!("{id:08x}")).collect();
                return Err(SecretError::KeyMismatch {
                    known: known.join(", "),
                }
                .into());
            }
            let id = format!("{:08x}", current.id());
            let envelope = secret_box::seal_with(current, keycheck_aad(&id), KEYCHECK_PLAINTEXT);
            tx.execute(
                "INSERT INTO secret_keys (key_id, check_envelope, created_at) VALUES (?1, ?2, ?3)",
                params![i64::from(current.id()), envelope, now_ms()],
            )?;
            Ok(())
        })
    }

    /// Store the workspace's Gitea bot user and its token, sealed.
    pub fn set_bot_token(
        &self,
        slug: &str,
        username: &str,
        token: &SecretString,
        ring: &Keyring,
    ) -> Result<(), KeystoreError> {
        self.check_keyring(ring)?;
        let workspace = self.require_workspace(slug)?;
        let aad = Aad {
            table: "workspaces",
            column: "gitea_bot_token_enc",
            row_id: &workspace.id,
        };
        let envelope = ring.seal(aad, token.expose_secret().as_bytes());
        self.write(|tx| {
            tx.execute(
                "UPDATE workspaces SET gitea_bot_username = ?1, gitea_bot_token_enc = ?2, \
                 updated_at = ?3 WHERE id = ?4",
                params![username, envelope, now_ms(), workspace.id],
            )
            .map(|_| ())
        })
    }

    /// The workspace's Gitea bot token, opened; `None` when none is stored.
    pub fn bot_token(
        &self,
        slug: &str,
        ring: &Keyring,
    ) -> Result<Option<SecretString>, KeystoreError> {
        self.check_keyring(ring)?;
        let workspace = self.require_workspace(slug)?;
        let envelope: Option<Vec<u8>> = self
            .read(|c| {
                c.query_opt(
                    "SELECT gitea_bot_token_enc FROM workspaces WHERE id = ?1",
                    params![workspace.id],
                )?
                .map(|r| r.get::<Option<Vec<u8>>>(0))
                .transpose()
            })?
            .flatten();
        let Some(envelope) = envelope else {
            return Ok(None);
        };
        let aad = Aad {
            table: "workspaces",
            column: "gitea_bot_token_enc",
            row_id: &workspace.id,
        };
        let plain = ring.open(aad, &envelope)?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| SecretError::Malformed)?;
        Ok(Some(SecretString::from(text)))
    }

    /// Re-seal every secret under the current key, then retire the other key ids.
    /// All or nothing: one secret that cannot be opened aborts the whole rewrap.
    pub fn rewrap(&self, ring: &Keyring) -> Result<RewrapReport, KeystoreError> {
        self.check_keyring(ring)?;
        let current = ring.current().id();
        self.write(|tx| {
            let mut report = RewrapReport::default();
            for (table, column) in ENCRYPTED_COLUMNS {
                let rows: Vec<(String, Vec<u8>)> = tx
                    .query(
                        &format!("SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL"),
                        params![],
                    )?
                    .iter()
                    .map(|r| Ok((r.get(0)?, r.get(1)?)))
                    .collect::<Result<_, KeystoreError>>()?;
                for (id, envelope) in rows {
                    if secret_box::envelope_key_id(&envelope) == Some(current) {
                        report.already_current += 1;
                        continue;
                    }
                    let aad = Aad {
                        table,
                        column,
                        row_id: &id,
                    };
                    let plain = ring.open(aad, &envelope)?;
                    let resealed = ring.seal(aad, &plain);
                    tx.execute(
                        &format!("UPDATE {table} SET {column} = ?1 WHERE id = ?2"),
                        params![resealed, id],
                    )?;
                    report.rewrapped += 1;
                }
            }
            let retired: Vec<i64> = tx
                .query(
                    "SELECT key_id FROM secret_keys WHERE key_id != ?1",
                    params![i64::from(current)],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect::<Result<_, KeystoreError>>()?;
            tx.execute(
                "DELETE FROM secret_keys WHERE key_id != ?1",
                params![i64::from(current)],
            )?;
            report.retired_key_ids = retired.into_iter().map(|id| id as u32).collect();
            Ok(report)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;

    fn key(var: &'static str, b64: &str) -> SecretKey {
        SecretKey::parse(var, b64).unwrap()
    }

    fn ring_of(b64: &str) -> Keyring {
        Keyring::new(key("VIBN_SECRETS_KEY", b64), None)
    }

    #[test]
    fn bot_token_round_trips_and_is_not_stored_in_clear() {
        testutil::each(|store| {
            let ws = store.create_workspace("a@x.io", None).unwrap();
            let ring = ring_of(&SecretKey::generate_base64());
            let token = SecretString::from("gitea-pat-0123456789abcdef".to_string());
            store
                .set_bot_token(&ws.slug, "vibn-bot-a", &token, &ring)
                .unwrap();
            let back = store.bot_token(&ws.slug, &ring).unwrap().unwrap();
            assert_eq!(back.expose_secret(), "gitea-pat-0123456789abcdef");
            assert!(
                store
                    .workspace_by_slug(&ws.slug)
                    .unwrap()
                    .unwrap()
                    .has_bot_token
            );
            // What the database holds is the sealed envelope, whichever the backend.
            let stored: Vec<u8> = store
                .test_value(
                    "SELECT gitea_bot_token_enc FROM workspaces WHERE id = ?1",
                    params![ws.id],
                )
                .unwrap();
            assert_eq!(stored[0], 1, "envelope version");
            assert!(!stored.windows(10).any(|w| w == b"gitea-pat-"));
            let aad = Aad {
                table: "workspaces",
                column: "gitea_bot_token_enc",
                row_id: &ws.id,
            };
            assert_eq!(
                ring.open(aad, &stored).unwrap().as_slice(),
                token.expose_secret().as_bytes()
            );
        });
    }

    #[test]
    fn a_sqlite_file_never_holds_a_secret_in_clear() {
        let (_dir, store) = testutil::store();
        let ws = store.create_workspace("a@x.io", None).unwrap();
        let ring = ring_of(&SecretKey::generate_base64());
        let token = SecretString::from("gitea-pat-0123456789abcdef".to_string());
        store
            .set_bot_token(&ws.slug, "vibn-bot-a", &token, &ring)
            .unwrap();
        drop(store);
        let bytes = std::fs::read(_dir.path().join("vibn/keystore.db")).unwrap();
        let wal = std::fs::read(_dir.path().join("vibn/keystore.db-wal")).unwrap_or_default();
        for haystack in [bytes, wal] {
            assert!(
                !haystack.windows(10).any(|w| w == b"gitea-pat-"),
                "plaintext on disk"
            );
        }
    }

    #[test]
    fn a_wrong_key_fails_clearly_before_any_secret_is_opened() {
        testutil::each(|store| {
            let ws = store.create_workspace("a@x.io", None).unwrap();
            let right = ring_of(&SecretKey::generate_base64());
            store
                .set_bot_token(
                    &ws.slug,
                    "bot",
                    &SecretString::from("t".to_string()),
                    &right,
                )
                .unwrap();
            let wrong = ring_of(&SecretKey::generate_base64());
            let err = store.bot_token(&ws.slug, &wrong).unwrap_err().to_string();
            assert!(err.contains("does not match this keystore"), "{err}");
        });
    }

    #[test]
    fn a_ciphertext_copied_to_another_row_fails() {
        testutil::each(|store| {
            let a = store.create_workspace("a@x.io", None).unwrap();
            let b = store.create_workspace("b@x.io", None).unwrap();
            let ring = ring_of(&SecretKey::generate_base64());
            store
                .set_bot_token(
                    &a.slug,
                    "bot",
                    &SecretString::from("a-token".to_string()),
                    &ring,
                )
                .unwrap();
            store
                .test_execute(
                    "UPDATE workspaces SET gitea_bot_token_enc = \
                     (SELECT gitea_bot_token_enc FROM workspaces WHERE id = ?1) WHERE id = ?2",
                    params![a.id, b.id],
                )
                .unwrap();
            let err = store.bot_token(&b.slug, &ring).unwrap_err();
            assert!(
                matches!(err, KeystoreError::Secret(SecretError::Tampered)),
                "{err:?}"
            );
        });
    }

    #[test]
    fn a_tampered_ciphertext_fails() {
        testutil::each(|store| {
            let a = store.create_workspace("a@x.io", None).unwrap();
            let ring = ring_of(&SecretKey::generate_base64());
            store
                .set_bot_token(
                    &a.slug,
                    "bot",
                    &SecretString::from("a-token".to_string()),
                    &ring,
                )
                .unwrap();
            let mut env: Vec<u8> = store
                .test_value("SELECT gitea_bot_token_enc FROM workspaces", params![])
                .unwrap();
            let last = env.len() - 1;
            env[last] ^= 0x80;
            store
                .test_execute(
                    "UPDATE workspaces SET gitea_bot_token_enc = ?1",
                    params![env],
                )
                .unwrap();
            assert!(matches!(
                store.bot_token(&a.slug, &ring),
                Err(KeystoreError::Secret(SecretError::Tampered))
            ));
        });
    }

    #[test]
    fn rotation_with_previous_key_and_rewrap_moves_every_secret() {
        testutil::each(|store| {
            let old = SecretKey::generate_base64();
            let new = SecretKey::generate_base64();
            let a = store.create_workspace("a@x.io", None).unwrap();
            let b = store.create_workspace("b@x.io", None).unwrap();
            for ws in [&a, &b] {
                store
                    .set_bot_token(
                        &ws.slug,
                        "bot",
                        &SecretString::from(format!("tok-{}", ws.slug)),
                        &ring_of(&old),
                    )
                    .unwrap();
            }
            // The new key alone does not match the keystore.
            assert!(store.bot_token(&a.slug, &ring_of(&new)).is_err());
            let rotating = Keyring::new(
                key("VIBN_SECRETS_KEY", &new),
                Some(key("VIBN_SECRETS_KEY_PREVIOUS", &old)),
            );
            assert_eq!(
                store
                    .bot_token(&a.slug, &rotating)
                    .unwrap()
                    .unwrap()
                    .expose_secret(),
                "tok-a"
            );
            let report = store.rewrap(&rotating).unwrap();
            assert_eq!(report.rewrapped, 2);
            assert_eq!(report.retired_key_ids, vec![key("X", &old).id()]);
            // After rewrap the old key is retired: the new key alone opens everything.
            for ws in [&a, &b] {
                let t = store.bot_token(&ws.slug, &ring_of(&new)).unwrap().unwrap();
                assert_eq!(t.expose_secret(), format!("tok-{}", ws.slug));
            }
            assert!(store.bot_token(&a.slug, &ring_of(&old)).is_err());
            assert_eq!(store.rewrap(&ring_of(&new)).unwrap().already_current, 2);
        });
    }

    #[test]
    fn rewrap_without_the_previous_key_changes_nothing() {
        testutil::each(|store| {
            let old = SecretKey::generate_base64();
            let a = store.create_workspace("a@x.io", None).unwrap();
            store
                .set_bot_token(
                    &a.slug,
                    "bot",
                    &SecretString::from("t".to_string()),
                    &ring_of(&old),
                )
                .unwrap();
            assert!(
                store
                    .rewrap(&ring_of(&SecretKey::generate_base64()))
                    .is_err()
            );
            assert_eq!(
                store
                    .bot_token(&a.slug, &ring_of(&old))
                    .unwrap()
                    .unwrap()
                    .expose_secret(),
                "t"
            );
        });
    }
}

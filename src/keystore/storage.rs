//! A workspace's object storage (issue 15): its bucket, region, service account and HMAC
//! key. The row is keyed by the workspace id; the bucket name is chosen once and kept,
//! so a retried provisioning run never makes a second bucket. The HMAC secret — which
//! Google returns only once — is sealed here before provisioning reports success.

use secrecy::{ExposeSecret, SecretString};

use super::db::{Row, ToValue, Value, params};
use super::secret_box::{Aad, Keyring, SecretError};
use super::{KeystoreError, Store, now_ms};

/// One storage row (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRecord {
    /// The workspace id.
    pub workspace_id: String,
    /// The bucket name.
    pub bucket: String,
    /// The bucket's location.
    pub region: String,
    /// The service account.
    pub service_account_email: Option<String>,
    /// The HMAC access id.
    pub hmac_access_id: Option<String>,
    /// Whether a sealed HMAC secret is held.
    pub has_secret: bool,
    /// `provisioning`, `ready`, `error`.
    pub status: String,
    /// The last step done.
    pub step: Option<String>,
    /// The last failure.
    pub last_error: Option<String>,
}

fn record(r: &Row) -> Result<StorageRecord, KeystoreError> {
    Ok(StorageRecord {
        workspace_id: r.get(0)?,
        bucket: r.get(1)?,
        region: r.get(2)?,
        service_account_email: r.get(3)?,
        hmac_access_id: r.get(4)?,
        has_secret: r.get(5)?,
        status: r.get(6)?,
        step: r.get(7)?,
        last_error: r.get(8)?,
    })
}

/// Fields to change (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct StoragePatch {
    /// A new bucket name (the old one was someone else's).
    pub bucket: Option<String>,
    /// The service account.
    pub service_account_email: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Step.
    pub step: Option<String>,
    /// Last failure (`Some(None)` clears).
    pub last_error: Option<Option<String>>,
}

fn secret_aad(id: &str) -> Aad<'_> {
    Aad {
        table: "workspace_storage",
        column: "hmac_secret_enc",
        row_id: id,
    }
}

impl Store {
    /// The storage row of a workspace.
    pub fn storage_record(
        &self,
        workspace_id: &str,
    ) -> Result<Option<StorageRecord>, KeystoreError> {
        self.read(|c| {
            c.query_opt(
                "SELECT id, bucket, region, service_account_email, hmac_access_id, \
                 CASE WHEN hmac_secret_enc IS NULL THEN 0 ELSE 1 END, status, step, last_error \
                 FROM workspace_storage WHERE id = ?1",
                params![workspace_id],
            )?
            .map(|r| record(&r))
            .transpose()
        })
    }

    /// The storage row, created with `bucket` and `region` when there is none (an
    /// existing row keeps its own bucket).
    pub fn ensure_storage(
        &self,
        workspace_id: &str,
        bucket: &str,
        region: &str,
    ) -> Result<StorageRecord, KeystoreError> {
        self.write(|tx| {
            let now = now_ms();
            tx.execute(
                "INSERT INTO workspace_storage (id, bucket, region, status, created_at, \
                 updated_at) VALUES (?1, ?2, ?3, 'provisioning', ?4, ?4) \
                 ON CONFLICT (id) DO NOTHING",
                params![workspace_id, bucket, region, now],
            )
            .map(|_| ())
        })?;
        self.storage_record(workspace_id)?
            .ok_or_else(|| KeystoreError::NotFound {
                what: format!("storage of {workspace_id}"),
            })
    }

    /// Change fields of a storage row.
    pub fn patch_storage(
        &self,
        workspace_id: &str,
        patch: &StoragePatch,
    ) -> Result<(), KeystoreError> {
        let mut sets: Vec<String> = vec!["updated_at = ?1".into()];
        let mut values: Vec<Value> = vec![now_ms().to_value()];
        let mut push = |col: &str, v: Value| {
            values.push(v);
            sets.push(format!("{col} = ?{}", values.len()));
        };
        for (col, v) in [
            ("bucket", &patch.bucket),
            ("service_account_email", &patch.service_account_email),
            ("status", &patch.status),
            ("step", &patch.step),
        ] {
            if let Some(v) = v {
                push(col, v.to_value());
            }
        }
        if let Some(v) = &patch.last_error {
            push("last_error", v.to_value());
        }
        values.push(workspace_id.to_value());
        let statement = format!(
            "UPDATE workspace_storage SET {} WHERE id = ?{}",
            sets.join(", "),
            values.len()
        );
        self.write(|tx| tx.execute(&statement, &values).map(|_| ()))
    }

    /// Seal and store a new HMAC key (replacing any earlier one).
    pub fn store_hmac(
        &self,
        workspace_id: &str,
        access_id: &str,
        secret: &SecretString,
        ring: &Keyring,
    ) -> Result<(), KeystoreError> {
        self.check_keyring(ring)?;
        let sealed = ring.seal(secret_aad(workspace_id), secret.expose_secret().as_bytes());
        self.write(|tx| {
            tx.execute(
                "UPDATE workspace_storage SET hmac_access_id = ?1, hmac_secret_enc = ?2, \
                 updated_at = ?3 WHERE id = ?4",
                params![access_id, sealed, now_ms(), workspace_id],
            )
            .map(|_| ())
        })
    }

    /// The HMAC secret, opened; `None` when none is held.
    pub fn hmac_secret(
        &self,
        workspace_id: &str,
        ring: &Keyring,
    ) -> Result<Option<SecretString>, KeystoreError> {
        self.check_keyring(ring)?;
        let envelope: Option<Vec<u8>> = self
            .read(|c| {
                c.query_opt(
                    "SELECT hmac_secret_enc FROM workspace_storage WHERE id = ?1",
                    params![workspace_id],
                )?
                .map(|r| r.get::<Option<Vec<u8>>>(0))
                .transpose()
            })?
            .flatten();
        let Some(envelope) = envelope else {
            return Ok(None);
        };
        let plain = ring.open(secret_aad(workspace_id), &envelope)?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| SecretError::Malformed)?;
        Ok(Some(SecretString::from(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::super::{Keyring, SecretKey};
    use super::*;

    #[test]
    fn the_bucket_name_is_kept_and_the_secret_is_sealed() {
        testutil::each(|store| {
            let a = store.create_workspace("a@x.io", None).unwrap();
            let ring = Keyring::new(
                SecretKey::parse("VIBN_SECRETS_KEY", &SecretKey::generate_base64()).unwrap(),
                None,
            );
            let row = store
                .ensure_storage(&a.id, "vibn-ws-a-aaaaaa", "X")
                .unwrap();
            let again = store
                .ensure_storage(&a.id, "vibn-ws-a-bbbbbb", "X")
                .unwrap();
            assert_eq!(row.bucket, again.bucket);
            assert!(!again.has_secret);
            let secret = SecretString::from("hmac-secret-0123456789abcdefghij".to_string());
            store
                .store_hmac(&a.id, "GOOG1EXYZ", &secret, &ring)
                .unwrap();
            assert!(store.storage_record(&a.id).unwrap().unwrap().has_secret);
            let back = store.hmac_secret(&a.id, &ring).unwrap().unwrap();
            assert_eq!(back.expose_secret(), secret.expose_secret());
            if let Some(db) = store.sqlite_path() {
                for suffix in ["", "-wal"] {
                    let f = format!("{}{suffix}", db.display());
                    let bytes = std::fs::read(&f).unwrap_or_default();
                    assert!(!bytes.windows(12).any(|w| w == b"hmac-secret-"), "{f}");
                }
            } else {
                let raw: Vec<u8> = store
                    .test_value("SELECT hmac_secret_enc FROM workspace_storage", params![])
                    .unwrap();
                assert!(!raw.windows(12).any(|w| w == b"hmac-secret-"));
            }
        });
    }
}

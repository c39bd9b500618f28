//! `storage_describe`, `storage_provision`, `storage_inject_env` (seed 003 §3.6, issue 15):
//! each workspace's S3-compatible bucket in Google Cloud Storage, in a Canadian region by
//! default. Provisioning is idempotent and resumable (providers.md Google §6): the
//! bucket name is chosen once and kept; the service account's 409 is read back; a 409 on
//! the bucket is resolved by reading who owns it (ours → carry on, someone else's → a
//! new name); the IAM binding is a read-modify-write with the etag; the HMAC secret,
//! which Google returns only once, is sealed in the keystore before success is
//! reported, and a key whose secret was lost is deactivated. The secret never appears
//! in a result: `storage_inject_env` writes it into the app as a shown-once variable and
//! answers with the keys written only.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::ControlPlaneApi;
use super::domain_params::ring_of;
use crate::api::caller::Caller;
use crate::clients::coolify::EnvVarWrite;
use crate::clients::google::{GoogleClient, is_conflict};
use crate::error::{ApiError, quote};
use crate::keystore::{StoragePatch, StorageRecord, Workspace};
use crate::policy::env_key;

/// The role bound to the workspace's service account on its bucket.
const ROLE: &str = "roles/storage.objectAdmin";
/// Tries for a bucket name before giving up (each after a name owned elsewhere).
const BUCKET_TRIES: usize = 3;

/// Parameters of `storage_describe` and `storage_provision` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct StorageParams {}

/// Parameters of `storage_inject_env`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct StorageInjectEnvParams {
    /// The app's uuid.
    pub uuid: String,
    /// Prefix of the variable names (default STORAGE_; S3_ for apps that expect it).
    #[serde(default)]
    pub prefix: Option<String>,
}

/// The workspace's storage (never the secret).
#[derive(Debug, Serialize, JsonSchema)]
pub struct StorageOut {
    /// `not_provisioned`, `provisioning`, `ready` or `error`.
    pub status: String,
    /// The bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Its location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The S3-compatible endpoint.
    pub endpoint: String,
    /// The HMAC access key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The service account the key belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// The last provisioning step done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The last failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// What to do next.
    pub note: String,
}

/// What `storage_inject_env` wrote.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StorageInjectEnvOut {
    /// The app.
    pub uuid: String,
    /// The variables written (names only; the secret is shown-once in Coolify).
    pub keys: Vec<String>,
    /// What to do next.
    pub note: String,
}

/// `vibn-ws-<slug>-<rand>` within Google's 63 characters.
fn bucket_name(slug: &str) -> String {
    use rand::distr::{Distribution, Uniform};
    let chars = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let pick = Uniform::new(0, chars.len()).expect("non-empty");
    let rand: String = (0..6)
        .map(|_| chars[pick.sample(&mut rng)] as char)
        .collect();
    let mut slug = slug.to_string();
    slug.truncate(63 - "vibn-ws-".len() - 7);
    format!("vibn-ws-{}-{rand}", slug.trim_end_matches('-'))
}

/// The service account id: `vibn-ws-<slug>`, 6–30 characters, `[a-z][-a-z0-9]*[a-z0-9]`.
fn account_id(slug: &str) -> String {
    let id = format!("vibn-ws-{slug}");
    if id.len() <= 30 {
        return id;
    }
    use sha2::{Digest, Sha256};
    let hash: String = Sha256::digest(slug.as_bytes())
        .iter()
        .take(3)
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut head = format!("vibn-ws-{slug}");
    head.truncate(30 - 7);
    format!("{}-{hash}", head.trim_end_matches('-'))
}

fn storage_out(r: Option<&StorageRecord>, endpoint: &str) -> StorageOut {
    match r {
        None => StorageOut {
            status: "not_provisioned".into(),
            bucket: None,
            region: None,
            endpoint: endpoint.to_string(),
            access_key_id: None,
            service_account: None,
            step: None,
            last_error: None,
            note: "call storage_provision to create the workspace's bucket".into(),
        },
        Some(r) => StorageOut {
            status: r.status.clone(),
            bucket: Some(r.bucket.clone()),
            region: Some(r.region.clone()),
            endpoint: endpoint.to_string(),
            access_key_id: r.hmac_access_id.clone(),
            service_account: r.service_account_email.clone(),
            step: r.step.clone(),
            last_error: r.last_error.clone(),
            note: if r.status == "ready" {
                "ready: storage_inject_env {uuid} writes the credentials into an app".into()
            } else {
                "call storage_provision again to finish (every step done is kept)".into()
            },
        },
    }
}

impl ControlPlaneApi {
    fn storage_endpoint(&self) -> String {
        self.providers
            .google()
            .map(GoogleClient::s3_endpoint)
            .unwrap_or_else(|_| crate::clients::google::S3_ENDPOINT.to_string())
    }

    /// The workspace's storage, as recorded.
    pub async fn storage_describe(
        &self,
        caller: &Caller,
        p: StorageParams,
    ) -> Result<StorageOut, ApiError> {
        super::limits::check(&p)?;
        let ws = self.workspace(caller)?;
        let row = caller.store().await?.storage_record(&ws.id).await?;
        Ok(storage_out(row.as_ref(), &self.storage_endpoint()))
    }

    /// Create or finish the workspace's storage.
    pub async fn storage_provision(
        &self,
        caller: &Caller,
        p: StorageParams,
    ) -> Result<StorageOut, ApiError> {
        super::limits::check(&p)?;
        let ws = self.workspace(caller)?.clone();
        let result = self.provision_storage(caller, &ws).await;
        if let Err(e) = &result
            && let Ok(store) = caller.store().await
        {
            let _ = store
                .patch_storage(
                    &ws.id,
                    StoragePatch {
                        status: Some("error".into()),
                        last_error: Some(Some(e.message().to_string())),
                        ..Default::default()
                    },
                )
                .await;
        }
        caller.audited(&ws.slug, result).await
    }

    async fn provision_storage(
        &self,
        caller: &Caller,
        ws: &Workspace,
    ) -> Result<StorageOut, ApiError> {
        let google = self.providers.google()?;
        let ring = ring_of(caller)?;
        let store = caller.store().await?;
        let location = self.providers.storage_location.clone();
        let mut row = store
            .ensure_storage(&ws.id, &bucket_name(&ws.slug), &location)
            .await?;
        let step = |name: &'static str| StoragePatch {
            step: Some(name.into()),
            status: Some("provisioning".into()),
            ..Default::default()
        };

        // 1. The service account (a 409 is ours from an earlier run: read it).
        let id = account_id(&ws.slug);
        let email = match google
            .create_service_account(&id, &format!("vibn workspace {} storage", ws.slug))
            .await
        {
            Ok(sa) => sa.email,
            Err(e) if is_conflict(&e) => {
                let email = format!("{id}@{}.iam.gserviceaccount.com", google.project());
                google.get_service_account(&email).await?.email
            }
            Err(e) => return Err(e.into()),
        };
        store
            .patch_storage(
                &ws.id,
                StoragePatch {
                    service_account_email: Some(email.clone()),
                    ..step("service_account")
                },
            )
            .await?;

        // 2. The bucket (a 409 is resolved by reading who owns the name).
        let mut tries = 0;
        loop {
            tries += 1;
            match google.insert_bucket(&row.bucket, &location, &ws.slug).await {
                Ok(_) => break,
                Err(e) if is_conflict(&e) => match google.get_bucket(&row.bucket).await {
                    Ok(b)
                        if b.labels
                            .as_ref()
                            .and_then(|l| l.get("vibn-workspace"))
                            .is_some_and(|s| *s == ws.slug) =>
                    {
                        let have = b.location.unwrap_or_default();
                        if !have.eq_ignore_ascii_case(&row.region) {
                            return Err(ApiError::unprocessable(format!(
                                "bucket {} exists in {have}, not {}; a bucket's location cannot \
                                 change",
                                row.bucket, row.region
                            ))
                            .with_hint("ask the operator"));
                        }
                        break;
                    }
                    Ok(_) | Err(_) if tries < BUCKET_TRIES => {
                        let fresh = bucket_name(&ws.slug);
                        store
                            .patch_storage(
                                &ws.id,
                                StoragePatch {
                                    bucket: Some(fresh.clone()),
                                    ..Default::default()
                                },
                            )
                            .await?;
                        row.bucket = fresh;
                    }
                    _ => {
                        return Err(ApiError::upstream(format!(
                            "no free bucket name after {BUCKET_TRIES} tries"
                        ))
                        .with_hint("call storage_provision again"));
                    }
                },
                Err(e) => return Err(e.into()),
            }
        }
        store.patch_storage(&ws.id, step("bucket")).await?;

        // 3. The binding: read, add when missing, write with the etag (412 → again).
        let member = format!("serviceAccount:{email}");
        let mut bound = false;
        for _ in 0..3 {
            let mut policy = google.get_bucket_policy(&row.bucket).await?;
            let bindings = policy["bindings"].as_array().cloned().unwrap_or_default();
            let present = bindings.iter().any(|b| {
                b["role"] == ROLE
                    && b["members"]
                        .as_array()
                        .is_some_and(|m| m.iter().any(|x| x == &json!(member)))
            });
            if present {
                bound = true;
                break;
            }
            let mut bindings = bindings;
            bindings.push(json!({"role": ROLE, "members": [member]}));
            policy["bindings"] = json!(bindings);
            match google.set_bucket_policy(&row.bucket, &policy).await {
                Ok(_) => {
                    bound = true;
                    break;
                }
                Err(e) if e.status() == Some(412) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        if !bound {
            return Err(ApiError::upstream(format!(
                "the IAM policy of bucket {} kept changing under vibn",
                row.bucket
            ))
            .with_hint("call storage_provision again"));
        }
        store.patch_storage(&ws.id, step("iam")).await?;

        // 4. The HMAC key: kept when we hold its secret; otherwise keys whose secret is
        // lost are deactivated and a new one is made and sealed before success.
        let current = store.storage_record(&ws.id).await?;
        let held = current
            .as_ref()
            .filter(|r| r.has_secret)
            .and_then(|r| r.hmac_access_id.clone());
        let keys = google.list_hmac_keys(&email).await?;
        for k in &keys {
            if k.state.as_deref() == Some("ACTIVE") && Some(&k.access_id) != held.as_ref() {
                google.deactivate_hmac_key(k).await?;
            }
        }
        let held_active = held.as_ref().is_some_and(|h| {
            keys.iter()
                .any(|k| &k.access_id == h && k.state.as_deref() == Some("ACTIVE"))
        });
        if !held_active {
            let key = google.create_hmac_key(&email).await?;
            store
                .store_hmac(&ws.id, &key.metadata.access_id, &key.secret, &ring)
                .await?;
        }
        store
            .patch_storage(
                &ws.id,
                StoragePatch {
                    status: Some("ready".into()),
                    step: Some("hmac".into()),
                    last_error: Some(None),
                    ..Default::default()
                },
            )
            .await?;
        let row = store.storage_record(&ws.id).await?;
        Ok(storage_out(row.as_ref(), &google.s3_endpoint()))
    }

    /// Write the storage credentials into an app of the workspace.
    pub async fn storage_inject_env(
        &self,
        caller: &Caller,
        p: StorageInjectEnvParams,
    ) -> Result<StorageInjectEnvOut, ApiError> {
        super::limits::check(&p)?;
        let target = p.uuid.trim().to_string();
        let result = self.inject_inner(caller, p).await;
        caller.audited(&target, result).await
    }

    async fn inject_inner(
        &self,
        caller: &Caller,
        p: StorageInjectEnvParams,
    ) -> Result<StorageInjectEnvOut, ApiError> {
        let prefix = p.prefix.clone().unwrap_or_else(|| "STORAGE_".into());
        let valid_prefix = !prefix.is_empty()
            && prefix.len() <= 32
            && prefix.starts_with(|c: char| c.is_ascii_uppercase())
            && prefix
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !valid_prefix {
            return Err(ApiError::bad_request(format!(
                "prefix {} must be capitals, digits and '_' (e.g. STORAGE_ or S3_)",
                quote(&prefix)
            )));
        }
        let ws = self.workspace(caller)?.clone();
        let ring = ring_of(caller)?;
        let store = caller.store().await?;
        let row = store
            .storage_record(&ws.id)
            .await?
            .filter(|r| r.status == "ready" && r.has_secret)
            .ok_or_else(|| {
                ApiError::unprocessable("the workspace's storage is not provisioned")
                    .with_hint("call storage_provision first")
            })?;
        let secret = store.hmac_secret(&ws.id, &ring).await?.ok_or_else(|| {
            ApiError::unprocessable("the workspace's storage key is missing")
                .with_hint("call storage_provision to make a new one")
        })?;
        let t = self.tenant(caller).await?;
        let app = self.app(&t, &p.uuid).await?;
        let values: [(&str, String, bool); 6] = [
            ("ENDPOINT", self.storage_endpoint(), false),
            ("REGION", row.region.to_ascii_lowercase(), false),
            ("BUCKET", row.bucket.clone(), false),
            (
                "ACCESS_KEY_ID",
                row.hmac_access_id.clone().unwrap_or_default(),
                false,
            ),
            (
                "SECRET_ACCESS_KEY",
                secrecy::ExposeSecret::expose_secret(&secret).to_string(),
                true,
            ),
            ("FORCE_PATH_STYLE", "true".into(), false),
        ];
        let coolify = self.coolify()?;
        let existing = coolify.list_envs(&app.uuid).await?;
        let mut keys = Vec::new();
        for (suffix, value, shown_once) in values {
            let key = format!("{prefix}{suffix}");
            env_key::check(&key)?;
            let write = EnvVarWrite {
                key: key.clone(),
                value,
                is_preview: false,
                is_buildtime: false,
                is_runtime: true,
                is_literal: true,
                is_multiline: false,
                is_shown_once: shown_once,
            };
            if existing.iter().any(|e| e.key == key && !e.is_preview) {
                coolify.update_env(&app.uuid, &write).await?;
            } else {
                coolify.create_env(&app.uuid, &write).await?;
            }
            keys.push(key);
        }
        Ok(StorageInjectEnvOut {
            uuid: app.uuid,
            keys,
            note: "takes effect on the next deploy (apps_deploy); the secret is stored \
                   shown-once in Coolify and is not returned"
                .into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_fit_google_rules() {
        let long = "a".repeat(60);
        for slug in ["mark", long.as_str(), "a-b"] {
            let b = bucket_name(slug);
            assert!(b.len() <= 63 && b.len() >= 3, "{b}");
            assert!(b.starts_with("vibn-ws-"));
            assert!(
                b.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            );
        }
        assert_ne!(bucket_name("mark"), bucket_name("mark"));
    }

    #[test]
    fn account_ids_fit_iam_rules() {
        let long = "abcdefghij".repeat(5);
        for slug in ["m", "mark", long.as_str()] {
            let id = account_id(slug);
            assert!((6..=30).contains(&id.len()), "{id}");
            assert!(!id.ends_with('-'));
        }
        assert_eq!(account_id(&long), account_id(&long));
    }
}

//! Google Cloud DNS v1, IAM v1 and Cloud Storage JSON v1 (providers.md Google §0–§5), as
//! the discovery documents in `shared/specs/google/` describe them: each API's base is
//! its rootUrl (or one operator/test override for all three), then servicePath + path.
//! Every call carries a bearer token from the service-account flow (`token`). Thin: one
//! method per endpoint, upstream-shaped JSON, no policy.

pub mod token;

use std::sync::Arc;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{Auth, Call, ClientError, Http, HttpConfig};
pub use token::{KeyFile, TokenSource};

/// Cloud DNS's rootUrl.
pub const DNS_ROOT: &str = "https://dns.googleapis.com/";
/// IAM's rootUrl.
pub const IAM_ROOT: &str = "https://iam.googleapis.com/";
/// Cloud Storage's rootUrl.
pub const STORAGE_ROOT: &str = "https://storage.googleapis.com/";

/// The S3-compatible (XML API) endpoint of Cloud Storage.
pub const S3_ENDPOINT: &str = "https://storage.googleapis.com";

/// A managed zone (the fields used).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedZone {
    /// The zone's name in the project.
    pub name: String,
    /// Its FQDN, with a trailing dot.
    pub dns_name: String,
    /// Its authoritative servers (with trailing dots).
    #[serde(default)]
    pub name_servers: Vec<String>,
}

/// A service account (the fields used).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    /// `<id>@<project>.iam.gserviceaccount.com`.
    pub email: String,
}

/// A bucket (the fields used).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    /// Its global name.
    pub name: String,
    /// Where it lives (upper-case region).
    #[serde(default)]
    pub location: Option<String>,
    /// The owning project's number.
    #[serde(default)]
    pub project_number: Option<String>,
    /// Its labels.
    #[serde(default)]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
}

/// An HMAC key's metadata.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HmacMetadata {
    /// The access id (`GOOG1E…`).
    pub access_id: String,
    /// `ACTIVE`, `INACTIVE`, `DELETED`.
    #[serde(default)]
    pub state: Option<String>,
    /// Its etag (for updates).
    #[serde(default)]
    pub etag: Option<String>,
}

/// A new HMAC key: the secret exists only in this answer.
#[derive(Deserialize)]
pub struct HmacKey {
    /// The secret (never logged).
    pub secret: secrecy::SecretString,
    /// Its metadata.
    pub metadata: HmacMetadata,
}

#[derive(Deserialize)]
struct HmacList {
    #[serde(default)]
    items: Vec<HmacMetadata>,
}

/// One Google project reached with one service account.
#[derive(Clone)]
pub struct GoogleClient {
    tokens: Arc<TokenSource>,
    s3_endpoint: String,
    project: String,
    dns: Arc<Http>,
    iam: Arc<Http>,
    storage: Arc<Http>,
}

impl std::fmt::Debug for GoogleClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleClient")
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

impl GoogleClient {
    /// A client for `project` as the account of `key`; `api_base` replaces every API's
    /// rootUrl (a stand-in), `None` uses Google's.
    pub fn new(key: KeyFile, project: &str, api_base: Option<&str>, config: HttpConfig) -> Self {
        let root = |real: &str| api_base.unwrap_or(real).trim_end_matches('/').to_string();
        GoogleClient {
            dns: Http::new(
                "Cloud DNS",
                &format!("{}/dns/v1", root(DNS_ROOT)),
                Auth::None,
                config.clone(),
            ),
            iam: Http::new(
                "IAM",
                &format!("{}/v1", root(IAM_ROOT)),
                Auth::None,
                config.clone(),
            ),
            storage: Http::new(
                "Cloud Storage",
                &format!("{}/storage/v1", root(STORAGE_ROOT)),
                Auth::None,
                config.clone(),
            ),
            tokens: Arc::new(TokenSource::new(key, config)),
            s3_endpoint: api_base.map_or(S3_ENDPOINT.to_string(), |b| {
                b.trim_end_matches('/').to_string()
            }),
            project: project.to_string(),
        }
    }

    /// Where S3 clients reach the buckets (Google's, or the override's root).
    pub fn s3_endpoint(&self) -> String {
        self.s3_endpoint.clone()
    }

    /// The project.
    pub fn project(&self) -> &str {
        &self.project
    }

    async fn authed(&self, call: Call) -> Result<Call, ClientError> {
        Ok(call.auth(Auth::Bearer(self.tokens.token().await?)))
    }

    /// `dns.managedZones.create` (public).
    pub async fn create_zone(
        &self,
        name: &str,
        dns_name: &str,
        description: &str,
    ) -> Result<ManagedZone, ClientError> {
        let call = Call::new(Method::POST, &["projects", &self.project, "managedZones"]).json(
            json!({"name": name, "dnsName": dns_name, "description": description,
                   "visibility": "public"}),
        );
        self.dns.json(self.authed(call).await?).await
    }

    /// `dns.managedZones.get`.
    pub async fn get_zone(&self, name: &str) -> Result<ManagedZone, ClientError> {
        let call = Call::new(
            Method::GET,
            &["projects", &self.project, "managedZones", name],
        );
        self.dns.json(self.authed(call).await?).await
    }

    /// `dns.resourceRecordSets.create`.
    pub async fn create_rrset(&self, zone: &str, rrset: &Value) -> Result<Value, ClientError> {
        let call = Call::new(
            Method::POST,
            &["projects", &self.project, "managedZones", zone, "rrsets"],
        )
        .json(rrset.clone());
        self.dns.json(self.authed(call).await?).await
    }

    /// `dns.resourceRecordSets.patch` of (`name`, `kind`).
    pub async fn patch_rrset(
        &self,
        zone: &str,
        name: &str,
        kind: &str,
        rrset: &Value,
    ) -> Result<Value, ClientError> {
        let call = Call::new(
            Method::PATCH,
            &[
                "projects",
                &self.project,
                "managedZones",
                zone,
                "rrsets",
                name,
                kind,
            ],
        )
        .json(rrset.clone());
        self.dns.json(self.authed(call).await?).await
    }

    /// `iam.projects.serviceAccounts.create`.
    pub async fn create_service_account(
        &self,
        account_id: &str,
        display_name: &str,
    ) -> Result<ServiceAccount, ClientError> {
        let call = Call::new(
            Method::POST,
            &["projects", &self.project, "serviceAccounts"],
        )
        .json(json!({"accountId": account_id,
                         "serviceAccount": {"displayName": display_name}}));
        self.iam.json(self.authed(call).await?).await
    }

    /// `iam.projects.serviceAccounts.get`.
    pub async fn get_service_account(&self, email: &str) -> Result<ServiceAccount, ClientError> {
        let call = Call::new(
            Method::GET,
            &["projects", &self.project, "serviceAccounts", email],
        );
        self.iam.json(self.authed(call).await?).await
    }

    /// `storage.buckets.insert` (uniform access, public access prevented).
    pub async fn insert_bucket(
        &self,
        name: &str,
        location: &str,
        label: &str,
    ) -> Result<Bucket, ClientError> {
        let call = Call::new(Method::POST, &["b"])
            .query("project", &self.project)
            .json(json!({
                "name": name,
                "location": location,
                "storageClass": "STANDARD",
                "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": true},
                                     "publicAccessPrevention": "enforced"},
                "labels": {"vibn-workspace": label},
            }));
        self.storage.json(self.authed(call).await?).await
    }

    /// `storage.buckets.get`.
    pub async fn get_bucket(&self, name: &str) -> Result<Bucket, ClientError> {
        let call = Call::new(Method::GET, &["b", name]);
        self.storage.json(self.authed(call).await?).await
    }

    /// `storage.buckets.getIamPolicy`.
    pub async fn get_bucket_policy(&self, bucket: &str) -> Result<Value, ClientError> {
        let call = Call::new(Method::GET, &["b", bucket, "iam"]);
        self.storage.json(self.authed(call).await?).await
    }

    /// `storage.buckets.setIamPolicy` (the read policy with its etag, changed).
    pub async fn set_bucket_policy(
        &self,
        bucket: &str,
        policy: &Value,
    ) -> Result<Value, ClientError> {
        let call = Call::new(Method::PUT, &["b", bucket, "iam"]).json(policy.clone());
        self.storage.json(self.authed(call).await?).await
    }

    /// `storage.projects.hmacKeys.create` (no body; the secret is in this answer only).
    pub async fn create_hmac_key(&self, email: &str) -> Result<HmacKey, ClientError> {
        let call = Call::new(Method::POST, &["projects", &self.project, "hmacKeys"])
            .query("serviceAccountEmail", email);
        self.storage.json(self.authed(call).await?).await
    }

    /// `storage.projects.hmacKeys.list` for one account (deleted keys left out).
    pub async fn list_hmac_keys(&self, email: &str) -> Result<Vec<HmacMetadata>, ClientError> {
        let call = Call::new(Method::GET, &["projects", &self.project, "hmacKeys"])
            .query("serviceAccountEmail", email);
        let list: HmacList = self.storage.json(self.authed(call).await?).await?;
        Ok(list.items)
    }

    /// `storage.projects.hmacKeys.update` to `INACTIVE` (a key whose secret was lost).
    pub async fn deactivate_hmac_key(&self, key: &HmacMetadata) -> Result<(), ClientError> {
        let mut body = json!({"state": "INACTIVE"});
        if let Some(etag) = &key.etag {
            body["etag"] = json!(etag);
        }
        let call = Call::new(
            Method::PUT,
            &["projects", &self.project, "hmacKeys", &key.access_id],
        )
        .json(body);
        self.storage
            .send(self.authed(call).await?)
            .await
            .map(|_| ())
    }
}

/// True when `e` is Google's `409` (already exists / name taken).
pub fn is_conflict(e: &ClientError) -> bool {
    e.status() == Some(409)
}

//! The Google stand-in's state: the project, service-account keys (public halves only,
//! as Google keeps them) and access tokens, Cloud DNS zones with their record sets and
//! changes, IAM service accounts, Cloud Storage buckets (of every project: names are
//! global) with their IAM policies, HMAC keys; plus the request log, the fault table
//! and the contract violations. Resources are kept as the JSON the API answers.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use rsa::RsaPublicKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::validate::{Validator, Violation};
use crate::relock;

/// A service-account key whose private half the holder has.
#[derive(Debug, Clone)]
pub struct SaKey {
    /// The service account's email.
    pub email: String,
    /// Checks the holder's JWT signatures.
    pub public: RsaPublicKey,
    /// Public key PEM (SubjectPublicKeyInfo), for keys.get with publicKeyType.
    pub public_pem: String,
    /// When minted.
    pub created: SystemTime,
    /// Deleted keys sign nothing that is accepted.
    pub deleted: bool,
}

/// An access token minted by `POST /token`.
#[derive(Debug, Clone)]
pub struct Token {
    /// The service account it acts as.
    pub email: String,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// When it stops working.
    pub expires: SystemTime,
}

/// A managed zone and what is in it.
#[derive(Debug, Clone)]
pub struct Zone {
    /// The ManagedZone resource.
    pub resource: Value,
    /// Record sets by (name, type), as ResourceRecordSet resources.
    pub rrsets: BTreeMap<(String, String), Value>,
    /// Changes made, oldest first (Change resources).
    pub changes: Vec<Value>,
}

/// A bucket (of any project).
#[derive(Debug, Clone)]
pub struct Bucket {
    /// The Bucket resource.
    pub resource: Value,
    /// Owning project number.
    pub project_number: String,
    /// The policy's bindings.
    pub bindings: Value,
    /// Bumped on every setIamPolicy; the etag encodes it.
    pub policy_version: u64,
}

/// The clouds' contents.
#[derive(Debug, Default)]
pub struct Cloud {
    /// Keys by private_key_id.
    pub keys: BTreeMap<String, SaKey>,
    /// Tokens by value.
    pub tokens: BTreeMap<String, Token>,
    /// Managed zones by name.
    pub zones: BTreeMap<String, Zone>,
    /// Service accounts by email (ServiceAccount resources).
    pub service_accounts: BTreeMap<String, Value>,
    /// Buckets by name.
    pub buckets: BTreeMap<String, Bucket>,
    /// HMAC key metadata by accessId.
    pub hmac_keys: BTreeMap<String, Value>,
    /// How long new tokens live.
    pub token_lifetime: Duration,
    counter: u64,
}

impl Cloud {
    /// A fresh number (for ids and etags).
    pub fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }
}

/// One request as the stand-in saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path as sent.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The discovery method id it was served as (`dns.managedZones.create`), `token`
    /// for the token endpoint, empty when nothing matched.
    pub operation: String,
    /// The service account the bearer token belongs to (empty without one).
    pub principal: String,
    /// The status answered.
    pub status: u16,
    /// The JSON body of a write (`null` for reads; the token request's assertion is
    /// not kept).
    pub body: Value,
    /// Whether an injected fault shaped the answer.
    pub faulted: bool,
}

/// A fault for upcoming calls of one operation (`POST /_sandbox/faults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleFault {
    /// The discovery method id (`storage.buckets.insert`, …), `token`, or `*`.
    pub operation: String,
    /// The first matching call it hits, counting from 1 from injection (default 1).
    #[serde(default = "one")]
    pub nth: u32,
    /// How many matching calls it hits from the nth on (default 1).
    #[serde(default = "one")]
    pub times: u32,
    /// Answer this status (default 503) …
    #[serde(default)]
    pub status: Option<u16>,
    /// … with this JSON body (default: the API's error envelope for the status, with
    /// `reason`/`message` when given).
    #[serde(default)]
    pub body: Option<Value>,
    /// `reason` of the default envelope.
    #[serde(default)]
    pub reason: Option<String>,
    /// `message` of the default envelope.
    #[serde(default)]
    pub message: Option<String>,
    /// Serve the call first (its effect happens), then answer the fault: a lost answer.
    #[serde(default)]
    pub apply: bool,
    /// Wait this long first.
    #[serde(default)]
    pub delay_ms: u64,
}

fn one() -> u32 {
    1
}

/// Everything the stand-in keeps.
#[derive(Debug)]
pub struct GoogleState {
    /// The project the minted key belongs to.
    pub project_id: String,
    /// Its number.
    pub project_number: String,
    /// `http://127.0.0.1:PORT/token`.
    pub token_url: String,
    cloud: Mutex<Cloud>,
    log: Mutex<Vec<RecordedRequest>>,
    faults: Mutex<Vec<(GoogleFault, u32)>>,
    violations: Mutex<Vec<Violation>>,
    pub(crate) validator: Option<Validator>,
    pub(crate) discovery_dir: String,
}

impl GoogleState {
    pub(crate) fn new(
        project_id: &str,
        project_number: &str,
        token_url: &str,
        validator: Option<Validator>,
        discovery_dir: String,
    ) -> GoogleState {
        GoogleState {
            project_id: project_id.into(),
            project_number: project_number.into(),
            token_url: token_url.into(),
            cloud: Mutex::new(Cloud {
                token_lifetime: Duration::from_secs(3600),
                ..Cloud::default()
            }),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
            validator,
            discovery_dir,
        }
    }

    /// The clouds, locked.
    pub(crate) fn cloud(&self) -> MutexGuard<'_, Cloud> {
        relock(&self.cloud)
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        relock(&self.log).clone()
    }

    /// Forget the request log.
    pub fn clear_requests(&self) {
        relock(&self.log).clear();
    }

    pub(crate) fn record(&self, r: RecordedRequest) {
        relock(&self.log).push(r);
    }

    /// Add a fault for upcoming calls (consulted in insertion order).
    pub fn inject_fault(&self, fault: GoogleFault) {
        relock(&self.faults).push((fault, 0));
    }

    /// Remove every pending fault.
    pub fn clear_faults(&self) {
        relock(&self.faults).clear();
    }

    pub(crate) fn take_fault(&self, operation: &str) -> Option<GoogleFault> {
        let mut faults = relock(&self.faults);
        let mut hit = None;
        for (fault, seen) in faults.iter_mut() {
            if fault.times == 0 || !(fault.operation == "*" || fault.operation == operation) {
                continue;
            }
            *seen += 1;
            if hit.is_none() && *seen >= fault.nth {
                fault.times -= 1;
                hit = Some(fault.clone());
            }
        }
        faults.retain(|(f, _)| f.times > 0);
        hit
    }

    pub(crate) fn add_violations(&self, found: Vec<Violation>) {
        relock(&self.violations).extend(found);
    }

    /// Whether requests are checked against the discovery documents.
    pub fn validator_enabled(&self) -> bool {
        self.validator.is_some()
    }

    /// The contract violations recorded so far; `Err` when the validator is off (no
    /// discovery documents), so a "0 violations" check cannot pass vacuously.
    pub fn violations(&self) -> Result<Vec<Violation>, String> {
        if self.validator.is_none() {
            return Err(format!(
                "the contract validator is off: no discovery documents in {} (set VIBN_GOOGLE_DISCOVERY_DIR)",
                self.discovery_dir
            ));
        }
        Ok(relock(&self.violations).clone())
    }

    /// Panic unless the validator is on and recorded no violation — the final check of
    /// a flow against the Google stand-in.
    pub fn assert_no_violations(&self) {
        match self.violations() {
            Ok(v) if v.is_empty() => {}
            Ok(v) => panic!("Google API contract violations: {v:#?}"),
            Err(e) => panic!("{e}"),
        }
    }

    /// Forget recorded violations.
    pub fn clear_violations(&self) {
        relock(&self.violations).clear();
    }

    /// Make every access token minted so far expired.
    pub fn expire_tokens(&self) {
        let past = SystemTime::now() - Duration::from_secs(1);
        for t in self.cloud().tokens.values_mut() {
            t.expires = past;
        }
    }

    /// How long tokens minted from now on live (default one hour).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.cloud().token_lifetime = lifetime;
    }

    /// Create a bucket owned by another project (its name is then unavailable).
    pub fn add_foreign_bucket(&self, name: &str) {
        let resource = serde_json::json!({
            "kind": "storage#bucket", "id": name, "name": name,
            "projectNumber": "999999999999", "location": "US", "storageClass": "STANDARD",
        });
        self.cloud().buckets.insert(
            name.to_string(),
            Bucket {
                resource,
                project_number: "999999999999".into(),
                bindings: Value::Array(Vec::new()),
                policy_version: 1,
            },
        );
    }

    /// A zone's record sets (by name), for tests.
    pub fn rrsets(&self, zone: &str) -> Vec<Value> {
        self.cloud()
            .zones
            .get(zone)
            .map(|z| z.rrsets.values().cloned().collect())
            .unwrap_or_default()
    }

    /// A bucket's resource, whoever owns it.
    pub fn bucket(&self, name: &str) -> Option<Value> {
        self.cloud().buckets.get(name).map(|b| b.resource.clone())
    }

    /// HMAC key metadata (never secrets: the stand-in does not keep them).
    pub fn hmac_keys(&self) -> Vec<Value> {
        self.cloud().hmac_keys.values().cloned().collect()
    }
}

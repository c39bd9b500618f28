//! Behaviour tests of the Google stand-in: one sandbox on 127.0.0.1:0 per test, driven
//! over HTTP with reqwest using the key file it wrote (JWTs signed here with `rsa`),
//! steered through its `/_sandbox/` controls and [`GoogleState`]. `contract` proves the
//! discovery-document validator.

mod contract;
mod dns;
mod iam;
mod storage;
mod token;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Client, Method};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Value, json};

use super::{GoogleSandbox, GoogleState};

const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

pub(super) struct Env {
    pub sb: GoogleSandbox,
    pub http: Client,
    pub key_file: Value,
    pub token: String,
    _dir: tempfile::TempDir,
}

/// Status and JSON body.
pub(super) struct Answer {
    pub status: u16,
    pub body: Value,
}

pub(super) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A JWT over `claims` signed with the key file's private key (`kid` = its id).
pub(super) fn sign(key_file: &Value, claims: &Value) -> String {
    let pem = key_file["private_key"].as_str().unwrap();
    let private = RsaPrivateKey::from_pkcs8_pem(pem).unwrap();
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": key_file["private_key_id"] });
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = SigningKey::<Sha256>::new(private).sign(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// The claims google-auth sends for `key_file`.
pub(super) fn claims(key_file: &Value) -> Value {
    let iat = now();
    json!({
        "iss": key_file["client_email"],
        "scope": CLOUD_PLATFORM,
        "aud": "https://oauth2.googleapis.com/token",
        "iat": iat,
        "exp": iat + 3600,
    })
}

impl Env {
    pub async fn new() -> Env {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let sb = GoogleSandbox::start(0, Some(dir.path())).await.unwrap();
        let key_file: Value =
            serde_json::from_slice(&std::fs::read(sb.credentials_path()).unwrap()).unwrap();
        let mut env = Env {
            sb,
            http: Client::new(),
            key_file,
            token: String::new(),
            _dir: dir,
        };
        let answer = env
            .token_for(&sign(&env.key_file, &claims(&env.key_file)))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        env.token = answer.body["access_token"].as_str().unwrap().to_string();
        env
    }

    pub fn state(&self) -> &GoogleState {
        self.sb.state()
    }

    pub fn project(&self) -> String {
        self.sb.project_id()
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Answer {
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    /// `POST /token` with this assertion.
    pub async fn token_for(&self, assertion: &str) -> Answer {
        let form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ];
        self.send(
            self.http
                .post(self.key_file["token_uri"].as_str().unwrap())
                .form(&form),
        )
        .await
    }

    /// An API call with the bearer token; `path` after the API root, `body` JSON unless
    /// null.
    pub async fn api(&self, method: Method, path: &str, body: Value) -> Answer {
        self.api_with(method, path, body, Some(&self.token)).await
    }

    pub async fn api_with(
        &self,
        method: Method,
        path: &str,
        body: Value,
        token: Option<&str>,
    ) -> Answer {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.sb.api_url()));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if !body.is_null() {
            rb = rb.json(&body);
        }
        self.send(rb).await
    }

    pub async fn control(&self, method: Method, path: &str, body: Value) -> Value {
        let answer = self
            .send(
                self.http
                    .request(method, format!("{}_sandbox/{path}", self.sb.api_url()))
                    .json(&body),
            )
            .await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        answer.body
    }
}

#[tokio::test]
async fn the_key_file_has_the_real_shape_and_owner_only_mode() {
    let env = Env::new().await;
    let k = &env.key_file;
    assert_eq!(k["type"], "service_account");
    assert_eq!(k["project_id"], env.project());
    assert!(
        k["private_key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert_eq!(k["client_email"], env.sb.client_email());
    assert_eq!(k["token_uri"], env.sb.token_url());
    for field in [
        "private_key_id",
        "client_id",
        "auth_uri",
        "auth_provider_x509_cert_url",
        "client_x509_cert_url",
    ] {
        assert!(k[field].as_str().is_some_and(|v| !v.is_empty()), "{field}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.sb.credentials_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn faults_hit_the_nth_call_of_an_operation_and_can_apply_first() {
    let env = Env::new().await;
    let p = env.project();
    env.control(
        Method::POST,
        "faults",
        json!({"operation": "dns.managedZones.list", "nth": 2, "status": 503}),
    )
    .await;
    let list = format!("dns/v1/projects/{p}/managedZones");
    assert_eq!(env.api(Method::GET, &list, Value::Null).await.status, 200);
    let second = env.api(Method::GET, &list, Value::Null).await;
    assert_eq!(second.status, 503);
    assert_eq!(second.body["error"]["errors"][0]["reason"], "backendError");
    assert_eq!(env.api(Method::GET, &list, Value::Null).await.status, 200);
    // A lost answer: the zone is made, the client sees 504, a retry gets 409.
    env.control(
        Method::POST,
        "faults",
        json!({"operation": "dns.managedZones.create", "status": 504, "apply": true}),
    )
    .await;
    let zone = json!({"name": "lost-zone", "dnsName": "lost.com.", "description": "x"});
    assert_eq!(env.api(Method::POST, &list, zone.clone()).await.status, 504);
    assert_eq!(env.api(Method::POST, &list, zone).await.status, 409);
    let log = env.control(Method::GET, "requests", Value::Null).await;
    let faulted = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["faulted"] == true)
        .count();
    assert_eq!(faulted, 2);
}

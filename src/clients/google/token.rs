//! Google's service-account ("2LO") token flow (providers.md Google §1): a JWT
//! `{iss, scope, aud, iat, exp}` signed RS256 with the key file's private key, exchanged
//! at the key file's `token_uri` for a bearer token, cached until a minute before it
//! expires. The private key and the tokens are `SecretString`s: never logged, never in
//! an error.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::clients::http::{Auth, Call, ClientError, Http, HttpConfig};

/// The one scope every API used here accepts.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// How long before expiry a cached token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The fields of a service-account key file vibn reads.
#[derive(Clone, Deserialize)]
pub struct KeyFile {
    /// `service_account`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The account's email (the JWT issuer).
    pub client_email: String,
    /// PKCS#8 PEM.
    pub private_key: SecretString,
    /// The key's id (the JWT `kid`).
    #[serde(default)]
    pub private_key_id: Option<String>,
    /// Where tokens are minted.
    pub token_uri: String,
    /// The project the account lives in.
    #[serde(default)]
    pub project_id: Option<String>,
}

impl KeyFile {
    /// Parse a key file's JSON; the message never quotes the file.
    pub fn parse(text: &str) -> Result<KeyFile, String> {
        let key: KeyFile = serde_json::from_str(text)
            .map_err(|e| format!("not a service-account key file (line {})", e.line()))?;
        if key.kind != "service_account" {
            return Err(format!(
                "a key file of type {:?}, not service_account",
                key.kind
            ));
        }
        RsaPrivateKey::from_pkcs8_pem(key.private_key.expose_secret())
            .map_err(|_| "its private_key is not a PKCS#8 RSA key".to_string())?;
        Ok(key)
    }
}

/// The signed assertion for `key` at `now` (seconds since the epoch).
pub fn assertion(key: &KeyFile, now: u64) -> Result<SecretString, String> {
    let rsa = RsaPrivateKey::from_pkcs8_pem(key.private_key.expose_secret())
        .map_err(|_| "the key file's private_key is not a PKCS#8 RSA key".to_string())?;
    let mut header = json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = &key.private_key_id {
        header["kid"] = json!(kid);
    }
    let claims = json!({
        "iss": key.client_email,
        "scope": SCOPE,
        "aud": key.token_uri,
        "iat": now,
        "exp": now + 3600,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signer = SigningKey::<sha2::Sha256>::new(rsa);
    let sig = signer.sign(signing_input.as_bytes()).to_bytes();
    Ok(SecretString::from(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(sig)
    )))
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// Mints and caches bearer tokens for one key file.
pub struct TokenSource {
    key: KeyFile,
    http: Arc<Http>,
    cached: tokio::sync::Mutex<Option<(SecretString, Instant)>>,
}

impl TokenSource {
    /// A source for `key` (nothing is contacted yet).
    pub fn new(key: KeyFile, config: HttpConfig) -> TokenSource {
        let http = Http::new("Google OAuth", &key.token_uri, Auth::None, config);
        TokenSource {
            key,
            http,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The account the tokens act as.
    pub fn email(&self) -> &str {
        &self.key.client_email
    }

    /// A valid bearer token (minted when none is cached or it is about to expire).
    pub async fn token(&self) -> Result<SecretString, ClientError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() + REFRESH_MARGIN < *until
        {
            return Ok(token.clone());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let jwt = assertion(&self.key, now).map_err(|e| ClientError {
            upstream: "Google OAuth",
            method: "POST".into(),
            path: "/token".into(),
            failure: crate::clients::http::Failure::Config(e),
        })?;
        let form = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={}",
            jwt.expose_secret()
        );
        let call = Call::new(Method::POST, &[]).raw("application/x-www-form-urlencoded", form);
        let answer: TokenAnswer = self.http.json(call).await?;
        let seconds = match &answer.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .unwrap_or(3600);
        let until = Instant::now() + Duration::from_secs(seconds);
        *cached = Some((answer.access_token.clone(), until));
        Ok(answer.access_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;

    /// A throwaway 2048-bit key made with `openssl genpkey` for these tests only.
    const TEST_PEM: &str = include_str!("test_key.pem");

    fn key_file() -> (KeyFile, RsaPrivateKey) {
        let rsa = RsaPrivateKey::from_pkcs8_pem(TEST_PEM).unwrap();
        let pem = TEST_PEM;
        let text = json!({
            "type": "service_account",
            "client_email": "vibn@p.iam.gserviceaccount.com",
            "private_key": pem,
            "private_key_id": "k1",
            "token_uri": "http://127.0.0.1:1/token",
            "project_id": "p",
        })
        .to_string();
        (KeyFile::parse(&text).unwrap(), rsa)
    }

    #[test]
    fn the_assertion_is_an_rs256_jwt_the_public_key_verifies() {
        let (key, rsa) = key_file();
        let jwt = assertion(&key, 1_000_000).unwrap();
        let parts: Vec<&str> = jwt.expose_secret().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], "k1");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "vibn@p.iam.gserviceaccount.com");
        assert_eq!(claims["aud"], "http://127.0.0.1:1/token");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            3600
        );
        let verifier = VerifyingKey::<sha2::Sha256>::new(rsa.to_public_key());
        let sig =
            Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
        verifier
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .unwrap();
    }

    #[test]
    fn a_key_file_that_is_not_a_service_account_is_refused_without_echoing_it() {
        let err = KeyFile::parse(r#"{"type":"authorized_user","client_email":"a","private_key":"SECRETPEM","token_uri":"x"}"#).err().unwrap();
        assert!(!err.contains("SECRETPEM"), "{err}");
        let err = KeyFile::parse(r#"{"type":"service_account","client_email":"a","private_key":"SECRETPEM","token_uri":"x"}"#).err().unwrap();
        assert!(!err.contains("SECRETPEM"), "{err}");
    }
}

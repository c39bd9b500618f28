//! Service-account keys and Google's OAuth 2.0 JWT-bearer token endpoint
//! (providers.md Google §1): minting RSA-2048 keys in the real key-file shape, checking
//! an assertion (RS256 signature against the key the stand-in minted — `kid` picks it —,
//! `iss`, `aud`, `exp − iat ≤ 3600`, not expired, scopes present) and the bearer tokens
//! every API call needs. Errors are `{"error","error_description"}` with 400, as Google
//! answers them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::Rng;
use rand::distr::{Alphanumeric, SampleString};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::Verifier;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};

use super::state::{GoogleState, SaKey, Token};
use crate::plumbing::{Reply, json_reply, query_pairs};

/// The audiences Google's token endpoint accepts.
pub const GOOGLE_TOKEN_AUDIENCES: &[&str] = &[
    "https://oauth2.googleapis.com/token",
    "https://www.googleapis.com/oauth2/v4/token",
];

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A minted key: its id and the key file JSON (private key included).
pub struct MintedKey {
    /// `private_key_id`.
    pub key_id: String,
    /// The key file, as `keys.create` returns it base64-encoded in `privateKeyData`.
    pub key_file: Value,
}

/// Mint an RSA-2048 key for `email` in `project`, remember its public half, and return
/// the key file (`type`, `project_id`, `private_key_id`, `private_key` PKCS#8 PEM,
/// `client_email`, `client_id`, `auth_uri`, `token_uri`, cert URLs, `universe_domain`).
pub fn mint_key(state: &GoogleState, email: &str, client_id: &str) -> Result<MintedKey, String> {
    let mut rng = rsa::rand_core::OsRng;
    let private =
        RsaPrivateKey::new(&mut rng, 2048).map_err(|e| format!("cannot make an RSA key: {e}"))?;
    let public = RsaPublicKey::from(&private);
    let pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| format!("cannot encode the key: {e}"))?;
    let public_pem = public
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| format!("cannot encode the public key: {e}"))?;
    let key_id: String = {
        let bytes: [u8; 20] = rand::rng().random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    state.cloud().keys.insert(
        key_id.clone(),
        SaKey {
            email: email.to_string(),
            public,
            public_pem,
            created: SystemTime::now(),
            deleted: false,
        },
    );
    let escaped = email.replace('@', "%40");
    let key_file = json!({
        "type": "service_account",
        "project_id": state.project_id,
        "private_key_id": key_id,
        "private_key": pem.as_str(),
        "client_email": email,
        "client_id": client_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": state.token_url,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": format!("https://www.googleapis.com/robot/v1/metadata/x509/{escaped}"),
        "universe_domain": "googleapis.com",
    });
    Ok(MintedKey { key_id, key_file })
}

fn oauth_error(error: &str, description: &str) -> Reply {
    json_reply(
        400,
        &json!({ "error": error, "error_description": description }),
    )
}

fn invalid_grant(description: &str) -> Reply {
    oauth_error("invalid_grant", description)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `POST /token`: exchange a signed JWT assertion for an access token. Returns the
/// answer and the service account it was minted for (empty on refusal).
pub fn token_endpoint(state: &GoogleState, body: &[u8]) -> (Reply, String) {
    let form = query_pairs(&String::from_utf8_lossy(body));
    let field = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    match field("grant_type") {
        Some(JWT_BEARER) => {}
        Some(other) => {
            return (
                oauth_error(
                    "unsupported_grant_type",
                    &format!("Invalid grant_type: {other}"),
                ),
                String::new(),
            );
        }
        None => {
            return (
                oauth_error("invalid_request", "Missing required parameter: grant_type"),
                String::new(),
            );
        }
    }
    let Some(assertion) = field("assertion") else {
        return (
            oauth_error("invalid_request", "Missing required parameter: assertion"),
            String::new(),
        );
    };
    match check_assertion(state, assertion) {
        Ok((email, scopes)) => {
            let mut cloud = state.cloud();
            let lifetime = cloud.token_lifetime;
            let token = format!(
                "ya29.c.{}",
                Alphanumeric.sample_string(&mut rand::rng(), 96)
            );
            cloud.tokens.insert(
                token.clone(),
                Token {
                    email: email.clone(),
                    scopes,
                    expires: SystemTime::now() + lifetime,
                },
            );
            let expires_in = lifetime.as_secs().saturating_sub(1);
            (
                json_reply(
                    200,
                    &json!({ "access_token": token, "expires_in": expires_in, "token_type": "Bearer" }),
                ),
                email,
            )
        }
        Err(reply) => (*reply, String::new()),
    }
}

const SHORT_LIVED: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";

/// The assertion's service account and scopes, or the refusal.
fn check_assertion(
    state: &GoogleState,
    assertion: &str,
) -> Result<(String, Vec<String>), Box<Reply>> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [head, claims_b64, sig_b64] = parts.as_slice() else {
        return Err(Box::new(invalid_grant(
            "Invalid JWT: the assertion is not three base64url parts",
        )));
    };
    let decode = |part: &str| -> Result<Value, Box<Reply>> {
        URL_SAFE_NO_PAD
            .decode(part)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                Box::new(invalid_grant(
                    "Invalid JWT: a part is not base64url-encoded JSON",
                ))
            })
    };
    let header = decode(head)?;
    let claims = decode(claims_b64)?;
    if header["alg"] != "RS256" {
        return Err(Box::new(invalid_grant(
            "Invalid JWT: the alg must be RS256",
        )));
    }
    let iss = claims["iss"].as_str().unwrap_or_default().to_string();
    let key = {
        let cloud = state.cloud();
        let candidates: Vec<SaKey> = match header["kid"].as_str() {
            Some(kid) => cloud.keys.get(kid).cloned().into_iter().collect(),
            None => cloud
                .keys
                .values()
                .filter(|k| k.email == iss)
                .cloned()
                .collect(),
        };
        if !cloud.keys.values().any(|k| k.email == iss) {
            return Err(Box::new(invalid_grant("Invalid grant: account not found")));
        }
        candidates
    };
    let signature = URL_SAFE_NO_PAD
        .decode(sig_b64)
        .ok()
        .and_then(|b| Signature::try_from(b.as_slice()).ok());
    let signed = format!("{head}.{claims_b64}");
    let verified = signature.is_some_and(|sig| {
        key.iter().any(|k| {
            !k.deleted
                && k.email == iss
                && VerifyingKey::<Sha256>::new(k.public.clone())
                    .verify(signed.as_bytes(), &sig)
                    .is_ok()
        })
    });
    if !verified {
        return Err(Box::new(invalid_grant("Invalid JWT Signature.")));
    }
    let aud = claims["aud"].as_str().unwrap_or_default();
    if !GOOGLE_TOKEN_AUDIENCES.contains(&aud) && aud != state.token_url {
        return Err(Box::new(invalid_grant(
            "Invalid JWT: Failed audience check.",
        )));
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return Err(Box::new(invalid_grant(SHORT_LIVED)));
    };
    let now = now_secs();
    if exp - iat > 3600 || exp <= iat || exp <= now || iat > now + 300 {
        return Err(Box::new(invalid_grant(SHORT_LIVED)));
    }
    let scopes: Vec<String> = claims["scope"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    if scopes.is_empty() {
        return Err(Box::new(oauth_error(
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        )));
    }
    Ok((iss, scopes))
}

/// Why a bearer token does not authorise a call.
pub enum BearerProblem {
    /// No `Authorization: Bearer …`.
    Missing,
    /// Unknown or expired.
    Invalid,
    /// None of its scopes allows the call.
    Scope,
}

/// The service account behind `authorization`, if its token is valid and carries one of
/// `allowed` scopes.
pub fn check_bearer(
    state: &GoogleState,
    authorization: Option<&str>,
    allowed: &[&str],
) -> Result<String, BearerProblem> {
    let token = authorization
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(BearerProblem::Missing)?;
    let cloud = state.cloud();
    let t = cloud.tokens.get(token).ok_or(BearerProblem::Invalid)?;
    if t.expires <= SystemTime::now() {
        return Err(BearerProblem::Invalid);
    }
    if !t.scopes.iter().any(|s| allowed.contains(&s.as_str())) {
        return Err(BearerProblem::Scope);
    }
    Ok(t.email.clone())
}

/// Base64 (standard) of `bytes`.
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// RFC 3339 with milliseconds, as Google writes times.
pub fn rfc3339_millis(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Now, RFC 3339 with milliseconds.
pub fn now_rfc3339() -> String {
    rfc3339_millis(SystemTime::now())
}

/// A far-future validity end, as Google gives user-managed keys.
pub fn valid_before() -> String {
    rfc3339_millis(UNIX_EPOCH + Duration::from_secs(253_402_300_799)).replace(".000Z", "Z")
}

//! Private keys (`SecurityController`, `PrivateKey` model): list, get, create and delete
//! under `/security/keys`. As in Coolify 4.3: `private_key` is hidden without
//! `read:sensitive`; `public_key` is an appended attribute derived from the private key
//! (OpenSSH line without a comment); a key that does not start with `-----BEGIN` is
//! base64-decoded first; a key that does not load is 422 "Invalid private key."; the
//! same key twice in a team is 422 "Private key already exists."; a key used by an
//! application cannot be deleted (422). No state outside `Data`.

use std::time::SystemTime;

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::api::Ctx;
use super::http::{ApiErr, ApiResult, fmt_time, input_str, ok, ok_message};
use super::state::{Data, PrivateKey, new_uuid};
use super::validate::{Errors, Rule, check};

/// What `public_key` reads when the stored key cannot be loaded.
const UNLOADABLE: &str = "Error loading private key";

fn key_json(k: &PrivateKey, sensitive: bool) -> Value {
    let mut v = json!({
        "id": k.id,
        "uuid": k.uuid,
        "name": k.name,
        "description": k.description,
        "is_git_related": false,
        "team_id": k.team_id,
        "fingerprint": k.fingerprint,
        "created_at": fmt_time(k.created),
        "updated_at": fmt_time(k.created),
        "public_key": k.public_key.as_deref().unwrap_or(UNLOADABLE),
    });
    if sensitive {
        v["private_key"] = json!(k.private_key);
    }
    v
}

fn not_found() -> ApiErr {
    ApiErr::msg(404, "Private Key not found.")
}

/// `GET /security/keys`.
pub(crate) fn list(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let out: Vec<Value> = d
        .private_keys
        .iter()
        .filter(|k| k.team_id == ctx.team)
        .map(|k| key_json(k, ctx.sensitive))
        .collect();
    ok(200, Value::Array(out))
}

/// `GET /security/keys/{uuid}`.
pub(crate) fn get(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let k = d
        .private_keys
        .iter()
        .find(|k| k.team_id == ctx.team && k.uuid == ctx.cap(0))
        .ok_or_else(not_found)?;
    ok(200, key_json(k, ctx.sensitive))
}

/// `PublicKeyLoader::load` for the OpenSSH format: the public key line (no comment) and
/// its `SHA256:` fingerprint, or `None` when the key does not load.
fn load(private_key: &str) -> Option<(String, String)> {
    let key = ssh_key::PrivateKey::from_openssh(private_key).ok()?;
    let public = key.public_key();
    let line = public.to_openssh().ok()?;
    let mut parts = line.split_whitespace();
    let line = format!("{} {}", parts.next()?, parts.next()?);
    let blob = public.to_bytes().ok()?;
    let fingerprint = format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(Sha256::digest(&blob))
    );
    Some((line, fingerprint))
}

/// `POST /security/keys` → 201 `{uuid}`.
pub(crate) fn create(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let input = ctx.validated()?;
    let mut e = Errors::default();
    check(&mut e, &input, "name", &[Rule::Str, Rule::Max(255)]);
    check(&mut e, &input, "description", &[Rule::Str, Rule::Max(255)]);
    check(
        &mut e,
        &input,
        "private_key",
        &[Rule::RequiredApi, Rule::Str],
    );
    if !e.is_empty() {
        return Err(ApiErr::validation(e.to_value()));
    }
    let raw = input_str(&input, "private_key").unwrap_or_default();
    let text = if raw.starts_with("-----BEGIN") {
        raw
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default()
    };
    // formatPrivateKey(): trimmed, one trailing newline.
    let text = format!("{}\n", text.trim());
    let (public_key, fingerprint) =
        load(&text).ok_or_else(|| ApiErr::msg(422, "Invalid private key."))?;
    if d.private_keys
        .iter()
        .any(|k| k.team_id == ctx.team && k.fingerprint.as_deref() == Some(&fingerprint))
    {
        return Err(ApiErr::msg(422, "Private key already exists."));
    }
    let id = d.next_id();
    let uuid = new_uuid();
    d.private_keys.push(PrivateKey {
        id,
        uuid: uuid.clone(),
        name: input_str(&input, "name").unwrap_or_else(|| format!("key-{id}")),
        description: Some(
            input_str(&input, "description").unwrap_or_else(|| "Created by Coolify via API".into()),
        ),
        private_key: Some(text),
        public_key: Some(public_key),
        fingerprint: Some(fingerprint),
        team_id: ctx.team,
        created: SystemTime::now(),
    });
    ok(201, json!({ "uuid": uuid }))
}

/// `DELETE /security/keys/{uuid}` → 200 `{message}`; 422 while an application uses it.
pub(crate) fn delete(d: &mut Data, ctx: &Ctx<'_>) -> ApiResult {
    let at = d
        .private_keys
        .iter()
        .position(|k| k.team_id == ctx.team && k.uuid == ctx.cap(0))
        .ok_or_else(not_found)?;
    let id = d.private_keys[at].id;
    let in_use = d
        .apps
        .iter()
        .any(|a| a.row.get("private_key_id").and_then(Value::as_i64) == Some(id));
    if in_use {
        return Err(ApiErr::with(
            422,
            json!({
                "message": "Private Key is in use and cannot be deleted.",
                "details": "This private key is currently being used by servers, applications, or Git integrations.",
            }),
        ));
    }
    d.private_keys.remove(at);
    ok_message("Private Key deleted.")
}

#[cfg(test)]
mod tests {
    use super::load;

    #[test]
    fn only_keys_that_load_are_accepted() {
        assert!(
            load("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
                .is_none()
        );
        assert!(load("not a key").is_none());
    }
}

//! User endpoints: `/admin/users` (create, edit, list, add and delete SSH keys), `/user`,
//! `/users/{u}`, SSH keys, and access tokens (`/users/{u}/tokens`, which only Basic auth
//! may use, and 1.27's `/token`).

use std::time::SystemTime;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::api::{Rq, doer, require_site_admin};
use super::convert::{token_json, user_json};
use super::http::{
    ApiErr, ApiResult, Paging, fmt_time, no_content, ok_json, paged_reply, required,
};
use super::seed::insert_user;
use super::state::{Account, GiteaState, Key, Table, Visibility};

/// `CreateUserOption`.
#[derive(Debug, Deserialize)]
struct CreateUser {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
    must_change_password: Option<bool>,
    full_name: Option<String>,
    restricted: Option<bool>,
    visibility: Option<String>,
}

/// `EditUserOption` (the fields the sandbox keeps).
#[derive(Debug, Deserialize)]
struct EditUser {
    email: Option<String>,
    full_name: Option<String>,
    password: Option<String>,
    must_change_password: Option<bool>,
    admin: Option<bool>,
    prohibit_login: Option<bool>,
    restricted: Option<bool>,
    visibility: Option<String>,
    website: Option<String>,
    location: Option<String>,
    description: Option<String>,
}

/// `CreateKeyOption`.
#[derive(Debug, Deserialize)]
struct CreateKey {
    title: Option<String>,
    key: Option<String>,
}

/// `CreateAccessTokenOption`.
#[derive(Debug, Deserialize)]
struct CreateToken {
    name: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

/// `GITEA__security__MIN_PASSWORD_LENGTH` default.
const MIN_PASSWORD_LENGTH: usize = 8;

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty() && !domain.is_empty() && !email.contains(char::is_whitespace)
}

/// `POST /admin/users`: 201 User; `must_change_password` defaults to **true**.
pub(crate) fn admin_create(state: &GiteaState, rq: &Rq) -> ApiResult {
    let admin = require_site_admin(state, rq)?;
    let form: CreateUser = rq.body()?;
    let username = required("Username", &form.username)?;
    let email = required("Email", &form.email)?;
    if !valid_email(email) {
        return Err(ApiErr::unprocessable("[Email]: Email"));
    }
    let visibility = Visibility::parse(form.visibility.as_deref().unwrap_or_default())
        .ok_or_else(|| ApiErr::unprocessable("[Visibility]: In"))?;
    let password = form.password.clone().unwrap_or_default();
    if password.chars().count() < MIN_PASSWORD_LENGTH {
        return Err(ApiErr::new(400, "PasswordIsRequired"));
    }
    let mut d = state.data();
    let id = insert_user(
        &mut d,
        username,
        email,
        &password,
        false,
        form.must_change_password.unwrap_or(true),
    )
    .map_err(ApiErr::unprocessable)?;
    let Some(user) = d.accounts.iter_mut().find(|a| a.id == id) else {
        return Err(ApiErr::internal("user vanished"));
    };
    user.full_name = form.full_name.clone().unwrap_or_default();
    user.restricted = form.restricted.unwrap_or(false);
    user.visibility = visibility;
    ok_json(201, user_json(user, &state.base_url, Some(&admin)))
}

/// `PATCH /admin/users/{u}`: 200 User.
pub(crate) fn admin_edit(state: &GiteaState, rq: &Rq) -> ApiResult {
    let admin = require_site_admin(state, rq)?;
    let form: EditUser = rq.body()?;
    let mut d = state.data();
    let user = d
        .accounts
        .iter_mut()
        .find(|a| !a.is_org && a.login.eq_ignore_ascii_case(rq.cap(0)))
        .ok_or_else(ApiErr::not_found)?;
    if let Some(v) = &form.visibility {
        user.visibility =
            Visibility::parse(v).ok_or_else(|| ApiErr::unprocessable("[Visibility]: In"))?;
    }
    if let Some(p) = form.password.as_deref().filter(|p| !p.is_empty()) {
        if p.chars().count() < MIN_PASSWORD_LENGTH {
            return Err(ApiErr::new(400, "PasswordIsRequired"));
        }
        user.password = p.to_string();
    }
    let set = |slot: &mut String, v: &Option<String>| {
        if let Some(v) = v {
            *slot = v.clone();
        }
    };
    set(&mut user.email, &form.email);
    set(&mut user.full_name, &form.full_name);
    set(&mut user.website, &form.website);
    set(&mut user.location, &form.location);
    set(&mut user.description, &form.description);
    let flag = |slot: &mut bool, v: Option<bool>| {
        if let Some(v) = v {
            *slot = v;
        }
    };
    flag(&mut user.must_change_password, form.must_change_password);
    flag(&mut user.is_admin, form.admin);
    flag(&mut user.prohibit_login, form.prohibit_login);
    flag(&mut user.restricted, form.restricted);
    ok_json(200, user_json(user, &state.base_url, Some(&admin)))
}

/// `GET /admin/users?q=&login_name=`: users (not orgs), paged.
pub(crate) fn admin_list(state: &GiteaState, rq: &Rq) -> ApiResult {
    let admin = require_site_admin(state, rq)?;
    let q = rq.query.trimmed("q").to_ascii_lowercase();
    let login_name = rq.query.trimmed("login_name").to_ascii_lowercase();
    let d = state.data();
    let all: Vec<&Account> = d
        .accounts
        .iter()
        .filter(|a| !a.is_org)
        .filter(|a| {
            q.is_empty()
                || a.login.to_ascii_lowercase().contains(&q)
                || a.email.to_ascii_lowercase().contains(&q)
                || a.full_name.to_ascii_lowercase().contains(&q)
        })
        .filter(|a| login_name.is_empty() || a.login.eq_ignore_ascii_case(&login_name))
        .collect();
    let paging = Paging::from_query(&rq.query);
    let page: Vec<Value> = paging
        .slice(&all)
        .into_iter()
        .map(|a| user_json(a, &state.base_url, Some(&admin)))
        .collect();
    Ok(paged_reply(
        &rq.link_base(&state.base_url),
        all.len(),
        paging,
        Value::from(page),
    ))
}

/// `GET /user`.
pub(crate) fn me(state: &GiteaState, rq: &Rq) -> ApiResult {
    rq.signed()?;
    let me = doer(state, rq).ok_or_else(|| ApiErr::new(401, "token is required"))?;
    ok_json(200, user_json(&me, &state.base_url, Some(&me)))
}

/// `GET /users/{u}`: users and orgs; 404 when unknown or not visible.
pub(crate) fn get(state: &GiteaState, rq: &Rq) -> ApiResult {
    let viewer = doer(state, rq);
    let d = state.data();
    let a = d
        .account_by_name(rq.cap(0))
        .filter(|a| d.owner_visible(a, viewer.as_ref()))
        .ok_or_else(ApiErr::not_found)?;
    ok_json(200, user_json(a, &state.base_url, viewer.as_ref()))
}

/// Parse an OpenSSH public key line; returns (`type base64` without the comment,
/// `SHA256:` fingerprint) or Gitea's "Invalid key content" message.
fn parse_public_key(raw: &str) -> Result<(String, String), String> {
    const TYPES: [&str; 8] = [
        "ssh-ed25519",
        "ssh-rsa",
        "ssh-dss",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    ];
    let invalid = |why: &str| format!("Invalid key content: {why}");
    let mut parts = raw.split_whitespace();
    let (Some(kind), Some(b64)) = (parts.next(), parts.next()) else {
        return Err(invalid("no key found"));
    };
    if !TYPES.contains(&kind) {
        return Err(invalid(&format!("unsupported key type {kind}")));
    }
    let blob = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| invalid(&e.to_string()))?;
    let named = blob.len() > 4 && {
        let n = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
        blob.get(4..4 + n) == Some(kind.as_bytes())
    };
    if !named {
        return Err(invalid("key type does not match the key data"));
    }
    let digest = Sha256::digest(&blob);
    let fingerprint = format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    );
    Ok((format!("{kind} {b64}"), fingerprint))
}

fn key_json(k: &Key, owner: &Account, base: &str, viewer: Option<&Account>) -> Value {
    json!({
        "id": k.id,
        "key": k.content,
        "url": format!("{base}/api/v1/user/keys/{}", k.id),
        "title": k.title,
        "fingerprint": k.fingerprint,
        "created_at": fmt_time(k.created),
        "user": user_json(owner, base, viewer),
        "read_only": false,
        "key_type": "user",
    })
}

fn add_key(state: &GiteaState, rq: &Rq, owner_id: i64, viewer: &Account) -> ApiResult {
    let form: CreateKey = rq.body()?;
    let title = required("Title", &form.title)?;
    let raw = required("Key", &form.key)?;
    let (content, fingerprint) = parse_public_key(raw).map_err(ApiErr::unprocessable)?;
    let mut d = state.data();
    if d.keys.iter().any(|k| k.fingerprint == fingerprint) {
        return Err(ApiErr::unprocessable(
            "Key content has been used as non-deploy key",
        ));
    }
    if d.keys.iter().any(|k| k.uid == owner_id && k.title == title) {
        return Err(ApiErr::unprocessable("Key title has been used"));
    }
    let id = d.next_id(Table::Keys);
    let key = Key {
        id,
        uid: owner_id,
        title: title.to_string(),
        content,
        fingerprint,
        created: SystemTime::now(),
    };
    d.keys.push(key.clone());
    let owner = d.account(owner_id).ok_or_else(ApiErr::not_found)?;
    ok_json(201, key_json(&key, owner, &state.base_url, Some(viewer)))
}

/// `POST /admin/users/{u}/keys`: 201 PublicKey; 422 duplicate content or title.
pub(crate) fn admin_key_create(state: &GiteaState, rq: &Rq) -> ApiResult {
    let admin = require_site_admin(state, rq)?;
    let owner = state
        .data()
        .account_by_name(rq.cap(0))
        .filter(|a| !a.is_org)
        .map(|a| a.id)
        .ok_or_else(ApiErr::not_found)?;
    add_key(state, rq, owner, &admin)
}

/// `DELETE /admin/users/{u}/keys/{id}`: 204; 404 unknown user or key (or a key of
/// another user).
pub(crate) fn admin_key_delete(state: &GiteaState, rq: &Rq) -> ApiResult {
    require_site_admin(state, rq)?;
    let mut d = state.data();
    let owner = d
        .account_by_name(rq.cap(0))
        .filter(|a| !a.is_org)
        .map(|a| a.id)
        .ok_or_else(ApiErr::not_found)?;
    let id = rq.cap(1).parse::<i64>().unwrap_or(0);
    let before = d.keys.len();
    d.keys.retain(|k| !(k.id == id && k.uid == owner));
    if d.keys.len() == before {
        return Err(ApiErr::not_found());
    }
    no_content()
}

/// `POST /user/keys`.
pub(crate) fn my_key_create(state: &GiteaState, rq: &Rq) -> ApiResult {
    let me_id = rq.signed()?;
    let me = doer(state, rq).ok_or_else(ApiErr::not_found)?;
    add_key(state, rq, me_id, &me)
}

fn list_keys(state: &GiteaState, rq: &Rq, owner_id: i64) -> ApiResult {
    let viewer = doer(state, rq);
    let d = state.data();
    let owner = d.account(owner_id).ok_or_else(ApiErr::not_found)?;
    let keys: Vec<&Key> = d.keys.iter().filter(|k| k.uid == owner_id).collect();
    let paging = Paging::from_query(&rq.query);
    let page: Vec<Value> = paging
        .slice(&keys)
        .into_iter()
        .map(|k| key_json(k, owner, &state.base_url, viewer.as_ref()))
        .collect();
    Ok(paged_reply(
        &rq.link_base(&state.base_url),
        keys.len(),
        paging,
        Value::from(page),
    ))
}

/// `GET /user/keys`.
pub(crate) fn my_keys(state: &GiteaState, rq: &Rq) -> ApiResult {
    let me = rq.signed()?;
    list_keys(state, rq, me)
}

/// `GET /users/{u}/keys`.
pub(crate) fn user_keys(state: &GiteaState, rq: &Rq) -> ApiResult {
    let owner = state
        .data()
        .account_by_name(rq.cap(0))
        .map(|a| a.id)
        .ok_or_else(ApiErr::not_found)?;
    list_keys(state, rq, owner)
}

/// The guards of every `/users/{u}/tokens` route, in Gitea's order: the user exists
/// (404), the doer is that user or a site admin (403), the request authenticated with
/// Basic (401 "auth required" for `token`/`Bearer`). Returns the user's id.
fn token_route_user(state: &GiteaState, rq: &Rq) -> Result<i64, ApiErr> {
    let d = state.data();
    let user = d.account_by_name(rq.cap(0)).ok_or_else(ApiErr::not_found)?;
    let doer = rq.auth.doer.and_then(|id| d.account(id));
    if !doer.is_some_and(|a| a.is_admin || a.id == user.id) {
        return Err(ApiErr::forbidden(
            "doer should be the site admin or be same as the contextUser",
        ));
    }
    if !rq.auth.basic {
        return Err(ApiErr::new(401, "auth required"));
    }
    Ok(user.id)
}

/// `POST /users/{u}/tokens`: 201 `{id, name, sha1, token_last_eight, scopes}`.
pub(crate) fn token_create(state: &GiteaState, rq: &Rq) -> ApiResult {
    let uid = token_route_user(state, rq)?;
    let form: CreateToken = rq.body()?;
    let name = required("Name", &form.name)?;
    rq.signed()?;
    let mut d = state.data();
    if d.tokens.iter().any(|t| t.uid == uid && t.name == name) {
        return Err(ApiErr::new(400, "access token name has been used already"));
    }
    let scopes = super::auth::normalize_scopes(&form.scopes.clone().unwrap_or_default())
        .map_err(|e| ApiErr::new(400, format!("invalid access token scope provided: {e}")))?;
    if scopes.is_empty() {
        return Err(ApiErr::new(400, "access token must have a scope"));
    }
    let (id, _) = super::seed::insert_token(&mut d, uid, name, scopes);
    let token = d
        .tokens
        .iter()
        .find(|t| t.id == id)
        .ok_or_else(ApiErr::not_found)?;
    let full = token_json(token, true);
    ok_json(
        201,
        json!({
            "id": full["id"],
            "name": full["name"],
            "sha1": full["sha1"],
            "token_last_eight": full["token_last_eight"],
            "scopes": full["scopes"],
        }),
    )
}

/// `GET /users/{u}/tokens`: `sha1` is empty; `X-Total-Count` set.
pub(crate) fn tokens_list(state: &GiteaState, rq: &Rq) -> ApiResult {
    let uid = token_route_user(state, rq)?;
    let d = state.data();
    let list: Vec<Value> = d
        .tokens
        .iter()
        .filter(|t| t.uid == uid)
        .map(|t| token_json(t, false))
        .collect();
    let paging = Paging::from_query(&rq.query);
    let total = list.len();
    Ok(paged_reply(
        &rq.link_base(&state.base_url),
        total,
        paging,
        Value::from(paging.slice(&list)),
    ))
}

/// `DELETE /users/{u}/tokens/{id|name}`: 204; 404 unknown; 422 ambiguous name.
pub(crate) fn token_delete(state: &GiteaState, rq: &Rq) -> ApiResult {
    let uid = token_route_user(state, rq)?;
    rq.signed()?;
    let key = rq.cap(1);
    let mut d = state.data();
    let ids: Vec<i64> = match key.parse::<i64>() {
        Ok(id) => d
            .tokens
            .iter()
            .filter(|t| t.uid == uid && t.id == id)
            .map(|t| t.id)
            .collect(),
        Err(_) => d
            .tokens
            .iter()
            .filter(|t| t.uid == uid && t.name == key)
            .map(|t| t.id)
            .collect(),
    };
    match ids.as_slice() {
        [] => Err(ApiErr::not_found()),
        [id] => {
            let id = *id;
            d.tokens.retain(|t| t.id != id);
            no_content()
        }
        _ => Err(ApiErr::unprocessable("multiple matches for token name")),
    }
}

/// `GET /token` (1.27): the calling token; `DELETE /token` revokes it (204).
pub(crate) fn token_self(state: &GiteaState, rq: &Rq, delete: bool) -> ApiResult {
    let Some(id) = rq.auth.token_id else {
        return Err(ApiErr::new(401, "token is required"));
    };
    let mut d = state.data();
    if delete {
        d.tokens.retain(|t| t.id != id);
        return no_content();
    }
    let t = d
        .tokens
        .iter()
        .find(|t| t.id == id)
        .ok_or_else(ApiErr::not_found)?;
    ok_json(200, token_json(t, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_keys_parse_and_fingerprint() {
        // ssh-ed25519 blob: len(11) "ssh-ed25519" len(32) 32 zero bytes.
        let mut blob = vec![0, 0, 0, 11];
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&[0, 0, 0, 32]);
        blob.extend_from_slice(&[7u8; 32]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&blob);
        let (content, fp) = parse_public_key(&format!("ssh-ed25519 {b64} me@host")).unwrap();
        assert_eq!(content, format!("ssh-ed25519 {b64}"));
        assert!(fp.starts_with("SHA256:"));
        assert!(
            parse_public_key("ssh-rsa AAAA")
                .unwrap_err()
                .starts_with("Invalid key content")
        );
        assert!(parse_public_key(&format!("ssh-rsa {b64}")).is_err());
    }
}

//! IAM v1 (providers.md Google §5): service accounts (create with `accountId` 6–30
//! characters `[a-z]([-a-z0-9]*[a-z0-9])`, 409 `ALREADY_EXISTS` with a ResourceInfo
//! detail; get by email or uniqueId, 404 — or 403 under the `projects/-` wildcard; list;
//! delete) and their keys (create mints a real RSA key whose `privateKeyData` is the
//! base64 key file, usable at the token endpoint; list and get without private data;
//! delete). One Platform error envelopes.

use std::time::SystemTime;

use rand::Rng;
use serde_json::{Value, json};

use super::Call;
use super::errors::{Style, error, error_with_details};
use super::state::GoogleState;
use super::token::{b64, mint_key, rfc3339_millis, valid_before};
use crate::plumbing::{Reply, json_reply};

const STYLE: Style = Style::OnePlatform;

/// Create the account `account_id` in the stand-in's project; returns its uniqueId.
pub(crate) fn insert_account(
    state: &GoogleState,
    account_id: &str,
    display_name: &str,
    description: &str,
) -> String {
    let unique_id = format!("1{:020}", rand::rng().random_range(0..10u128.pow(20)));
    let email = format!("{account_id}@{}.iam.gserviceaccount.com", state.project_id);
    let mut account = json!({
        "name": format!("projects/{}/serviceAccounts/{email}", state.project_id),
        "projectId": state.project_id,
        "uniqueId": unique_id,
        "email": email,
        "etag": "MDEwMjE5MjA=",
        "oauth2ClientId": unique_id,
    });
    if !display_name.is_empty() {
        account["displayName"] = json!(display_name);
    }
    if !description.is_empty() {
        account["description"] = json!(description);
    }
    state.cloud().service_accounts.insert(email, account);
    unique_id
}

fn account_id_ok(id: &str) -> bool {
    let b = id.as_bytes();
    (6..=30).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
}

fn denied(permission: &str) -> Reply {
    error(
        STYLE,
        403,
        "forbidden",
        &format!("Permission '{permission}' denied on resource (or it may not exist)."),
    )
}

/// Serve one IAM call.
pub(super) fn handle(call: &Call<'_>) -> Reply {
    let project = call.segs[2].as_str();
    let wildcard = project == "-";
    if !wildcard && !call.own_project(project) {
        return denied(permission_of(call.op));
    }
    let account = call.segs.get(4).map(String::as_str).unwrap_or_default();
    match call.op {
        "iam.projects.serviceAccounts.create" if wildcard => denied(permission_of(call.op)),
        "iam.projects.serviceAccounts.create" => create(call),
        "iam.projects.serviceAccounts.list" => {
            let accounts: Vec<Value> = call
                .state
                .cloud()
                .service_accounts
                .values()
                .cloned()
                .collect();
            json_reply(200, &json!({ "accounts": accounts }))
        }
        op => {
            let Some(email) = resolve(call.state, account) else {
                return if wildcard {
                    denied(permission_of(op))
                } else {
                    error(STYLE, 404, "notFound", "Unknown service account")
                };
            };
            match op {
                "iam.projects.serviceAccounts.get" => {
                    json_reply(200, &call.state.cloud().service_accounts[&email])
                }
                "iam.projects.serviceAccounts.delete" => {
                    let mut cloud = call.state.cloud();
                    cloud.service_accounts.remove(&email);
                    for k in cloud.keys.values_mut().filter(|k| k.email == email) {
                        k.deleted = true;
                    }
                    json_reply(200, &json!({}))
                }
                "iam.projects.serviceAccounts.keys.create" => create_key(call, &email),
                "iam.projects.serviceAccounts.keys.list" => list_keys(call, &email),
                "iam.projects.serviceAccounts.keys.get" => get_key(
                    call,
                    &email,
                    call.segs.get(6).map(String::as_str).unwrap_or_default(),
                ),
                _ => delete_key(
                    call,
                    &email,
                    call.segs.get(6).map(String::as_str).unwrap_or_default(),
                ),
            }
        }
    }
}

fn permission_of(op: &str) -> &'static str {
    match op {
        "iam.projects.serviceAccounts.create" => "iam.serviceAccounts.create",
        "iam.projects.serviceAccounts.list" => "iam.serviceAccounts.list",
        "iam.projects.serviceAccounts.delete" => "iam.serviceAccounts.delete",
        "iam.projects.serviceAccounts.keys.create" => "iam.serviceAccountKeys.create",
        "iam.projects.serviceAccounts.keys.list" => "iam.serviceAccountKeys.list",
        "iam.projects.serviceAccounts.keys.get" => "iam.serviceAccountKeys.get",
        "iam.projects.serviceAccounts.keys.delete" => "iam.serviceAccountKeys.delete",
        _ => "iam.serviceAccounts.get",
    }
}

/// The email of the account named by email or uniqueId.
fn resolve(state: &GoogleState, key: &str) -> Option<String> {
    let cloud = state.cloud();
    if cloud.service_accounts.contains_key(key) {
        return Some(key.to_string());
    }
    cloud
        .service_accounts
        .iter()
        .find(|(_, a)| a["uniqueId"] == key)
        .map(|(e, _)| e.clone())
}

fn create(call: &Call<'_>) -> Reply {
    let account_id = call.body["accountId"].as_str().unwrap_or_default();
    if !account_id_ok(account_id) {
        return error(
            STYLE,
            400,
            "badRequest",
            &format!(
                "Invalid account ID '{account_id}'. It must be 6-30 characters long and match the regular expression [a-z]([-a-z0-9]*[a-z0-9])."
            ),
        );
    }
    let sa = &call.body["serviceAccount"];
    let display = sa["displayName"].as_str().unwrap_or_default();
    let description = sa["description"].as_str().unwrap_or_default();
    if display.len() > 100 {
        return error(
            STYLE,
            400,
            "badRequest",
            "The display name must be at most 100 bytes.",
        );
    }
    if description.len() > 256 {
        return error(
            STYLE,
            400,
            "badRequest",
            "The description must be at most 256 bytes.",
        );
    }
    let project = &call.state.project_id;
    let email = format!("{account_id}@{project}.iam.gserviceaccount.com");
    if call.state.cloud().service_accounts.contains_key(&email) {
        return error_with_details(
            STYLE,
            409,
            "alreadyExists",
            &format!(
                "Service account {account_id} already exists within project projects/{project}."
            ),
            json!([{ "@type": "type.googleapis.com/google.rpc.ResourceInfo", "resourceName": format!("projects/{project}/serviceAccounts/{email}") }]),
        );
    }
    insert_account(call.state, account_id, display, description);
    json_reply(200, &call.state.cloud().service_accounts[&email])
}

fn key_resource(project: &str, email: &str, key_id: &str, created: SystemTime) -> Value {
    json!({
        "name": format!("projects/{project}/serviceAccounts/{email}/keys/{key_id}"),
        "validAfterTime": rfc3339_millis(created).replace(".000Z", "Z"),
        "validBeforeTime": valid_before(),
        "keyAlgorithm": "KEY_ALG_RSA_2048",
        "keyOrigin": "GOOGLE_PROVIDED",
        "keyType": "USER_MANAGED",
    })
}

fn create_key(call: &Call<'_>, email: &str) -> Reply {
    match call.body["privateKeyType"].as_str() {
        None | Some("TYPE_GOOGLE_CREDENTIALS_FILE" | "TYPE_UNSPECIFIED") => {}
        Some(other) => {
            return error(
                STYLE,
                400,
                "badRequest",
                &format!(
                    "privateKeyType {other} is not supported by the vibn stand-in (TYPE_GOOGLE_CREDENTIALS_FILE only)"
                ),
            );
        }
    }
    match call.body["keyAlgorithm"].as_str() {
        None | Some("KEY_ALG_RSA_2048" | "KEY_ALG_UNSPECIFIED") => {}
        Some(other) => {
            return error(
                STYLE,
                400,
                "badRequest",
                &format!(
                    "keyAlgorithm {other} is not supported by the vibn stand-in (KEY_ALG_RSA_2048 only)"
                ),
            );
        }
    }
    let live = call
        .state
        .cloud()
        .keys
        .values()
        .filter(|k| k.email == email && !k.deleted)
        .count();
    if live >= 10 {
        return error(
            STYLE,
            400,
            "failedPrecondition",
            "Precondition check failed.",
        );
    }
    let client_id = call.state.cloud().service_accounts[email]["uniqueId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let minted = match mint_key(call.state, email, &client_id) {
        Ok(m) => m,
        Err(e) => return error(STYLE, 500, "internalError", &e),
    };
    let mut key = key_resource(
        &call.state.project_id,
        email,
        &minted.key_id,
        SystemTime::now(),
    );
    key["privateKeyType"] = json!("TYPE_GOOGLE_CREDENTIALS_FILE");
    key["privateKeyData"] = json!(b64(minted.key_file.to_string().as_bytes()));
    json_reply(200, &key)
}

fn list_keys(call: &Call<'_>, email: &str) -> Reply {
    let types: Vec<&str> = call
        .query
        .iter()
        .filter(|(k, _)| k == "keyTypes")
        .map(|(_, v)| v.as_str())
        .collect();
    if !types.is_empty() && !types.contains(&"USER_MANAGED") {
        return json_reply(200, &json!({ "keys": [] }));
    }
    let keys: Vec<Value> = call
        .state
        .cloud()
        .keys
        .iter()
        .filter(|(_, k)| k.email == email && !k.deleted)
        .map(|(id, k)| key_resource(&call.state.project_id, email, id, k.created))
        .collect();
    json_reply(200, &json!({ "keys": keys }))
}

fn get_key(call: &Call<'_>, email: &str, key_id: &str) -> Reply {
    let cloud = call.state.cloud();
    let Some(k) = cloud
        .keys
        .get(key_id)
        .filter(|k| k.email == email && !k.deleted)
    else {
        return error(
            STYLE,
            404,
            "notFound",
            &format!("Service account key {key_id} does not exist."),
        );
    };
    let mut key = key_resource(&call.state.project_id, email, key_id, k.created);
    if call.q("publicKeyType").is_some() {
        key["publicKeyData"] = json!(b64(k.public_pem.as_bytes()));
    }
    json_reply(200, &key)
}

fn delete_key(call: &Call<'_>, email: &str, key_id: &str) -> Reply {
    let mut cloud = call.state.cloud();
    match cloud
        .keys
        .get_mut(key_id)
        .filter(|k| k.email == email && !k.deleted)
    {
        Some(k) => {
            k.deleted = true;
            json_reply(200, &json!({}))
        }
        None => error(
            STYLE,
            404,
            "notFound",
            &format!("Service account key {key_id} does not exist."),
        ),
    }
}

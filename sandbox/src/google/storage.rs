//! Cloud Storage JSON API v1 (providers.md Google §4): buckets (insert needs `project`;
//! names are global, so a name of another project's bucket gets 409 "not available" and
//! one of ours 409 "you already own it"; get answers 403 for another project's bucket,
//! 404 for none; `projectNumber` is ours), bucket IAM policies (read-modify-write: a
//! stale `etag` gets 412 `conditionNotMet`; members must exist) and HMAC keys (the
//! `secret` is in the create answer only and never kept; update to INACTIVE; delete only
//! when INACTIVE, leaving a DELETED key that `showDeletedKeys` lists).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{Value, json};

use super::errors::{Style, error};
use super::state::Bucket;
use super::token::{b64, now_rfc3339};
use super::{Call, no_content};
use crate::plumbing::{Reply, json_reply};

const STYLE: Style = Style::JsonApi;

const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "NEARLINE",
    "COLDLINE",
    "ARCHIVE",
    "MULTI_REGIONAL",
    "REGIONAL",
    "DURABLE_REDUCED_AVAILABILITY",
];

/// Serve one Cloud Storage call.
pub(super) fn handle(call: &Call<'_>) -> Reply {
    let seg = |i: usize| call.segs.get(i).map(String::as_str).unwrap_or_default();
    match call.op {
        "storage.buckets.insert" => insert_bucket(call),
        "storage.buckets.get" => with_own_bucket(call, seg(3), "storage.buckets.get", |b, _| {
            json_reply(200, &b.resource)
        }),
        "storage.buckets.getIamPolicy" => {
            with_own_bucket(call, seg(3), "storage.buckets.getIamPolicy", |b, name| {
                json_reply(200, &policy(b, name))
            })
        }
        "storage.buckets.setIamPolicy" => set_policy(call, seg(3)),
        op => {
            let project = seg(3);
            if !call.own_project(project) {
                return error(
                    STYLE,
                    403,
                    "forbidden",
                    &format!(
                        "{} does not have storage.hmacKeys access to the Google Cloud project. Permission denied on resource (or it may not exist).",
                        call.principal
                    ),
                );
            }
            match op {
                "storage.projects.hmacKeys.create" => create_hmac(call),
                "storage.projects.hmacKeys.list" => list_hmac(call),
                "storage.projects.hmacKeys.get" => with_hmac(call, seg(5), |m| json_reply(200, m)),
                "storage.projects.hmacKeys.update" => update_hmac(call, seg(5)),
                _ => delete_hmac(call, seg(5)),
            }
        }
    }
}

fn bucket_name_ok(name: &str) -> bool {
    let b = name.as_bytes();
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&b.len())
        && edge(b[0])
        && edge(b[b.len() - 1])
        && b.iter()
            .all(|c| edge(*c) || matches!(c, b'-' | b'_' | b'.'))
        && !name.starts_with("goog")
        && !name.contains("google")
        && !name.contains("..")
}

fn insert_bucket(call: &Call<'_>) -> Reply {
    let Some(project) = call.q("project") else {
        return error(STYLE, 400, "required", "Required parameter: project");
    };
    if !call.own_project(project) {
        return error(
            STYLE,
            403,
            "forbidden",
            &format!(
                "{} does not have storage.buckets.create access to the Google Cloud project. Permission 'storage.buckets.create' denied on resource (or it may not exist).",
                call.principal
            ),
        );
    }
    let body = &call.body;
    let name = body["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return error(STYLE, 400, "required", "Required");
    }
    if !bucket_name_ok(name) {
        return error(
            STYLE,
            400,
            "invalid",
            &format!("Invalid bucket name: '{name}'"),
        );
    }
    let location = body["location"]
        .as_str()
        .unwrap_or("US")
        .to_ascii_uppercase();
    if location.is_empty()
        || !location
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return error(
            STYLE,
            400,
            "invalid",
            &format!("Invalid location: '{location}'"),
        );
    }
    let storage_class = body["storageClass"]
        .as_str()
        .unwrap_or("STANDARD")
        .to_ascii_uppercase();
    if !STORAGE_CLASSES.contains(&storage_class.as_str()) {
        return error(
            STYLE,
            400,
            "invalid",
            &format!("Invalid argument: storageClass '{storage_class}'"),
        );
    }
    let iam = &body["iamConfiguration"];
    let ubla = iam["uniformBucketLevelAccess"]["enabled"]
        .as_bool()
        .or(iam["bucketPolicyOnly"]["enabled"].as_bool())
        .unwrap_or(false);
    let pap = iam["publicAccessPrevention"]
        .as_str()
        .unwrap_or("inherited");
    if !matches!(pap, "inherited" | "enforced" | "unspecified") {
        return error(
            STYLE,
            400,
            "invalid",
            &format!("Invalid argument: publicAccessPrevention '{pap}'"),
        );
    }
    let mut cloud = call.state.cloud();
    if let Some(existing) = cloud.buckets.get(name) {
        let message = if existing.project_number == call.state.project_number {
            "Your previous request to create the named bucket succeeded and you already own it."
        } else {
            "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."
        };
        return error(STYLE, 409, "conflict", message);
    }
    let location_type = match location.as_str() {
        "US" | "EU" | "ASIA" => "multi-region",
        l if l.len() == 4 && l.chars().last().is_some_and(|c| c.is_ascii_digit()) => "dual-region",
        _ => "region",
    };
    let now = now_rfc3339();
    let lock = ubla.then(|| json!(now.clone()));
    let mut resource = json!({
        "kind": "storage#bucket",
        "selfLink": format!("https://www.googleapis.com/storage/v1/b/{name}"),
        "id": name,
        "name": name,
        "projectNumber": call.state.project_number,
        "generation": rand::rng().random_range(1_700_000_000_000_000u64..1_800_000_000_000_000).to_string(),
        "metageneration": "1",
        "location": location,
        "storageClass": storage_class,
        "etag": "CAE=",
        "timeCreated": now,
        "updated": now,
        "softDeletePolicy": { "retentionDurationSeconds": "604800", "effectiveTime": now },
        "iamConfiguration": {
            "bucketPolicyOnly": { "enabled": ubla },
            "uniformBucketLevelAccess": { "enabled": ubla },
            "publicAccessPrevention": if pap == "unspecified" { "inherited" } else { pap },
        },
        "locationType": location_type,
    });
    if let Some(l) = lock {
        resource["iamConfiguration"]["bucketPolicyOnly"]["lockedTime"] = l.clone();
        resource["iamConfiguration"]["uniformBucketLevelAccess"]["lockedTime"] = l;
    }
    if location_type != "region" {
        resource["rpo"] = json!("DEFAULT");
    }
    if body["labels"].is_object() {
        resource["labels"] = body["labels"].clone();
    }
    let p = &call.state.project_id;
    let bindings = json!([
        { "role": "roles/storage.legacyBucketOwner", "members": [format!("projectEditor:{p}"), format!("projectOwner:{p}")] },
        { "role": "roles/storage.legacyBucketReader", "members": [format!("projectViewer:{p}")] },
    ]);
    cloud.buckets.insert(
        name.to_string(),
        Bucket {
            resource: resource.clone(),
            project_number: call.state.project_number.clone(),
            bindings,
            policy_version: 1,
        },
    );
    json_reply(200, &resource)
}

/// Run `f` on a bucket of our project; 403 for another project's, 404 for none.
fn with_own_bucket(
    call: &Call<'_>,
    name: &str,
    permission: &str,
    f: impl FnOnce(&mut Bucket, &str) -> Reply,
) -> Reply {
    let mut cloud = call.state.cloud();
    match cloud.buckets.get_mut(name) {
        Some(b) if b.project_number == call.state.project_number => f(b, name),
        Some(_) => error(
            STYLE,
            403,
            "forbidden",
            &format!(
                "{} does not have {permission} access to the Google Cloud Storage bucket. Permission '{permission}' denied on resource (or it may not exist).",
                call.principal
            ),
        ),
        None => error(
            STYLE,
            404,
            "notFound",
            "The specified bucket does not exist.",
        ),
    }
}

/// The etag of policy version `n`: the base64 of its protobuf varint field, as Google's
/// (`CAE=` for 1).
fn policy_etag(n: u64) -> String {
    let mut bytes = vec![0x08];
    let mut v = n;
    loop {
        let low = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            bytes.push(low);
            break;
        }
        bytes.push(low | 0x80);
    }
    STANDARD.encode(bytes)
}

fn policy(b: &Bucket, name: &str) -> Value {
    json!({
        "kind": "storage#policy",
        "resourceId": format!("projects/_/buckets/{name}"),
        "version": 1,
        "etag": policy_etag(b.policy_version),
        "bindings": b.bindings,
    })
}

const MEMBER_PREFIXES: &[&str] = &[
    "user:",
    "serviceAccount:",
    "group:",
    "domain:",
    "projectOwner:",
    "projectEditor:",
    "projectViewer:",
    "principal:",
    "principalSet:",
    "deleted:",
];

fn set_policy(call: &Call<'_>, name: &str) -> Reply {
    let bindings = call.body["bindings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let sa_suffix = format!("@{}.iam.gserviceaccount.com", call.state.project_id);
    let known_accounts: Vec<String> = call
        .state
        .cloud()
        .service_accounts
        .keys()
        .cloned()
        .collect();
    for b in &bindings {
        let role = b["role"].as_str().unwrap_or_default();
        if !(role.starts_with("roles/") || role.starts_with("projects/")) {
            return error(
                STYLE,
                400,
                "invalid",
                &format!("Role ({role}) does not exist in the resource's hierarchy."),
            );
        }
        for m in b["members"].as_array().into_iter().flatten() {
            let m = m.as_str().unwrap_or_default();
            if !(m == "allUsers"
                || m == "allAuthenticatedUsers"
                || MEMBER_PREFIXES.iter().any(|p| m.starts_with(p)))
            {
                return error(
                    STYLE,
                    400,
                    "invalid",
                    &format!("Invalid argument: member '{m}'"),
                );
            }
            if let Some(email) = m
                .strip_prefix("serviceAccount:")
                .filter(|e| e.ends_with(&sa_suffix))
                && !known_accounts.iter().any(|k| k == email)
            {
                return error(
                    STYLE,
                    400,
                    "invalid",
                    &format!("Service account {email} does not exist."),
                );
            }
        }
    }
    with_own_bucket(call, name, "storage.buckets.setIamPolicy", |b, name| {
        if let Some(etag) = call.body["etag"].as_str()
            && etag != policy_etag(b.policy_version)
        {
            return error(STYLE, 412, "conditionNotMet", "Precondition Failed");
        }
        let public = bindings
            .iter()
            .flat_map(|b| b["members"].as_array().cloned().unwrap_or_default())
            .any(|m| m == "allUsers" || m == "allAuthenticatedUsers");
        if public && b.resource["iamConfiguration"]["publicAccessPrevention"] == "enforced" {
            return error(
                STYLE,
                412,
                "conditionNotMet",
                "Precondition Failed: public access prevention is enforced on this bucket",
            );
        }
        b.bindings = Value::Array(bindings.clone());
        b.policy_version += 1;
        json_reply(200, &policy(b, name))
    })
}

fn create_hmac(call: &Call<'_>) -> Reply {
    let Some(email) = call.q("serviceAccountEmail") else {
        return error(
            STYLE,
            400,
            "required",
            "Required parameter: serviceAccountEmail",
        );
    };
    if !call.state.cloud().service_accounts.contains_key(email) {
        return error(
            STYLE,
            400,
            "invalid",
            &format!("Service account {email} does not exist."),
        );
    }
    let mut rng = rand::rng();
    let access_id = format!(
        "GOOG1E{}",
        Alphanumeric
            .sample_string(&mut rng, 55)
            .to_ascii_uppercase()
    );
    let secret_bytes: [u8; 30] = rng.random();
    let secret = b64(&secret_bytes);
    let project = &call.state.project_id;
    let now = now_rfc3339();
    let mut cloud = call.state.cloud();
    let etag = b64(cloud.next().to_string().as_bytes());
    let metadata = json!({
        "kind": "storage#hmacKeyMetadata",
        "id": format!("{project}/{access_id}"),
        "selfLink": format!("https://www.googleapis.com/storage/v1/projects/{project}/hmacKeys/{access_id}"),
        "accessId": access_id,
        "projectId": project,
        "serviceAccountEmail": email,
        "state": "ACTIVE",
        "timeCreated": now,
        "updated": now,
        "etag": etag,
    });
    cloud.hmac_keys.insert(access_id, metadata.clone());
    json_reply(
        200,
        &json!({ "kind": "storage#hmacKey", "secret": secret, "metadata": metadata }),
    )
}

fn list_hmac(call: &Call<'_>) -> Reply {
    let email = call.q("serviceAccountEmail");
    let deleted = call.q("showDeletedKeys") == Some("true");
    let items: Vec<Value> = call
        .state
        .cloud()
        .hmac_keys
        .values()
        .filter(|m| {
            email.is_none_or(|e| m["serviceAccountEmail"] == e)
                && (deleted || m["state"] != "DELETED")
        })
        .cloned()
        .collect();
    let start = call
        .q("pageToken")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let size = call
        .q("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .filter(|m| *m > 0)
        .unwrap_or(250)
        .min(250);
    let end = (start + size).min(items.len());
    let mut out = json!({ "kind": "storage#hmacKeysMetadata", "items": items.get(start..end).unwrap_or_default() });
    if end < items.len() {
        out["nextPageToken"] = json!(end.to_string());
    }
    json_reply(200, &out)
}

fn with_hmac(call: &Call<'_>, access_id: &str, f: impl FnOnce(&mut Value) -> Reply) -> Reply {
    let mut cloud = call.state.cloud();
    match cloud.hmac_keys.get_mut(access_id) {
        Some(m) => f(m),
        None => error(
            STYLE,
            404,
            "notFound",
            &format!(
                "Access ID not found in project {}: {access_id}",
                call.state.project_id
            ),
        ),
    }
}

fn update_hmac(call: &Call<'_>, access_id: &str) -> Reply {
    let etag = b64(call.state.cloud().next().to_string().as_bytes());
    with_hmac(call, access_id, |m| {
        let wanted = call.body["state"].as_str().unwrap_or_default();
        if !matches!(wanted, "ACTIVE" | "INACTIVE") {
            return error(
                STYLE,
                400,
                "invalid",
                &format!("Invalid argument: state '{wanted}' (ACTIVE or INACTIVE)"),
            );
        }
        if m["state"] == "DELETED" {
            return error(STYLE, 400, "invalid", "Cannot update a deleted HMAC key.");
        }
        if let Some(given) = call.body["etag"].as_str()
            && m["etag"] != given
        {
            return error(STYLE, 412, "conditionNotMet", "Precondition Failed");
        }
        m["state"] = json!(wanted);
        m["updated"] = json!(now_rfc3339());
        m["etag"] = json!(etag);
        json_reply(200, m)
    })
}

fn delete_hmac(call: &Call<'_>, access_id: &str) -> Reply {
    with_hmac(call, access_id, |m| {
        if m["state"] != "INACTIVE" {
            let state = m["state"].as_str().unwrap_or_default().to_string();
            return error(
                STYLE,
                400,
                "invalid",
                &format!("Cannot delete keys in '{state}' state."),
            );
        }
        m["state"] = json!("DELETED");
        m["updated"] = json!(now_rfc3339());
        no_content()
    })
}

//! Application environment variables: preview twins, key rules, PATCH resets, bulk
//! upsert, delete by uuid and hidden values.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::Env;

fn by_key<'a>(list: &'a Value, key: &str, preview: bool) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == key && e["is_preview"] == preview)
        .unwrap_or_else(|| panic!("no {key} (preview {preview}) in {list}"))
}

/// Creating a production variable adds an `is_preview` twin with the same key (the
/// list shows both); a taken key is 409; bad keys and `is_build_time` are 422.
#[tokio::test]
async fn production_env_gets_a_preview_twin_and_keys_are_checked() {
    let env = Env::new().await;
    let project = env.project("envs");
    let app = env.app(&project, "site").await;
    let path = format!("/applications/{app}/envs");
    let a = env
        .post(
            &path,
            json!({"key": "DATABASE_URL", "value": "postgres://x"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let uuid = a.body["uuid"].as_str().unwrap().to_string();
    let list = env.get(&path).await.body;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let prod = by_key(&list, "DATABASE_URL", false);
    assert_eq!(prod["uuid"], uuid.as_str());
    assert_eq!(
        (prod["is_runtime"].clone(), prod["is_buildtime"].clone()),
        (json!(true), json!(true))
    );
    let twin = by_key(&list, "DATABASE_URL", true);
    assert_ne!(twin["uuid"], uuid.as_str());
    assert_eq!(twin["value"], "postgres://x");
    assert_eq!(list[0]["is_preview"], false);
    let a = env
        .post(&path, json!({"key": "DATABASE_URL", "value": "y"}))
        .await;
    assert_eq!(
        (a.status, a.body),
        (
            StatusCode::CONFLICT,
            json!({"message": "Environment variable already exists. Use PATCH request to update it."})
        )
    );
    let a = env
        .post(&path, json!({"key": "1BAD", "is_build_time": true}))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        a.body["errors"]["key"],
        json!(["The key field format is invalid."])
    );
    assert_eq!(
        a.body["errors"]["is_build_time"],
        json!(["This field is not allowed."])
    );
    let a = env.post(&path, json!({"value": "x"})).await;
    assert_eq!(a.body["errors"]["key"], json!(["This field is required."]));
    let a = env
        .post(&path, json!({"key": "ONLY_PREVIEW", "is_preview": true}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(env.get(&path).await.body.as_array().unwrap().len(), 3);
}

/// PATCH finds the row by key and resets what is omitted: `value` becomes null and
/// `is_literal`/`is_multiline`/`is_shown_once` false; runtime/buildtime stay.
#[tokio::test]
async fn patch_by_key_resets_omitted_value_and_flags() {
    let env = Env::new().await;
    let project = env.project("patch");
    let app = env.app(&project, "site").await;
    let path = format!("/applications/{app}/envs");
    env.post(
        &path,
        json!({"key": "API_KEY", "value": "s3cret", "is_literal": true, "is_multiline": true, "is_runtime": false}),
    )
    .await;
    let a = env
        .patch(&path, json!({"key": "API_KEY", "comment": "rotated"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body["value"], Value::Null);
    assert_eq!(a.body["is_literal"], false);
    assert_eq!(a.body["is_multiline"], false);
    assert_eq!(a.body["is_runtime"], false);
    assert_eq!(a.body["comment"], "rotated");
    let a = env
        .patch(
            &path,
            json!({"key": "API_KEY", "value": "new", "is_literal": true}),
        )
        .await;
    assert_eq!(
        (a.body["value"].clone(), a.body["is_literal"].clone()),
        (json!("new"), json!(true))
    );
    // The preview twin is a separate row.
    let twin = by_key(&env.get(&path).await.body, "API_KEY", true).clone();
    assert_eq!(twin["value"], "s3cret");
    let a = env
        .patch(&path, json!({"key": "MISSING", "value": "x"}))
        .await;
    assert_eq!(
        (a.status, a.body),
        (
            StatusCode::NOT_FOUND,
            json!({"message": "Environment variable not found."})
        )
    );
    let a = env
        .patch(&path, json!({"key": "API_KEY", "is_build_time": true}))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Bulk is an upsert answering 201 with the rows; unknown item fields are dropped;
/// `data` is required.
#[tokio::test]
async fn bulk_upserts_and_drops_unknown_item_fields() {
    let env = Env::new().await;
    let project = env.project("bulk");
    let app = env.app(&project, "site").await;
    let path = format!("/applications/{app}/envs");
    env.post(&path, json!({"key": "A", "value": "1"})).await;
    let a = env
        .patch(
            &format!("{path}/bulk"),
            json!({"data": [{"key": "A", "value": "2"}, {"key": "B", "value": "3", "is_build_time": false}]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let rows = a.body.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["key"].clone(), rows[0]["value"].clone()),
        (json!("A"), json!("2"))
    );
    let list = env.get(&path).await.body;
    assert_eq!(list.as_array().unwrap().len(), 4);
    assert_eq!(by_key(&list, "B", true)["value"], "3");
    let a = env
        .patch(&format!("{path}/bulk"), json!({"items": []}))
        .await;
    assert_eq!(
        (a.status, a.body),
        (
            StatusCode::BAD_REQUEST,
            json!({"message": "Bulk data is required."})
        )
    );
    let a = env
        .patch(
            &format!("{path}/bulk"),
            json!({"data": [{"key": "C", "value": "4"}, {"key": "bad key"}]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Not transactional: C was saved before the failure.
    let list = env.get(&path).await.body;
    by_key(&list, "C", false);
}

/// Delete takes the env uuid; the twin stays.
#[tokio::test]
async fn delete_by_env_uuid_removes_only_that_row() {
    let env = Env::new().await;
    let project = env.project("delete");
    let app = env.app(&project, "site").await;
    let path = format!("/applications/{app}/envs");
    let uuid = env
        .post(&path, json!({"key": "GONE", "value": "x"}))
        .await
        .body["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let a = env.delete(&format!("{path}/{uuid}")).await;
    assert_eq!(
        (a.status, a.body),
        (
            StatusCode::OK,
            json!({"message": "Environment variable deleted."})
        )
    );
    let list = env.get(&path).await.body;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["is_preview"], true);
    let a = env.delete(&format!("{path}/{uuid}")).await;
    assert_eq!(
        a.body,
        json!({"message": "Environment variable not found."})
    );
}

/// Values are absent without read:sensitive, present with it, never for shown-once.
#[tokio::test]
async fn env_values_are_absent_without_read_sensitive() {
    let env = Env::new().await;
    let project = env.project("secrets");
    let app = env.app(&project, "site").await;
    let path = format!("/applications/{app}/envs");
    env.post(&path, json!({"key": "TOKEN", "value": "abc"}))
        .await;
    env.post(
        &path,
        json!({"key": "ONCE", "value": "zzz", "is_shown_once": true}),
    )
    .await;
    let read = env.state().create_token(&["read"]);
    let list = env
        .call_as(Method::GET, &path, Some(&read), None)
        .await
        .body;
    for row in list.as_array().unwrap() {
        assert!(row.get("value").is_none() && row.get("real_value").is_none());
    }
    let list = env.get(&path).await.body;
    assert_eq!(by_key(&list, "TOKEN", false)["real_value"], "abc");
    assert!(by_key(&list, "ONCE", false).get("value").is_none());
}

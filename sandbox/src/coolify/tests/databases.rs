//! Databases: the eight kinds, URLs and secrets, per-kind fields, PATCH, delete and
//! lifecycle.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::Env;

fn target(env: &Env, project: &str) -> Value {
    json!({
        "project_uuid": project,
        "server_uuid": env.state().server_uuid(),
        "environment_name": "production",
    })
}

/// Each of the eight kinds creates with 201 `{uuid, internal_db_url}` (dragonfly
/// `{uuid}` only) with generated credentials, and lists with its `database_type`.
#[tokio::test]
async fn all_eight_database_kinds_create_with_their_urls() {
    let env = Env::new().await;
    let project = env.project("dbs");
    let schemes = [
        ("postgresql", "postgres://postgres:"),
        ("mysql", "mysql://mysql:"),
        ("mariadb", "mysql://mariadb:"),
        ("mongodb", "mongodb://root:"),
        ("redis", "redis://default:"),
        ("keydb", "redis://:"),
        ("dragonfly", ""),
        ("clickhouse", "clickhouse://default:"),
    ];
    for (kind, prefix) in schemes {
        let a = env
            .post(&format!("/databases/{kind}"), target(&env, &project))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{kind}: {}", a.body);
        let uuid = a.body["uuid"].as_str().unwrap();
        if kind == "dragonfly" {
            assert_eq!(a.body.as_object().unwrap().len(), 1);
        } else {
            let url = a.body["internal_db_url"].as_str().unwrap();
            assert!(
                url.starts_with(prefix) && url.contains(&format!("@{uuid}:")),
                "{url}"
            );
            assert!(a.body.get("external_db_url").is_none());
        }
    }
    let list = env.get("/databases").await.body;
    let types: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["database_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "standalone-postgresql",
            "standalone-mysql",
            "standalone-mariadb",
            "standalone-mongodb",
            "standalone-redis",
            "standalone-keydb",
            "standalone-dragonfly",
            "standalone-clickhouse"
        ]
    );
    let env_id =
        env.get(&format!("/projects/{project}")).await.body["environments"][0]["id"].clone();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|d| d["environment_id"] == env_id)
    );
    assert!(list[0]["backup_configs"].is_array());
    let a = env
        .post("/databases/cassandra", target(&env, &project))
        .await;
    assert_eq!(a.body["docs"], "https://coolify.io/docs");
}

/// Passwords and URLs are absent on GET without read:sensitive, present with root;
/// a public database gets an external URL.
#[tokio::test]
async fn database_urls_and_passwords_need_read_sensitive() {
    let env = Env::new().await;
    let project = env.project("secret-db");
    let mut body = target(&env, &project);
    body["postgres_user"] = json!("app");
    body["postgres_password"] = json!("S3cret!pw");
    body["postgres_db"] = json!("appdb");
    body["is_public"] = json!(true);
    body["public_port"] = json!(15432);
    let a = env.post("/databases/postgresql", body).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let uuid = a.body["uuid"].as_str().unwrap().to_string();
    assert_eq!(
        a.body["internal_db_url"],
        format!("postgres://app:S3cret%21pw@{uuid}:5432/appdb")
    );
    assert_eq!(
        a.body["external_db_url"],
        "postgres://app:S3cret%21pw@127.0.0.1:15432/appdb"
    );
    let read = env.state().create_token(&["read"]);
    let v = env
        .call_as(
            Method::GET,
            &format!("/databases/{uuid}"),
            Some(&read),
            None,
        )
        .await
        .body;
    for f in ["internal_db_url", "external_db_url", "postgres_password"] {
        assert!(v.get(f).is_none(), "{f}");
    }
    assert_eq!(v["postgres_user"], "app");
    let v = env.get(&format!("/databases/{uuid}")).await.body;
    assert_eq!(v["postgres_password"], "S3cret!pw");
    assert!(v["internal_db_url"].is_string());
    assert_eq!(v["destination"]["server"]["id"], 0);
}

/// Fields of another kind are 422 "not allowed" (per field); unknown fields are a
/// list of names; an unknown environment is 422 (not 404).
#[tokio::test]
async fn database_fields_of_another_kind_are_not_allowed() {
    let env = Env::new().await;
    let project = env.project("fields");
    let mut body = target(&env, &project);
    body["mysql_user"] = json!("x");
    let a = env.post("/databases/postgresql", body).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        a.body["errors"],
        json!({"mysql_user": ["This field is not allowed."]})
    );
    let mut body = target(&env, &project);
    body["colour"] = json!("blue");
    let a = env.post("/databases/redis", body).await;
    assert_eq!(a.body["errors"], json!(["colour"]));
    let mut body = target(&env, &project);
    body["environment_name"] = json!("staging");
    let a = env.post("/databases/redis", body).await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "You need to provide a valid environment_name or environment_uuid."
        )
    );
    let mut body = target(&env, &project);
    body["postgres_password"] = json!("bad pass");
    let a = env.post("/databases/postgresql", body).await;
    assert_eq!(
        a.body["errors"]["postgres_password"],
        json!(["The postgres password field format is invalid."])
    );
}

/// PATCH uses the per-kind whitelist and answers `{message}`; delete records its
/// flags; start/stop refuse a no-op.
#[tokio::test]
async fn database_patch_delete_and_lifecycle() {
    let env = Env::new().await;
    let project = env.project("lifecycle");
    let uuid = env
        .post("/databases/redis", target(&env, &project))
        .await
        .body["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let a = env
        .patch(
            &format!("/databases/{uuid}"),
            json!({"name": "cache", "limits_memory": "256m"}),
        )
        .await;
    assert_eq!(
        (a.status, a.body),
        (StatusCode::OK, json!({"message": "Database updated."}))
    );
    assert_eq!(env.state().database(&uuid).unwrap()["name"], "cache");
    let a = env
        .patch(&format!("/databases/{uuid}"), json!({"postgres_user": "x"}))
        .await;
    assert_eq!(
        a.body["errors"],
        json!({"postgres_user": ["This field is not allowed."]})
    );
    let a = env
        .post(&format!("/databases/{uuid}/stop"), json!({}))
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (StatusCode::BAD_REQUEST, "Database is already stopped.")
    );
    let a = env
        .post(&format!("/databases/{uuid}/start"), json!({}))
        .await;
    assert_eq!(
        a.body,
        json!({"message": "Database starting request queued."})
    );
    let a = env
        .post(&format!("/databases/{uuid}/start"), json!({}))
        .await;
    assert_eq!(a.message(), "Database is already running.");
    let a = env
        .delete(&format!("/databases/{uuid}?delete_volumes=false"))
        .await;
    assert_eq!(
        a.body,
        json!({"message": "Database deletion request queued."})
    );
    let (kind, deleted_uuid, flags) = env.state().deleted().remove(0);
    assert_eq!(
        (kind.as_str(), deleted_uuid.as_str()),
        ("database", uuid.as_str())
    );
    assert_eq!(flags["delete_volumes"], false);
    assert_eq!(flags["docker_cleanup"], true);
    let a = env.get(&format!("/databases/{uuid}")).await;
    assert_eq!(
        (a.status, a.body),
        (
            StatusCode::NOT_FOUND,
            json!({"message": "Database not found."})
        )
    );
}

//! One-click services: template types, the unknown-type 404, urls, list/get, delete
//! and lifecycle.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::Env;

fn target(env: &Env, project: &str) -> Value {
    json!({
        "project_uuid": project,
        "server_uuid": env.state().server_uuid(),
        "environment_name": "production",
    })
}

/// Every auth-allowlist template creates with 201 `{uuid, domains}` and the default
/// name `<type>-<uuid>`; get shows its applications and databases.
#[tokio::test]
async fn auth_templates_create_with_domains_and_default_names() {
    let env = Env::new().await;
    let project = env.project("services");
    for kind in [
        "pocketbase",
        "authentik",
        "keycloak",
        "keycloak-with-postgres",
        "pocket-id",
        "pocket-id-with-postgresql",
        "logto",
        "supertokens-with-postgresql",
        "supertokens-with-mysql",
        "n8n",
        "uptime-kuma",
    ] {
        let mut body = target(&env, &project);
        body["type"] = json!(kind);
        let a = env.post("/services", body).await;
        assert_eq!(a.status, StatusCode::CREATED, "{kind}: {}", a.body);
        let uuid = a.body["uuid"].as_str().unwrap();
        assert!(!a.body["domains"].as_array().unwrap().is_empty(), "{kind}");
        let s = env.get(&format!("/services/{uuid}")).await.body;
        assert_eq!(s["name"], format!("{kind}-{uuid}"));
        assert_eq!(s["service_type"], kind);
        assert!(s["applications"].is_array() && s["databases"].is_array());
    }
    let s = env.get("/services").await.body;
    let keycloak = s
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["service_type"] == "keycloak-with-postgres")
        .unwrap();
    let full = env
        .get(&format!("/services/{}", keycloak["uuid"].as_str().unwrap()))
        .await
        .body;
    assert_eq!(full["databases"][0]["name"], "postgres");
    assert!(
        full["applications"][0]["fqdn"]
            .as_str()
            .unwrap()
            .ends_with(".sslip.io:8080")
    );
    assert!(keycloak.get("applications").is_none());
    assert!(keycloak["environment_id"].is_i64());
}

/// An unknown type is 404 with every valid key, but only once project, environment
/// and server resolved; `type` with `docker_compose_raw` is 422.
#[tokio::test]
async fn unknown_service_type_is_404_with_valid_service_types() {
    let env = Env::new().await;
    let project = env.project("bad-type");
    let mut body = target(&env, &project);
    body["type"] = json!("plausible");
    let a = env.post("/services", body.clone()).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.message(), "Invalid service type.");
    let keys = a.body["valid_service_types"].as_array().unwrap();
    assert_eq!(keys.len(), 340);
    assert!(keys.contains(&json!("pocketbase")));
    body["project_uuid"] = json!("nope");
    let a = env.post("/services", body.clone()).await;
    assert_eq!(a.body, json!({"message": "Project not found."}));
    body["project_uuid"] = json!(project);
    body["type"] = json!("n8n");
    body["docker_compose_raw"] = json!("c2VydmljZXM6Cg==");
    let a = env.post("/services", body).await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "You cannot provide both service type and docker_compose_raw. Use one or the other."
        )
    );
    let a = env.post("/services", target(&env, &project)).await;
    assert_eq!(
        a.body["errors"]["type"],
        json!(["The type field is required when docker compose raw is not present."])
    );
}

/// `urls` set container domains; a custom compose creates its containers; delete
/// records flags; start refuses a running service.
#[tokio::test]
async fn service_urls_compose_delete_and_lifecycle() {
    let env = Env::new().await;
    let project = env.project("svc");
    let mut body = target(&env, &project);
    body["type"] = json!("pocketbase");
    body["name"] = json!("auth");
    body["urls"] = json!([{"name": "pocketbase", "url": "https://Auth.Example.com"}]);
    body["instant_deploy"] = json!(true);
    let a = env.post("/services", body.clone()).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body["domains"], json!(["https://auth.example.com"]));
    let uuid = a.body["uuid"].as_str().unwrap().to_string();
    body["name"] = json!("auth2");
    let a = env.post("/services", body.clone()).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    body["urls"] = json!([{"name": "nope", "url": "https://x.example.com"}]);
    let a = env.post("/services", body).await;
    assert_eq!(
        a.body["errors"],
        json!(["Service container with 'nope' not found."])
    );
    let a = env
        .post(&format!("/services/{uuid}/start"), json!({}))
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (StatusCode::BAD_REQUEST, "Service is already running.")
    );
    let a = env.post(&format!("/services/{uuid}/stop"), json!({})).await;
    assert_eq!(
        a.body,
        json!({"message": "Service stopping request queued."})
    );

    let mut compose = target(&env, &project);
    compose["docker_compose_raw"] = json!(base64_compose());
    let a = env.post("/services", compose).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let s = env
        .state()
        .service(a.body["uuid"].as_str().unwrap())
        .unwrap();
    assert_eq!(s["applications"][0]["name"], "web");
    assert_eq!(s["databases"][0]["name"], "db");
    assert!(s["name"].as_str().unwrap().starts_with("service-"));

    let a = env
        .delete(&format!("/services/{uuid}?delete_connected_networks=false"))
        .await;
    assert_eq!(
        a.body,
        json!({"message": "Service deletion request queued."})
    );
    let (kind, _, flags) = env.state().deleted().remove(0);
    assert_eq!(kind, "service");
    assert_eq!(flags["delete_connected_networks"], false);
    assert_eq!(
        env.get(&format!("/services/{uuid}")).await.body,
        json!({"message": "Service not found."})
    );
}

fn base64_compose() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .encode("services:\n  web:\n    image: nginx:alpine\n  db:\n    image: postgres:16\n")
}

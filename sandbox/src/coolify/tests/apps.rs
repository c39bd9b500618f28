//! Projects, environments, servers and applications: create, list/get shapes, domains,
//! the PATCH whitelist, delete flags, logs and secrets.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::Env;

/// A project comes with a `production` environment whose integer id is the
/// `environment_id` of its applications (the list has no project fields); the
/// localhost server has id 0.
#[tokio::test]
async fn project_create_adds_production_env_whose_id_joins_apps() {
    let env = Env::new().await;
    let a = env
        .post(
            "/projects",
            json!({"name": "Acme Site", "description": "x"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let project = a.body["uuid"].as_str().unwrap().to_string();
    assert_eq!(a.body.as_object().unwrap().len(), 1);
    let list = env.get("/projects").await.body;
    let keys: Vec<&String> = list[0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    let p = env.get(&format!("/projects/{project}")).await.body;
    assert_eq!(p["environments"].as_array().unwrap().len(), 1);
    assert_eq!(p["environments"][0]["name"], "production");
    let env_id = p["environments"][0]["id"].as_i64().unwrap();
    let envs = env
        .get(&format!("/projects/{project}/environments"))
        .await
        .body;
    assert_eq!(envs[0]["id"], env_id);
    env.app(&project, "zeta").await;
    env.app(&project, "alpha").await;
    let apps = env.get("/applications").await.body;
    let names: Vec<&str> = apps
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "zeta"]);
    for app in apps.as_array().unwrap() {
        assert_eq!(app["environment_id"], env_id);
        for absent in [
            "project_uuid",
            "environment_uuid",
            "environment_name",
            "server_uuid",
            "id",
        ] {
            assert!(app.get(absent).is_none(), "{absent}");
        }
        assert_eq!(app["destination"]["server"]["id"], 0);
        assert_eq!(app["destination"]["server_id"], 0);
        assert_eq!(app["status"], "exited:unhealthy");
    }
    let servers = env.get("/servers").await.body;
    assert_eq!(servers[0]["name"], "localhost");
    assert_eq!(servers[0]["uuid"], env.state().server_uuid());
    assert_eq!(servers[0]["settings"]["server_id"], 0);
    assert!(servers[0].get("id").is_none());
    let e = env
        .get(&format!("/projects/{project}/production"))
        .await
        .body;
    assert_eq!(e["applications"].as_array().unwrap().len(), 2);
    let a = env.delete(&format!("/projects/{project}")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

/// Project names need 3–255 allowed characters and unknown fields are refused.
#[tokio::test]
async fn project_validation_is_422_with_field_errors() {
    let env = Env::new().await;
    let a = env
        .post("/projects", json!({"name": "ab", "team": 1}))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.message(), "Validation failed.");
    assert_eq!(
        a.body["errors"]["name"],
        json!(["The name must be at least 3 characters."])
    );
    assert_eq!(
        a.body["errors"]["team"],
        json!(["This field is not allowed."])
    );
    let a = env.post("/projects", json!({"description": "only"})).await;
    assert_eq!(
        a.body["errors"]["name"],
        json!(["The name field is required."])
    );
}

/// `/applications/public` and `/applications/private-deploy-key` create with 201
/// `{uuid, domains}`; required fields, the environment rule, unknown
/// project/environment/server/key and refused git URLs answer Coolify's errors.
#[tokio::test]
async fn app_create_public_and_private_deploy_key() {
    let env = Env::new().await;
    let project = env.project("create");
    let a = env
        .post("/applications/public", env.public_app_body(&project, "web"))
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let uuid = a.body["uuid"].as_str().unwrap();
    assert_eq!(uuid.len(), 24);
    assert_eq!(
        a.body["domains"],
        format!("http://{uuid}.127.0.0.1.sslip.io")
    );

    let mut body = env.public_app_body(&project, "web2");
    body.as_object_mut().unwrap().remove("environment_name");
    let a = env.post("/applications/public", body.clone()).await;
    assert_eq!(
        (a.status, a.body),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "You need to provide at least one of environment_name or environment_uuid."})
        )
    );
    let env_uuid = env
        .get(&format!("/projects/{project}/environments"))
        .await
        .body[0]["uuid"]
        .clone();
    body["environment_uuid"] = env_uuid;
    body["domains"] = json!("https://Web2.Example.com");
    let a = env.post("/applications/public", body.clone()).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body["domains"], "https://web2.example.com");

    for (field, value, message) in [
        ("project_uuid", json!("nope"), "Project not found."),
        ("environment_uuid", json!("nope"), "Environment not found."),
        ("server_uuid", json!("nope"), "Server not found."),
    ] {
        let mut b = body.clone();
        b[field] = value;
        if field == "environment_uuid" {
            b.as_object_mut().unwrap().remove("environment_name");
        }
        let a = env.post("/applications/public", b).await;
        assert_eq!(
            (a.status, a.message().as_str()),
            (StatusCode::NOT_FOUND, message)
        );
    }
    let mut b = env.public_app_body(&project, "bad");
    b["build_pack"] = json!("heroku");
    b["git_repository"] = json!("http://127.0.0.1:3000/acme/site.git");
    b.as_object_mut().unwrap().remove("git_branch");
    let a = env.post("/applications/public", b).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        a.body["errors"]["build_pack"],
        json!(["The selected build pack is invalid."])
    );
    assert_eq!(
        a.body["errors"]["git_branch"],
        json!(["The git branch field is required."])
    );
    assert_eq!(
        a.body["errors"]["git_repository"],
        json!(["The git repository cannot use IP addresses."])
    );
    let mut b = env.public_app_body(&project, "x");
    b.as_object_mut().unwrap().remove("project_uuid");
    b["fqdn"] = json!("https://x.example.com");
    let a = env.post("/applications/public", b).await;
    assert_eq!(
        a.body["errors"]["project_uuid"],
        json!(["This field is required."])
    );
    assert_eq!(
        a.body["errors"]["fqdn"],
        json!(["This field is not allowed."])
    );

    let mut b = env.public_app_body(&project, "private");
    b["git_repository"] = json!("git@gitea.example.com:acme/site.git");
    b["private_key_uuid"] = json!("missing");
    let a = env
        .post("/applications/private-deploy-key", b.clone())
        .await;
    assert_eq!(
        (a.status, a.body),
        (
            StatusCode::NOT_FOUND,
            json!({"message": "Private Key not found."})
        )
    );
    b["private_key_uuid"] = json!(env.state().create_private_key("deploy"));
    let keys = env.get("/security/keys").await.body;
    assert_eq!(
        (keys[0]["name"].clone(), keys[0]["uuid"].clone()),
        (json!("deploy"), b["private_key_uuid"].clone())
    );
    let a = env.post("/applications/private-deploy-key", b).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let row = env
        .state()
        .application(a.body["uuid"].as_str().unwrap())
        .unwrap();
    assert_eq!(row["git_repository"], "git@gitea.example.com:acme/site.git");
    assert!(row["private_key_id"].is_i64());
    let a = env
        .get(&format!(
            "/applications/{}",
            a.body["uuid"].as_str().unwrap()
        ))
        .await;
    assert!(a.body["settings"]["is_auto_deploy_enabled"].is_boolean());
}

/// With the proxy off, PATCH `domains` is silently ignored (200); with it on, domains
/// are validated (errors as a list), normalised into `fqdn`, and a domain used by
/// another application is 409 with `conflicts`.
#[tokio::test]
async fn domains_are_ignored_when_proxy_off_and_applied_when_on() {
    let env = Env::new().await;
    let project = env.project("domains");
    let a = env.app(&project, "a").await;
    let b = env.app(&project, "b").await;
    let before = env.state().application(&a).unwrap()["fqdn"].clone();
    env.state().set_server_proxy(false);
    let r = env
        .patch(
            &format!("/applications/{a}"),
            json!({"domains": "https://a.example.com"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::OK, json!({"uuid": a}))
    );
    assert_eq!(env.state().application(&a).unwrap()["fqdn"], before);
    env.state().set_server_proxy(true);
    let r = env
        .patch(
            &format!("/applications/{a}"),
            json!({"domains": "HTTPS://A.Example.com,https://www.a.example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        env.state().application(&a).unwrap()["fqdn"],
        "https://a.example.com,https://www.a.example.com"
    );
    let r = env
        .patch(
            &format!("/applications/{b}"),
            json!({"domains": "https://a.example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["conflicts"][0]["resource_uuid"], a.as_str());
    assert_eq!(r.body["conflicts"][0]["domain"], "https://a.example.com");
    let r = env
        .patch(
            &format!("/applications/{b}"),
            json!({"domains": "https://a.example.com", "force_domain_override": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = env
        .patch(
            &format!("/applications/{b}"),
            json!({"domains": "ftp://b.example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.body["errors"],
        json!(["Invalid URL: ftp://b.example.com"])
    );
    // Creating with domains stores them (validated) whatever the proxy state.
    env.state().set_server_proxy(false);
    let mut body = env.public_app_body(&project, "c");
    body["domains"] = json!("https://a.example.com");
    let r = env.post("/applications/public", body).await;
    assert_eq!(
        (r.status, r.body["domains"].clone()),
        (StatusCode::CREATED, json!("https://a.example.com"))
    );
}

/// PATCH accepts only `$allowedFields` (fields the spec lists, like project_uuid, are
/// 422 "This field is not allowed.") and answers `{uuid}`.
#[tokio::test]
async fn patch_outside_the_whitelist_is_422_per_field() {
    let env = Env::new().await;
    let project = env.project("patch");
    let app = env.app(&project, "site").await;
    let a = env
        .patch(
            &format!("/applications/{app}"),
            json!({"name": "renamed", "project_uuid": "x", "server_uuid": "y", "environment_name": "z", "fqdn": "https://q.example.com", "tags": ["a"], "dockerfile": "RlJPTQ=="}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    for f in [
        "project_uuid",
        "server_uuid",
        "environment_name",
        "fqdn",
        "tags",
        "dockerfile",
    ] {
        assert_eq!(
            a.body["errors"][f],
            json!(["This field is not allowed."]),
            "{f}"
        );
    }
    assert!(a.body["errors"].get("name").is_none());
    assert_eq!(env.state().application(&app).unwrap()["name"], "site");
    let a = env
        .patch(
            &format!("/applications/{app}"),
            json!({"name": "renamed", "ports_exposes": "8080", "is_static": true, "health_check_path": "/healthz"}),
        )
        .await;
    assert_eq!((a.status, a.body), (StatusCode::OK, json!({"uuid": app})));
    let row = env.state().application(&app).unwrap();
    assert_eq!(
        (row["name"].clone(), row["ports_exposes"].clone()),
        (json!("renamed"), json!("8080"))
    );
    assert_eq!(row["settings"]["is_static"], true);
    assert_eq!(row["health_check_path"], "/healthz");
    let a = env
        .patch(
            &format!("/applications/{app}"),
            json!({"ports_exposes": "http"}),
        )
        .await;
    assert_eq!(
        a.body["errors"],
        json!({"ports_exposes": "The ports_exposes should be a comma separated list of numbers."})
    );
    let a = env.patch("/applications/nope", json!({"name": "x"})).await;
    assert_eq!(a.body, json!({"message": "Application not found"}));
}

/// DELETE without flags resolves all four to true; explicit `false` is honoured.
#[tokio::test]
async fn delete_flags_default_to_true_and_explicit_false_is_kept() {
    let env = Env::new().await;
    let project = env.project("delete");
    let a = env.app(&project, "a").await;
    let b = env.app(&project, "b").await;
    let r = env.delete(&format!("/applications/{a}")).await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::OK,
            json!({"message": "Application deletion request queued."})
        )
    );
    let r = env
        .delete(&format!(
            "/applications/{b}?delete_volumes=false&delete_configurations=0&docker_cleanup=true"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let deleted = env.state().deleted();
    assert_eq!(deleted[0].0, "application");
    assert_eq!(deleted[0].1, a);
    assert_eq!(
        deleted[0].2,
        json!({"delete_configurations": true, "delete_volumes": true, "docker_cleanup": true, "delete_connected_networks": true})
    );
    assert_eq!(
        deleted[1].2,
        json!({"delete_configurations": false, "delete_volumes": false, "docker_cleanup": true, "delete_connected_networks": true})
    );
    assert!(env.state().application(&a).is_none());
    assert_eq!(
        env.get(&format!("/applications/{a}")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = env.delete(&format!("/applications/{a}")).await;
    assert_eq!(r.body, json!({"message": "Application not found"}));
}

/// Logs are 400 unless the application runs, then the last `lines` lines.
#[tokio::test]
async fn logs_need_a_running_app_and_tail_lines() {
    let env = Env::new().await;
    let project = env.project("logs");
    let app = env.app(&project, "site").await;
    let a = env.get(&format!("/applications/{app}/logs")).await;
    assert_eq!(
        (a.status, a.body),
        (
            StatusCode::BAD_REQUEST,
            json!({"message": "Application is not running."})
        )
    );
    env.state().set_app_status(&app, "running:healthy");
    env.state().set_app_logs(&app, "one\ntwo\nthree\nfour");
    let a = env.get(&format!("/applications/{app}/logs?lines=2")).await;
    assert_eq!(a.body, json!({"logs": "three\nfour"}));
    let a = env
        .get(&format!("/applications/{app}/logs?lines=abc"))
        .await;
    assert_eq!(a.body["logs"], "one\ntwo\nthree\nfour");
    let a = env
        .post(&format!("/applications/{app}/stop"), json!({}))
        .await;
    assert_eq!(
        a.body,
        json!({"message": "Application stopping request queued."})
    );
    assert_eq!(
        env.get(&format!("/applications/{app}/logs")).await.status,
        StatusCode::BAD_REQUEST
    );
}

/// Application secrets (basic-auth password, webhook secrets, custom labels) are
/// absent without `read:sensitive` and present with root.
#[tokio::test]
async fn app_secrets_are_absent_without_read_sensitive() {
    let env = Env::new().await;
    let project = env.project("secrets");
    let mut body = env.public_app_body(&project, "site");
    body["http_basic_auth_password"] = json!("hunter2");
    body["manual_webhook_secret_gitea"] = json!("whsec");
    let uuid = env.post("/applications/public", body).await.body["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let read = env.state().create_token(&["read"]);
    let sensitive = env.state().create_token(&["read", "read:sensitive"]);
    let get = |token: String| {
        let path = format!("/applications/{uuid}");
        let env = &env;
        async move {
            env.call_as(Method::GET, &path, Some(&token), None)
                .await
                .body
        }
    };
    let v: Value = get(read).await;
    for f in [
        "http_basic_auth_password",
        "manual_webhook_secret_gitea",
        "custom_labels",
    ] {
        assert!(v.get(f).is_none(), "{f}");
    }
    let v = get(sensitive).await;
    assert_eq!(v["http_basic_auth_password"], "hunter2");
    let v = get(env.root.clone()).await;
    assert_eq!(v["manual_webhook_secret_gitea"], "whsec");
}

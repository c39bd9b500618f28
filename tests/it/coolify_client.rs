//! The Coolify client against the sandbox: every call, the status mapping, retries only
//! for reads (429 honouring Retry-After), timeouts, and explicit delete flags.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use vibn::clients::coolify::{Cleanup, DATABASE_TYPES, EnvVarWrite, Lifecycle, Target};
use vibn::clients::http::{Failure, HttpConfig};
use vibn::error::ApiError;
use vibn_sandbox::coolify::Fault;

use crate::coolify_support::Coolify;
use crate::gitea_support::fast_http;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn target(c: &Coolify, project: &str) -> Target {
    Target {
        project_uuid: project.to_string(),
        server_uuid: c.state().server_uuid(),
        environment_name: "production".to_string(),
        destination_uuid: None,
    }
}

/// Projects: create, list, get with environments whose ids join resources.
#[tokio::test]
async fn projects_and_environments() {
    let c = Coolify::start().await;
    let client = c.root_client();
    let created = client
        .create_project("vibn-ws-mark", "workspace mark")
        .await
        .unwrap();
    let project = client.get_project(&created.uuid).await.unwrap();
    assert_eq!(project.name, "vibn-ws-mark");
    assert_eq!(project.environments.len(), 1);
    assert_eq!(project.environments[0].name, "production");
    assert!(
        client
            .list_projects()
            .await
            .unwrap()
            .iter()
            .any(|p| p.uuid == created.uuid)
    );
    let err = client.get_project("doesnotexist").await.unwrap_err();
    assert_eq!(ApiError::from(err).status(), 404);
    let err = client.create_project("x", "").await.unwrap_err();
    assert_eq!(err.status(), Some(422));
}

/// Applications: create from a public repo, get, PATCH allowed and refused fields,
/// logs, lifecycle calls as POST.
#[tokio::test]
async fn applications_create_patch_logs_lifecycle() {
    let c = Coolify::start().await;
    let client = c.root_client();
    let (project, env_id) = c.state().create_project("p1");
    let fields = obj(json!({
        "git_repository": "https://git.example.com/vibn-mark/site",
        "git_branch": "main",
        "build_pack": "nixpacks",
        "ports_exposes": "3000",
        "name": "site",
    }));
    let created = client
        .create_git_application(target(&c, &project), fields, None)
        .await
        .unwrap();
    let app = client.get_application(&created.uuid).await.unwrap();
    assert_eq!(app.name, "site");
    assert_eq!(app.environment_id, Some(env_id));
    client
        .update_application(&app.uuid, obj(json!({"description": "hello"})))
        .await
        .unwrap();
    let err = client
        .update_application(&app.uuid, obj(json!({"project_uuid": "x"})))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert!(err.to_string().contains("not allowed"), "{err}");
    let started = client.lifecycle(&app.uuid, Lifecycle::Start).await.unwrap();
    assert!(started.deployment_uuid.is_some());
    let restarted = client
        .lifecycle(&app.uuid, Lifecycle::Restart)
        .await
        .unwrap();
    assert!(restarted.message.is_some(), "{restarted:?}");
    let stopped = client.lifecycle(&app.uuid, Lifecycle::Stop).await.unwrap();
    assert!(stopped.message.is_some());
    c.state().set_app_status(&app.uuid, "running:healthy");
    c.state()
        .set_app_logs(&app.uuid, "line 1\nline 2\nline 3\n");
    let logs = client.application_logs(&app.uuid, 2).await.unwrap();
    assert!(
        logs.contains("line 3") && !logs.contains("line 1"),
        "{logs}"
    );
    let key = c.state().create_private_key("deploy");
    let fields = obj(
        json!({"git_repository": "git@git.example.com:vibn-mark/api.git", "git_branch": "main", "build_pack": "nixpacks", "ports_exposes": "8080"}),
    );
    client
        .create_git_application(target(&c, &project), fields.clone(), Some(&key))
        .await
        .unwrap();
    let err = client
        .create_git_application(target(&c, &project), fields, Some("nokey"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
}

/// Deletes always send all four cleanup flags, so volumes are kept unless asked.
#[tokio::test]
async fn deletes_send_every_cleanup_flag() {
    let c = Coolify::start().await;
    let client = c.root_client();
    let (project, _) = c.state().create_project("p1");
    let app = c
        .state()
        .create_application(&project, "production", "site", "https://g/x");
    client
        .delete_application(&app, Cleanup::default())
        .await
        .unwrap();
    let deleted = c.state().deleted();
    let (kind, uuid, flags) = &deleted[0];
    assert_eq!(
        (kind.as_str(), uuid.as_str()),
        ("application", app.as_str())
    );
    for flag in [
        "delete_volumes",
        "delete_configurations",
        "docker_cleanup",
        "delete_connected_networks",
    ] {
        assert_eq!(
            flags[flag],
            json!(false),
            "{flag} must be sent false: {flags}"
        );
    }
}

/// Deployments: queue via /deploy, list by application with skip/take, read one with
/// its JSON-in-a-string log parsed.
#[tokio::test]
async fn deployments_queue_list_and_read() {
    let c = Coolify::start().await;
    let client = c.root_client();
    let (project, _) = c.state().create_project("p1");
    let app = c
        .state()
        .create_application(&project, "production", "site", "https://g/x");
    let first = client
        .deploy(&app, false)
        .await
        .unwrap()
        .deployment_uuid
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let done = client.get_deployment(&first).await.unwrap();
    assert_eq!(done.status, "finished");
    let log = done.log();
    assert!(!log.lines.is_empty());
    assert!(log.lines.iter().all(|l| !l.hidden));
    assert_eq!(log.note, None);
    client.deploy(&app, true).await.unwrap();
    let page = client.list_app_deployments(&app, 0, 1).await.unwrap();
    assert_eq!(page.count, Some(2));
    assert_eq!(page.deployments.len(), 1);
    assert_ne!(page.deployments[0].deployment_uuid, first, "newest first");
    let err = client.deploy("nothere", false).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
}

/// Env vars: create (with its preview twin), PATCH with the full object, bulk upsert,
/// delete by uuid; a duplicate create is a conflict.
#[tokio::test]
async fn env_vars_full_object_writes() {
    let c = Coolify::start().await;
    let client = c.root_client();
    let (project, _) = c.state().create_project("p1");
    let app = c
        .state()
        .create_application(&project, "production", "site", "https://g/x");
    let var = |key: &str, value: &str| EnvVarWrite {
        key: key.into(),
        value: value.into(),
        is_preview: false,
        is_buildtime: true,
        is_runtime: true,
        is_literal: false,
        is_multiline: false,
        is_shown_once: false,
    };
    client
        .create_env(&app, &var("DATABASE_URL", "postgres://a"))
        .await
        .unwrap();
    let err = client
        .create_env(&app, &var("DATABASE_URL", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    let listed = client.list_envs(&app).await.unwrap();
    assert_eq!(
        listed.iter().filter(|e| e.key == "DATABASE_URL").count(),
        2,
        "production and preview twin"
    );
    let updated = client
        .update_env(
            &app,
            &EnvVarWrite {
                is_literal: true,
                ..var("DATABASE_URL", "postgres://b")
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.value.as_deref(), Some("postgres://b"));
    assert!(updated.is_literal);
    let bulk = client
        .bulk_envs(&app, &[var("A", "1"), var("B", "2")])
        .await
        .unwrap();
    assert_eq!(bulk.len(), 2);
    let target = client
        .list_envs(&app)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.key == "A")
        .unwrap();
    client.delete_env(&app, &target.uuid).await.unwrap();
    assert!(
        !client
            .list_envs(&app)
            .await
            .unwrap()
            .iter()
            .any(|e| e.uuid == target.uuid)
    );
}

/// A read-only token sees env vars without their values (absent, not masked).
#[tokio::test]
async fn sensitive_values_are_absent_without_read_sensitive() {
    let c = Coolify::start().await;
    let (project, _) = c.state().create_project("p1");
    let app = c
        .state()
        .create_application(&project, "production", "site", "https://g/x");
    let root = c.root_client();
    root.bulk_envs(
        &app,
        &[EnvVarWrite {
            key: "SECRET".into(),
            value: "s3cr3t".into(),
            is_preview: false,
            is_buildtime: true,
            is_runtime: true,
            is_literal: false,
            is_multiline: false,
            is_shown_once: false,
        }],
    )
    .await
    .unwrap();
    let reader = c.client_with(&c.state().create_token(&["read"]), fast_http());
    let envs = reader.list_envs(&app).await.unwrap();
    assert!(envs.iter().all(|e| e.value.is_none()), "{envs:?}");
    let err = reader.deploy(&app, false).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
}

/// Databases of all eight kinds: create, get, update, delete with explicit flags.
#[tokio::test]
async fn databases_of_every_kind() {
    let c = Coolify::start().await;
    let client = c.root_client();
    let (project, _) = c.state().create_project("p1");
    for kind in DATABASE_TYPES {
        let created = client
            .create_database(
                kind,
                target(&c, &project),
                obj(json!({"name": format!("db-{kind}")})),
            )
            .await
            .unwrap();
        assert!(!created.uuid.is_empty(), "{kind}");
        let db = client.get_database(&created.uuid).await.unwrap();
        assert_eq!(db.name, format!("db-{kind}"));
    }
    let dbs = client.list_databases().await.unwrap();
    assert_eq!(dbs.len(), 8);
    let one = &dbs[0].uuid;
    client
        .update_database(one, obj(json!({"description": "x"})))
        .await
        .unwrap();
    client
        .delete_database(one, Cleanup::default())
        .await
        .unwrap();
    // A kind outside the spec, sent straight to the sandbox (not through the contract
    // check, which would rightly flag it): Coolify has no such route.
    let direct = c.direct_client_with(&c.sandbox.root_token(), fast_http());
    let err = direct
        .create_database("oracle", target(&c, &project), Map::new())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
}

/// Services by template type; an unknown type names the valid ones.
#[tokio::test]
async fn services_by_type() {
    let c = Coolify::start().await;
    let client = c.root_client();
    let (project, _) = c.state().create_project("p1");
    let created = client
        .create_service("pocketbase", target(&c, &project), Some("auth"), false)
        .await
        .unwrap();
    let service = client.get_service(&created.uuid).await.unwrap();
    assert_eq!(service.service_type.as_deref(), Some("pocketbase"));
    assert_eq!(client.list_services().await.unwrap().len(), 1);
    let err = client
        .create_service("not-a-template", target(&c, &project), None, false)
        .await
        .unwrap_err();
    let Failure::Status { status, body, .. } = &err.failure else {
        panic!("{err}")
    };
    assert_eq!(*status, 404);
    let valid = body
        .as_ref()
        .and_then(|b| b.get("valid_service_types"))
        .and_then(Value::as_array)
        .unwrap();
    assert!(valid.iter().any(|v| v == "pocketbase"));
    client
        .delete_service(&created.uuid, Cleanup::default())
        .await
        .unwrap();
}

/// Servers: the seeded localhost (id 0) is listed.
#[tokio::test]
async fn servers_include_localhost() {
    let c = Coolify::start().await;
    let servers = c.root_client().list_servers().await.unwrap();
    assert!(servers.iter().any(|s| s.uuid == c.state().server_uuid()));
    assert_eq!(c.root_client().version().await.unwrap(), "4.3.11");
}

/// 429 with Retry-After is honoured for reads, and writes are never retried.
#[tokio::test]
async fn rate_limits_retry_reads_only() {
    let c = Coolify::start().await;
    c.state().inject_fault(Fault::Status {
        method: None,
        path_prefix: "/projects".into(),
        status: 429,
        times: 1,
        retry_after: Some(1),
    });
    c.state().clear_requests();
    let started = Instant::now();
    c.root_client().list_projects().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After honoured: {:?}",
        started.elapsed()
    );
    assert_eq!(c.state().requests().len(), 2);
    let (project, _) = c.state().create_project("p1");
    let app = c
        .state()
        .create_application(&project, "production", "site", "https://g/x");
    c.state().inject_fault(Fault::Status {
        method: Some("POST".into()),
        path_prefix: "/deploy".into(),
        status: 429,
        times: 5,
        retry_after: Some(1),
    });
    c.state().clear_requests();
    let err = c.root_client().deploy(&app, false).await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(ApiError::from(err).status(), 502);
    assert_eq!(
        c.state()
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count(),
        1
    );
}

/// A 5xx read is retried; a hung upstream times out.
#[tokio::test]
async fn server_errors_and_hangs() {
    let c = Coolify::start().await;
    c.state().inject_fault(Fault::Status {
        method: None,
        path_prefix: "/servers".into(),
        status: 503,
        times: 2,
        retry_after: None,
    });
    assert!(c.root_client().list_servers().await.is_ok());
    c.state().inject_fault(Fault::Delay {
        path_prefix: "/applications".into(),
        delay: Duration::from_secs(30),
        times: 5,
    });
    let http = HttpConfig {
        timeout: Duration::from_millis(300),
        retries: 0,
        ..fast_http()
    };
    let err = c
        .direct_client_with(&c.sandbox.root_token(), http)
        .list_applications()
        .await
        .unwrap_err();
    assert!(matches!(err.failure, Failure::Timeout), "{err}");
    assert_eq!(ApiError::from(err).status(), 502);
}

/// Errors of every shape become readable messages; a bad token is the upstream's refusal.
#[tokio::test]
async fn error_shapes_are_read() {
    let c = Coolify::start().await;
    let bad = c.client_with("1|not-a-token", fast_http());
    let err = bad.list_projects().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(err.to_string().contains("Unauthenticated"), "{err}");
    assert!(!format!("{err:?}").contains("not-a-token"));
}

//! Authentication, abilities, the router's 404 and 405, request validation, faults and
//! the request log.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::Env;
use crate::coolify::Fault;

/// Missing or unknown bearer tokens are 401 `Unauthenticated.`; health needs no token;
/// version needs `read` and is plain text.
#[tokio::test]
async fn bad_or_missing_bearer_is_401_and_version_is_plain_text() {
    let env = Env::new().await;
    for token in [None, Some("1|nope"), Some("garbage")] {
        let a = env.call_as(Method::GET, "/projects", token, None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.body, json!({"message": "Unauthenticated."}));
    }
    for path in ["/health", "/api/health"] {
        let a = env.call_as(Method::GET, path, None, None).await;
        assert_eq!((a.status, a.body), (StatusCode::OK, json!("OK")));
    }
    let a = env.get("/version").await;
    assert!(a.header("content-type").starts_with("text/html"));
    assert_eq!((a.status, a.body), (StatusCode::OK, json!("4.3.11")));
    // The root token is `<id>|<secret>`.
    let (id, secret) = env.root.split_once('|').unwrap();
    assert!(id.parse::<i64>().is_ok() && secret.len() == 40);
}

/// Abilities are independent: read-only cannot write, write-only cannot read, and
/// start/deploy need `deploy`; root bypasses every check.
#[tokio::test]
async fn read_only_cannot_write_and_deploy_needs_deploy() {
    let env = Env::new().await;
    let project = env.project("abilities");
    let app = env.app(&project, "site").await;
    let read = env.state().create_token(&["read"]);
    let write = env.state().create_token(&["write"]);
    let rwd = env.state().create_token(&["read", "write", "deploy"]);

    let a = env
        .call_as(
            Method::POST,
            "/projects",
            Some(&read),
            Some(json!({"name": "nope"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(
        a.body,
        json!({"message": "Missing required permissions: write"})
    );
    let a = env
        .call_as(Method::GET, "/projects", Some(&write), None)
        .await;
    assert_eq!(a.message(), "Missing required permissions: read");
    let a = env
        .call_as(
            Method::POST,
            &format!("/deploy?uuid={app}"),
            Some(&read),
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (
            StatusCode::FORBIDDEN,
            "Missing required permissions: deploy"
        )
    );
    let a = env
        .call_as(
            Method::POST,
            &format!("/applications/{app}/start"),
            Some(&write),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = env
        .call_as(
            Method::POST,
            &format!("/applications/{app}/start"),
            Some(&rwd),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body["deployment_uuid"].is_string());
    let a = env
        .call_as(Method::GET, "/projects", Some(&rwd), None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
}

/// GET on a lifecycle or deploy route is 405 with `Allow: POST` (after the ability
/// check); an unknown path or a method without a route is the router's 404 with `docs`.
#[tokio::test]
async fn get_on_lifecycle_routes_is_405_and_unknown_paths_are_404_with_docs() {
    let env = Env::new().await;
    let project = env.project("routes");
    let app = env.app(&project, "site").await;
    for path in [
        format!("/applications/{app}/start"),
        format!("/applications/{app}/stop"),
        format!("/applications/{app}/restart"),
        "/deploy".to_string(),
        "/databases/x/start".to_string(),
        "/services/x/restart".to_string(),
    ] {
        let a = env.get(&path).await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(
            a.body,
            json!({"message": "This endpoint has changed to a POST request."})
        );
        assert_eq!(a.header("allow"), "POST");
    }
    let read = env.state().create_token(&["read"]);
    let a = env
        .call_as(
            Method::GET,
            &format!("/applications/{app}/start"),
            Some(&read),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let not_found = json!({"message": "Not found.", "docs": "https://coolify.io/docs"});
    for (method, path) in [
        (Method::GET, "/nope"),
        (Method::PUT, "/projects"),
        (Method::POST, "/databases/cassandra"),
        (Method::POST, "/applications/dockerimage"),
    ] {
        let a = env.call_as(method, path, None, None).await;
        assert_eq!(
            (a.status, &a.body),
            (StatusCode::NOT_FOUND, &not_found),
            "{path}"
        );
    }
    let a = env.get("/applications/unknown").await;
    assert_eq!(a.body, json!({"message": "Application not found."}));
}

/// Create/update endpoints want a JSON Content-Type and a non-empty JSON object.
#[tokio::test]
async fn writes_need_json_content_type_valid_json_and_a_non_empty_object() {
    let env = Env::new().await;
    let url = format!("{}/projects", env.sb.api_url());
    let send = |ct: &'static str, body: &'static str| {
        env.http
            .post(&url)
            .bearer_auth(&env.root)
            .header("Content-Type", ct)
            .body(body)
            .send()
    };
    for (ct, body, error) in [
        (
            "text/plain",
            "{\"name\":\"abc\"}",
            "Content-Type must be application/json.",
        ),
        ("application/json", "{nope", "Invalid JSON."),
        ("application/json", "[]", "Invalid JSON."),
        ("application/json", "{}", "Empty JSON."),
    ] {
        let r = send(ct, body).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v, json!({"message": "Invalid request.", "error": error}));
    }
}

/// Another team's token sees none of this team's resources.
#[tokio::test]
async fn another_teams_token_sees_nothing() {
    let env = Env::new().await;
    let project = env.project("mine");
    let app = env.app(&project, "site").await;
    let other = env.state().create_team_token(&["root"]);
    for path in [
        "/projects",
        "/applications",
        "/servers",
        "/databases",
        "/services",
    ] {
        let a = env.call_as(Method::GET, path, Some(&other), None).await;
        assert_eq!(a.body, json!([]), "{path}");
    }
    let a = env
        .call_as(
            Method::GET,
            &format!("/applications/{app}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let dep = env
        .post(&format!("/deploy?uuid={app}"), json!({"force": false}))
        .await;
    let dep = dep.body["deployments"][0]["deployment_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let a = env
        .call_as(
            Method::GET,
            &format!("/deployments/{dep}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.body),
        (
            StatusCode::NOT_FOUND,
            json!({"message": "Deployment not found."})
        )
    );
}

/// An injected 429 carries Laravel's body and `Retry-After` (60 by default); a Delay
/// holds the answer back; faults are consumed, matched by method and by the path with
/// or without `/api/v1`.
#[tokio::test]
async fn injected_429_carries_retry_after_and_delay_holds_the_answer() {
    let env = Env::new().await;
    env.state().inject_fault(Fault::Status {
        method: Some("get".into()),
        path_prefix: "/projects".into(),
        status: 429,
        times: 1,
        retry_after: Some(7),
    });
    let a = env.post("/projects", json!({"name": "first"})).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a = env.get("/projects").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.body, json!({"message": "Too Many Attempts."}));
    assert_eq!(a.header("retry-after"), "7");
    assert_eq!(env.get("/projects").await.status, StatusCode::OK);
    env.state().inject_fault(Fault::Status {
        method: None,
        path_prefix: "/api/v1/servers".into(),
        status: 429,
        times: 1,
        retry_after: None,
    });
    assert_eq!(env.get("/servers").await.header("retry-after"), "60");
    env.state().inject_fault(Fault::Status {
        method: None,
        path_prefix: "/servers".into(),
        status: 503,
        times: 1,
        retry_after: None,
    });
    let a = env.get("/servers").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.header("retry-after"), "");
    env.state().inject_fault(Fault::Delay {
        path_prefix: "/version".into(),
        delay: Duration::from_millis(250),
        times: 1,
    });
    let t = Instant::now();
    assert_eq!(env.get("/version").await.status, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(250));
    let t = Instant::now();
    env.get("/version").await;
    assert!(t.elapsed() < Duration::from_millis(250));
}

/// Every request is recorded with its query, the status answered and the JSON body of
/// writes.
#[tokio::test]
async fn requests_are_recorded_with_status_query_and_write_bodies() {
    let env = Env::new().await;
    env.get("/projects?x=1").await;
    env.post("/projects", json!({"name": "logged"})).await;
    env.call_as(Method::GET, "/projects", None, None).await;
    let log = env.state().requests();
    assert_eq!(log.len(), 3);
    assert_eq!(
        (
            log[0].method.as_str(),
            log[0].path.as_str(),
            log[0].query.as_str(),
            log[0].status
        ),
        ("GET", "/api/v1/projects", "x=1", 200)
    );
    assert_eq!(log[0].body, None);
    assert_eq!(
        (log[1].status, log[1].body.clone()),
        (201, Some(json!({"name": "logged"})))
    );
    assert_eq!(log[2].status, 401);
    env.state().clear_requests();
    assert!(env.state().requests().is_empty());
}

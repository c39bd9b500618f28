//! The contents API (blob shas, base64, empty repositories), branches, raw files, and
//! the fault injection and request log controls.

use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::super::Fault;
use super::{As, Env};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn with_repo(auto_init: bool) -> Env {
    let env = Env::new().await;
    env.state().create_org("acme", "sandbox-admin");
    env.state().create_repo("acme", "site", auto_init).unwrap();
    env
}

/// Create answers 201 with the blob sha; updates need that sha (a stale one is 422);
/// content round-trips through base64 byte for byte; delete needs the sha too.
#[tokio::test]
async fn contents_create_update_delete_use_blob_shas() {
    let env = with_repo(true).await;
    let bytes: Vec<u8> = (0u8..=255).collect();
    let a = env
        .post(
            "/repos/acme/site/contents/docs/bin.dat",
            json!({"content": b64(&bytes), "message": "add bin"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let sha = a.body["content"]["sha"].as_str().unwrap().to_string();
    let commit = a.body["commit"]["sha"].as_str().unwrap().to_string();
    assert_ne!(sha, commit);
    assert_eq!(a.body["commit"]["message"], "add bin\n");
    let got = env.get("/repos/acme/site/contents/docs/bin.dat").await;
    assert_eq!(
        (got.body["sha"].as_str(), got.body["type"].as_str()),
        (Some(sha.as_str()), Some("file"))
    );
    assert_eq!(
        (got.body["encoding"].as_str(), got.body["size"].as_u64()),
        (Some("base64"), Some(256))
    );
    assert_eq!(got.body["last_commit_sha"], commit.as_str());
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(got.body["content"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, bytes);
    let a = env
        .post(
            "/repos/acme/site/contents/docs/bin.dat",
            json!({"content": b64(b"x")}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);

    let stale = "0000000000000000000000000000000000000000";
    let put = |sha: &str| json!({"content": b64(b"v2\n"), "sha": sha});
    let a = env
        .call(
            Method::PUT,
            "/repos/acme/site/contents/docs/bin.dat",
            As::Admin,
            Some(put(stale)),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        a.message().starts_with("sha does not match"),
        "{}",
        a.message()
    );
    let a = env
        .call(
            Method::PUT,
            "/repos/acme/site/contents/docs/bin.dat",
            As::Admin,
            Some(put(&sha)),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let new_sha = a.body["content"]["sha"].as_str().unwrap().to_string();
    assert_eq!(a.body["commit"]["parents"][0]["sha"], commit.as_str());
    let raw = env
        .http
        .get(env.url("/repos/acme/site/raw/docs/bin.dat"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.bytes().await.unwrap().as_ref(), b"v2\n");
    let dir = env.get("/repos/acme/site/contents/docs").await;
    assert_eq!(dir.body[0]["name"], "bin.dat");
    assert!(dir.body[0]["content"].is_null());

    let a = env
        .call(
            Method::DELETE,
            "/repos/acme/site/contents/docs/bin.dat",
            As::Admin,
            Some(json!({"sha": sha})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = env
        .call(
            Method::DELETE,
            "/repos/acme/site/contents/docs/bin.dat",
            As::Admin,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "[SHA]: Required")
    );
    let a = env
        .call(
            Method::DELETE,
            "/repos/acme/site/contents/docs/bin.dat",
            As::Admin,
            Some(json!({"sha": new_sha})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["content"].is_null()),
        (StatusCode::OK, true)
    );
    let a = env.get("/repos/acme/site/contents/docs/bin.dat").await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (StatusCode::NOT_FOUND, "not found")
    );
}

/// An empty repository: reads are 404, PUT is 422, POST makes the first commit; PUT
/// without a sha creates (201, 1.26 semantics) but not over an existing file.
#[tokio::test]
async fn empty_repositories_and_put_without_sha() {
    let env = with_repo(false).await;
    assert_eq!(env.get("/repos/acme/site").await.body["empty"], true);
    assert_eq!(
        env.get("/repos/acme/site/contents/README.md").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(env.get("/repos/acme/site/branches").await.body, json!([]));
    let a = env
        .call(
            Method::PUT,
            "/repos/acme/site/contents/a.txt",
            As::Admin,
            Some(json!({"content": b64(b"a")})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = env
        .post(
            "/repos/acme/site/contents/a.txt",
            json!({"content": b64(b"a")}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body["commit"]["parents"], json!([]));
    assert_eq!(env.get("/repos/acme/site").await.body["empty"], false);
    let a = env
        .call(
            Method::PUT,
            "/repos/acme/site/contents/b.txt",
            As::Admin,
            Some(json!({"content": b64(b"b")})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a = env
        .call(
            Method::PUT,
            "/repos/acme/site/contents/b.txt",
            As::Admin,
            Some(json!({"content": b64(b"c")})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = env
        .post(
            "/repos/acme/site/contents/c.txt",
            json!({"content": "not base64!"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Branches list and get; creating one is 201 then 409; commits can go to `new_branch`
/// and be read back with `?ref=`.
#[tokio::test]
async fn branches_and_commits_on_new_branches() {
    let env = with_repo(true).await;
    let a = env.get("/repos/acme/site/branches").await;
    assert_eq!(a.body[0]["name"], "main");
    assert_eq!(a.body[0]["protected"], false);
    assert_eq!(a.body[0]["user_can_push"], true);
    assert!(a.body[0]["commit"]["id"].as_str().unwrap().len() == 40);
    let a = env
        .post(
            "/repos/acme/site/branches",
            json!({"new_branch_name": "feature/x"}),
        )
        .await;
    assert_eq!(
        (a.status, a.body["name"].as_str()),
        (StatusCode::CREATED, Some("feature/x"))
    );
    let a = env
        .post(
            "/repos/acme/site/branches",
            json!({"new_branch_name": "feature/x"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let a = env
        .post(
            "/repos/acme/site/branches",
            json!({"new_branch_name": "y", "old_ref_name": "nope"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(
        env.get("/repos/acme/site/branches/feature/x").await.status,
        StatusCode::OK
    );
    assert_eq!(
        env.get("/repos/acme/site/branches/nope").await.status,
        StatusCode::NOT_FOUND
    );
    let a = env
        .post(
            "/repos/acme/site/contents/f.txt",
            json!({"content": b64(b"f"), "new_branch": "topic"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(
        env.get("/repos/acme/site/contents/f.txt").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        env.get("/repos/acme/site/contents/f.txt?ref=topic")
            .await
            .status,
        StatusCode::OK
    );
    let a = env
        .post(
            "/repos/acme/site/contents/g.txt",
            json!({"content": b64(b"g"), "branch": "nope"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = env
        .post(
            "/repos/acme/site/contents/g.txt",
            json!({"content": b64(b"g"), "new_branch": "topic"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A `Status` fault answers its status for the next `times` matching requests only;
/// a `Delay` fault holds the answer; every request is logged with its status.
#[tokio::test]
async fn injected_faults_apply_a_bounded_number_of_times() {
    let env = with_repo(true).await;
    env.state().inject_fault(Fault::Status {
        method: Some("GET".into()),
        path_prefix: "/repos/acme/site/issues".into(),
        status: 503,
        times: 2,
        retry_after: None,
    });
    let a = env.get("/repos/acme/site/issues").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.body["message"].is_string());
    assert_eq!(
        env.post("/repos/acme/site/issues", json!({"title": "t"}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        env.get("/api/v1/repos/acme/site/issues").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        env.get("/repos/acme/site/issues").await.status,
        StatusCode::OK
    );

    env.state().inject_fault(Fault::Delay {
        path_prefix: "/api/v1/version".into(),
        delay: Duration::from_millis(800),
        times: 1,
    });
    let started = Instant::now();
    let hung = env
        .http
        .get(env.url("/version"))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(hung.unwrap_err().is_timeout());
    assert!(started.elapsed() < Duration::from_millis(700));
    assert_eq!(env.get("/version").await.status, StatusCode::OK);

    let log = env.state().requests();
    let statuses: Vec<u16> = log
        .iter()
        .filter(|r| r.path.ends_with("/issues"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [503, 201, 503, 200]);
    assert_eq!(log.last().unwrap().auth, "token");
    env.state().clear_requests();
    assert!(env.state().requests().is_empty());
}

//! Issues, pull requests in the issue list, labels and comments.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{As, Env};

fn numbers(body: &serde_json::Value) -> Vec<i64> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_i64().unwrap())
        .collect()
}

async fn seeded() -> Env {
    let env = Env::new().await;
    env.state().create_org("acme", "sandbox-admin");
    env.state().create_repo("acme", "site", true).unwrap();
    env.state().create_label("acme", "site", "bug", "ee0701");
    env.state().create_label("acme", "site", "ui", "#00ff00");
    env.state().create_issue("acme", "site", "first", &["bug"]);
    env.state()
        .create_issue("acme", "site", "second", &["bug", "ui"]);
    env.state()
        .create_pull_request("acme", "site", "a pull request");
    let closed = env.state().create_issue("acme", "site", "closed one", &[]);
    env.state().close_issue("acme", "site", closed);
    env
}

/// Without `state` only open items come back; without `type=issues` pull requests are
/// included (numbers are shared); newest first.
#[tokio::test]
async fn issue_list_defaults_to_open_and_includes_pull_requests_unless_type_issues() {
    let env = seeded().await;
    let a = env.get("/repos/acme/site/issues").await;
    assert_eq!(numbers(&a.body), [3, 2, 1]);
    assert_eq!(a.header("x-total-count"), "3");
    assert!(a.body[0]["pull_request"].is_object());
    assert!(a.body[1]["pull_request"].is_null());
    assert_eq!(
        numbers(&env.get("/repos/acme/site/issues?type=issues").await.body),
        [2, 1]
    );
    assert_eq!(
        numbers(&env.get("/repos/acme/site/issues?type=pulls").await.body),
        [3]
    );
    assert_eq!(
        numbers(&env.get("/repos/acme/site/issues?state=closed").await.body),
        [4]
    );
    assert_eq!(
        numbers(
            &env.get("/repos/acme/site/issues?state=all&type=issues")
                .await
                .body
        ),
        [4, 2, 1]
    );
    let one = &env.get("/repos/acme/site/issues/4").await.body;
    assert_eq!(
        (one["state"].as_str(), one["closed_at"].is_string()),
        (Some("closed"), true)
    );
    assert!(one["assignees"].is_null());
    assert_eq!(
        env.get("/repos/acme/site/issues/99").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        env.get("/repos/acme/site/issues/abc").await.status,
        StatusCode::NOT_FOUND
    );
}

/// `labels=` filters by names (all must match; unknown names ignored); creating takes
/// label ids (ids not of this repository are dropped, like Gitea).
#[tokio::test]
async fn labels_filter_by_names_and_create_takes_ids() {
    let env = seeded().await;
    assert_eq!(
        numbers(&env.get("/repos/acme/site/issues?labels=bug").await.body),
        [2, 1]
    );
    assert_eq!(
        numbers(&env.get("/repos/acme/site/issues?labels=bug,ui").await.body),
        [2]
    );
    assert_eq!(
        numbers(&env.get("/repos/acme/site/issues?labels=nope").await.body),
        [3, 2, 1]
    );
    let labels = env.get("/repos/acme/site/labels").await;
    assert_eq!(labels.body[0]["name"], "bug");
    assert_eq!(labels.body[0]["color"], "ee0701");
    let ui = labels.body[1]["id"].as_i64().unwrap();
    let a = env
        .post(
            "/repos/acme/site/issues",
            json!({"title": "new", "body": "text", "labels": [ui, 9999]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body["number"], 5);
    let names: Vec<&str> = a.body["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ui"]);
    assert_eq!(
        a.body["html_url"],
        format!("{}/acme/site/issues/5", env.sb.base_url())
    );
    let a = env
        .post("/repos/acme/site/issues", json!({"body": "no title"}))
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "[Title]: Required")
    );
    let a = env
        .post(
            "/repos/acme/site/labels",
            json!({"name": "docs", "color": "#ABC"}),
        )
        .await;
    assert_eq!(
        (a.status, a.body["color"].as_str()),
        (StatusCode::CREATED, Some("aabbcc"))
    );
    let a = env
        .post(
            "/repos/acme/site/labels",
            json!({"name": "docs", "color": "zzz"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// `PATCH` an issue answers 201 (not 200); closing sets `closed_at`, reopening clears it.
#[tokio::test]
async fn patch_issue_answers_201_and_tracks_closed_at() {
    let env = seeded().await;
    let a = env
        .call(
            Method::PATCH,
            "/repos/acme/site/issues/1",
            As::Admin,
            Some(json!({"state": "closed", "title": "renamed"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(
        (a.body["state"].as_str(), a.body["title"].as_str()),
        (Some("closed"), Some("renamed"))
    );
    assert!(a.body["closed_at"].is_string());
    let a = env
        .call(
            Method::PATCH,
            "/repos/acme/site/issues/1",
            As::Admin,
            Some(json!({"state": "open"})),
        )
        .await;
    assert!(a.body["closed_at"].is_null());
    // A reader who did not post the issue may not edit it (empty 403).
    let reader = env.user("rita", &["all"]);
    let a = env
        .call(
            Method::PATCH,
            "/repos/acme/site/issues/1",
            As::Token(&reader),
            Some(json!({"state": "closed"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body.clone()),
        (StatusCode::FORBIDDEN, serde_json::Value::Null)
    );
}

/// Comments are created with 201 and counted on the issue; the list is oldest first.
#[tokio::test]
async fn comments_are_created_and_counted() {
    let env = seeded().await;
    let a = env
        .post("/repos/acme/site/issues/2/comments", json!({"body": "one"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body["user"]["login"], "sandbox-admin");
    env.post("/repos/acme/site/issues/2/comments", json!({"body": "two"}))
        .await;
    let list = env.get("/repos/acme/site/issues/2/comments").await;
    let bodies: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["one", "two"]);
    assert_eq!(
        env.get("/repos/acme/site/issues/2").await.body["comments"],
        2
    );
    let a = env
        .post("/repos/acme/site/issues/2/comments", json!({}))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// `/repos/issues/search` spans repositories, filtered by owner, state and type.
#[tokio::test]
async fn issue_search_spans_repositories_of_an_owner() {
    let env = seeded().await;
    env.state().create_repo("acme", "api", false).unwrap();
    env.state().create_issue("acme", "api", "api issue", &[]);
    let a = env.get("/repos/issues/search?owner=acme&type=issues").await;
    let titles: Vec<&str> = a
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["api issue", "second", "first"]);
    assert_eq!(a.body[0]["repository"]["full_name"], "acme/api");
    let a = env.get("/repos/issues/search?owner=nobody").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

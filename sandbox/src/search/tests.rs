//! Behaviour tests of the search sandbox: one sandbox on 127.0.0.1:0 per test, driven
//! over HTTP with reqwest and steered through [`SearchState`]'s controls.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::Value;

use super::{Fault, SearchSandbox};

struct Env {
    sb: SearchSandbox,
    http: Client,
}

/// Status, `Content-Type` and the body as JSON (the text as a JSON string otherwise).
struct Answer {
    status: StatusCode,
    content_type: String,
    retry_after: Option<String>,
    body: Value,
}

impl Env {
    async fn new() -> Env {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sb = SearchSandbox::start(0).await.unwrap();
        Env {
            sb,
            http: Client::new(),
        }
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Answer {
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        let retry_after = header("retry-after");
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            content_type,
            retry_after,
            body,
        }
    }

    /// `GET /search` with these query pairs.
    async fn searx(&self, query: &[(&str, &str)]) -> Answer {
        let url = format!("{}/search", self.sb.base_url());
        self.send(self.http.get(url).query(query)).await
    }

    /// `GET /res/v1/web/search` with these query pairs and `token`.
    async fn brave_as(&self, token: Option<&str>, query: &[(&str, &str)]) -> Answer {
        let url = format!("{}/res/v1/web/search", self.sb.base_url());
        let mut rb = self.http.get(url).query(query);
        if let Some(t) = token {
            rb = rb.header("X-Subscription-Token", t);
        }
        self.send(rb).await
    }

    async fn brave(&self, query: &[(&str, &str)]) -> Answer {
        self.brave_as(Some(&self.sb.brave_key()), query).await
    }
}

fn titles(results: &Value) -> Vec<String> {
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_string())
        .collect()
}

/// `format=json` answers SearXNG's JSON document with every top-level list present.
#[tokio::test]
async fn searxng_json_has_searxng_shape() {
    let env = Env::new().await;
    let a = env.searx(&[("q", "rust tokio"), ("format", "json")]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.content_type.starts_with("application/json"));
    assert_eq!(a.body["query"], "rust tokio");
    for key in [
        "answers",
        "corrections",
        "infoboxes",
        "suggestions",
        "unresponsive_engines",
    ] {
        assert_eq!(a.body[key], Value::Array(vec![]), "{key}");
    }
    let results = a.body["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(a.body["number_of_results"].as_u64().unwrap() >= results.len() as u64);
    let first = &results[0];
    assert_eq!(first["title"], "Tokio - An asynchronous Rust runtime");
    assert_eq!(first["url"], "https://tokio.rs/");
    assert!(first["content"].as_str().unwrap().contains("Tokio"));
    assert!(first["engine"].is_string());
    assert!(first["score"].as_f64().unwrap() > 0.0);
    assert!(first["category"].is_string());
    assert_eq!(first["engines"][0], first["engine"]);
    assert_eq!(first["parsed_url"][1], "tokio.rs");
}

/// Without `format=json` (or with another format) SearXNG refuses with 403.
#[tokio::test]
async fn searxng_without_format_json_is_forbidden() {
    let env = Env::new().await;
    for query in [
        vec![("q", "rust")],
        vec![("q", "rust"), ("format", "html")],
        vec![("q", "rust"), ("format", "csv")],
    ] {
        let a = env.searx(&query).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{query:?}");
        assert_eq!(a.body, "Forbidden");
    }
}

/// An instance whose formats list lacks `json` answers 403 even to `format=json`.
#[tokio::test]
async fn searxng_with_json_disabled_is_forbidden() {
    let env = Env::new().await;
    env.sb.state().set_json_enabled(false);
    let a = env.searx(&[("q", "rust"), ("format", "json")]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    env.sb.state().set_json_enabled(true);
    let a = env.searx(&[("q", "rust"), ("format", "json")]).await;
    assert_eq!(a.status, StatusCode::OK);
}

/// A missing or empty `q` is 400 `{"error":"No query"}`.
#[tokio::test]
async fn searxng_missing_query_is_400() {
    let env = Env::new().await;
    for query in [
        vec![("format", "json")],
        vec![("format", "json"), ("q", "")],
    ] {
        let a = env.searx(&query).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert_eq!(a.body["error"], "No query");
    }
}

/// `pageno` must be a positive integer; pages hold ten results.
#[tokio::test]
async fn searxng_pages_by_ten_and_rejects_bad_pageno() {
    let env = Env::new().await;
    for bad in ["0", "x", "-1"] {
        let a = env
            .searx(&[("q", "rust"), ("format", "json"), ("pageno", bad)])
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(
            a.body["error"],
            format!("Invalid value \"{bad}\" for parameter pageno")
        );
    }
    for i in 0..15 {
        env.sb.state().add_document(
            &format!("Zebra note {i}"),
            &format!("https://example.com/zebra/{i}"),
            "zebra",
        );
    }
    let p1 = env.searx(&[("q", "zebra"), ("format", "json")]).await;
    let p2 = env
        .searx(&[("q", "zebra"), ("format", "json"), ("pageno", "2")])
        .await;
    let p3 = env
        .searx(&[("q", "zebra"), ("format", "json"), ("pageno", "3")])
        .await;
    assert_eq!(p1.body["results"].as_array().unwrap().len(), 10);
    assert_eq!(p2.body["results"].as_array().unwrap().len(), 5);
    assert!(p3.body["results"].as_array().unwrap().is_empty());
    assert_eq!(p2.body["number_of_results"], 15);
    assert_eq!(p2.body["results"][0]["positions"][0], 11);
}

/// `POST /search` with a form body works like GET (SearXNG accepts both).
#[tokio::test]
async fn searxng_accepts_post_form() {
    let env = Env::new().await;
    let url = format!("{}/search", env.sb.base_url());
    let rb = env
        .http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("q=git+rebase&format=json");
    let a = env.send(rb).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["query"], "git rebase");
    assert_eq!(a.body["results"][0]["title"], "Git rebase versus merge");
    let log = env.sb.state().requests();
    assert_eq!(log[0].body.as_deref(), Some("q=git+rebase&format=json"));
}

/// `categories` keeps documents of the listed known categories; unknown names are
/// ignored.
#[tokio::test]
async fn searxng_categories_filter_results() {
    let env = Env::new().await;
    let all = env.searx(&[("q", "git"), ("format", "json")]).await;
    let it = env
        .searx(&[("q", "git"), ("format", "json"), ("categories", "it")])
        .await;
    let bogus = env
        .searx(&[("q", "git"), ("format", "json"), ("categories", "bogus")])
        .await;
    let it_results = it.body["results"].as_array().unwrap();
    assert!(!it_results.is_empty());
    assert!(it_results.iter().all(|r| r["category"] == "it"));
    assert!(it_results.len() < all.body["results"].as_array().unwrap().len());
    assert_eq!(bogus.body["results"], all.body["results"]);
}

/// The same query gives the same results; more matched words rank higher.
#[tokio::test]
async fn ranking_is_deterministic_and_by_match_count() {
    let env = Env::new().await;
    let state = env.sb.state();
    state.add_document("Quokka one", "https://example.com/1", "wombat only");
    state.add_document("Quokka two", "https://example.com/2", "wombat and numbat");
    state.add_document("Unrelated", "https://example.com/3", "nothing here");
    let q = [("q", "WOMBAT numbat"), ("format", "json")];
    let a = env.searx(&q).await;
    let b = env.searx(&q).await;
    assert_eq!(a.body["results"], b.body["results"]);
    assert_eq!(titles(&a.body["results"]), vec!["Quokka two", "Quokka one"]);
    let scores: Vec<f64> = a.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(scores[0] > scores[1]);
    let brave = env.brave(&[("q", "wombat numbat")]).await;
    assert_eq!(
        titles(&brave.body["web"]["results"]),
        vec!["Quokka two", "Quokka one"]
    );
}

/// `clear_documents` empties the corpus; added documents are then all there is.
#[tokio::test]
async fn cleared_corpus_finds_only_added_documents() {
    let env = Env::new().await;
    env.sb.state().clear_documents();
    assert_eq!(env.sb.state().document_count(), 0);
    let a = env.searx(&[("q", "rust"), ("format", "json")]).await;
    assert_eq!(a.body["number_of_results"], 0);
    env.sb
        .state()
        .add_document("Rust notes", "https://example.com/rust", "borrowing");
    let a = env.searx(&[("q", "rust"), ("format", "json")]).await;
    assert_eq!(titles(&a.body["results"]), vec!["Rust notes"]);
    assert_eq!(a.body["results"][0]["engine"], "sandbox");
}

/// Brave without the subscription token, or with a wrong one, is 401
/// `SUBSCRIPTION_TOKEN_INVALID`.
#[tokio::test]
async fn brave_requires_the_subscription_token() {
    let env = Env::new().await;
    for token in [None, Some("wrong")] {
        let a = env.brave_as(token, &[("q", "rust")]).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(a.body["type"], "ErrorResponse");
        assert_eq!(a.body["error"]["status"], 401);
        assert_eq!(a.body["error"]["code"], "SUBSCRIPTION_TOKEN_INVALID");
        assert_eq!(
            a.body["error"]["detail"],
            "The provided subscription token is invalid."
        );
    }
    assert!(env.sb.brave_key().starts_with("BSA"));
    let log = env.sb.state().requests();
    assert_eq!(log[0].subscription_token, None);
    assert_eq!(log[1].subscription_token.as_deref(), Some("wrong"));
    assert_eq!(log[1].status, 401);
}

/// `count` above 20 (or below 1), `offset` above 9 and a missing `q` are 422
/// `VALIDATION`, each problem listed.
#[tokio::test]
async fn brave_validates_count_offset_and_query() {
    let env = Env::new().await;
    let a = env.brave(&[("q", "rust"), ("count", "21")]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.body["type"], "ErrorResponse");
    assert_eq!(a.body["error"]["status"], 422);
    assert_eq!(a.body["error"]["code"], "VALIDATION");
    let errors = &a.body["error"]["meta"]["errors"];
    assert_eq!(errors[0]["loc"], serde_json::json!(["query", "count"]));
    assert_eq!(errors[0]["type"], "less_than_equal");
    assert_eq!(errors[0]["ctx"]["le"], 20);

    let a = env.brave(&[("count", "0"), ("offset", "10")]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let kinds: Vec<&str> = a.body["error"]["meta"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["missing", "greater_than_equal", "less_than_equal"]
    );

    let a = env.brave(&[("q", "rust"), ("count", "ten")]).await;
    assert_eq!(a.body["error"]["meta"]["errors"][0]["type"], "int_parsing");
    let long = "x".repeat(401);
    let a = env.brave(&[("q", long.as_str())]).await;
    assert_eq!(
        a.body["error"]["meta"]["errors"][0]["type"],
        "string_too_long"
    );
    let a = env.brave(&[("q", "rust"), ("count", "20")]).await;
    assert_eq!(a.status, StatusCode::OK);
}

/// Brave's answer: `query.original`, `web.results` with title/url/description (matched
/// words in `<strong>` unless `text_decorations=false`), `count` and `offset` paging.
#[tokio::test]
async fn brave_results_have_brave_shape() {
    let env = Env::new().await;
    let a = env.brave(&[("q", "rust"), ("count", "3")]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["type"], "search");
    assert_eq!(a.body["query"]["original"], "rust");
    assert_eq!(a.body["query"]["more_results_available"], true);
    assert_eq!(a.body["web"]["type"], "search");
    let results = a.body["web"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for r in results {
        assert!(r["url"].as_str().unwrap().starts_with("https://"));
        assert!(r["title"].is_string());
        assert!(
            r["description"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("<strong>rust</strong>")
                || r["title"].as_str().unwrap().contains("Rust")
        );
    }
    assert!(results.iter().any(|r| r["age"].is_string()));

    let plain = env
        .brave(&[("q", "rust"), ("count", "3"), ("text_decorations", "false")])
        .await;
    let plain = plain.body["web"]["results"].as_array().unwrap().clone();
    assert!(
        plain
            .iter()
            .all(|r| !r["description"].as_str().unwrap().contains("<strong>"))
    );
    assert_eq!(
        titles(&Value::Array(plain)),
        titles(&Value::Array(results.clone()))
    );

    let page2 = env
        .brave(&[("q", "rust"), ("count", "3"), ("offset", "1")])
        .await;
    let page2 = titles(&page2.body["web"]["results"]);
    assert!(
        page2
            .iter()
            .all(|t| !titles(&a.body["web"]["results"]).contains(t))
    );
}

/// Nothing found: 200 without a `web` section, as Brave answers.
#[tokio::test]
async fn brave_without_matches_leaves_out_web() {
    let env = Env::new().await;
    let a = env.brave(&[("q", "xyzzyplugh")]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["query"]["original"], "xyzzyplugh");
    assert!(a.body.get("web").is_none());
    let s = env.searx(&[("q", "xyzzyplugh"), ("format", "json")]).await;
    assert_eq!(s.body["results"], Value::Array(vec![]));
    assert_eq!(s.body["number_of_results"], 0);
}

/// An injected status replaces the answer (Brave's `RATE_LIMITED` body on its route,
/// status text elsewhere) for `times` requests; a delay postpones it.
#[tokio::test]
async fn injected_faults_replace_or_delay_answers() {
    let env = Env::new().await;
    let state = env.sb.state();
    state.inject_fault(Fault::Status {
        method: None,
        path_prefix: "/res/".into(),
        status: 429,
        times: 1,
        retry_after: Some(2),
    });
    state.inject_fault(Fault::Status {
        method: Some("get".into()),
        path_prefix: "/search".into(),
        status: 502,
        times: 1,
        retry_after: None,
    });
    let a = env.brave(&[("q", "rust")]).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.body["error"]["code"], "RATE_LIMITED");
    assert_eq!(a.retry_after.as_deref(), Some("2"));
    assert_eq!(env.brave(&[("q", "rust")]).await.status, StatusCode::OK);

    let s = env.searx(&[("q", "rust"), ("format", "json")]).await;
    assert_eq!(s.status, StatusCode::BAD_GATEWAY);
    assert_eq!(s.body, "Bad Gateway");
    let s = env.searx(&[("q", "rust"), ("format", "json")]).await;
    assert_eq!(s.status, StatusCode::OK);

    state.inject_fault(Fault::Delay {
        path_prefix: "/search".into(),
        delay: Duration::from_millis(200),
        times: 1,
    });
    let t = Instant::now();
    let s = env.searx(&[("q", "rust"), ("format", "json")]).await;
    assert_eq!(s.status, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(200));

    let log = state.requests();
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![429, 200, 502, 200, 200]
    );
    assert_eq!(log[2].path, "/search");
    assert_eq!(log[2].query, "q=rust&format=json");
    state.clear_requests();
    assert!(state.requests().is_empty());
}

/// Unknown paths are 404; `/healthz` answers OK.
#[tokio::test]
async fn unknown_paths_are_404() {
    let env = Env::new().await;
    let base = env.sb.base_url();
    let a = env.send(env.http.get(format!("{base}/nope"))).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = env.send(env.http.get(format!("{base}/healthz"))).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = env
        .send(env.http.delete(format!("{base}/res/v1/web/search")))
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
}

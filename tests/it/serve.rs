//! `vibn serve` as a real process on 127.0.0.1:0, over real HTTP: both MCP eras at
//! `/mcp` pinned per request by the bearer key, the session bound to its opener's
//! workspace, isolation under concurrency, revocation on the next request, the
//! DNS-rebinding guard, rate and size limits, graceful shutdown. The REST surface and the
//! admin routes are in `serve_rest`.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::serve_support::{Served, modern_meta, tool_err, tool_ok};

/// 2026-07-28 (stateless): discover, list and call, as the key's workspace; the dotted
/// alias works too.
#[tokio::test]
async fn the_modern_era_lists_and_calls_as_the_keys_workspace() {
    let s = Served::start(&[]).await;
    let (status, headers, messages) = s
        .mcp(
            Some(s.mark_key()),
            None,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": modern_meta()}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{messages:?}");
    assert!(
        headers.get("mcp-session-id").is_none(),
        "modern is stateless"
    );
    assert_eq!(
        messages[0]["result"]["tools"].as_array().unwrap().len(),
        vibn::mcp::control_plane_server::TOOL_NAMES.len()
    );
    let r = s
        .modern_call(s.mark_key(), "workspace_describe", json!({}))
        .await;
    assert_eq!(tool_ok(&r)["slug"], "mark");
    let r = s
        .modern_call(s.justine_key(), "workspace.describe", json!({}))
        .await;
    assert_eq!(tool_ok(&r)["slug"], "justine");
}

/// 2025-11-25 (sessions): initialize, list, call; the session stays its opener's: a
/// call or a DELETE on it with another workspace's key is 403, and the opener can end it.
#[tokio::test]
async fn a_legacy_session_serves_only_the_workspace_that_opened_it() {
    let s = Served::start(&[]).await;
    let session = s.open_session(s.mark_key()).await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let (status, _, messages) = s
        .mcp(Some(s.mark_key()), Some(&session), list.clone())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        messages[0]["result"]["tools"].as_array().unwrap().len(),
        vibn::mcp::control_plane_server::TOOL_NAMES.len()
    );
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                      "params": {"name": "workspace_describe", "arguments": {}}});
    let (_, _, messages) = s
        .mcp(Some(s.mark_key()), Some(&session), call.clone())
        .await;
    let answer = messages.iter().find(|m| m["id"] == 3).unwrap();
    assert_eq!(tool_ok(&answer["result"])["slug"], "mark");

    let (status, _, body) = s.mcp(Some(s.justine_key()), Some(&session), call).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body:?}");
    let delete = s
        .http
        .delete(format!("{}/mcp", s.base))
        .bearer_auth(s.justine_key())
        .header("Mcp-Session-Id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::FORBIDDEN);
    let delete = s
        .http
        .delete(format!("{}/mcp", s.base))
        .bearer_auth(s.mark_key())
        .header("Mcp-Session-Id", &session)
        .header("MCP-Protocol-Version", "2025-11-25")
        .send()
        .await
        .unwrap();
    assert!(delete.status().is_success(), "{}", delete.status());
    let (status, _, _) = s.mcp(Some(s.mark_key()), Some(&session), list).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an ended session is gone");
}

/// No key, a malformed one, an unknown one and an org token are all the same 401 with
/// `WWW-Authenticate`, before anything is served.
#[tokio::test]
async fn mcp_without_a_valid_workspace_key_is_401() {
    let s = Served::start(&[]).await;
    let org = s.org_token();
    let unknown = format!("vibn_sk_{}", "A".repeat(49));
    for key in [
        None,
        Some("garbage"),
        Some(unknown.as_str()),
        Some(org.as_str()),
    ] {
        let (status, headers, body) = s
            .mcp(
                key,
                None,
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": modern_meta()}}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?}: {body:?}");
        assert!(headers.get("www-authenticate").is_some(), "{key:?}");
        assert_eq!(body[0]["status"], 401, "{body:?}");
    }
    let r = s
        .http
        .get(format!("{}/mcp", s.base))
        .header("Authorization", "Basic dXNlcjpwdw==")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// Many concurrent calls from two workspaces, over MCP (both eras) and REST at once:
/// every answer is its caller's own workspace and apps, none the other's.
#[tokio::test]
async fn concurrent_calls_of_two_workspaces_never_see_each_other() {
    let s = Served::start(&["--rate-limit", "10000", "--rate-burst", "10000"]).await;
    for (key, repo) in [(s.mark_key(), "site"), (s.justine_key(), "site")] {
        let r = s
            .modern_call(key, "repos_create", json!({"name": repo}))
            .await;
        tool_ok(&r);
        let r = s
            .modern_call(key, "apps_create", json!({"repo": repo}))
            .await;
        tool_ok(&r);
    }
    let sessions = [
        s.open_session(s.mark_key()).await,
        s.open_session(s.justine_key()).await,
    ];
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for i in 0..120usize {
        let s = s.clone();
        let sessions = sessions.clone();
        tasks.push(tokio::spawn(async move {
            let (slug, key) = if i % 2 == 0 {
                ("mark", s.cp.mark.key.clone())
            } else {
                ("justine", s.cp.justine.key.clone())
            };
            let apps: Vec<String> = match i % 3 {
                0 => {
                    let r = s.modern_call(&key, "apps_list", json!({})).await;
                    names(&tool_ok(&r)["apps"])
                }
                1 => {
                    let (status, body) = s
                        .rest(
                            Method::GET,
                            &format!("/api/workspaces/{slug}/apps"),
                            Some(&key),
                            None,
                        )
                        .await;
                    assert_eq!(status, StatusCode::OK, "{body}");
                    names(&body["apps"])
                }
                _ => {
                    let session = &sessions[i % 2];
                    let (_, _, messages) = s
                        .mcp(
                            Some(&key),
                            Some(session),
                            json!({"jsonrpc": "2.0", "id": 1000 + i, "method": "tools/call",
                                   "params": {"name": "apps_list", "arguments": {}}}),
                        )
                        .await;
                    let answer = messages.iter().find(|m| m["id"] == 1000 + i).unwrap();
                    names(&tool_ok(&answer["result"])["apps"])
                }
            };
            assert_eq!(apps, vec![format!("{slug}-site")], "call {i} as {slug}");
            let r = s.modern_call(&key, "workspace_describe", json!({})).await;
            assert_eq!(tool_ok(&r)["slug"], slug, "call {i}");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

fn names(apps: &Value) -> Vec<String> {
    apps.as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect()
}

/// A key revoked (here by an org token over HTTP) is refused on the very next request,
/// over MCP and REST, even on a session it opened.
#[tokio::test]
async fn a_revoked_key_is_refused_on_the_next_request() {
    let s = Served::start(&[]).await;
    let session = s.open_session(s.mark_key()).await;
    let r = s
        .modern_call(s.mark_key(), "workspace_describe", json!({}))
        .await;
    tool_ok(&r);
    let org = s.org_token();
    let (status, body) = s
        .rest(
            Method::DELETE,
            &format!("/api/workspaces/mark/keys/{}", s.cp.mark.key_id),
            Some(&org),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["revoked"], "now");
    let (status, _, _) = s
        .mcp(
            Some(s.mark_key()),
            None,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "workspace_describe", "arguments": {}, "_meta": modern_meta()}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = s
        .mcp(
            Some(s.mark_key()),
            Some(&session),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s
        .rest(
            Method::GET,
            "/api/workspaces/mark/apps",
            Some(s.mark_key()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let r = s
        .modern_call(s.justine_key(), "workspace_describe", json!({}))
        .await;
    assert_eq!(
        tool_ok(&r)["slug"],
        "justine",
        "the other workspace is untouched"
    );
}

/// The DNS-rebinding guard: a foreign Origin, or a Host that is not loopback or an
/// allowed name, is 403 on /mcp and REST alike; an allowed origin passes.
#[tokio::test]
async fn foreign_origins_and_hosts_are_refused() {
    let s = Served::start(&["--allowed-origin", "https://app.example.com"]).await;
    let describe = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "workspace_describe", "arguments": {}, "_meta": modern_meta()}});
    let send = |origin: Option<&'static str>, host: Option<&'static str>, path: &'static str| {
        let mut req = if path == "/mcp" {
            s.http
                .post(format!("{}/mcp", s.base))
                .header("Accept", "application/json, text/event-stream")
                .header("Content-Type", "application/json")
                .header("MCP-Protocol-Version", "2026-07-28")
                .header("Mcp-Method", "tools/call")
                .header("Mcp-Name", "workspace_describe")
                .body(describe.to_string())
        } else {
            s.http.get(format!("{}{path}", s.base))
        };
        req = req.bearer_auth(s.mark_key());
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        if let Some(h) = host {
            req = req.header("Host", h);
        }
        req.send()
    };
    for path in ["/mcp", "/api/workspaces/mark/apps"] {
        let r = send(Some("https://evil.example"), None, path)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        let r = send(None, Some("evil.example"), path).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        let r = send(Some("https://app.example.com"), None, path)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let r = send(None, Some("localhost:1234"), path).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
}

/// Past its burst a key gets 429 with Retry-After; another key is unaffected.
#[tokio::test]
async fn a_key_past_its_rate_gets_429_with_retry_after() {
    let s = Served::start(&["--rate-limit", "1", "--rate-burst", "3"]).await;
    let mut limited = None;
    for _ in 0..6 {
        let (status, headers, body) = s
            .rest_full(
                Method::GET,
                "/api/workspaces/mark/projects",
                Some(s.mark_key()),
                None,
            )
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((headers, body));
            break;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (headers, body) = limited.expect("the fourth request in a row is limited");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(body["status"], 429);
    let (status, _) = s
        .rest(
            Method::GET,
            "/api/workspaces/justine/projects",
            Some(s.justine_key()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the other key has its own budget");
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..6 {
            let (status, _) = s
                .rest(
                    Method::GET,
                    "/api/workspaces/mark/apps",
                    Some("vibn_sk_guess"),
                    None,
                )
                .await;
            v.push(status.as_u16());
        }
        v
    };
    assert_eq!(&statuses[..3], &[401, 401, 401], "{statuses:?}");
    assert!(
        statuses.contains(&429),
        "guessing keys is throttled too: {statuses:?}"
    );
}

/// A body over --max-body is 413 on REST and /mcp, and nothing is called.
#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let s = Served::start(&["--max-body", "2048"]).await;
    let big = "x".repeat(8192);
    let (status, _) = s
        .rest(
            Method::POST,
            "/api/workspaces/mark/repos",
            Some(s.mark_key()),
            Some(json!({"name": "r", "description": big})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _, _) = s
        .mcp(
            Some(s.mark_key()),
            None,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "repos_create", "arguments": {"name": "r", "description": big},
                              "_meta": modern_meta()}}),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        s.cp.upstream_writes().is_empty(),
        "{:?}",
        s.cp.upstream_writes()
    );
}

/// SIGTERM during a slow call: the call completes with its answer, new connections are
/// refused, and the process exits 0.
#[tokio::test]
async fn sigterm_lets_the_call_in_flight_finish_and_refuses_new_ones() {
    let mut s = Served::start(&["--shutdown-grace", "20s"]).await;
    s.cp.coolify
        .state()
        .inject_fault(vibn_sandbox::coolify::Fault::Delay {
            path_prefix: "/applications".into(),
            delay: Duration::from_millis(1500),
            times: 1,
        });
    let slow = {
        let (http, url, key) = (
            s.http.clone(),
            format!("{}/api/workspaces/mark/apps", s.base),
            s.mark_key().to_string(),
        );
        tokio::spawn(async move { http.get(url).bearer_auth(key).send().await })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let pid = nix::unistd::Pid::from_raw(s.child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fresh = reqwest::Client::new()
        .get(format!("{}/api/mcp", s.base))
        .send()
        .await;
    assert!(
        fresh.is_err()
            || fresh
                .as_ref()
                .is_ok_and(|r| r.status() == StatusCode::SERVICE_UNAVAILABLE),
        "a new request during shutdown is refused: {fresh:?}"
    );
    let answer = slow.await.unwrap().unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let body: Value = answer.json().await.unwrap();
    assert!(body["apps"].is_array(), "{body}");
    let status = tokio::time::timeout(Duration::from_secs(20), s.child.wait())
        .await
        .expect("the server stops")
        .unwrap();
    assert!(status.success(), "{status:?}\n{}", s.log());
}

/// The access log has one line per request with the key's hint, never a key or a token.
#[tokio::test]
async fn the_access_log_names_requests_but_no_secret() {
    let s = Served::start(&[]).await;
    let org = s.org_token();
    s.rest(
        Method::GET,
        "/api/workspaces/mark/gitea-credentials",
        Some(s.mark_key()),
        None,
    )
    .await;
    s.rest(Method::GET, "/org/tokens", Some(&org), None).await;
    s.modern_call(s.mark_key(), "workspace_describe", json!({}))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = s.log();
    assert!(log.contains("vibn::access"), "{log}");
    assert!(
        log.contains("/api/workspaces/mark/gitea-credentials"),
        "{log}"
    );
    for secret in [s.mark_key(), org.as_str(), &s.cp.bot_token("mark")] {
        assert!(!log.contains(secret), "a secret is in the log");
    }
    let err = s
        .modern_call(s.mark_key(), "apps_get", json!({"uuid": "nope"}))
        .await;
    assert_eq!(tool_err(&err)["status"], 403);
}

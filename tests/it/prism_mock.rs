//! Issue 10 item 7, the Prism-mock run: every tool of `vibn mcp gitea` and `vibn mcp
//! coolify` is called against Stoplight Prism *mocks* of the upstream specs — the spec's
//! static examples and seeded random (dynamic) data — and no call may end in a 5xx that
//! an answer the spec allows could cause. A 5xx is accepted only when the upstream itself
//! failed (a 5xx answer), or when the answer violated the spec (the validating proxy in
//! front of the mock says so) and the 502 names the endpoint and the field, with a hint.
//!
//! `scripts/test` runs this under `scripts/contract/mock-run.mjs`, which sets
//! `MOCK_<NAME>_ROUNDS` (round name = port of a mock listener) and `CONTRACT_<NAME>_URL`
//! (the validating proxy whose `/_contract/report` lists each request's violations).
//! Without them, as in a plain `cargo test`, the run is skipped and says so.

use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::CallToolResult;
use secrecy::SecretString;
use serde_json::{Value, json};
use vibn::api::caller::Pinning;
use vibn::api::coolify_api::CoolifyApi;
use vibn::api::gitea_api::GiteaApi;
use vibn::clients::coolify::CoolifyClient;
use vibn::clients::gitea::GiteaClient;
use vibn::clients::http::{Auth, Call, Http, HttpConfig};
use vibn::config::ToolFilter;
use vibn::mcp::coolify_server::CoolifyServer;
use vibn::mcp::gitea_server::GiteaServer;
use vibn::policy::protected::ProtectedList;

use crate::support::{Client, call};

/// Longest a single tool call may take against a mock before it counts as a hang.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The calls made in every round, per server: each tool at least once (checked against
/// the server's tools/list), with arguments that reach every upstream call it makes.
fn gitea_cases() -> Vec<(&'static str, Value)> {
    vec![
        ("list_repos", json!({})),
        (
            "list_repos",
            json!({"owner": "acme", "page": 2, "limit": 5}),
        ),
        ("list_issues", json!({"repo": "acme/site"})),
        (
            "list_issues",
            json!({"repo": "site", "state": "all", "labels": ["bug"], "page": 2, "limit": 5}),
        ),
        ("list_all_issues", json!({})),
        ("list_all_issues", json!({"state": "closed"})),
        (
            "create_issue",
            json!({"repo": "acme/site", "title": "Mocked", "body": "b"}),
        ),
        (
            "create_issue",
            json!({"repo": "acme/site", "title": "Labelled", "labels": ["bug"]}),
        ),
        ("close_issue", json!({"repo": "acme/site", "number": 1})),
        (
            "close_issue",
            json!({"repo": "acme/site", "number": "2", "comment": "done"}),
        ),
        (
            "read_repo_file",
            json!({"repo": "acme/site", "path": "README.md"}),
        ),
        (
            "read_repo_file",
            json!({"repo": "acme/site", "path": "main.go", "ref": "main", "offset": 2, "limit": 3}),
        ),
    ]
}

fn coolify_cases() -> Vec<(&'static str, Value)> {
    vec![
        ("list_projects", json!({})),
        ("list_applications", json!({"project_uuid": "p1"})),
        ("list_all_apps", json!({})),
        ("get_app_status", json!({"uuid": "app1"})),
        ("get_logs", json!({"uuid": "app1"})),
        ("get_logs", json!({"uuid": "app1", "lines": 5})),
        ("deploy", json!({"uuid": "app1"})),
        ("deploy", json!({"uuid": "app1", "force": true})),
        ("deploy_app", json!({"uuid": "app1"})),
        ("deploy_app", json!({"uuid": "app1", "wait": true})),
        ("deploy_app", json!({"name": "site", "wait": true})),
        ("list_deployments", json!({"uuid": "app1"})),
        (
            "list_deployments",
            json!({"uuid": "app1", "offset": 1, "limit": 2}),
        ),
        ("get_deployment", json!({"deployment_uuid": "dep1"})),
        (
            "get_deployment",
            json!({"deployment_uuid": "dep1", "offset": 1, "limit": 2}),
        ),
    ]
}

/// Gitea tools against the Gitea mocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitea_tools_never_5xx_on_answers_the_spec_allows() {
    let Some(run) = MockRun::from_env("GITEA") else {
        return;
    };
    let outcomes = run
        .all_rounds(gitea_cases(), |base| async move {
            let client = GiteaClient::with_api_base(
                &base,
                "http://gitea.mock",
                SecretString::from("mock-token".to_string()),
                http(),
            );
            let api = GiteaApi::with_client(
                Some(client),
                Some("vibn-bot".into()),
                ProtectedList::empty(),
            );
            serve(GiteaServer::new(api, Pinning::operator(), &ToolFilter::default()).unwrap()).await
        })
        .await;
    judge("gitea", &outcomes);
}

/// Coolify tools against the Coolify mocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coolify_tools_never_5xx_on_answers_the_spec_allows() {
    let Some(run) = MockRun::from_env("COOLIFY") else {
        return;
    };
    let outcomes = run
        .all_rounds(coolify_cases(), |base| async move {
            let client = CoolifyClient::with_api_base(
                &base,
                SecretString::from("1|mock-token".to_string()),
                http(),
            );
            let api = CoolifyApi::with_client(
                Some(client),
                ProtectedList::empty(),
                Duration::from_millis(50),
                Duration::from_secs(1),
            );
            serve(CoolifyServer::new(api, Pinning::operator(), &ToolFilter::default()).unwrap())
                .await
        })
        .await;
    judge("coolify", &outcomes);
}

fn http() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(30),
        retries: 1,
        backoff: Duration::from_millis(20),
    }
}

async fn serve<S: rmcp::ServerHandler>(server: S) -> Client {
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_io).await.unwrap()
}

/// The mocks of one upstream, as `mock-run.mjs` announced them.
struct MockRun {
    /// The validating proxy in front of every round.
    contract: String,
    /// Round name and the port of its mock listener.
    rounds: Vec<(String, String)>,
}

/// What one call did.
#[derive(Debug)]
struct Outcome {
    round: String,
    tool: String,
    args: Value,
    /// 0 for success, else the error's status.
    status: u64,
    error: String,
    hint: String,
    /// Upstream statuses answered to this call's requests.
    upstream: Vec<u64>,
    /// Response violations Prism found in those answers.
    violations: Vec<String>,
}

impl MockRun {
    fn from_env(name: &str) -> Option<MockRun> {
        let rounds = std::env::var(format!("MOCK_{name}_ROUNDS")).ok();
        let contract = std::env::var(format!("CONTRACT_{name}_URL")).ok();
        let (Some(rounds), Some(contract)) = (rounds, contract) else {
            eprintln!(
                "Prism-mock run skipped: MOCK_{name}_ROUNDS / CONTRACT_{name}_URL not set \
                 (scripts/test runs it under scripts/contract/mock-run.mjs when \
                 ../shared/specs is present)"
            );
            return None;
        };
        let rounds = rounds
            .split(',')
            .filter_map(|r| r.split_once('='))
            .map(|(n, p)| (n.to_string(), p.to_string()))
            .collect();
        Some(MockRun { contract, rounds })
    }

    /// Every case in every round (rounds in parallel: each has its own listener, so the
    /// proxy's records tell them apart), after checking the cases cover every tool.
    async fn all_rounds<F, Fut>(
        &self,
        cases: Vec<(&'static str, Value)>,
        connect: F,
    ) -> Vec<Outcome>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Client>,
    {
        let rounds = self.rounds.iter().map(|(round, port)| {
            let base = format!("{}/_up/{port}/api/v1", self.contract.trim_end_matches('/'));
            let client = connect(base);
            let cases = cases.clone();
            async move {
                let client = client.await;
                let listed: Vec<String> = client
                    .list_all_tools()
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|t| t.name.to_string())
                    .collect();
                for tool in &listed {
                    assert!(
                        cases.iter().any(|(t, _)| t == tool),
                        "tool {tool} has no Prism-mock case: add one to this file"
                    );
                }
                let mut outcomes = Vec::new();
                for (tool, args) in cases {
                    outcomes.push(self.one(&client, round, port, tool, args).await);
                }
                outcomes
            }
        });
        futures::future::join_all(rounds)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    async fn one(
        &self,
        client: &Client,
        round: &str,
        port: &str,
        tool: &str,
        args: Value,
    ) -> Outcome {
        let before = self.records(port).await.len();
        let result = tokio::time::timeout(CALL_TIMEOUT, call(client, tool, args.clone())).await;
        let records = self.records(port).await;
        let mut upstream = Vec::new();
        let mut violations = Vec::new();
        for r in records.iter().skip(before) {
            upstream.push(r["status"].as_u64().unwrap_or(0));
            for v in r["violations"].as_array().into_iter().flatten() {
                if v["kind"] == "response" {
                    violations.push(format!(
                        "{} {}: {} {}",
                        r["method"].as_str().unwrap_or_default(),
                        r["path"].as_str().unwrap_or_default(),
                        v["location"],
                        v["message"].as_str().unwrap_or_default()
                    ));
                }
            }
        }
        let (status, error, hint) = match &result {
            Err(_) => (0, format!("no answer in {CALL_TIMEOUT:?}"), String::new()),
            Ok(r) if r.is_error != Some(true) => (0, String::new(), String::new()),
            Ok(r) => {
                let body = error_body(r);
                (
                    body["status"].as_u64().unwrap_or(0),
                    body["error"].as_str().unwrap_or_default().to_string(),
                    body["hint"].as_str().unwrap_or_default().to_string(),
                )
            }
        };
        Outcome {
            round: round.to_string(),
            tool: tool.to_string(),
            args,
            status: if result.is_err() { 599 } else { status },
            error,
            hint,
            upstream,
            violations,
        }
    }

    /// The proxy's records of requests to one round's listener, oldest first.
    async fn records(&self, port: &str) -> Vec<Value> {
        let proxy = Http::new(
            "contract proxy",
            &self.contract,
            Auth::None,
            HttpConfig::default(),
        );
        let list: Value = proxy
            .json(Call::new(reqwest::Method::GET, &["_contract", "report"]).query("upstream", port))
            .await
            .unwrap();
        list.as_array().cloned().unwrap_or_default()
    }
}

/// `{error, status, hint}` of an error result: its structured content, or the JSON in its
/// text content.
fn error_body(result: &CallToolResult) -> Value {
    if let Some(body) = result
        .structured_content
        .as_ref()
        .filter(|b| b.get("status").is_some())
    {
        return body.clone();
    }
    result
        .content
        .iter()
        .filter_map(|c| c.as_text())
        .find_map(|t| serde_json::from_str::<Value>(&t.text).ok())
        .unwrap_or(Value::Null)
}

/// Why a 5xx outcome is acceptable, or `None` when a valid answer caused it. Only a 502
/// (DESIGN §4: the upstream failed) can be; a 500 or a hang never is.
fn excuse(o: &Outcome) -> Option<&'static str> {
    if o.status != 502 {
        return None;
    }
    if o.upstream.iter().any(|s| *s >= 500) {
        return Some("the upstream itself answered 5xx");
    }
    let names_endpoint = ["GET /", "POST /", "PATCH /", "PUT /", "DELETE /"]
        .iter()
        .any(|m| o.error.contains(m));
    // A decode failure: it names the field, or says the answer as a whole has the wrong
    // shape (`http::decode`).
    let names_field = o.error.contains("unexpected answer from");
    if !o.violations.is_empty() && names_endpoint && names_field && !o.hint.is_empty() {
        return Some("the answer violated the spec, and the 502 names endpoint and field");
    }
    None
}

fn judge(server: &str, outcomes: &[Outcome]) {
    let mut failures = Vec::new();
    let (mut ok, mut client_errors, mut excused) = (0, 0, 0);
    for o in outcomes {
        match o.status {
            0 => ok += 1,
            s if s < 500 => client_errors += 1,
            _ => match excuse(o) {
                Some(why) => {
                    excused += 1;
                    eprintln!(
                        "prism-mock[{server}] {} {} {}: {} — accepted: {why}",
                        o.round, o.tool, o.args, o.error
                    );
                }
                None => failures.push(o),
            },
        }
    }
    eprintln!(
        "prism-mock[{server}]: {} calls in {} rounds: {ok} ok, {client_errors} 4xx, {excused} accepted 5xx, {} failures",
        outcomes.len(),
        outcomes
            .iter()
            .map(|o| o.round.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        failures.len()
    );
    // Per tool, how its calls ended (status 0 = success), and the first 4xx message
    // of each kind, so the run shows what the mocks exercised.
    let mut per_tool: std::collections::BTreeMap<&str, std::collections::BTreeMap<u64, usize>> =
        Default::default();
    let mut seen = std::collections::BTreeSet::new();
    for o in outcomes {
        *per_tool
            .entry(&o.tool)
            .or_default()
            .entry(o.status)
            .or_default() += 1;
        if (400..500).contains(&o.status) && seen.insert((o.tool.as_str(), o.status)) {
            eprintln!(
                "prism-mock[{server}]   e.g. {} {} -> {}: {}",
                o.tool, o.args, o.status, o.error
            );
        }
    }
    for (tool, statuses) in per_tool {
        eprintln!("prism-mock[{server}]   {tool}: {statuses:?}");
    }
    assert!(
        failures.is_empty(),
        "5xx caused by answers the spec allows (or hangs):\n{}",
        failures
            .iter()
            .map(|o| format!(
                "  [{}] {} {} -> {}: {} (hint: {}; upstream {:?}; violations {:?})",
                o.round, o.tool, o.args, o.status, o.error, o.hint, o.upstream, o.violations
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The run's own rule: which 5xx it accepts.
#[test]
fn only_502s_for_failed_or_invalid_answers_are_accepted() {
    let base = Outcome {
        round: "static".into(),
        tool: "list_repos".into(),
        args: json!({}),
        status: 502,
        error: "Gitea GET /user/repos: unexpected answer from Gitea: field `[0].id`: invalid type"
            .into(),
        hint: "Gitea answered in a shape vibn does not read".into(),
        upstream: vec![200],
        violations: vec!["GET /user/repos: [\"response\",\"body\"] must be integer".into()],
    };
    assert!(excuse(&base).is_some(), "invalid answer, named: accepted");
    let valid = Outcome {
        violations: vec![],
        ..base
    };
    assert!(
        excuse(&valid).is_none(),
        "a valid answer never excuses a 5xx"
    );
    let upstream_failed = Outcome {
        upstream: vec![503],
        error: "Gitea GET /user/repos: Gitea answered 503".into(),
        ..valid
    };
    assert!(excuse(&upstream_failed).is_some(), "upstream 5xx: accepted");
    let internal = Outcome {
        status: 500,
        ..upstream_failed
    };
    assert!(excuse(&internal).is_none(), "a 500 is never accepted");
    let unnamed = Outcome {
        status: 502,
        upstream: vec![200],
        error: "something went wrong".into(),
        violations: vec!["GET /user/repos: body".into()],
        ..internal
    };
    assert!(
        excuse(&unnamed).is_none(),
        "a 502 must name endpoint and field"
    );
}

//! The agent server against the runner stand-in: spawn, wait with progress, failures,
//! cancel, the journal across restarts, pinning, and an unreachable runner.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use vibn::api::agent_api::AgentApi;
use vibn::api::caller::Pinning;
use vibn::clients::runner::RunnerClient;
use vibn::config::{PinConfig, ToolFilter};
use vibn::keystore::Store;
use vibn::mcp::agent_server::AgentServer;
use vibn_sandbox::runner::{Edit, Fault, RunnerSandbox};

use crate::coolify_support::{ProgressClient, call_tool, serve_with_progress};
use crate::gitea_support::fast_http;
use crate::support::{err_message, err_status, ok};

struct Agents {
    dir: tempfile::TempDir,
    runner: RunnerSandbox,
}

impl Agents {
    async fn start() -> Self {
        let runner = RunnerSandbox::start(0).await.unwrap();
        runner
            .state()
            .set_timing(Duration::from_millis(50), Duration::from_millis(250));
        Agents {
            dir: tempfile::tempdir().unwrap(),
            runner,
        }
    }

    fn keystore(&self) -> std::path::PathBuf {
        self.dir.path().join("ks.db")
    }

    fn operator(&self) -> Pinning {
        Pinning::from_config(&PinConfig {
            api_key: None,
            expected_workspace: None,
            keystore: Some(self.keystore()),
            keyring: None,
        })
    }

    async fn serve_at(&self, url: &str, pin: Pinning) -> ProgressClient {
        let api = AgentApi::with_runner(
            RunnerClient::new(url, None, fast_http()),
            Duration::from_millis(40),
        );
        serve_with_progress(AgentServer::new(api, pin, &ToolFilter::default()).unwrap()).await
    }

    async fn serve(&self, pin: Pinning) -> ProgressClient {
        self.serve_at(&self.runner.base_url(), pin).await
    }
}

/// spawn_agent returns job_id; get_job_status with wait_s follows it to the end with
/// progress notifications.
#[tokio::test]
async fn spawn_and_wait_for_a_job() {
    let a = Agents::start().await;
    let client = a.serve(a.operator()).await;
    let r = call_tool(
        &client,
        "spawn_agent",
        json!({"agent": "coder", "task": "add a login page", "repo": "acme/site"}),
        false,
    )
    .await;
    let out = ok(&r);
    let job = out["job_id"].as_str().unwrap().to_string();
    assert_eq!(out["agent"], "coder");
    let r = call_tool(
        &client,
        "get_job_status",
        json!({"job_id": job, "wait_s": 10}),
        true,
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["status"], "completed", "{out}");
    assert_eq!(out["finished"], true);
    assert!(out["result"].as_str().unwrap().contains("login page"));
    let progress = client.service().0.lock().unwrap().clone();
    assert!(progress.len() >= 2, "progress while waiting: {progress:?}");
    let sent = a.runner.state().jobs();
    assert_eq!(sent[0]["repo"], "acme/site");
}

/// A job that fails reports its error.
#[tokio::test]
async fn a_failing_job_reports_its_error() {
    let a = Agents::start().await;
    a.runner.state().fail_next("tests failed: 3 of 40");
    let client = a.serve(a.operator()).await;
    let r = call_tool(
        &client,
        "spawn_agent",
        json!({"agent": "coder", "task": "refactor"}),
        false,
    )
    .await;
    let job = ok(&r)["job_id"].as_str().unwrap().to_string();
    let r = call_tool(
        &client,
        "get_job_status",
        json!({"job_id": job, "wait_s": "10"}),
        false,
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["status"], "failed");
    assert!(out["error"].as_str().unwrap().contains("tests failed"));
}

/// Issue 10 item 5: a status outside the runner contract (a newer runner's) is reported
/// at once, not waited on for the whole wait_s.
#[tokio::test]
async fn an_unknown_job_status_is_reported_instead_of_waited_out() {
    let a = Agents::start().await;
    let client = a.serve(a.operator()).await;
    let r = call_tool(
        &client,
        "spawn_agent",
        json!({"agent": "coder", "task": "refactor"}),
        false,
    )
    .await;
    let job = ok(&r)["job_id"].as_str().unwrap().to_string();
    a.runner.state().inject_fault(Fault::Rewrite {
        method: Some("GET".into()),
        path_prefix: "/api/jobs/".into(),
        edit: Edit::Set {
            pointer: "/status".into(),
            value: json!("paused"),
        },
        times: 1000,
    });
    let started = std::time::Instant::now();
    let r = call_tool(
        &client,
        "get_job_status",
        json!({"job_id": job, "wait_s": 10}),
        false,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "waited {:?} on a status that may never change",
        started.elapsed()
    );
    let out = ok(&r);
    assert_eq!(out["status"], "paused");
    assert_eq!(out["finished"], false);
}

/// Without wait_s the status comes back at once.
#[tokio::test]
async fn status_without_wait_returns_at_once() {
    let a = Agents::start().await;
    a.runner
        .state()
        .set_timing(Duration::from_secs(5), Duration::from_secs(5));
    let client = a.serve(a.operator()).await;
    let r = call_tool(
        &client,
        "spawn_agent",
        json!({"agent": "pm", "task": "write a PRD"}),
        false,
    )
    .await;
    let job = ok(&r)["job_id"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    let r = call_tool(&client, "get_job_status", json!({"job_id": job}), false).await;
    assert_eq!(ok(&r)["status"], "queued");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// cancel_job cancels; cancelling a finished job is refused.
#[tokio::test]
async fn cancel_a_job() {
    let a = Agents::start().await;
    a.runner
        .state()
        .set_timing(Duration::from_secs(5), Duration::from_secs(5));
    let client = a.serve(a.operator()).await;
    let r = call_tool(
        &client,
        "spawn_agent",
        json!({"agent": "coder", "task": "long task"}),
        false,
    )
    .await;
    let job = ok(&r)["job_id"].as_str().unwrap().to_string();
    let r = call_tool(&client, "cancel_job", json!({"job_id": job}), false).await;
    assert_eq!(ok(&r)["status"], "cancelled");
    let r = call_tool(&client, "cancel_job", json!({"job_id": job}), false).await;
    assert_eq!(err_status(&r), 422);
    let r = call_tool(
        &client,
        "cancel_job",
        json!({"job_id": "job-that-never-was"}),
        false,
    )
    .await;
    assert_eq!(err_status(&r), 404);
}

/// The journal survives a restart: a new server on the same keystore lists the jobs.
#[tokio::test]
async fn list_jobs_survives_a_restart() {
    let a = Agents::start().await;
    let first = a.serve(a.operator()).await;
    for task in ["one", "two"] {
        ok(&call_tool(
            &first,
            "spawn_agent",
            json!({"agent": "coder", "task": task}),
            false,
        )
        .await);
    }
    drop(first);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = a.serve(a.operator()).await;
    let r = call_tool(&second, "list_jobs", json!({}), false).await;
    let jobs = ok(&r)["jobs"].as_array().unwrap().clone();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0]["task"], "two", "newest first");
    assert!(
        jobs.iter().all(|j| j["status"] == "completed"),
        "refreshed from the runner: {jobs:?}"
    );
}

/// An unreachable runner is a 502 naming the URL tried; the journal still lists.
#[tokio::test]
async fn an_unreachable_runner_is_502_with_its_url() {
    let a = Agents::start().await;
    let url = "http://127.0.0.1:9";
    let client = a.serve_at(url, a.operator()).await;
    let r = call_tool(
        &client,
        "spawn_agent",
        json!({"agent": "coder", "task": "x"}),
        false,
    )
    .await;
    assert_eq!(err_status(&r), 502);
    assert!(err_message(&r).contains(url), "{}", err_message(&r));
    let r = call_tool(&client, "list_jobs", json!({}), false).await;
    assert_eq!(ok(&r)["jobs"], json!([]));
}

/// Bad input is refused before the runner is asked; the runner's own refusals pass through.
#[tokio::test]
async fn bad_input_and_runner_refusals() {
    let a = Agents::start().await;
    let client = a.serve(a.operator()).await;
    a.runner.state().clear_requests();
    for args in [
        json!({"agent": "", "task": "x"}),
        json!({"agent": "coder", "task": "  "}),
        json!({"agent": "co der", "task": "x"}),
        json!({"agent": "coder", "task": "x", "repo": "../etc"}),
    ] {
        let r = call_tool(&client, "spawn_agent", args.clone(), false).await;
        assert_eq!(err_status(&r), 400, "{args}");
    }
    assert!(a.runner.state().requests().is_empty());
    let r = call_tool(
        &client,
        "spawn_agent",
        json!({"agent": "astronaut", "task": "x"}),
        false,
    )
    .await;
    assert_eq!(err_status(&r), 400);
    assert!(
        err_message(&r).contains("coder"),
        "the runner lists the agents: {}",
        err_message(&r)
    );
    let r = call_tool(
        &client,
        "get_job_status",
        json!({"job_id": "../../etc"}),
        false,
    )
    .await;
    assert_eq!(err_status(&r), 400);
}

/// Pinned: the slug travels with every runner request; other workspaces' jobs and repos
/// outside the org are refused.
#[tokio::test]
async fn pinned_jobs_carry_the_workspace_and_stay_in_it() {
    let a = Agents::start().await;
    let store = Store::open(&a.keystore()).unwrap();
    let mut clients = Vec::new();
    let mut slugs = Vec::new();
    for email in ["acme@x.io", "other@x.io"] {
        let ws = store.create_workspace(email, None).unwrap();
        let key = store
            .mint_workspace_key(&ws.slug, "t", None, "cli")
            .unwrap()
            .token
            .expose_secret()
            .to_string();
        let pin = Pinning::from_config(&PinConfig {
            api_key: Some(SecretString::from(key)),
            expected_workspace: None,
            keystore: Some(a.keystore()),
            keyring: None,
        });
        clients.push(a.serve(pin).await);
        slugs.push(ws.slug);
    }
    let r = call_tool(
        &clients[0],
        "spawn_agent",
        json!({"agent": "coder", "task": "x", "repo": "site"}),
        false,
    )
    .await;
    let job = ok(&r)["job_id"].as_str().unwrap().to_string();
    call_tool(&clients[0], "get_job_status", json!({"job_id": job}), false).await;
    let requests = a.runner.state().requests();
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| r.workspace_header.as_deref() == Some(slugs[0].as_str())),
        "{requests:?}"
    );
    assert_eq!(a.runner.state().jobs()[0]["workspace"], slugs[0]);
    assert_eq!(
        a.runner.state().jobs()[0]["repo"],
        format!("vibn-{}/site", slugs[0])
    );
    let r = call_tool(&clients[1], "get_job_status", json!({"job_id": job}), false).await;
    assert_eq!(err_status(&r), 404, "another workspace's job is not found");
    let r = call_tool(&clients[1], "cancel_job", json!({"job_id": job}), false).await;
    assert_eq!(err_status(&r), 404);
    let r = call_tool(
        &clients[0],
        "spawn_agent",
        json!({"agent": "coder", "task": "x", "repo": "vibn-other/site"}),
        false,
    )
    .await;
    assert_eq!(err_status(&r), 403);
    let r = call_tool(&clients[1], "list_jobs", json!({}), false).await;
    assert_eq!(ok(&r)["jobs"], json!([]));
}

/// Cancelling a waiting get_job_status stops polling; the server keeps serving.
#[tokio::test]
async fn waiting_stops_on_cancellation() {
    let a = Agents::start().await;
    a.runner
        .state()
        .set_timing(Duration::from_secs(30), Duration::from_secs(30));
    let client = a.serve(a.operator()).await;
    let r = call_tool(
        &client,
        "spawn_agent",
        json!({"agent": "coder", "task": "x"}),
        false,
    )
    .await;
    let job = ok(&r)["job_id"].as_str().unwrap().to_string();
    let pending = call_tool(
        &client,
        "get_job_status",
        json!({"job_id": job, "wait_s": 50}),
        false,
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), pending)
            .await
            .is_err()
    );
    a.runner.state().clear_requests();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        a.runner.state().requests().len() <= 1,
        "polling should stop after cancellation"
    );
    ok(&call_tool(&client, "list_jobs", json!({}), false).await);
}

/// The real binary: `vibn mcp agent` with AGENT_RUNNER_URL spawns and reports a job.
#[tokio::test]
async fn agent_binary_spawns_a_job() {
    use rmcp::ServiceExt;
    use rmcp::transport::TokioChildProcess;
    let a = Agents::start().await;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_vibn"));
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("AGENT_RUNNER_URL", a.runner.base_url())
        .env("VIBN_KEYSTORE", a.keystore())
        .args(["mcp", "agent"]);
    let transport = TokioChildProcess::builder(cmd)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
        .0;
    let client = ().serve(transport).await.unwrap();
    assert_eq!(
        client
            .peer_info()
            .unwrap()
            .server_info
            .as_ref()
            .unwrap()
            .name,
        "vibn-agent"
    );
    let r = crate::support::call(
        &client,
        "spawn_agent",
        json!({"agent": "coder", "task": "hello"}),
    )
    .await;
    let job = ok(&r)["job_id"].as_str().unwrap().to_string();
    let r = crate::support::call(
        &client,
        "get_job_status",
        json!({"job_id": job, "wait_s": 10}),
    )
    .await;
    assert_eq!(ok(&r)["status"], "completed");
    client.cancel().await.unwrap();
}

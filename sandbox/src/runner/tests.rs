//! Behaviour tests of the runner sandbox: one sandbox on 127.0.0.1:0 per test, driven
//! over HTTP with reqwest and steered through [`RunnerState`]'s controls.

use std::time::{Duration, Instant, SystemTime};

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use super::{Fault, PROGRESS_STEPS, RunnerSandbox};

struct Env {
    sb: RunnerSandbox,
    http: Client,
    token: Option<String>,
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

impl Env {
    /// A sandbox without auth and fast jobs (40 ms queued, 200 ms running).
    async fn new() -> Env {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sb = RunnerSandbox::start(0).await.unwrap();
        sb.state()
            .set_timing(Duration::from_millis(40), Duration::from_millis(200));
        Env {
            sb,
            http: Client::new(),
            token: None,
        }
    }

    /// `method path` with an optional raw body and extra headers; sends the token when
    /// the sandbox has one.
    async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.sb.base_url()));
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.raw(Method::GET, path, None, &[]).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.raw(Method::POST, path, Some(&body.to_string()), &[])
            .await
    }

    /// Spawn `agent` on `task`; returns the job id.
    async fn spawn(&self, agent: &str, task: &str) -> String {
        let a = self
            .post("/api/agent/run", json!({ "agent": agent, "task": task }))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.body["jobId"].as_str().unwrap().to_string()
    }

    /// Poll a job until it is final (or 5 s pass); returns every status seen, in order
    /// without repeats, and the final job.
    async fn wait(&self, id: &str) -> (Vec<String>, Value) {
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..500 {
            let a = self.get(&format!("/api/jobs/{id}")).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            let status = a.body["status"].as_str().unwrap().to_string();
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            if !matches!(status.as_str(), "queued" | "running") {
                return (seen, a.body);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("job {id} did not finish");
    }
}

fn parse_time(s: &Value) -> SystemTime {
    humantime::parse_rfc3339(s.as_str().unwrap()).unwrap()
}

/// `POST /api/agent/run` answers 201 `{jobId, status: "queued"}` with a Location.
#[tokio::test]
async fn run_answers_201_with_job_id_and_queued_status() {
    let env = Env::new().await;
    env.sb
        .state()
        .set_timing(Duration::from_secs(30), Duration::from_secs(30));
    let a = env
        .post(
            "/api/agent/run",
            json!({ "agent": "coder", "task": "add a README", "repo": "acme/site", "project": "site" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body["status"], "queued");
    let id = a.body["jobId"].as_str().unwrap();
    assert!(id.starts_with("job_"));
    assert_eq!(a.header("location"), format!("/api/jobs/{id}"));
    let job = env.get(&format!("/api/jobs/{id}")).await.body;
    assert_eq!(job["id"], id);
    assert_eq!(job["agent"], "coder");
    assert_eq!(job["task"], "add a README");
    assert_eq!(job["repo"], "acme/site");
    assert_eq!(job["project"], "site");
    assert!(job.get("workspace").is_none());
    assert_eq!(job["status"], "queued");
    assert_eq!(job["createdAt"], job["updatedAt"]);
}

/// Polling sees queued → running (with progress steps) → completed with a result;
/// `updatedAt` moves forward and never before `createdAt`.
#[tokio::test]
async fn job_progresses_queued_running_completed() {
    let env = Env::new().await;
    env.sb
        .state()
        .set_timing(Duration::from_millis(50), Duration::from_millis(600));
    let id = env.spawn("coder", "fix the login bug").await;
    let mut progress: Vec<String> = Vec::new();
    let started = Instant::now();
    let mut last_updated = SystemTime::UNIX_EPOCH;
    let job = loop {
        let job = env.get(&format!("/api/jobs/{id}")).await.body;
        let updated = parse_time(&job["updatedAt"]);
        assert!(updated >= last_updated && updated >= parse_time(&job["createdAt"]));
        last_updated = updated;
        if job["status"] == "running" {
            let p = job["progress"].as_str().unwrap().to_string();
            assert!(PROGRESS_STEPS.contains(&p.as_str()), "{p}");
            if progress.last() != Some(&p) {
                progress.push(p);
            }
        } else {
            assert!(job.get("progress").is_none());
        }
        if job["status"] == "completed" {
            break job;
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(job["result"], "Done: fix the login bug");
    assert!(job.get("error").is_none());
    assert!(progress.len() >= 3, "{progress:?}");
    assert_eq!(progress[0], "planning");
    let (seen, _) = env.wait(&id).await;
    assert_eq!(seen, vec!["completed"]);
}

/// The status sequence seen by a poller is queued, running, completed.
#[tokio::test]
async fn poller_sees_each_status_in_order() {
    let env = Env::new().await;
    env.sb
        .state()
        .set_timing(Duration::from_millis(300), Duration::from_millis(300));
    let id = env.spawn("pm", "write a PRD").await;
    let (seen, job) = env.wait(&id).await;
    assert_eq!(seen, vec!["queued", "running", "completed"]);
    assert_eq!(job["result"], "Done: write a PRD");
}

/// `fail_next` fails only the next job; `fail_task_containing` every matching task.
#[tokio::test]
async fn failure_controls_end_jobs_failed_with_error() {
    let env = Env::new().await;
    let state = env.sb.state();
    state.set_timing(Duration::ZERO, Duration::from_millis(30));
    state.fail_next("out of credits");
    let first = env.spawn("coder", "one").await;
    let second = env.spawn("coder", "two").await;
    let (seen, job) = env.wait(&first).await;
    assert_eq!(seen.last().unwrap(), "failed");
    assert_eq!(job["error"], "out of credits");
    assert!(job.get("result").is_none());
    assert_eq!(env.wait(&second).await.1["status"], "completed");

    state.fail_task_containing("deploy");
    let bad = env.spawn("coder", "deploy to prod").await;
    let good = env.spawn("coder", "write docs").await;
    let job = env.wait(&bad).await.1;
    assert_eq!(job["status"], "failed");
    assert!(job["error"].as_str().unwrap().contains("deploy"));
    assert_eq!(env.wait(&good).await.1["status"], "completed");

    state.clear_failures();
    let again = env.spawn("coder", "deploy again").await;
    assert_eq!(env.wait(&again).await.1["status"], "completed");
}

/// Cancel turns a queued or running job `cancelled` (for good); a final job is 409.
#[tokio::test]
async fn cancel_stops_job_and_final_job_is_409() {
    let env = Env::new().await;
    env.sb
        .state()
        .set_timing(Duration::from_millis(20), Duration::from_secs(30));
    let id = env.spawn("coder", "long task").await;
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert_eq!(
        env.get(&format!("/api/jobs/{id}")).await.body["status"],
        "running"
    );
    let a = env.post(&format!("/api/jobs/{id}/cancel"), json!({})).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["status"], "cancelled");
    assert_eq!(a.body["id"], id.as_str());
    assert!(a.body.get("progress").is_none());
    let a = env.get(&format!("/api/jobs/{id}")).await;
    assert_eq!(a.body["status"], "cancelled");
    let a = env.post(&format!("/api/jobs/{id}/cancel"), json!({})).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(a.body["error"], "job already cancelled");

    env.sb.state().set_timing(Duration::ZERO, Duration::ZERO);
    let done = env.spawn("coder", "quick").await;
    let a = env
        .raw(Method::POST, &format!("/api/jobs/{done}/cancel"), None, &[])
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(a.body["error"], "job already completed");
}

/// Unknown job ids are 404 `{"error":"job not found"}` for get and cancel; unknown
/// paths are 404 and wrong methods 405.
#[tokio::test]
async fn unknown_jobs_and_paths_are_404() {
    let env = Env::new().await;
    let a = env.get("/api/jobs/job_nope").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.body, json!({ "error": "job not found" }));
    let a = env.post("/api/jobs/job_nope/cancel", json!({})).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.body["error"], "job not found");
    for path in ["/api/nope", "/api/jobs/", "/api/jobs/a/b", "/"] {
        let a = env.get(path).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(a.body["error"], "not found");
    }
    let a = env.get("/api/agent/run").await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.header("allow"), "POST");
}

/// Unknown agents, missing or mistyped fields and bad JSON are 400 `{error}`;
/// `set_agents` changes the list named in the error.
#[tokio::test]
async fn run_rejects_bad_requests_with_400() {
    let env = Env::new().await;
    let a = env
        .post("/api/agent/run", json!({ "agent": "wizard", "task": "t" }))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        a.body["error"],
        "unknown agent wizard; available: coder, pm, marketing, reviewer"
    );
    for (body, error) in [
        (json!({ "task": "t" }), "agent is required"),
        (json!({ "agent": "coder" }), "task is required"),
        (
            json!({ "agent": "coder", "task": 3 }),
            "task must be a string",
        ),
        (
            json!({ "agent": "coder", "task": "t", "repo": ["x"] }),
            "repo must be a string",
        ),
    ] {
        let a = env.post("/api/agent/run", body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert_eq!(a.body["error"], error);
    }
    let a = env
        .raw(Method::POST, "/api/agent/run", Some("{not json"), &[])
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.body["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body")
    );

    env.sb.state().set_agents(&["wizard", "coder"]);
    env.spawn("wizard", "t").await;
    let a = env
        .post("/api/agent/run", json!({ "agent": "pm", "task": "t" }))
        .await;
    assert_eq!(
        a.body["error"],
        "unknown agent pm; available: wizard, coder"
    );
    assert!(env.sb.state().jobs().len() == 1);
}

/// The workspace comes from the body, else from `X-Vibn-Workspace`; both are
/// recorded, and `GET /api/jobs?workspace=` lists that workspace's jobs newest first.
#[tokio::test]
async fn workspace_is_taken_from_body_or_header_and_filters_list() {
    let env = Env::new().await;
    let body = json!({ "agent": "coder", "task": "from body", "workspace": "acme" }).to_string();
    let a = env
        .raw(Method::POST, "/api/agent/run", Some(&body), &[])
        .await;
    let from_body = a.body["jobId"].as_str().unwrap().to_string();
    let body = json!({ "agent": "pm", "task": "from header" }).to_string();
    let a = env
        .raw(
            Method::POST,
            "/api/agent/run",
            Some(&body),
            &[("X-Vibn-Workspace", "globex")],
        )
        .await;
    let from_header = a.body["jobId"].as_str().unwrap().to_string();
    let body = json!({ "agent": "coder", "task": "later", "workspace": "acme" }).to_string();
    let a = env
        .raw(
            Method::POST,
            "/api/agent/run",
            Some(&body),
            &[("X-Vibn-Workspace", "acme")],
        )
        .await;
    let later = a.body["jobId"].as_str().unwrap().to_string();

    let jobs = env.sb.state().jobs();
    let workspaces: Vec<&str> = jobs
        .iter()
        .map(|j| j["workspace"].as_str().unwrap())
        .collect();
    assert_eq!(workspaces, vec!["acme", "globex", "acme"]);
    assert_eq!(jobs[0]["id"], from_body.as_str());

    let log = env.sb.state().requests();
    assert_eq!(log[0].workspace_header, None);
    assert_eq!(log[0].body.as_ref().unwrap()["workspace"], "acme");
    assert_eq!(log[1].workspace_header.as_deref(), Some("globex"));
    assert_eq!(log[1].method, "POST");
    assert_eq!(log[1].path, "/api/agent/run");
    assert_eq!(log[1].status, 201);

    let a = env.get("/api/jobs?workspace=acme").await;
    let ids: Vec<&str> = a.body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![later.as_str(), from_body.as_str()]);
    let a = env.get("/api/jobs").await;
    assert_eq!(a.body["jobs"].as_array().unwrap().len(), 3);
    assert_eq!(a.body["jobs"][1]["id"], from_header.as_str());
    let a = env.get("/api/jobs?workspace=nobody").await;
    assert_eq!(a.body["jobs"], json!([]));
    assert_eq!(
        env.sb.state().requests().last().unwrap().query,
        "workspace=nobody"
    );
}

/// Started with a token, requests without `Authorization: Bearer <token>` are 401
/// `{"error":"unauthorized"}`; with it they pass. Without a token nothing is checked.
#[tokio::test]
async fn token_is_enforced_when_started_with_one() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sb = RunnerSandbox::start_with_token(0, "s3cret").await.unwrap();
    assert_eq!(sb.state().token().as_deref(), Some("s3cret"));
    let mut env = Env {
        sb,
        http: Client::new(),
        token: None,
    };
    let run = json!({ "agent": "coder", "task": "t" });
    let a = env.post("/api/agent/run", run.clone()).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body, json!({ "error": "unauthorized" }));
    assert_eq!(a.header("www-authenticate"), "Bearer");
    let a = env.get("/api/jobs/job_nope").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    env.token = Some("wrong".into());
    assert_eq!(env.get("/api/jobs").await.status, StatusCode::UNAUTHORIZED);
    env.token = Some("s3cret".into());
    let id = env.spawn("coder", "t").await;
    assert_eq!(
        env.get(&format!("/api/jobs/{id}")).await.status,
        StatusCode::OK
    );
    assert!(env.sb.state().jobs().len() == 1);
    let log = env.sb.state().requests();
    assert_eq!(log[0].bearer, None);
    assert_eq!(log[2].bearer.as_deref(), Some("wrong"));
    assert_eq!(log[3].bearer.as_deref(), Some("s3cret"));

    let open = Env::new().await;
    assert_eq!(open.sb.state().token(), None);
    let a = open
        .raw(
            Method::GET,
            "/api/jobs",
            None,
            &[("authorization", "Bearer anything")],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
}

/// An injected status replaces the answer with `{"error": reason}` for `times`
/// matching requests; a delay postpones the answer.
#[tokio::test]
async fn injected_faults_replace_or_delay_answers() {
    let env = Env::new().await;
    let state = env.sb.state();
    state.inject_fault(Fault::Status {
        method: Some("post".into()),
        path_prefix: "/api/agent/run".into(),
        status: 503,
        times: 2,
        retry_after: Some(1),
    });
    for _ in 0..2 {
        let a = env
            .post("/api/agent/run", json!({ "agent": "coder", "task": "t" }))
            .await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(a.body["error"], "Service Unavailable");
        assert_eq!(a.header("retry-after"), "1");
    }
    assert!(state.jobs().is_empty());
    let id = env.spawn("coder", "t").await;

    state.inject_fault(Fault::Delay {
        path_prefix: "/api/jobs/".into(),
        delay: Duration::from_millis(200),
        times: 1,
    });
    let t = Instant::now();
    let a = env.get(&format!("/api/jobs/{id}")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(200));
    let t = Instant::now();
    env.get(&format!("/api/jobs/{id}")).await;
    assert!(t.elapsed() < Duration::from_millis(200));

    state.inject_fault(Fault::Status {
        method: None,
        path_prefix: "/api/jobs".into(),
        status: 500,
        times: 5,
        retry_after: None,
    });
    state.clear_faults();
    assert_eq!(env.get("/api/jobs").await.status, StatusCode::OK);
    let statuses: Vec<u16> = state.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 503, 201, 200, 200, 200]);
    state.clear_requests();
    assert!(state.requests().is_empty());
}

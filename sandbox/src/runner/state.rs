//! The runner sandbox's state and test controls: jobs, the allowed agents, timing and
//! failure rules, the optional bearer token, the request log and injected faults, plus
//! the job operations the routes call (spawn, get, cancel, list). No HTTP here.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use rand::distr::{Alphanumeric, SampleString};
use serde_json::Value;

use super::jobs::{Job, RunRequest};
use crate::faults::{self, Fault, Observer};
use crate::relock;

/// The agents a fresh sandbox runs.
pub const DEFAULT_AGENTS: &[&str] = &["coder", "pm", "marketing", "reviewer"];

/// One request the sandbox answered.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path as sent (e.g. `/api/jobs/job_abc/cancel`).
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    /// The body of a write: the JSON sent, or the raw text as a JSON string when it
    /// was not JSON; `None` for reads and empty bodies.
    pub body: Option<Value>,
    /// The `X-Vibn-Workspace` header sent, if any.
    pub workspace_header: Option<String>,
    /// The token of an `Authorization: Bearer …` header sent, if any.
    pub bearer: Option<String>,
    /// The status answered; 0 while still running (or when the client gave up first).
    pub status: u16,
}

/// Why a job operation was refused: the status and the text of `error`.
pub(crate) type Refusal = (u16, String);

/// Jobs and the rules that shape new ones, behind one mutex.
#[derive(Debug)]
struct Data {
    jobs: Vec<Job>,
    agents: Vec<String>,
    queued_for: Duration,
    running_for: Duration,
    fail_next: Option<String>,
    fail_containing: Vec<String>,
}

/// The whole sandbox state, shared by the server and the test that started it.
#[derive(Debug)]
pub struct RunnerState {
    token: Option<String>,
    data: Mutex<Data>,
    /// The request log and injected faults.
    pub(crate) observer: Observer<RecordedRequest>,
}

impl RunnerState {
    /// No jobs, [`DEFAULT_AGENTS`], timing 100 ms queued / 400 ms running.
    pub(crate) fn new(token: Option<String>) -> RunnerState {
        RunnerState {
            token,
            data: Mutex::new(Data {
                jobs: Vec::new(),
                agents: DEFAULT_AGENTS.iter().map(|a| a.to_string()).collect(),
                queued_for: Duration::from_millis(100),
                running_for: Duration::from_millis(400),
                fail_next: None,
                fail_containing: Vec::new(),
            }),
            observer: Observer::new(),
        }
    }

    /// The bearer token every request must carry (`None` = no auth).
    pub fn token(&self) -> Option<String> {
        self.token.clone()
    }

    // ----- controls -----

    /// How long jobs spawned from now on stay queued, then running (defaults 100 ms /
    /// 400 ms). Jobs already spawned keep their timing.
    pub fn set_timing(&self, queued: Duration, running: Duration) {
        let mut d = relock(&self.data);
        d.queued_for = queued;
        d.running_for = running;
    }

    /// The next spawned job (only that one) ends `failed` with `error`.
    pub fn fail_next(&self, error: &str) {
        relock(&self.data).fail_next = Some(error.to_string());
    }

    /// Every job spawned from now on whose task contains `needle` (case-sensitive)
    /// ends `failed`.
    pub fn fail_task_containing(&self, needle: &str) {
        relock(&self.data).fail_containing.push(needle.to_string());
    }

    /// Forget `fail_next` and every `fail_task_containing` rule.
    pub fn clear_failures(&self) {
        let mut d = relock(&self.data);
        d.fail_next = None;
        d.fail_containing.clear();
    }

    /// Replace the agents that `POST /api/agent/run` accepts.
    pub fn set_agents(&self, agents: &[&str]) {
        relock(&self.data).agents = agents.iter().map(|a| a.to_string()).collect();
    }

    /// The agents accepted, in order.
    pub fn agents(&self) -> Vec<String> {
        relock(&self.data).agents.clone()
    }

    /// Every job as `GET /api/jobs/{id}` would answer it now, oldest first (each with
    /// the `workspace` it came with, when it came with one).
    pub fn jobs(&self) -> Vec<Value> {
        let now = Instant::now();
        relock(&self.data)
            .jobs
            .iter()
            .map(|j| j.view(now))
            .collect()
    }

    // ----- job operations (the routes) -----

    /// Spawn a job; `workspace_header` fills `workspace` when the body has none.
    /// Returns the job's view.
    pub(crate) fn spawn(
        &self,
        mut request: RunRequest,
        workspace_header: Option<&str>,
    ) -> Result<Value, Refusal> {
        let mut d = relock(&self.data);
        if !d.agents.contains(&request.agent) {
            return Err((
                400,
                format!(
                    "unknown agent {}; available: {}",
                    request.agent,
                    d.agents.join(", ")
                ),
            ));
        }
        if request.workspace.is_none() {
            request.workspace = workspace_header
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_string);
        }
        let failure = d.fail_next.take().or_else(|| {
            d.fail_containing
                .iter()
                .find(|n| request.task.contains(n.as_str()))
                .map(|n| format!("agent failed: simulated failure for tasks containing {n:?}"))
        });
        let job = Job {
            id: format!(
                "job_{}",
                Alphanumeric
                    .sample_string(&mut rand::rng(), 16)
                    .to_lowercase()
            ),
            request,
            created: SystemTime::now(),
            started: Instant::now(),
            queued_for: d.queued_for,
            running_for: d.running_for,
            failure,
            cancelled_after: None,
        };
        let view = job.view(job.started);
        d.jobs.push(job);
        Ok(view)
    }

    /// One job's view.
    pub(crate) fn job(&self, id: &str) -> Result<Value, Refusal> {
        let now = Instant::now();
        relock(&self.data)
            .jobs
            .iter()
            .find(|j| j.id == id)
            .map(|j| j.view(now))
            .ok_or_else(not_found)
    }

    /// Cancel a job that is not final yet; returns its view.
    pub(crate) fn cancel(&self, id: &str) -> Result<Value, Refusal> {
        let now = Instant::now();
        let mut d = relock(&self.data);
        let job = d
            .jobs
            .iter_mut()
            .find(|j| j.id == id)
            .ok_or_else(not_found)?;
        let (phase, _) = job.phase(now);
        if phase.is_final() {
            return Err((409, format!("job already {}", phase.status())));
        }
        job.cancelled_after = Some(now.saturating_duration_since(job.started));
        Ok(job.view(now))
    }

    /// The views of the jobs of `workspace` (all jobs when `None`), newest first.
    pub(crate) fn list(&self, workspace: Option<&str>) -> Vec<Value> {
        let now = Instant::now();
        relock(&self.data)
            .jobs
            .iter()
            .rev()
            .filter(|j| workspace.is_none_or(|w| j.request.workspace.as_deref() == Some(w)))
            .map(|j| j.view(now))
            .collect()
    }
}

fn not_found() -> Refusal {
    (404, "job not found".to_string())
}

faults::observer_controls!(
    RunnerState,
    RecordedRequest,
    Fault,
    "A `Status` fault answers `{\"error\": \"<reason phrase>\"}` before the token check; \
    prefixes match the path as sent (e.g. `/api/agent/run`, `/api/jobs`)."
);

//! The runner sandbox's state and test controls: jobs, the allowed agents, timing and
//! failure rules, the optional bearer token, the request log and injected faults, plus
//! the job operations the routes call (spawn, get, cancel, list). No HTTP here.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use axum::http::Method;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::Value;

use super::jobs::{Job, RunRequest};

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

/// A failure to inject into upcoming requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer `status` with `{"error": "<reason phrase>"}` instead of handling the
    /// request (before the token check). A `Retry-After` header is sent when
    /// `retry_after` is set.
    Status {
        /// Only this method, e.g. `"POST"` (`None` = any; case-insensitive).
        method: Option<String>,
        /// Requests whose path starts with this (e.g. `/api/agent/run`, `/api/jobs`).
        path_prefix: String,
        status: u16,
        /// How many matching requests get it.
        times: u32,
        /// Seconds for a `Retry-After` header.
        retry_after: Option<u64>,
    },
    /// Wait `delay` before handling the request (a slow or hung runner).
    Delay {
        /// Same matching as for `Status`.
        path_prefix: String,
        delay: Duration,
        /// How many matching requests get it.
        times: u32,
    },
}

/// What to do with a request after the fault table was consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultAction {
    None,
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    Delay(Duration),
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
    requests: Mutex<Vec<RecordedRequest>>,
    faults: Mutex<Vec<Fault>>,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
            requests: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
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

    /// Every request seen so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        relock(&self.requests).clone()
    }

    /// Forget the request log.
    pub fn clear_requests(&self) {
        relock(&self.requests).clear();
    }

    /// Inject a fault into upcoming requests (consulted in insertion order).
    pub fn inject_fault(&self, fault: Fault) {
        relock(&self.faults).push(fault);
    }

    /// Remove every pending fault.
    pub fn clear_faults(&self) {
        relock(&self.faults).clear();
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

    // ----- request log and faults (the entry point) -----

    /// Log a request as it arrives; returns its slot for [`Self::finish_request`].
    pub(crate) fn start_request(&self, request: RecordedRequest) -> usize {
        let mut log = relock(&self.requests);
        log.push(request);
        log.len() - 1
    }

    /// Record the status answered to request `slot`.
    pub(crate) fn finish_request(&self, slot: usize, status: u16) {
        // clear_requests may have run meanwhile: then the slot is gone or reused.
        if let Some(r) = relock(&self.requests)
            .get_mut(slot)
            .filter(|r| r.status == 0)
        {
            r.status = status;
        }
    }

    /// Consume the first fault matching this request, if any.
    pub(crate) fn take_fault(&self, method: &Method, path: &str) -> FaultAction {
        let mut faults = relock(&self.faults);
        let mut action = FaultAction::None;
        for fault in faults.iter_mut() {
            match fault {
                Fault::Status {
                    method: m,
                    path_prefix,
                    status,
                    times,
                    retry_after,
                } if *times > 0
                    && m.as_deref()
                        .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
                    && path.starts_with(path_prefix.as_str()) =>
                {
                    *times -= 1;
                    action = FaultAction::Status {
                        status: *status,
                        retry_after: *retry_after,
                    };
                }
                Fault::Delay {
                    path_prefix,
                    delay,
                    times,
                } if *times > 0 && path.starts_with(path_prefix.as_str()) => {
                    *times -= 1;
                    action = FaultAction::Delay(*delay);
                }
                _ => continue,
            }
            break;
        }
        faults.retain(|f| match f {
            Fault::Status { times, .. } | Fault::Delay { times, .. } => *times > 0,
        });
        action
    }
}

fn not_found() -> Refusal {
    (404, "job not found".to_string())
}

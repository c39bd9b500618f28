//! Agent jobs of the runner sandbox: the run request as the runner validates it, a
//! job's timeline (queued → running through progress steps → completed/failed, or
//! cancelled) computed from timestamps when read, and the job's JSON view. Pure data;
//! no HTTP, no locking.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};

/// What a running job reports in `progress`, in order; each step takes an equal share
/// of the running time.
pub const PROGRESS_STEPS: &[&str] = &[
    "planning",
    "reading the repository",
    "editing files",
    "running tests",
    "writing the summary",
];

/// A validated `POST /api/agent/run` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunRequest {
    pub agent: String,
    pub task: String,
    pub repo: Option<String>,
    pub project: Option<String>,
    pub workspace: Option<String>,
}

/// A required, non-empty string field (trimmed).
fn required(obj: &Map<String, Value>, field: &str) -> Result<String, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(format!("{field} is required")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(format!("{field} must not be empty")),
        Some(Value::String(s)) => Ok(s.trim().to_string()),
        Some(_) => Err(format!("{field} must be a string")),
    }
}

/// An optional string field; absent, null and blank all mean none.
fn optional(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(format!("{field} must be a string")),
    }
}

impl RunRequest {
    /// Parse and check a run body (an empty body reads as `{}`); `Err` is the text of
    /// the 400's `error`. Unknown fields are ignored.
    pub(crate) fn parse(body: &[u8]) -> Result<RunRequest, String> {
        let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Map::new())
        } else {
            serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?
        };
        let Value::Object(obj) = value else {
            return Err("request body must be a JSON object".to_string());
        };
        Ok(RunRequest {
            agent: required(&obj, "agent")?,
            task: required(&obj, "task")?,
            repo: optional(&obj, "repo")?,
            project: optional(&obj, "project")?,
            workspace: optional(&obj, "workspace")?,
        })
    }
}

/// A job's state at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Queued,
    /// Running, at this index of [`PROGRESS_STEPS`].
    Running(usize),
    Completed,
    Failed,
    Cancelled,
}

impl Phase {
    pub(crate) fn status(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Running(_) => "running",
            Phase::Completed => "completed",
            Phase::Failed => "failed",
            Phase::Cancelled => "cancelled",
        }
    }

    /// Completed, failed or cancelled: nothing changes any more.
    pub(crate) fn is_final(self) -> bool {
        matches!(self, Phase::Completed | Phase::Failed | Phase::Cancelled)
    }
}

/// One spawned job.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub id: String,
    pub request: RunRequest,
    /// Wall-clock creation time (`createdAt`).
    pub created: SystemTime,
    /// Monotonic creation time, for the timeline.
    pub started: Instant,
    /// The timing in force when the job was spawned.
    pub queued_for: Duration,
    pub running_for: Duration,
    /// When set, the job ends `failed` with this error instead of `completed`.
    pub failure: Option<String>,
    /// Time after `started` at which it was cancelled.
    pub cancelled_after: Option<Duration>,
}

impl Job {
    /// The phase at `now` and when (after `started`) it was entered.
    pub(crate) fn phase(&self, now: Instant) -> (Phase, Duration) {
        if let Some(at) = self.cancelled_after {
            return (Phase::Cancelled, at);
        }
        let elapsed = now.saturating_duration_since(self.started);
        let end = self.queued_for + self.running_for;
        if elapsed < self.queued_for {
            (Phase::Queued, Duration::ZERO)
        } else if elapsed < end {
            let steps = PROGRESS_STEPS.len() as u128;
            let into = (elapsed - self.queued_for).as_nanos();
            let total = self.running_for.as_nanos().max(1);
            let step = ((into * steps) / total).min(steps - 1);
            let step_start = Duration::from_nanos((total * step / steps) as u64);
            (Phase::Running(step as usize), self.queued_for + step_start)
        } else if self.failure.is_some() {
            (Phase::Failed, end)
        } else {
            (Phase::Completed, end)
        }
    }

    /// The job as `GET /api/jobs/{id}` answers it at `now`.
    pub(crate) fn view(&self, now: Instant) -> Value {
        let (phase, at) = self.phase(now);
        let r = &self.request;
        let mut job = json!({
            "id": self.id,
            "agent": r.agent,
            "task": r.task,
            "status": phase.status(),
            "createdAt": fmt_time(self.created),
            "updatedAt": fmt_time(self.created + at),
        });
        let Some(obj) = job.as_object_mut() else {
            return job;
        };
        let mut put = |key: &str, value: Option<&str>| {
            if let Some(v) = value {
                obj.insert(key.to_string(), Value::String(v.to_string()));
            }
        };
        put("repo", r.repo.as_deref());
        put("project", r.project.as_deref());
        put("workspace", r.workspace.as_deref());
        match phase {
            Phase::Running(step) => put("progress", PROGRESS_STEPS.get(step).copied()),
            Phase::Completed => put("result", Some(&format!("Done: {}", r.task))),
            Phase::Failed => put("error", self.failure.as_deref()),
            Phase::Queued | Phase::Cancelled => {}
        }
        job
    }
}

/// RFC 3339 UTC with milliseconds, e.g. `2025-05-01T12:00:00.123Z`.
pub(crate) fn fmt_time(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(queued: u64, running: u64, failure: Option<&str>) -> Job {
        Job {
            id: "job_x".into(),
            request: RunRequest {
                agent: "coder".into(),
                task: "add a README".into(),
                repo: Some("acme/site".into()),
                project: None,
                workspace: Some("acme".into()),
            },
            created: SystemTime::now(),
            started: Instant::now(),
            queued_for: Duration::from_millis(queued),
            running_for: Duration::from_millis(running),
            failure: failure.map(str::to_string),
            cancelled_after: None,
        }
    }

    #[test]
    fn timeline_walks_queued_running_steps_then_completed() {
        let j = job(100, 500, None);
        let at = |ms| j.phase(j.started + Duration::from_millis(ms)).0;
        assert_eq!(at(0), Phase::Queued);
        assert_eq!(at(99), Phase::Queued);
        assert_eq!(at(100), Phase::Running(0));
        assert_eq!(at(250), Phase::Running(1));
        assert_eq!(at(599), Phase::Running(4));
        assert_eq!(at(600), Phase::Completed);
        let v = j.view(j.started + Duration::from_millis(700));
        assert_eq!(v["result"], "Done: add a README");
        assert_eq!(v["workspace"], "acme");
        assert!(v.get("project").is_none() && v.get("progress").is_none());
    }

    #[test]
    fn updated_at_is_the_start_of_the_current_step() {
        let j = job(100, 500, None);
        let (_, at) = j.phase(j.started + Duration::from_millis(350));
        assert_eq!(at, Duration::from_millis(300));
        let v = j.view(j.started + Duration::from_millis(350));
        assert_eq!(v["progress"], "editing files");
        assert!(v["updatedAt"].as_str().unwrap() > v["createdAt"].as_str().unwrap());
    }

    #[test]
    fn failing_job_ends_failed_with_its_error_and_zero_timing_ends_at_once() {
        let j = job(0, 0, Some("tests failed"));
        let v = j.view(j.started);
        assert_eq!(v["status"], "failed");
        assert_eq!(v["error"], "tests failed");
        assert!(v.get("result").is_none());
    }

    #[test]
    fn run_request_checks_required_and_typed_fields() {
        let ok = RunRequest::parse(br#"{"agent":" coder ","task":"t","repo":"","x":1}"#);
        assert_eq!(ok.as_ref().map(|r| r.agent.as_str()), Ok("coder"));
        assert_eq!(ok.map(|r| r.repo), Ok(None));
        for (body, error) in [
            (&b""[..], "agent is required"),
            (br#"{"agent":"coder"}"#, "task is required"),
            (br#"{"agent":"","task":"t"}"#, "agent must not be empty"),
            (br#"{"agent":1,"task":"t"}"#, "agent must be a string"),
            (
                br#"{"agent":"a","task":"t","workspace":5}"#,
                "workspace must be a string",
            ),
            (br#"[1]"#, "request body must be a JSON object"),
        ] {
            assert_eq!(RunRequest::parse(body), Err(error.to_string()));
        }
        let bad = RunRequest::parse(b"{nope").unwrap_err();
        assert!(bad.starts_with("invalid JSON body: "), "{bad}");
    }
}

//! The deployment model of the Coolify sandbox: an `application_deployment_queues`
//! row whose status moves `queued` → `in_progress` → `finished`/`failed` with time
//! (computed from timestamps when read, no background task), its log (a JSON-encoded
//! string of entries, some `hidden`, as `GET /deployments/{uuid}` shows it) and
//! `queue_application_deployment()` (duplicate skipping, per-application ordering, the
//! per-server queue limit). No HTTP here.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use super::http::fmt_time;
use super::state::{Data, DeployOutcome, new_uuid};

/// Coolify's helper image, named in deployment logs.
const HELPER_IMAGE: &str = "ghcr.io/coollabsio/coolify-helper:1.0.15";

/// Per-server queue limit (`deployment_queue_limit` default).
const QUEUE_LIMIT: usize = 25;

/// An `application_deployment_queues` row.
#[derive(Debug, Clone)]
pub(crate) struct Deployment {
    pub id: i64,
    pub uuid: String,
    pub app_id: i64,
    pub app_name: String,
    pub server_id: i64,
    pub server_name: String,
    pub destination_id: i64,
    pub deployment_url: String,
    pub git_repository: String,
    pub git_branch: String,
    pub commit: String,
    pub pull_request_id: i64,
    pub force_rebuild: bool,
    pub restart_only: bool,
    pub outcome: DeployOutcome,
    pub created: SystemTime,
    pub created_at: Instant,
    /// When it leaves `queued`.
    pub begin_at: Instant,
    /// When it reaches `finished`/`failed`.
    pub end_at: Instant,
    pub cancelled_at: Option<Instant>,
    /// Its end was applied to the application (see `Data::settle`).
    pub applied: bool,
}

impl Deployment {
    /// The status at `now`.
    pub(crate) fn status(&self, now: Instant) -> &'static str {
        if self.cancelled_at.is_some() {
            "cancelled-by-user"
        } else if now < self.begin_at {
            "queued"
        } else if now < self.end_at {
            "in_progress"
        } else {
            match self.outcome {
                DeployOutcome::Finish => "finished",
                DeployOutcome::Fail => "failed",
            }
        }
    }

    pub(crate) fn is_active(&self, now: Instant) -> bool {
        matches!(self.status(now), "queued" | "in_progress")
    }

    /// Wall-clock time of an instant of this deployment's life.
    fn wall(&self, at: Instant) -> SystemTime {
        self.created + at.saturating_duration_since(self.created_at)
    }

    /// The last status change up to `now`.
    fn last_change(&self, now: Instant) -> Instant {
        let mut t = self.created_at;
        for at in [self.begin_at, self.end_at] {
            if at <= now && self.cancelled_at.is_none_or(|c| at <= c) {
                t = t.max(at);
            }
        }
        self.cancelled_at.map_or(t, |c| t.max(c))
    }

    /// The log entries written up to `now` (JSON values, in order).
    fn log_entries(&self, now: Instant) -> Vec<Value> {
        let (b, e) = (self.begin_at, self.end_at);
        let span = e.saturating_duration_since(b);
        let at = |pct: u32| b + span * pct / 100;
        let (repo, branch, uuid) = (&self.git_repository, &self.git_branch, &self.uuid);
        let server = &self.server_name;
        let mut script = vec![
            Step::say(
                b,
                format!("Starting deployment of {repo}:{branch} to {server}."),
            ),
            Step::run(
                b,
                format!("docker rm -f {uuid}"),
                format!("Error response from daemon: No such container: {uuid}"),
                true,
            )
            .stderr(),
            Step::say(
                at(10),
                format!("Preparing container with helper image: {HELPER_IMAGE}."),
            ),
            Step::run(
                at(10),
                format!(
                    "docker run -d --network coolify --name {uuid} --rm -v /var/run/docker.sock:/var/run/docker.sock {HELPER_IMAGE}"
                ),
                format!("{:0>64}", self.id),
                true,
            ),
            Step::say(
                at(20),
                format!(
                    "Importing {repo}:{branch} (commit sha {}) to /artifacts/{uuid}.",
                    self.commit
                ),
            ),
            Step::run(
                at(20),
                format!("git ls-remote {repo} refs/heads/{branch}"),
                format!("{:0>40}\trefs/heads/{branch}", self.id),
                true,
            ),
            Step::say(at(40), "Building docker image started."),
            Step::say(
                at(40),
                "To check the current progress, click on Show Debug Logs.",
            ),
            Step::run(
                at(60),
                format!("docker exec {uuid} bash -c 'cd /artifacts/{uuid} && docker build .'"),
                "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s",
                true,
            ),
        ];
        match self.outcome {
            DeployOutcome::Finish => script.extend([
                Step::say(e, "Building docker image completed."),
                Step::say(e, "Rolling update started."),
                Step::run(
                    e,
                    format!("docker compose --project-directory /artifacts/{uuid} up --build -d"),
                    format!("Container {uuid} Started"),
                    true,
                ),
                Step::say(e, "New container started."),
                Step::say(e, "Rolling update completed."),
            ]),
            DeployOutcome::Fail => script.extend([
                Step::run(
                    e,
                    format!("docker exec {uuid} bash -c 'npm run build'"),
                    "npm ERR! Missing script: \"build\"",
                    false,
                )
                .stderr(),
                Step::say(e, "Oops something is not okay, are you okay? 😢").stderr(),
                Step::run(e, format!("docker rm -f {uuid}"), uuid.clone(), true),
                Step::say(
                    e,
                    format!("Gracefully shutting down build container: {uuid}"),
                ),
            ]),
        }
        let cutoff = self.cancelled_at.map_or(now, |c| c.min(now));
        script.retain(|s| s.at <= cutoff);
        if let Some(c) = self.cancelled_at.filter(|c| *c <= now) {
            let container = if c < at(10) {
                "Deployment container not yet started. Will be cancelled when job checks status."
            } else {
                "Deployment container stopped."
            };
            script.push(Step::say(c, "Deployment cancelled by user via API.").stderr());
            script.push(Step::say(c, container));
        }
        let mut batch = 1;
        script
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                if s.command.is_some() {
                    batch += 1;
                }
                let mut entry = json!({
                    "command": s.command,
                    "output": s.output,
                    "type": s.kind,
                    "timestamp": fmt_time(self.wall(s.at)),
                    "hidden": s.hidden,
                    "batch": if s.command.is_some() { batch } else { 1 },
                });
                // addLogEntry() sets `order` only once a previous entry exists.
                if i > 0 {
                    entry["order"] = json!(i + 1);
                }
                entry
            })
            .collect()
    }

    /// The API object; `logs` (a JSON-encoded string, null before the first entry)
    /// only when `sensitive`.
    pub(crate) fn to_json(&self, now: Instant, sensitive: bool) -> Value {
        let status = self.status(now);
        let terminal = !matches!(status, "queued" | "in_progress");
        let mut v = json!({
            "id": self.id,
            "application_id": self.app_id.to_string(),
            "application_name": self.app_name,
            "build_server_id": null,
            "commit": self.commit,
            "commit_message": null,
            "created_at": fmt_time(self.created),
            "current_process_id": null,
            "deployment_url": self.deployment_url,
            "deployment_uuid": self.uuid,
            "destination_id": self.destination_id.to_string(),
            "docker_registry_image_tag": null,
            "finished_at": if terminal { json!(fmt_time(self.wall(self.last_change(now)))) } else { Value::Null },
            "force_rebuild": self.force_rebuild,
            "git_type": null,
            "horizon_job_id": null,
            "horizon_job_worker": null,
            "is_api": true,
            "is_webhook": false,
            "only_this_server": false,
            "pull_request_id": self.pull_request_id,
            "restart_only": self.restart_only,
            "rollback": false,
            "server_id": self.server_id,
            "server_name": self.server_name,
            "status": status,
            "updated_at": fmt_time(self.wall(self.last_change(now))),
        });
        if sensitive {
            let entries = self.log_entries(now);
            v["logs"] = if entries.is_empty() {
                Value::Null
            } else {
                Value::String(Value::Array(entries).to_string())
            };
        }
        v
    }
}

/// How a deployment is requested (`queue_application_deployment()` arguments).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QueueOpts {
    pub force_rebuild: bool,
    pub restart_only: bool,
    pub no_questions_asked: bool,
}

/// What `queue_application_deployment()` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Queued {
    /// A new deployment with this uuid.
    New(String),
    /// Skipped: one for the same commit is queued or running (its uuid).
    Skipped(String),
    /// The server's queue is full.
    Full,
}

/// Queue a deployment of application `app_id` (must exist).
pub(crate) fn queue(d: &mut Data, app_id: i64, opts: QueueOpts) -> Queued {
    let now = Instant::now();
    let Some(app) = d.app_by_id(app_id).cloned() else {
        return Queued::Full;
    };
    let commit = app
        .str_col("git_commit_sha")
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "HEAD".to_string());
    let queued_on_server = d
        .deployments
        .iter()
        .filter(|x| x.server_id == app.server_id && x.status(now) == "queued")
        .count();
    if queued_on_server >= QUEUE_LIMIT {
        return Queued::Full;
    }
    let mine = || {
        d.deployments
            .iter()
            .filter(|x| x.app_id == app_id && x.is_active(now))
    };
    if let Some(existing) = mine().find(|x| x.commit == commit && x.pull_request_id == 0)
        && !opts.force_rebuild
        && !opts.no_questions_asked
    {
        return Queued::Skipped(existing.uuid.clone());
    }
    let begin_at = if opts.no_questions_asked {
        now
    } else {
        mine()
            .map(|x| x.end_at)
            .fold(now + d.queued_for, Instant::max)
    };
    let (server_name, destination_id) = d
        .server(app.server_id)
        .map(|s| (s.name.clone(), s.destination_id))
        .unwrap_or_default();
    let env = d.environment(app.environment_id).cloned();
    let project_uuid = env
        .as_ref()
        .and_then(|e| d.project(e.project_id))
        .map(|p| p.uuid.clone())
        .unwrap_or_default();
    let uuid = new_uuid();
    let id = d.next_id();
    let dep = Deployment {
        id,
        uuid: uuid.clone(),
        app_id,
        app_name: app.name(),
        server_id: app.server_id,
        server_name,
        destination_id,
        deployment_url: format!(
            "/project/{project_uuid}/environment/{}/application/{}/deployment/{uuid}",
            env.map(|e| e.uuid).unwrap_or_default(),
            app.uuid
        ),
        git_repository: app.str_col("git_repository").unwrap_or_default(),
        git_branch: app.str_col("git_branch").unwrap_or_default(),
        commit,
        pull_request_id: 0,
        force_rebuild: opts.force_rebuild,
        restart_only: opts.restart_only,
        outcome: app.outcome,
        created: SystemTime::now(),
        created_at: now,
        begin_at,
        end_at: begin_at + d.in_progress_for.max(Duration::from_millis(1)),
        cancelled_at: None,
        applied: false,
    };
    d.deployments.push(dep);
    Queued::New(uuid)
}

/// One line of a deployment's log script.
struct Step {
    at: Instant,
    command: Option<String>,
    output: String,
    kind: &'static str,
    hidden: bool,
}

impl Step {
    /// A visible stdout message (`addLogEntry`).
    fn say(at: Instant, output: impl Into<String>) -> Step {
        Step {
            at,
            command: None,
            output: output.into(),
            kind: "stdout",
            hidden: false,
        }
    }

    /// A command and its output (hidden ones are the UI's debug lines).
    fn run(at: Instant, command: String, output: impl Into<String>, hidden: bool) -> Step {
        Step {
            at,
            command: Some(command),
            output: output.into(),
            kind: "stdout",
            hidden,
        }
    }

    fn stderr(mut self) -> Step {
        self.kind = "stderr";
        self
    }
}

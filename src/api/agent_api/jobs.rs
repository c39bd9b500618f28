//! `spawn_agent`, `get_job_status` (long-poll with progress, cancellable), `list_jobs`
//! and `cancel_job`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AgentApi, MAX_WAIT_S};
use crate::api::caller::Caller;
use crate::api::de;
use crate::clients::runner::{RunRequest, RunnerJob};
use crate::error::{ApiError, quote};
use crate::keystore::{JobRecord, JobUpdate, Keystore, now_ms};
use crate::policy::{protected, repo_ref};

/// Longest task sent to a runner.
pub const MAX_TASK_BYTES: usize = 32 * 1024;
/// Jobs listed when no limit is given.
pub const DEFAULT_LIST: u64 = 20;
/// Jobs refreshed from the runner at once by `list_jobs`.
const REFRESH_FAN_OUT: usize = 8;

/// Parameters of `spawn_agent`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SpawnAgentParams {
    /// Which agent (e.g. coder, pm, marketing).
    pub agent: String,
    /// What it should do.
    pub task: String,
    /// Repository to work in, `owner/name` or a bare name in the workspace org.
    #[serde(default)]
    pub repo: Option<String>,
    /// Project (PRD) the task belongs to.
    #[serde(default)]
    pub project: Option<String>,
}

/// A spawned job.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SpawnAgentOut {
    /// The job's id: pass it to get_job_status and cancel_job.
    pub job_id: String,
    /// Its status now.
    pub status: String,
    /// The agent.
    pub agent: String,
}

/// Parameters of `get_job_status`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetJobStatusParams {
    /// The job's id.
    pub job_id: String,
    /// Wait up to this many seconds for the job to finish, reporting progress (default
    /// 0, max 50).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub wait_s: Option<u64>,
}

/// A job's state.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct JobOut {
    /// Job id.
    pub job_id: String,
    /// The agent.
    pub agent: String,
    /// The task (cut at 300 characters).
    pub task: String,
    /// queued, running, completed, failed or cancelled.
    pub status: String,
    /// True once it cannot change.
    pub finished: bool,
    /// Latest progress message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// The result, once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The error, once failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Created, unix ms.
    pub created_at: i64,
    /// Last known change, unix ms.
    pub updated_at: i64,
}

/// Parameters of `list_jobs`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListJobsParams {
    /// How many of the newest jobs (default 20, max 100).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub limit: Option<u64>,
}

/// Jobs, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListJobsOut {
    /// The jobs (unfinished ones refreshed from the runner when it answers).
    pub jobs: Vec<JobOut>,
    /// True when the runner could not be asked and some states may be old.
    pub stale: bool,
}

/// Parameters of `cancel_job`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CancelJobParams {
    /// The job's id.
    pub job_id: String,
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn job_out(r: &JobRecord) -> JobOut {
    JobOut {
        job_id: r.id.clone(),
        agent: r.agent.clone(),
        task: cut(&r.task, 300),
        finished: matches!(r.status.as_str(), "completed" | "failed" | "cancelled"),
        status: r.status.clone(),
        progress: r.progress.clone(),
        result: r.result.clone(),
        error: r.error.clone(),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// The journal entry of job `id` in `scope`; 404 when this workspace did not spawn it.
async fn journaled(store: &Keystore, scope: &str, id: &str) -> Result<JobRecord, ApiError> {
    store.job(scope, id).await?.ok_or_else(|| {
        ApiError::not_found(format!("no job {id} here"))
            .with_hint("call list_jobs to see the jobs spawned from this workspace")
    })
}

fn update_of(job: &RunnerJob) -> JobUpdate {
    JobUpdate {
        status: job.status.clone(),
        progress: job.progress.clone(),
        result: job.result.clone(),
        error: job.error.clone(),
    }
}

fn check_job_id(id: &str) -> Result<&str, ApiError> {
    let id = id.trim();
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(ApiError::bad_request(format!(
            "{} is not a job id",
            quote(id)
        )));
    }
    Ok(id)
}

impl AgentApi {
    /// Start an agent on a task; the job is journaled.
    pub async fn spawn_agent(
        &self,
        caller: &Caller,
        p: SpawnAgentParams,
    ) -> Result<SpawnAgentOut, ApiError> {
        super::limits::check(&p)?;
        let target = p.agent.clone();
        let result = self.spawn_now(caller, p).await;
        caller.audited(&target, result).await
    }

    async fn spawn_now(
        &self,
        caller: &Caller,
        p: SpawnAgentParams,
    ) -> Result<SpawnAgentOut, ApiError> {
        let who = caller.principal();
        let agent = p.agent.trim().to_string();
        if agent.is_empty()
            || agent.len() > 64
            || !agent
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            return Err(ApiError::bad_request(format!(
                "{} is not an agent name",
                quote(&agent)
            )));
        }
        if p.task.trim().is_empty() || p.task.len() > MAX_TASK_BYTES {
            return Err(ApiError::bad_request(format!(
                "task must be 1 to {MAX_TASK_BYTES} bytes"
            )));
        }
        let repo = match p.repo.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            Some(repo) => {
                let parsed = repo_ref::parse(repo, who.gitea_org())?;
                protected::check_owner_is_org(who.gitea_org(), &parsed.owner)?;
                Some(parsed.full_name())
            }
            None => None,
        };
        let project = p
            .project
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let (scope, workspace) = Self::scope(who);
        let request = RunRequest {
            agent: agent.clone(),
            task: p.task.clone(),
            repo: repo.clone(),
            project: project.clone(),
            workspace,
        };
        let accepted = self
            .inner
            .runner
            .run(&request)
            .await
            .map_err(|e| self.runner_error(e))?;
        if check_job_id(&accepted.job_id).is_err() {
            return Err(ApiError::upstream(
                "the agent runner answered without a usable job id",
            ));
        }
        let now = now_ms();
        let status = if accepted.status.is_empty() {
            "queued".to_string()
        } else {
            accepted.status
        };
        caller
            .store()
            .await?
            .record_job(&JobRecord {
                id: accepted.job_id.clone(),
                scope,
                agent: agent.clone(),
                task: p.task,
                repo,
                project,
                status: status.clone(),
                progress: None,
                result: None,
                error: None,
                runner_url: self.inner.runner.base_url().to_string(),
                created_at: now,
                updated_at: now,
            })
            .await?;
        Ok(SpawnAgentOut {
            job_id: accepted.job_id,
            status,
            agent,
        })
    }

    /// The runner's view of job `id`, written into the journal.
    async fn refresh(
        &self,
        store: &Keystore,
        scope: &str,
        id: &str,
        workspace: Option<&str>,
    ) -> Result<RunnerJob, ApiError> {
        let job = self
            .inner
            .runner
            .job(id, workspace)
            .await
            .map_err(|e| self.runner_error(e))?;
        store.update_job(scope, id, &update_of(&job)).await?;
        Ok(job)
    }

    /// A job's state; with `wait_s`, wait for it to finish (progress, cancellable).
    pub async fn get_job_status(
        &self,
        caller: &Caller,
        p: GetJobStatusParams,
    ) -> Result<JobOut, ApiError> {
        super::limits::check(&p)?;
        let who = caller.principal();
        let (scope, workspace) = Self::scope(who);
        let id = check_job_id(&p.job_id)?;
        let store = caller.store().await?;
        let mut record = journaled(&store, &scope, id).await?;
        let wait = Duration::from_secs(p.wait_s.unwrap_or(0).min(MAX_WAIT_S));
        let started = Instant::now();
        let mut step = 0;
        loop {
            let job = self
                .refresh(&store, &scope, id, workspace.as_deref())
                .await?;
            record = store.job(&scope, id).await?.unwrap_or(record);
            step += 1;
            caller
                .progress(
                    step,
                    job.progress.clone().unwrap_or_else(|| job.status.clone()),
                )
                .await;
            // A status outside the runner contract is reported, not waited out.
            if job.is_final()
                || !job.is_known()
                || started.elapsed() + self.inner.poll_interval > wait
            {
                return Ok(job_out(&record));
            }
            tokio::select! {
                () = caller.cancelled().cancelled() => {
                    return Err(ApiError::bad_request("stopped waiting: the call was cancelled; the job goes on")
                        .with_hint(format!("call get_job_status {id} again")));
                }
                () = tokio::time::sleep(self.inner.poll_interval) => {}
            }
        }
    }

    /// The newest jobs of this workspace, unfinished ones refreshed from the runner.
    pub async fn list_jobs(
        &self,
        caller: &Caller,
        p: ListJobsParams,
    ) -> Result<ListJobsOut, ApiError> {
        let who = caller.principal();
        let (scope, workspace) = Self::scope(who);
        let store = caller.store().await?;
        let limit = p.limit.unwrap_or(DEFAULT_LIST).clamp(1, 100) as u32;
        let journal = store.list_jobs(&scope, limit).await?;
        let open: Vec<String> = journal
            .iter()
            .filter(|j| !matches!(j.status.as_str(), "completed" | "failed" | "cancelled"))
            .map(|j| j.id.clone())
            .collect();
        let runner = &self.inner.runner;
        let workspace = workspace.as_deref();
        let refreshed: Vec<_> = futures::stream::iter(open)
            .map(|id| async move { (id.clone(), runner.job(&id, workspace).await) })
            .buffer_unordered(REFRESH_FAN_OUT)
            .collect()
            .await;
        let mut stale = false;
        for (id, outcome) in refreshed {
            match outcome {
                Ok(job) => store.update_job(&scope, &id, &update_of(&job)).await?,
                Err(e) => {
                    tracing::warn!(job = %id, "cannot refresh job from the runner: {e}");
                    stale = true;
                }
            }
        }
        let jobs = store
            .list_jobs(&scope, limit)
            .await?
            .iter()
            .map(job_out)
            .collect();
        Ok(ListJobsOut { jobs, stale })
    }

    /// Cancel a job of this workspace.
    pub async fn cancel_job(
        &self,
        caller: &Caller,
        p: CancelJobParams,
    ) -> Result<JobOut, ApiError> {
        super::limits::check(&p)?;
        let target = p.job_id.clone();
        let result = self.cancel_now(caller, p).await;
        caller.audited(&target, result).await
    }

    async fn cancel_now(&self, caller: &Caller, p: CancelJobParams) -> Result<JobOut, ApiError> {
        let who = caller.principal();
        let (scope, workspace) = Self::scope(who);
        let id = check_job_id(&p.job_id)?;
        let store = caller.store().await?;
        journaled(&store, &scope, id).await?;
        match self.inner.runner.cancel(id, workspace.as_deref()).await {
            Ok(job) => store.update_job(&scope, id, &update_of(&job)).await?,
            Err(e) if e.status() == Some(409) => {
                let job = self
                    .refresh(&store, &scope, id, workspace.as_deref())
                    .await?;
                return Err(
                    ApiError::unprocessable(format!("job {id} already {}", job.status))
                        .with_hint("a finished job cannot be cancelled"),
                );
            }
            Err(e) => return Err(self.runner_error(e)),
        }
        let record = store
            .job(&scope, id)
            .await?
            .ok_or_else(|| ApiError::internal("the job vanished from the journal"))?;
        Ok(job_out(&record))
    }
}

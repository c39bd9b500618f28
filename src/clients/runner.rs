//! The agent runner client (contract in `schemas/runner-api.openapi.json`):
//! `POST /api/agent/run`, `GET /api/jobs/{id}`, `POST /api/jobs/{id}/cancel`. When the
//! server is pinned, the workspace slug goes with every request (`X-Vibn-Workspace`
//! header, and the `workspace` field of a run).

use std::sync::Arc;

use reqwest::Method;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::http::{Auth, Call, ClientError, Http, HttpConfig};

/// The header that carries the workspace slug.
pub const WORKSPACE_HEADER: &str = "X-Vibn-Workspace";

/// A job as the runner reports it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RunnerJob {
    /// Job id.
    pub id: String,
    /// queued, running, completed, failed or cancelled.
    pub status: String,
    /// Progress message.
    pub progress: Option<String>,
    /// Result, once completed.
    pub result: Option<String>,
    /// Error, once failed.
    pub error: Option<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last change.
    pub updated_at: Option<String>,
}

impl RunnerJob {
    /// True once the job cannot change any more.
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "failed" | "cancelled")
    }

    /// True for the statuses of the runner contract (`JobStatus`); another one comes from
    /// a newer runner, and nobody can tell whether it will ever change.
    pub fn is_known(&self) -> bool {
        self.is_final() || matches!(self.status.as_str(), "queued" | "running")
    }
}

/// What a run answers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RunAccepted {
    /// The new job's id.
    pub job_id: String,
    /// Its first status.
    pub status: String,
}

/// What to run.
#[derive(Debug, Clone, Serialize)]
pub struct RunRequest {
    /// The agent.
    pub agent: String,
    /// The task.
    pub task: String,
    /// Repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The pinned workspace's slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
}

/// An agent runner.
#[derive(Debug, Clone)]
pub struct RunnerClient {
    http: Arc<Http>,
}

impl RunnerClient {
    /// A runner at `base_url`, with an optional bearer token.
    pub fn new(base_url: &str, token: Option<SecretString>, config: HttpConfig) -> Self {
        let auth = token.map_or(Auth::None, Auth::Bearer);
        RunnerClient {
            http: Http::new("the agent runner", base_url, auth, config),
        }
    }

    /// The runner's base URL.
    pub fn base_url(&self) -> &str {
        self.http.base()
    }

    fn scoped(call: Call, workspace: Option<&str>) -> Call {
        match workspace {
            Some(slug) => call.header(WORKSPACE_HEADER, slug),
            None => call,
        }
    }

    /// `POST /api/agent/run`.
    pub async fn run(&self, request: &RunRequest) -> Result<RunAccepted, ClientError> {
        let call = Call::new(Method::POST, &["api", "agent", "run"]).json(json!(request));
        self.http
            .json(Self::scoped(call, request.workspace.as_deref()))
            .await
    }

    /// `GET /api/jobs/{id}`.
    pub async fn job(&self, id: &str, workspace: Option<&str>) -> Result<RunnerJob, ClientError> {
        let call = Call::new(Method::GET, &["api", "jobs", id]);
        self.http.json(Self::scoped(call, workspace)).await
    }

    /// `POST /api/jobs/{id}/cancel`.
    pub async fn cancel(
        &self,
        id: &str,
        workspace: Option<&str>,
    ) -> Result<RunnerJob, ClientError> {
        let call = Call::new(Method::POST, &["api", "jobs", id, "cancel"]);
        self.http.json(Self::scoped(call, workspace)).await
    }
}

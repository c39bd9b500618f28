//! The agent server's logic: spawn agent jobs on a runner, follow them, list and cancel
//! them. Every job is journaled in the keystore (scoped to the workspace, or the local
//! operator scope) so `list_jobs` survives a restart, and a job of another scope is
//! simply not found. When pinned, the workspace slug goes with every runner request.

mod jobs;
mod limits;

use std::sync::Arc;
use std::time::Duration;

use crate::api::caller::Principal;
use crate::clients::http::ClientError;
use crate::clients::runner::RunnerClient;
use crate::config::AgentServerConfig;
use crate::error::ApiError;

pub use jobs::{
    CancelJobParams, GetJobStatusParams, JobOut, ListJobsOut, ListJobsParams, SpawnAgentOut,
    SpawnAgentParams,
};

/// The scope name of the unpinned operator.
pub const LOCAL_SCOPE: &str = "local";
/// Longest `wait_s` honoured (the client's budget is 60 s).
pub const MAX_WAIT_S: u64 = 50;

/// The agent API: cheap to clone, shared by every request of one server.
#[derive(Clone)]
pub struct AgentApi {
    inner: Arc<Inner>,
}

struct Inner {
    runner: RunnerClient,
    poll_interval: Duration,
}

impl AgentApi {
    /// An API from the server's configuration (nothing is contacted yet).
    pub fn new(config: AgentServerConfig) -> Self {
        let runner = RunnerClient::new(&config.runner_url, config.runner_token, config.http);
        Self::with_runner(runner, config.poll_interval)
    }

    /// An API over an explicit runner client (tests).
    pub fn with_runner(runner: RunnerClient, poll_interval: Duration) -> Self {
        AgentApi {
            inner: Arc::new(Inner {
                runner,
                poll_interval,
            }),
        }
    }

    /// The journal scope and the slug sent to the runner.
    fn scope(who: &Principal) -> (String, Option<String>) {
        match who.workspace() {
            Some(ws) => (ws.id.clone(), Some(ws.slug.clone())),
            None => (LOCAL_SCOPE.to_string(), None),
        }
    }

    /// A runner failure, naming the runner's URL.
    fn runner_error(&self, e: ClientError) -> ApiError {
        let base = self.inner.runner.base_url().to_string();
        let api: ApiError = e.into();
        let message = format!("{} (runner at {base})", api.message());
        let rebuilt = ApiError::new(api.kind(), message);
        match (api.status(), api.hint()) {
            (502, _) => rebuilt.with_hint("check that the runner is up, or set AGENT_RUNNER_URL"),
            (_, Some(h)) => rebuilt.with_hint(h.to_string()),
            (_, None) => rebuilt,
        }
    }
}

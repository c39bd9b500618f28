//! Maximum lengths of the agent tools' string parameters (see `api::limits`).

use super::jobs::MAX_TASK_BYTES;
use super::{CancelJobParams, GetJobStatusParams, ListJobsParams, SpawnAgentParams};
use crate::api::limits::{Limit, NAME, limits};

/// Agent names (`coder`, `pm`, …).
const AGENT: Limit = Limit::chars(64);
/// Job ids the runner hands out.
const JOB_ID: Limit = Limit::chars(128);

/// Check params against the table below (the first line of each entry point).
pub(super) use crate::api::limits::check;

limits! {
    SpawnAgentParams {
        agent: AGENT,
        task: Limit::bytes(MAX_TASK_BYTES),
        repo: NAME,
        project: NAME,
    }
    GetJobStatusParams { job_id: JOB_ID }
    ListJobsParams {}
    CancelJobParams { job_id: JOB_ID }
}

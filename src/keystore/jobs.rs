//! The agent job journal: every job spawned through vibn, with its last known state, so
//! `list_jobs` survives a restart of the server.

use serde::Serialize;

use super::db::{Row, params};
use super::{KeystoreError, Store, now_ms};

/// A journaled job.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct JobRecord {
    /// The runner's job id.
    pub id: String,
    /// The scope it was spawned in (workspace id, or `local`).
    pub scope: String,
    /// The agent.
    pub agent: String,
    /// The task.
    pub task: String,
    /// Repository, if any.
    pub repo: Option<String>,
    /// Project, if any.
    pub project: Option<String>,
    /// Last known status.
    pub status: String,
    /// Last progress message.
    pub progress: Option<String>,
    /// Result, once completed.
    pub result: Option<String>,
    /// Error, once failed.
    pub error: Option<String>,
    /// The runner it was sent to.
    pub runner_url: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms of the last update.
    pub updated_at: i64,
}

/// A change of a job's state.
#[derive(Debug, Clone, Default)]
pub struct JobUpdate {
    /// New status.
    pub status: String,
    /// Progress message.
    pub progress: Option<String>,
    /// Result.
    pub result: Option<String>,
    /// Error.
    pub error: Option<String>,
}

const COLUMNS: &str = "id, scope, agent, task, repo, project, status, progress, result, error, runner_url, created_at, updated_at";

fn from_row(r: &Row) -> Result<JobRecord, KeystoreError> {
    Ok(JobRecord {
        id: r.get(0)?,
        scope: r.get(1)?,
        agent: r.get(2)?,
        task: r.get(3)?,
        repo: r.get(4)?,
        project: r.get(5)?,
        status: r.get(6)?,
        progress: r.get(7)?,
        result: r.get(8)?,
        error: r.get(9)?,
        runner_url: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
    })
}

impl Store {
    /// Journal a newly spawned job.
    pub fn record_job(&self, job: &JobRecord) -> Result<(), KeystoreError> {
        self.write(|tx| {
            tx.execute(
                &format!("INSERT INTO jobs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
                params![
                    job.id, job.scope, job.agent, job.task, job.repo, job.project, job.status, job.progress,
                    job.result, job.error, job.runner_url, job.created_at, job.updated_at
                ],
            )
            .map(|_| ())
        })
    }

    /// Record a job's latest state (only for a job of `scope`).
    pub fn update_job(
        &self,
        scope: &str,
        id: &str,
        update: &JobUpdate,
    ) -> Result<(), KeystoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE jobs SET status = ?1, progress = ?2, result = ?3, error = ?4, updated_at = ?5 \
                 WHERE id = ?6 AND scope = ?7",
                params![update.status, update.progress, update.result, update.error, now_ms(), id, scope],
            )
            .map(|_| ())
        })
    }

    /// A job of `scope`; a job of another scope is `None`.
    pub fn job(&self, scope: &str, id: &str) -> Result<Option<JobRecord>, KeystoreError> {
        self.read(|c| {
            c.query_opt(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1 AND scope = ?2"),
                params![id, scope],
            )?
            .map(|r| from_row(&r))
            .transpose()
        })
    }

    /// The newest `limit` jobs of `scope`.
    pub fn list_jobs(&self, scope: &str, limit: u32) -> Result<Vec<JobRecord>, KeystoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM jobs WHERE scope = ?1 \
                     ORDER BY created_at DESC, id LIMIT ?2"
                ),
                params![scope, limit],
            )?
            .iter()
            .map(from_row)
            .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;

    fn job(id: &str, scope: &str, at: i64) -> JobRecord {
        JobRecord {
            id: id.into(),
            scope: scope.into(),
            agent: "coder".into(),
            task: "t".into(),
            repo: None,
            project: None,
            status: "queued".into(),
            progress: None,
            result: None,
            error: None,
            runner_url: "http://r".into(),
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn jobs_are_journaled_updated_and_scoped() {
        testutil::each(|store| {
            store.record_job(&job("j1", "ws_a", 1)).unwrap();
            store.record_job(&job("j2", "ws_a", 2)).unwrap();
            store.record_job(&job("j3", "ws_b", 3)).unwrap();
            let listed: Vec<String> = store
                .list_jobs("ws_a", 10)
                .unwrap()
                .into_iter()
                .map(|j| j.id)
                .collect();
            assert_eq!(listed, ["j2", "j1"]);
            assert!(
                store.job("ws_b", "j1").unwrap().is_none(),
                "another scope's job is invisible"
            );
            let update = JobUpdate {
                status: "completed".into(),
                result: Some("done".into()),
                ..Default::default()
            };
            store.update_job("ws_a", "j1", &update).unwrap();
            store
                .update_job(
                    "ws_b",
                    "j2",
                    &JobUpdate {
                        status: "failed".into(),
                        ..Default::default()
                    },
                )
                .unwrap();
            assert_eq!(
                store.job("ws_a", "j1").unwrap().unwrap().status,
                "completed"
            );
            assert_eq!(
                store.job("ws_a", "j2").unwrap().unwrap().status,
                "queued",
                "other scopes cannot update it"
            );
        });
    }
}

//! `list_deployments` (newest first, paged) and `get_deployment` (status and build log,
//! paged by lines, parsed from Coolify's JSON-in-a-string field).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CoolifyApi, Scope};
use crate::api::caller::Caller;
use crate::api::de;
use crate::clients::coolify::Deployment;
use crate::error::{ApiError, quote};

/// Deployments per page by default.
pub const DEFAULT_PAGE: u64 = 10;
/// Log lines per page by default.
pub const DEFAULT_LOG_PAGE: u64 = 200;
/// Most log lines one `get_deployment` call returns.
pub const MAX_LOG_PAGE: u64 = 2000;
/// Most log bytes one `get_deployment` call returns (a page ends early past this).
pub const MAX_LOG_PAGE_BYTES: usize = 256 * 1024;
/// Deployments of an application searched to prove a deployment is in scope.
const SCOPE_SEARCH: u32 = 100;

/// Parameters of `list_deployments`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListDeploymentsParams {
    /// The application's uuid.
    pub uuid: String,
    /// Deployments to skip, newest first (default 0).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub offset: Option<u64>,
    /// Deployments to return (default 10, max 50).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub limit: Option<u64>,
}

/// A deployment, trimmed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DeploymentSummary {
    /// Deployment uuid.
    pub deployment_uuid: String,
    /// Status.
    pub status: String,
    /// Commit sha.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Creation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

impl From<&Deployment> for DeploymentSummary {
    fn from(d: &Deployment) -> Self {
        DeploymentSummary {
            deployment_uuid: d.deployment_uuid.clone(),
            status: d.status.clone(),
            commit: d.commit.clone(),
            created_at: d.created_at.clone(),
        }
    }
}

/// One page of an application's deployments.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListDeploymentsOut {
    /// The application's uuid.
    pub uuid: String,
    /// Deployments, newest first.
    pub deployments: Vec<DeploymentSummary>,
    /// All deployments of the application, when Coolify says (its bare-array answer,
    /// the shape its spec documents, carries no count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// The `offset` of the next page (deployments to skip); absent at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
}

/// Parameters of `get_deployment`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetDeploymentParams {
    /// The deployment's uuid.
    pub deployment_uuid: String,
    /// First log line to return, 1-based like every line offset (default 1).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub offset: Option<u64>,
    /// Log lines to return (default 200, at most 2000; a page also ends at 256 KiB).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub limit: Option<u64>,
}

/// A deployment with a page of its build log.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GetDeploymentOut {
    /// Deployment uuid.
    pub deployment_uuid: String,
    /// The application's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    /// Status.
    pub status: String,
    /// True once it can no longer change.
    pub finished: bool,
    /// Commit sha.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Log lines from `start_line` on.
    pub log: Vec<String>,
    /// The line number (1-based) of the first line returned.
    pub start_line: u64,
    /// Log lines in all (internal lines excluded).
    pub total_lines: u64,
    /// The line (1-based) to pass as `offset` to read on; absent at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
    /// Why the log is empty, or how it was read when Coolify sent an unusual one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CoolifyApi {
    /// One page of an application's deployments.
    pub async fn list_deployments(
        &self,
        caller: &Caller,
        p: ListDeploymentsParams,
    ) -> Result<ListDeploymentsOut, ApiError> {
        super::limits::check(&p)?;
        let who = caller.principal();
        let scope = self.scope(who).await?;
        let app = self.app_in_scope(&scope, &p.uuid).await?;
        let offset = p.offset.unwrap_or(0).min(u64::from(u32::MAX)) as u32;
        let limit = p.limit.unwrap_or(DEFAULT_PAGE).clamp(1, 50) as u32;
        let page = self
            .client()?
            .list_app_deployments(&app.uuid, offset, limit)
            .await?;
        for d in &page.deployments {
            self.remember_deployment(&d.deployment_uuid, &app.uuid);
        }
        let end = u64::from(offset) + page.deployments.len() as u64;
        let total = page.count.and_then(|c| u64::try_from(c).ok());
        let more = match total {
            Some(total) => end < total,
            // No count: a full page may have a next one.
            None => page.deployments.len() as u64 >= u64::from(limit),
        };
        Ok(ListDeploymentsOut {
            uuid: app.uuid,
            next_offset: more.then_some(end),
            total,
            deployments: page
                .deployments
                .iter()
                .map(DeploymentSummary::from)
                .collect(),
        })
    }

    /// A deployment's status and a page of its build log.
    pub async fn get_deployment(
        &self,
        caller: &Caller,
        p: GetDeploymentParams,
    ) -> Result<GetDeploymentOut, ApiError> {
        super::limits::check(&p)?;
        let who = caller.principal();
        let scope = self.scope(who).await?;
        let uuid = p.deployment_uuid.trim();
        if uuid.is_empty()
            || !uuid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ApiError::bad_request(format!(
                "{} is not a deployment uuid",
                quote(uuid)
            )));
        }
        let outside = || {
            ApiError::forbidden(format!(
                "deployment {uuid} is not in this workspace's Coolify project"
            ))
            .with_hint("call list_deployments on one of your applications")
        };
        let deployment = match self.client()?.get_deployment(uuid).await {
            Ok(d) => d,
            Err(e) if e.status() == Some(404) && matches!(scope, Scope::Project(_)) => {
                return Err(outside());
            }
            Err(e) if e.status() == Some(404) => {
                return Err(ApiError::not_found(format!("no deployment {uuid}"))
                    .with_hint("call list_deployments to see an application's deployments"));
            }
            Err(e) => return Err(e.into()),
        };
        if let Scope::Project(_) = scope
            && !self.deployment_in_scope(&scope, &deployment).await?
        {
            return Err(outside());
        }
        let read = deployment.log();
        let lines: Vec<String> = read
            .lines
            .into_iter()
            .map(|l| match l.stream.as_deref() {
                Some("stderr") => format!("[stderr] {}", l.output),
                _ => l.output,
            })
            .collect();
        let total = lines.len() as u64;
        let start_line = crate::api::paging::first_line_index(p.offset).min(total) + 1;
        let (log, next_offset) = log_page(lines, p.offset, p.limit);
        Ok(GetDeploymentOut {
            finished: deployment.is_final(),
            deployment_uuid: deployment.deployment_uuid,
            application_name: deployment.application_name,
            status: deployment.status,
            commit: deployment.commit,
            log,
            start_line,
            total_lines: total,
            next_offset,
            note: read.note,
        })
    }

    /// Whether a deployment belongs to an application in scope: known from an earlier
    /// call, or found among the recent deployments of the in-scope apps with its name.
    async fn deployment_in_scope(
        &self,
        scope: &Scope,
        deployment: &Deployment,
    ) -> Result<bool, ApiError> {
        if let Some(app) = self.known_app_of(&deployment.deployment_uuid) {
            return Ok(self.app_in_scope(scope, &app).await.is_ok());
        }
        let Some(name) = deployment.application_name.as_deref() else {
            return Ok(false);
        };
        let candidates: Vec<_> = self
            .apps_in_scope(scope)
            .await?
            .into_iter()
            .filter(|a| a.name == name)
            .collect();
        for app in candidates {
            let page = self
                .client()?
                .list_app_deployments(&app.uuid, 0, SCOPE_SEARCH)
                .await?;
            if page
                .deployments
                .iter()
                .any(|d| d.deployment_uuid == deployment.deployment_uuid)
            {
                self.remember_deployment(&deployment.deployment_uuid, &app.uuid);
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Lines from the 1-based `offset` on (limit capped at `MAX_LOG_PAGE` lines and
/// `MAX_LOG_PAGE_BYTES`; the first line always goes, so a page always moves on), and
/// the 1-based line to read on from.
pub(crate) fn log_page(
    lines: Vec<String>,
    offset: Option<u64>,
    limit: Option<u64>,
) -> (Vec<String>, Option<u64>) {
    let total = lines.len() as u64;
    let offset = crate::api::paging::first_line_index(offset).min(total);
    let limit = limit.unwrap_or(DEFAULT_LOG_PAGE).clamp(1, MAX_LOG_PAGE);
    let mut bytes = 0usize;
    let log: Vec<String> = lines
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .enumerate()
        .take_while(|(i, line)| {
            bytes += line.len();
            *i == 0 || bytes <= MAX_LOG_PAGE_BYTES
        })
        .map(|(_, line)| line)
        .collect();
    let next = crate::api::paging::next_line(offset, log.len() as u64, total);
    (log, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize, width: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{i}{}", "x".repeat(width - 1)))
            .collect()
    }

    #[test]
    fn a_huge_limit_is_capped_in_lines() {
        let (page, next) = log_page(lines(5000, 4), None, Some(u64::MAX));
        assert_eq!(page.len() as u64, MAX_LOG_PAGE);
        assert_eq!(next, Some(MAX_LOG_PAGE + 1));
    }

    #[test]
    fn a_page_ends_at_the_byte_cap_but_always_moves_on() {
        let (page, next) = log_page(lines(100, 10_000), Some(11), Some(100));
        assert_eq!(page.len(), MAX_LOG_PAGE_BYTES / 10_000);
        assert_eq!(next, Some(11 + page.len() as u64));
        let (page, next) = log_page(lines(3, MAX_LOG_PAGE_BYTES * 2), Some(2), None);
        assert_eq!(page.len(), 1);
        assert_eq!(next, Some(3));
    }

    #[test]
    fn the_last_page_has_no_next_offset() {
        let (page, next) = log_page(lines(3, 1), Some(2), Some(10));
        assert_eq!(page, vec!["1", "2"]);
        assert_eq!(next, None);
    }
}

//! `apps_deploy`, `apps_deployments`, `apps_logs`, `deployments_logs` (seed 003 §3.3,
//! seed 001's logs route): start a deployment, follow it, and read why a build failed.
//! Log text is passed through `redact::urls`, so a clone URL with the bot's token that
//! a build prints never reaches the model.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ControlPlaneApi;
use crate::api::caller::Caller;
use crate::api::coolify_api::{DeploymentSummary, keep_tail, log_page};
use crate::api::de;
use crate::error::ApiError;
use crate::redact;

/// Deployments per page by default.
pub const DEFAULT_DEPLOYMENTS: u64 = 10;
/// Runtime log lines returned when none are asked for.
pub const DEFAULT_LOG_LINES: u64 = 100;
/// Most runtime log lines asked of Coolify.
pub const MAX_LOG_LINES: u64 = 2000;
/// Most bytes of runtime logs returned (the newest are kept).
pub const MAX_LOG_BYTES: usize = 64 * 1024;

/// Parameters of `apps_deploy`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppsDeployParams {
    /// The application's uuid.
    pub uuid: String,
    /// Rebuild without the build cache (default false).
    #[serde(default, deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub force: Option<bool>,
}

/// A deployment started.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppsDeployOut {
    /// The application's uuid.
    pub uuid: String,
    /// The deployment (poll apps_deployments, read deployments_logs); absent when
    /// Coolify queued none (one for this commit is already queued).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_uuid: Option<String>,
    /// Coolify's message.
    pub message: String,
}

/// Parameters of `apps_deployments`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppsDeploymentsParams {
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

/// An application's deployments.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppsDeploymentsOut {
    /// The application's uuid.
    pub uuid: String,
    /// Deployments, newest first: status queued, in_progress, finished, failed or
    /// cancelled-by-user.
    pub deployments: Vec<DeploymentSummary>,
    /// All deployments, when Coolify says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// The `offset` of the next page; absent at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
}

/// Parameters of `apps_logs`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppsLogsParams {
    /// The application's uuid.
    pub uuid: String,
    /// How many of the newest lines (default 100, max 2000).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub lines: Option<u64>,
}

/// The newest runtime log lines of an application.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppsLogsOut {
    /// The application's uuid.
    pub uuid: String,
    /// The log text.
    pub logs: String,
    /// Lines returned.
    pub lines: u64,
    /// True when older lines were cut to stay under 64 KiB.
    pub truncated: bool,
}

/// Parameters of `deployments_logs`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeploymentsLogsParams {
    /// The deployment's uuid (from apps_deploy or apps_deployments).
    #[serde(alias = "deploymentUuid")]
    pub deployment_uuid: String,
    /// First log line to return, 1-based (default 1).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub offset: Option<u64>,
    /// Log lines to return (default 200, at most 2000).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub limit: Option<u64>,
}

/// A deployment's status and a page of its build log.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeploymentsLogsOut {
    /// The deployment's uuid.
    pub deployment_uuid: String,
    /// Its application's uuid.
    pub app_uuid: String,
    /// Status.
    pub status: String,
    /// True once it can no longer change.
    pub finished: bool,
    /// Log lines from `start_line` on.
    pub log: Vec<String>,
    /// The line number (1-based) of the first line returned.
    pub start_line: u64,
    /// Log lines in all.
    pub total_lines: u64,
    /// The line to pass as `offset` to read on; absent at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
    /// Why the log is empty, or how it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ControlPlaneApi {
    /// Start a deployment of an application.
    pub async fn apps_deploy(
        &self,
        caller: &Caller,
        p: AppsDeployParams,
    ) -> Result<AppsDeployOut, ApiError> {
        super::limits::check(&p)?;
        let result = async {
            let t = self.tenant(caller).await?;
            let app = self.app(&t, &p.uuid).await?;
            let queued = self
                .coolify()?
                .deploy(&app.uuid, p.force.unwrap_or(false))
                .await?;
            if let Some(d) = &queued.deployment_uuid {
                self.remember_deployment(d, &app.uuid);
            }
            let message = match &queued.message {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => "Deployment request queued.".to_string(),
            };
            Ok(AppsDeployOut {
                uuid: app.uuid,
                deployment_uuid: queued.deployment_uuid,
                message,
            })
        }
        .await;
        caller.audited(p.uuid.trim(), result).await
    }

    /// One page of an application's deployments, newest first.
    pub async fn apps_deployments(
        &self,
        caller: &Caller,
        p: AppsDeploymentsParams,
    ) -> Result<AppsDeploymentsOut, ApiError> {
        super::limits::check(&p)?;
        let t = self.tenant(caller).await?;
        let app = self.app(&t, &p.uuid).await?;
        let offset = p.offset.unwrap_or(0).min(u64::from(u32::MAX)) as u32;
        let limit = p.limit.unwrap_or(DEFAULT_DEPLOYMENTS).clamp(1, 50) as u32;
        let page = self
            .coolify()?
            .list_app_deployments(&app.uuid, offset, limit)
            .await?;
        for d in &page.deployments {
            self.remember_deployment(&d.deployment_uuid, &app.uuid);
        }
        let end = u64::from(offset) + page.deployments.len() as u64;
        let total = page.count.and_then(|c| u64::try_from(c).ok());
        let more = match total {
            Some(total) => end < total,
            None => page.deployments.len() as u64 >= u64::from(limit),
        };
        Ok(AppsDeploymentsOut {
            uuid: app.uuid,
            deployments: page
                .deployments
                .iter()
                .map(DeploymentSummary::from)
                .collect(),
            total,
            next_offset: more.then_some(end),
        })
    }

    /// The newest runtime log lines of an application.
    pub async fn apps_logs(
        &self,
        caller: &Caller,
        p: AppsLogsParams,
    ) -> Result<AppsLogsOut, ApiError> {
        super::limits::check(&p)?;
        let t = self.tenant(caller).await?;
        let app = self.app(&t, &p.uuid).await?;
        let lines = p.lines.unwrap_or(DEFAULT_LOG_LINES).clamp(1, MAX_LOG_LINES);
        let logs = self
            .coolify()?
            .application_logs(&app.uuid, lines as u32)
            .await
            .map_err(|e| {
                let e: ApiError = e.into();
                if e.status() == 400 {
                    ApiError::bad_request(format!("{} ({})", e.message(), app.name)).with_hint(
                        "the application has no running container: deploy it (apps_deploy), \
                         or read why a build failed with deployments_logs",
                    )
                } else {
                    e
                }
            })?;
        let (logs, truncated) = keep_tail(&redact::urls(&logs), MAX_LOG_BYTES);
        Ok(AppsLogsOut {
            uuid: app.uuid,
            lines: logs.lines().count() as u64,
            logs,
            truncated,
        })
    }

    /// A deployment's status and a page of its build log.
    pub async fn deployments_logs(
        &self,
        caller: &Caller,
        p: DeploymentsLogsParams,
    ) -> Result<DeploymentsLogsOut, ApiError> {
        super::limits::check(&p)?;
        let t = self.tenant(caller).await?;
        let (deployment, app_uuid) = self.deployment(&t, &p.deployment_uuid).await?;
        let read = deployment.log();
        let lines: Vec<String> = read
            .lines
            .into_iter()
            .map(|l| {
                let text = redact::urls(&l.output);
                match l.stream.as_deref() {
                    Some("stderr") => format!("[stderr] {text}"),
                    _ => text,
                }
            })
            .collect();
        let total = lines.len() as u64;
        let start_line = crate::api::paging::first_line_index(p.offset).min(total) + 1;
        let (log, next_offset) = log_page(lines, p.offset, p.limit);
        Ok(DeploymentsLogsOut {
            finished: deployment.is_final(),
            deployment_uuid: deployment.deployment_uuid,
            app_uuid,
            status: deployment.status,
            log,
            start_line,
            total_lines: total,
            next_offset,
            note: read.note,
        })
    }
}

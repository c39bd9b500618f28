//! Read tools: `list_projects`, `list_applications`, `list_all_apps`, `get_app_status`,
//! `get_logs`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CoolifyApi, Scope};
use crate::api::caller::Caller;
use crate::api::de;
use crate::clients::coolify::Application;
use crate::error::ApiError;
use crate::policy::tenant;

/// Log lines returned when none are asked for.
pub const DEFAULT_LOG_LINES: u64 = 100;
/// Most log lines asked of Coolify.
pub const MAX_LOG_LINES: u64 = 2000;
/// Most bytes of logs returned (the newest are kept).
pub const MAX_LOG_BYTES: usize = 64 * 1024;

/// Parameters of `list_projects` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListProjectsParams {}

/// A project, trimmed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProjectSummary {
    /// Uuid.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The projects you can see.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListProjectsOut {
    /// The projects.
    pub projects: Vec<ProjectSummary>,
}

/// An application, trimmed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AppSummary {
    /// Uuid.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// `running:healthy`, `exited:unhealthy`, …
    pub status: String,
    /// URLs, comma-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// Git repository (credentials in it redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_repository: Option<String>,
    /// Git branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
}

impl From<Application> for AppSummary {
    fn from(a: Application) -> Self {
        AppSummary {
            uuid: a.uuid,
            name: a.name,
            status: a.status.unwrap_or_else(|| "unknown".to_string()),
            fqdn: a.fqdn.filter(|f| !f.is_empty()),
            // Control-plane apps clone with the bot's token in the URL.
            git_repository: a.git_repository.as_deref().map(crate::redact::urls),
            git_branch: a.git_branch,
        }
    }
}

/// Parameters of `list_applications`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListApplicationsParams {
    /// The project's uuid (from list_projects).
    pub project_uuid: String,
}

/// The applications of one project.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListApplicationsOut {
    /// The project.
    pub project: ProjectSummary,
    /// Its applications, by name.
    pub applications: Vec<AppSummary>,
}

/// Parameters of `list_all_apps` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListAllAppsParams {}

/// A project and its applications.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProjectApps {
    /// Project uuid.
    pub project_uuid: String,
    /// Project name.
    pub project: String,
    /// Its applications.
    pub applications: Vec<AppSummary>,
}

/// Every application you can see, grouped by project.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListAllAppsOut {
    /// Projects with their applications (projects without any are left out).
    pub projects: Vec<ProjectApps>,
    /// Applications whose project could not be told (Coolify's project details named
    /// no environment of theirs), by name; absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unassigned: Vec<AppSummary>,
    /// Applications listed, in projects and unassigned.
    pub total: u64,
}

/// Parameters of `get_app_status`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetAppStatusParams {
    /// The application's uuid.
    pub uuid: String,
}

/// An application's state and its latest deployment.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppStatusOut {
    /// The application.
    #[serde(flatten)]
    pub app: AppSummary,
    /// Build pack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_pack: Option<String>,
    /// The newest deployment's uuid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_deployment_uuid: Option<String>,
    /// The newest deployment's status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_deployment_status: Option<String>,
}

/// Parameters of `get_logs`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetLogsParams {
    /// The application's uuid.
    pub uuid: String,
    /// How many of the newest lines (default 100, max 2000).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub lines: Option<u64>,
}

/// The newest runtime log lines of an application.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GetLogsOut {
    /// The application's uuid.
    pub uuid: String,
    /// The log text (ANSI stripped by Coolify).
    pub logs: String,
    /// Lines returned.
    pub lines: u64,
    /// True when older lines were cut to stay under 64 KiB.
    pub truncated: bool,
}

impl CoolifyApi {
    /// The projects you can see.
    pub async fn list_projects(
        &self,
        caller: &Caller,
        _p: ListProjectsParams,
    ) -> Result<ListProjectsOut, ApiError> {
        let who = caller.principal();
        let projects = match self.scope(who).await? {
            Scope::Project(p) => vec![ProjectSummary {
                uuid: p.uuid,
                name: p.name,
                description: None,
            }],
            Scope::All => self
                .client()?
                .list_projects()
                .await?
                .into_iter()
                .map(|p| ProjectSummary {
                    uuid: p.uuid,
                    name: p.name,
                    description: p.description,
                })
                .collect(),
        };
        Ok(ListProjectsOut { projects })
    }

    /// The applications of one project.
    pub async fn list_applications(
        &self,
        caller: &Caller,
        p: ListApplicationsParams,
    ) -> Result<ListApplicationsOut, ApiError> {
        super::limits::check(&p)?;
        let who = caller.principal();
        let scope = self.scope(who).await?;
        let wanted = p.project_uuid.trim();
        let project = match &scope {
            Scope::Project(mine) if mine.uuid == wanted => mine.clone(),
            Scope::Project(_) => {
                return Err(ApiError::forbidden(format!(
                    "project {wanted} is not this workspace's Coolify project"
                ))
                .with_hint("call list_projects to see your project"));
            }
            Scope::All => {
                let found = self.client()?.get_project(wanted).await.map_err(|e| {
                    let e: ApiError = e.into();
                    if e.status() == 404 {
                        ApiError::not_found(format!("no project {wanted}"))
                            .with_hint("call list_projects")
                    } else {
                        e
                    }
                })?;
                super::project_scope(&found)
            }
        };
        let mut applications: Vec<AppSummary> = self
            .client()?
            .list_applications()
            .await?
            .into_iter()
            .filter(|a| tenant::in_project(a.environment_id, a.project_uuid.as_deref(), &project))
            .map(AppSummary::from)
            .collect();
        applications.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(ListApplicationsOut {
            project: ProjectSummary {
                uuid: project.uuid,
                name: project.name,
                description: None,
            },
            applications,
        })
    }

    /// Every application you can see, grouped by project.
    pub async fn list_all_apps(
        &self,
        caller: &Caller,
        _p: ListAllAppsParams,
    ) -> Result<ListAllAppsOut, ApiError> {
        let who = caller.principal();
        let scope = self.scope(who).await?;
        let (projects, apps) =
            tokio::join!(self.projects_in_scope(&scope), self.apps_in_scope(&scope));
        let (projects, apps) = (projects?, apps?);
        let mut grouped: Vec<ProjectApps> = projects
            .iter()
            .map(|p| {
                let mut applications: Vec<AppSummary> = apps
                    .iter()
                    .filter(|a| tenant::in_project(a.environment_id, a.project_uuid.as_deref(), p))
                    .cloned()
                    .map(AppSummary::from)
                    .collect();
                applications.sort_by(|a, b| a.name.cmp(&b.name));
                ProjectApps {
                    project_uuid: p.uuid.clone(),
                    project: p.name.clone(),
                    applications,
                }
            })
            .filter(|g| !g.applications.is_empty())
            .collect();
        grouped.sort_by(|a, b| a.project.cmp(&b.project));
        // An application no project claims (details without `environments`, which the
        // spec's Project does not list) is still shown, never only counted.
        let mut unassigned: Vec<AppSummary> = apps
            .into_iter()
            .filter(|a| {
                !projects
                    .iter()
                    .any(|p| tenant::in_project(a.environment_id, a.project_uuid.as_deref(), p))
            })
            .map(AppSummary::from)
            .collect();
        unassigned.sort_by(|a, b| a.name.cmp(&b.name));
        let total = grouped
            .iter()
            .map(|g| g.applications.len() as u64)
            .sum::<u64>()
            + unassigned.len() as u64;
        Ok(ListAllAppsOut {
            projects: grouped,
            unassigned,
            total,
        })
    }

    /// An application's state and its latest deployment.
    pub async fn get_app_status(
        &self,
        caller: &Caller,
        p: GetAppStatusParams,
    ) -> Result<AppStatusOut, ApiError> {
        super::limits::check(&p)?;
        let who = caller.principal();
        let scope = self.scope(who).await?;
        let app = self.app_in_scope(&scope, &p.uuid).await?;
        let latest = self.client()?.list_app_deployments(&app.uuid, 0, 1).await?;
        let last = latest.deployments.into_iter().next();
        if let Some(d) = &last {
            self.remember_deployment(&d.deployment_uuid, &app.uuid);
        }
        Ok(AppStatusOut {
            build_pack: app.build_pack.clone(),
            last_deployment_uuid: last.as_ref().map(|d| d.deployment_uuid.clone()),
            last_deployment_status: last.map(|d| d.status),
            app: AppSummary::from(app),
        })
    }

    /// The newest runtime log lines of an application.
    pub async fn get_logs(
        &self,
        caller: &Caller,
        p: GetLogsParams,
    ) -> Result<GetLogsOut, ApiError> {
        super::limits::check(&p)?;
        let who = caller.principal();
        let scope = self.scope(who).await?;
        let app = self.app_in_scope(&scope, &p.uuid).await?;
        let lines = p.lines.unwrap_or(DEFAULT_LOG_LINES).clamp(1, MAX_LOG_LINES);
        let logs = self.client()?.application_logs(&app.uuid, lines as u32).await.map_err(|e| {
            let e: ApiError = e.into();
            if e.status() == 400 {
                ApiError::bad_request(format!("{} ({})", e.message(), app.name))
                    .with_hint("the application has no running container; deploy it, or read a deployment's build log with get_deployment")
            } else {
                e
            }
        })?;
        let (logs, truncated) = keep_tail(&logs, MAX_LOG_BYTES);
        Ok(GetLogsOut {
            uuid: app.uuid,
            lines: logs.lines().count() as u64,
            logs,
            truncated,
        })
    }
}

/// The last `max` bytes of `text`, starting at a line boundary when it was cut.
pub(crate) fn keep_tail(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_string(), false);
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let cut = &text[start..];
    let from_line = cut.find('\n').map_or(cut, |i| &cut[i + 1..]);
    (from_line.to_string(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_tail_cuts_at_a_line_boundary() {
        assert_eq!(keep_tail("a\nb\n", 10), ("a\nb\n".to_string(), false));
        let (tail, cut) = keep_tail("line1\nline2\nline3\n", 8);
        assert!(cut);
        assert_eq!(tail, "line3\n");
    }
}

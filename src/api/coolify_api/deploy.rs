//! `deploy` (queue a deployment) and `deploy_app` (by name or uuid, optionally waiting
//! for the final state with progress, stopping on cancellation, and handing back the
//! deployment uuid before the client's 60 s budget runs out).

use std::time::Instant;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CoolifyApi, Scope};
use crate::api::caller::{Caller, Principal};
use crate::api::de;
use crate::clients::coolify::{Application, Deployment, DeploymentState};
use crate::error::{ApiError, quote};

/// Log lines of a failed deployment returned by `deploy_app`.
const FAILURE_LOG_LINES: usize = 30;

/// Parameters of `deploy`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeployParams {
    /// The application's uuid.
    pub uuid: String,
    /// Rebuild without the build cache (default false).
    #[serde(default, deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub force: Option<bool>,
}

/// A deployment queued.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeployOut {
    /// The application's uuid.
    pub app_uuid: String,
    /// The application's name.
    pub app_name: String,
    /// The deployment to follow with get_deployment (absent when Coolify skipped a
    /// duplicate of a deployment already queued).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_uuid: Option<String>,
    /// Coolify's message.
    pub message: String,
}

/// Parameters of `deploy_app`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeployAppParams {
    /// The application's name (give this or uuid).
    #[serde(default)]
    pub name: Option<String>,
    /// The application's uuid (give this or name).
    #[serde(default)]
    pub uuid: Option<String>,
    /// Wait for the deployment to finish, reporting progress (default false).
    #[serde(default, deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub wait: Option<bool>,
    /// Rebuild without the build cache (default false).
    #[serde(default, deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub force: Option<bool>,
}

/// A deployment started, and how it ended when waited for.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeployAppOut {
    /// The application's uuid.
    pub app_uuid: String,
    /// The application's name.
    pub app_name: String,
    /// The deployment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_uuid: Option<String>,
    /// queued, in_progress, finished, failed, failed-rolled-back or cancelled-by-user
    /// (or skipped when Coolify started none); any other state is passed on as sent.
    pub status: String,
    /// True when the deployment reached a final state.
    pub finished: bool,
    /// True when it finished successfully.
    pub succeeded: bool,
    /// The last lines of the build log, when it failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failure_log: Vec<String>,
    /// What to do next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl CoolifyApi {
    /// Queue a deployment of one application.
    pub async fn deploy(&self, caller: &Caller, p: DeployParams) -> Result<DeployOut, ApiError> {
        super::limits::check(&p)?;
        let who = caller.principal();
        let target = p.uuid.clone();
        let result = self.deploy_now(who, p).await;
        caller.audited(&target, result).await
    }

    async fn deploy_now(&self, who: &Principal, p: DeployParams) -> Result<DeployOut, ApiError> {
        let scope = self.scope(who).await?;
        let app = self.app_in_scope(&scope, &p.uuid).await?;
        self.check_changeable(&app)?;
        let queued = self
            .client()?
            .deploy(&app.uuid, p.force.unwrap_or(false))
            .await?;
        if let Some(d) = &queued.deployment_uuid {
            self.remember_deployment(d, &app.uuid);
        }
        Ok(DeployOut {
            app_uuid: app.uuid,
            app_name: app.name,
            deployment_uuid: queued.deployment_uuid,
            message: message_text(queued.message.as_ref()),
        })
    }

    /// Deploy an application by name or uuid; with `wait`, follow it to the end.
    pub async fn deploy_app(
        &self,
        caller: &Caller,
        p: DeployAppParams,
    ) -> Result<DeployAppOut, ApiError> {
        super::limits::check(&p)?;
        let target = p.uuid.clone().or(p.name.clone()).unwrap_or_default();
        let result = self.deploy_app_now(caller, p).await;
        caller.audited(&target, result).await
    }

    async fn deploy_app_now(
        &self,
        caller: &Caller,
        p: DeployAppParams,
    ) -> Result<DeployAppOut, ApiError> {
        let scope = self.scope(caller.principal()).await?;
        let app = self
            .find_app(&scope, p.name.as_deref(), p.uuid.as_deref())
            .await?;
        self.check_changeable(&app)?;
        let queued = self
            .client()?
            .deploy(&app.uuid, p.force.unwrap_or(false))
            .await?;
        let Some(deployment_uuid) = queued.deployment_uuid.clone() else {
            return Ok(DeployAppOut {
                app_uuid: app.uuid,
                app_name: app.name,
                deployment_uuid: None,
                status: "skipped".into(),
                finished: false,
                succeeded: false,
                failure_log: Vec::new(),
                hint: Some(format!(
                    "Coolify did not start a deployment: {}; call list_deployments to see the one already queued",
                    message_text(queued.message.as_ref())
                )),
            });
        };
        self.remember_deployment(&deployment_uuid, &app.uuid);
        if !p.wait.unwrap_or(false) {
            return Ok(DeployAppOut {
                app_uuid: app.uuid,
                app_name: app.name,
                deployment_uuid: Some(deployment_uuid),
                status: "queued".into(),
                finished: false,
                succeeded: false,
                failure_log: Vec::new(),
                hint: Some(
                    "poll get_deployment with deployment_uuid, or call deploy_app with wait=true"
                        .into(),
                ),
            });
        }
        let last = self.follow(caller, &deployment_uuid).await?;
        let state = last.state();
        let finished = state.is_final();
        let succeeded = state == DeploymentState::Finished;
        let failure_log = if finished && !succeeded {
            let lines: Vec<String> = last.log().lines.into_iter().map(|l| l.output).collect();
            lines[lines.len().saturating_sub(FAILURE_LOG_LINES)..].to_vec()
        } else {
            Vec::new()
        };
        let hint = match state {
            DeploymentState::Unknown => Some(format!(
                "Coolify reports the state {:?}, which vibn does not know, so it stopped waiting; \
                 check it with get_deployment or in Coolify",
                last.status
            )),
            DeploymentState::Finished => None,
            _ if finished => Some("read the full build log with get_deployment".to_string()),
            _ => Some(format!(
                "still {} after {} s; poll get_deployment with deployment_uuid",
                last.status,
                self.inner.wait_budget.as_secs()
            )),
        };
        Ok(DeployAppOut {
            app_uuid: app.uuid,
            app_name: app.name,
            deployment_uuid: Some(deployment_uuid),
            status: last.status,
            finished,
            succeeded,
            failure_log,
            hint,
        })
    }

    /// Poll a deployment until it is final, in a state vibn does not know (which may
    /// never change, so it is reported rather than waited out), the wait budget is spent,
    /// or the call is cancelled. The first look is immediate, so a quick deployment costs
    /// no interval.
    async fn follow(&self, caller: &Caller, deployment_uuid: &str) -> Result<Deployment, ApiError> {
        let started = Instant::now();
        let mut step = 0;
        loop {
            let current = self.client()?.get_deployment(deployment_uuid).await.map_err(|e| {
                let e: ApiError = e.into();
                if e.status() == 404 {
                    ApiError::upstream(format!(
                        "Coolify returned deployment {deployment_uuid} but does not know it (its queue may be full)"
                    ))
                    .with_hint("retry the deploy in a minute")
                } else {
                    e
                }
            })?;
            step += 1;
            caller.progress(step, current.status.clone()).await;
            let state = current.state();
            if state.is_final()
                || state == DeploymentState::Unknown
                || started.elapsed() + self.inner.poll_interval >= self.inner.wait_budget
            {
                return Ok(current);
            }
            tokio::select! {
                () = caller.cancelled().cancelled() => {
                    return Err(ApiError::bad_request("stopped waiting: the call was cancelled; the deployment goes on")
                        .with_hint(format!("poll get_deployment {deployment_uuid}")));
                }
                () = tokio::time::sleep(self.inner.poll_interval) => {}
            }
        }
    }

    /// The application named `name` or with `uuid`, in scope.
    async fn find_app(
        &self,
        scope: &Scope,
        name: Option<&str>,
        uuid: Option<&str>,
    ) -> Result<Application, ApiError> {
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        let uuid = uuid.map(str::trim).filter(|u| !u.is_empty());
        match (name, uuid) {
            (_, Some(uuid)) => self.app_in_scope(scope, uuid).await,
            (Some(name), None) => {
                let apps = self.apps_in_scope(scope).await?;
                let matching: Vec<&Application> = apps
                    .iter()
                    .filter(|a| a.name.eq_ignore_ascii_case(name))
                    .collect();
                match matching.as_slice() {
                    [one] => Ok((*one).clone()),
                    [] => {
                        let names: Vec<&str> =
                            apps.iter().map(|a| a.name.as_str()).take(30).collect();
                        Err(
                            ApiError::not_found(format!("no application named {}", quote(name)))
                                .with_hint(if names.is_empty() {
                                    "there are no applications yet".to_string()
                                } else {
                                    format!("applications: {}", names.join(", "))
                                }),
                        )
                    }
                    many => {
                        let uuids: Vec<&str> = many.iter().map(|a| a.uuid.as_str()).collect();
                        Err(ApiError::bad_request(format!(
                            "several applications are named {}",
                            quote(name)
                        ))
                        .with_hint(format!("pass uuid instead: one of {}", uuids.join(", "))))
                    }
                }
            }
            (None, None) => Err(ApiError::bad_request("give the application's name or uuid")),
        }
    }
}

fn message_text(message: Option<&serde_json::Value>) -> String {
    match message {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

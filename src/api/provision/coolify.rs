//! The Coolify steps: the workspace's project (`vibn-ws-<slug>`, adopted when exactly
//! one project has that name) with its environment, and the server its resources are
//! created on (`COOLIFY_SERVER_UUID`, or the only server).

use super::{Run, StepOutcome, StepResult, is_not_found};
use crate::clients::coolify::Project;
use crate::env_vars::COOLIFY_SERVER_UUID;
use crate::error::ApiError;
use crate::keystore::ProvisionRecord;

impl Run<'_> {
    /// Find (recorded uuid, else by exact name) or create the project, then make sure
    /// it has the workspace's environment.
    pub(super) async fn coolify_project(&mut self) -> StepResult {
        let p = self.p;
        let coolify = &p.coolify;
        let name = self.names.coolify_project.clone();
        let environment = self.state.workspace.coolify_environment_name.clone();
        let recorded = self.state.workspace.coolify_project_uuid.clone();
        let mut found: Option<(Project, StepOutcome)> = None;
        if let Some(uuid) = &recorded {
            match coolify.get_project(uuid).await {
                Ok(p) => found = Some((p, StepOutcome::Verified)),
                Err(e) if is_not_found(&e) => self.note(format!(
                    "the recorded Coolify project {uuid} is gone; looking for {name}"
                )),
                Err(e) => return Err(e.into()),
            }
        }
        let (project, mut outcome) = match found {
            Some(found) => found,
            None => {
                let all = coolify.list_projects().await?;
                let named: Vec<&Project> = all.iter().filter(|p| p.name == name).collect();
                match named.as_slice() {
                    [] => {
                        let made = coolify
                            .create_project(&name, &self.names.coolify_description)
                            .await?;
                        if made.uuid.is_empty() {
                            return Err(ApiError::upstream(
                                "Coolify created the project but answered without its uuid",
                            )
                            .with_hint("re-run: the project is adopted by its name"));
                        }
                        (coolify.get_project(&made.uuid).await?, StepOutcome::Created)
                    }
                    [one] => (coolify.get_project(&one.uuid).await?, StepOutcome::Adopted),
                    many => {
                        let uuids: Vec<&str> = many.iter().map(|p| p.uuid.as_str()).collect();
                        return Err(ApiError::unprocessable(format!(
                            "{} Coolify projects are named {name} ({}); vibn cannot tell \
                             which belongs to the workspace",
                            many.len(),
                            uuids.join(", ")
                        ))
                        .with_hint(format!(
                            "link one with `vibn workspace link-coolify {} --project UUID`, \
                             then re-run",
                            self.slug()
                        )));
                    }
                }
            }
        };
        if !project.environments.iter().any(|e| e.name == environment) {
            match coolify
                .create_environment(&project.uuid, &environment)
                .await
            {
                Ok(_) => {}
                // Made meanwhile by someone else: what we wanted.
                Err(e) if e.status() == Some(409) => {}
                Err(e) => return Err(e.into()),
            }
            if outcome == StepOutcome::Verified {
                outcome = StepOutcome::Repaired;
            }
        }
        if recorded.as_deref() != Some(project.uuid.as_str()) {
            self.record(ProvisionRecord::CoolifyProject {
                uuid: project.uuid.clone(),
                environment: environment.clone(),
            })
            .await?;
        }
        Ok((
            outcome,
            format!(
                "project {} ({}), environment {environment}",
                project.name, project.uuid
            ),
        ))
    }

    /// The server: `COOLIFY_SERVER_UUID` when set (it must exist), else the recorded
    /// one while it exists, else the only server Coolify has.
    pub(super) async fn coolify_server(&mut self) -> StepResult {
        let p = self.p;
        let coolify = &p.coolify;
        let recorded = self.state.workspace.coolify_server_uuid.clone();
        let (uuid, outcome) = if let Some(want) = p.server_uuid.clone() {
            match coolify.get_server(&want).await {
                Ok(_) => {
                    let outcome = if recorded.as_deref() == Some(want.as_str()) {
                        StepOutcome::Verified
                    } else {
                        StepOutcome::Adopted
                    };
                    (want, outcome)
                }
                Err(e) if is_not_found(&e) => {
                    return Err(ApiError::bad_request(format!(
                        "{COOLIFY_SERVER_UUID} {want:?} is not a server this Coolify token can use"
                    ))
                    .with_hint(format!(
                        "set {COOLIFY_SERVER_UUID} to the uuid of one of Coolify's servers"
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            let still_there = match &recorded {
                Some(uuid) => match coolify.get_server(uuid).await {
                    Ok(_) => true,
                    Err(e) if is_not_found(&e) => false,
                    Err(e) => return Err(e.into()),
                },
                None => false,
            };
            match (recorded, still_there) {
                (Some(uuid), true) => (uuid, StepOutcome::Verified),
                _ => {
                    let servers = coolify.list_servers().await?;
                    match servers.as_slice() {
                        [only] if !only.uuid.is_empty() => {
                            (only.uuid.clone(), StepOutcome::Adopted)
                        }
                        [] | [_] => {
                            return Err(ApiError::unprocessable(
                                "this Coolify has no server to create the workspace's \
                                 resources on",
                            )
                            .with_hint(format!(
                                "add a server in Coolify, or set {COOLIFY_SERVER_UUID}"
                            )));
                        }
                        many => {
                            let list: Vec<String> = many
                                .iter()
                                .take(10)
                                .map(|s| format!("{} ({})", s.uuid, s.name))
                                .collect();
                            return Err(ApiError::bad_request(format!(
                                "this Coolify has {} servers ({}); vibn will not guess which \
                                 one the workspace's resources go on",
                                many.len(),
                                list.join(", ")
                            ))
                            .with_hint(format!(
                                "set {COOLIFY_SERVER_UUID} to the uuid of the server to use"
                            )));
                        }
                    }
                }
            }
        };
        if outcome != StepOutcome::Verified {
            self.record(ProvisionRecord::CoolifyServer { uuid: uuid.clone() })
                .await?;
        }
        Ok((outcome, format!("server {uuid}")))
    }
}

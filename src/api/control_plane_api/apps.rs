//! Applications (seed 003 §3.3): `apps_list`, `apps_get`, `apps_create`, `apps_update`,
//! `apps_rewire_git`, `apps_delete`.
//!
//! An app is made only from a repository of the workspace org that the bot can see, and
//! clones over HTTPS with the bot's token in its URL (`policy::git_url`); that URL is
//! redacted in every result (`redact::urls`). Its Coolify name is `<slug>-<app>`, its
//! domain `<app>.<slug>.<base>` unless another one in the namespace is asked for.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

use super::{ControlPlaneApi, Kind, Tenant, hosts_of};
use crate::api::caller::Caller;
use crate::api::de;
use crate::api::provision::{RewireTarget, RewiredApp, rewire_apps};
use crate::clients::coolify::{Application, Cleanup, EnvVarWrite};
use crate::clients::gitea::{GiteaClient, Repository};
use crate::error::{ApiError, quote};
use crate::policy::{
    confirm, domain, env_key, git_refs, git_url, patch, protected, repo_ref, tenant,
};
use crate::redact;

/// Environment variables `apps_create` writes at most.
pub const MAX_CREATE_ENVS: usize = 100;
/// Longest value of one environment variable.
pub const MAX_ENV_VALUE: usize = 64 * 1024;
/// Ports exposed when none are given (Node-style apps; nixpacks' default).
pub const DEFAULT_PORTS: &str = "3000";

/// How an application is built (Coolify's build packs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BuildPack {
    /// Detect and build (default).
    #[default]
    Nixpacks,
    /// Railpack.
    Railpack,
    /// A static site.
    Static,
    /// The repository's Dockerfile.
    Dockerfile,
    /// The repository's docker-compose file.
    Dockercompose,
}

impl BuildPack {
    fn as_str(self) -> &'static str {
        match self {
            BuildPack::Nixpacks => "nixpacks",
            BuildPack::Railpack => "railpack",
            BuildPack::Static => "static",
            BuildPack::Dockerfile => "dockerfile",
            BuildPack::Dockercompose => "dockercompose",
        }
    }
}

/// What a delete does with the resource's volumes (its data).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Volumes {
    /// Keep them (default).
    #[default]
    Keep,
    /// Delete them too: the data is gone.
    Delete,
}

impl Volumes {
    /// Coolify's four cleanup flags, all explicit: volumes only when asked.
    pub fn cleanup(self) -> Cleanup {
        Cleanup {
            delete_volumes: self == Volumes::Delete,
            delete_configurations: true,
            docker_cleanup: true,
            delete_connected_networks: true,
        }
    }
}

/// An optional string a model may send as a number (`ports: 3000`).
fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "expected a string, got {other}"
            )));
        }
    })
}

fn string_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "string" })
}

/// An application, trimmed (its git URL without credentials).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AppSummary {
    /// Uuid.
    pub uuid: String,
    /// Its exact name in Coolify (`<workspace>-<app>`): what a delete's `confirm` must be.
    pub name: String,
    /// The app's short name (`<app>` of its domain).
    pub app: String,
    /// `running:healthy`, `exited:unhealthy`, …
    pub status: String,
    /// Its domains.
    pub domains: Vec<String>,
    /// The workspace repository it builds (`org/name`), when it is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The git URL, credentials redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_repository: Option<String>,
    /// Git branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
    /// Build pack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_pack: Option<String>,
}

/// An application in full.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppDetail {
    /// The summary.
    #[serde(flatten)]
    pub app: AppSummary,
    /// `https://<first domain>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Commit built (`HEAD`: the branch's newest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit_sha: Option<String>,
    /// Exposed ports, comma-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ports_exposes: Option<String>,
    /// Folder of the repository the build starts in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_directory: Option<String>,
    /// Folder served by static builds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_directory: Option<String>,
    /// The Dockerfile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile_location: Option<String>,
    /// The compose file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker_compose_location: Option<String>,
    /// Install command override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install_command: Option<String>,
    /// Build command override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_command: Option<String>,
    /// Start command override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_command: Option<String>,
}

/// Parameters of `apps_list` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct AppsListParams {}

/// The workspace's applications.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppsListOut {
    /// Applications, by name.
    pub apps: Vec<AppSummary>,
}

/// Parameters of the tools that take one application.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppRef {
    /// The application's uuid (from apps_list).
    pub uuid: String,
}

/// Parameters of `apps_create`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppsCreateParams {
    /// A repository of the workspace org: its name (`my-site`) or `org/name`.
    pub repo: String,
    /// Branch to build (default: the repository's default branch).
    #[serde(default)]
    pub branch: Option<String>,
    /// The app's short name: a-z, 0-9, '-' (default: from the repository's name). Its
    /// domain is `<name>.<workspace>.<base>`, its Coolify name `<workspace>-<name>`.
    #[serde(default)]
    pub name: Option<String>,
    /// Ports the app listens on, comma-separated (default "3000").
    #[serde(default, deserialize_with = "opt_text")]
    #[schemars(schema_with = "string_schema")]
    pub ports: Option<String>,
    /// Build pack (default nixpacks).
    #[serde(default, alias = "buildPack")]
    pub build_pack: BuildPack,
    /// Its domain, in the workspace's namespace (default `<name>.<workspace>.<base>`).
    #[serde(default)]
    pub domain: Option<String>,
    /// Environment variables to set before the first deploy: `{"KEY": "value"}`.
    #[serde(default)]
    pub envs: Option<BTreeMap<String, String>>,
    /// Deploy once created (default false; apps_deploy does it later).
    #[serde(default, alias = "instantDeploy", deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub instant_deploy: Option<bool>,
    /// The compose file, for build_pack dockercompose (e.g. /docker-compose.yml).
    #[serde(default, alias = "dockerComposeLocation")]
    pub docker_compose_location: Option<String>,
    /// The Dockerfile, for build_pack dockerfile (e.g. /Dockerfile).
    #[serde(default, alias = "dockerfileLocation")]
    pub dockerfile_location: Option<String>,
    /// Folder of the repository the build starts in (e.g. /apps/web).
    #[serde(default, alias = "baseDirectory")]
    pub base_directory: Option<String>,
}

/// The application made.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppsCreateOut {
    /// The new application.
    #[serde(flatten)]
    pub app: AppSummary,
    /// `https://<domain>`, once deployed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Environment variables written.
    pub envs_written: u64,
    /// The deployment started (instant_deploy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_uuid: Option<String>,
    /// Things to know (an empty repository, compose domains).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Parameters of `apps_update`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppsUpdateParams {
    /// The application's uuid.
    pub uuid: String,
    /// Fields to change: name, description, git_branch, git_commit_sha, build_pack,
    /// ports_exposes, install_command, build_command, start_command, base_directory,
    /// publish_directory, dockerfile_location, docker_compose_location,
    /// health_check_enabled, health_check_path, is_static, is_spa,
    /// is_auto_deploy_enabled, is_force_https_enabled, limits_memory, limits_cpus.
    pub patch: Map<String, Value>,
}

/// The application after an update.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppsUpdateOut {
    /// Fields sent.
    pub changed: Vec<String>,
    /// The application as Coolify has it now (changes apply on the next deploy).
    pub app: AppDetail,
}

/// Parameters of `apps_rewire_git`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppsRewireGitParams {
    /// The application's uuid.
    pub uuid: String,
    /// The workspace repository to point at (default: the one its URL names now).
    #[serde(default)]
    pub repo: Option<String>,
}

/// The application re-pointed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppsRewireGitOut {
    /// Uuid.
    pub uuid: String,
    /// The repository (`org/name`).
    pub repo: String,
    /// The new git URL, credentials redacted.
    pub git_repository: String,
}

/// Parameters of `apps_delete`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppsDeleteParams {
    /// The application's uuid.
    pub uuid: String,
    /// The application's exact name as apps_get shows it (`<workspace>-<app>`).
    #[serde(default)]
    pub confirm: Option<String>,
    /// keep (default) or delete its volumes.
    #[serde(default)]
    pub volumes: Volumes,
}

/// A resource deleted.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeletedOut {
    /// Uuid.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// False when its volumes were deleted too.
    pub volumes_kept: bool,
    /// Coolify's message (deletion is queued).
    pub message: String,
}

impl Tenant {
    /// The summary of one of this workspace's apps.
    pub(super) fn app_summary(&self, a: &Application) -> AppSummary {
        AppSummary {
            uuid: a.uuid.clone(),
            name: a.name.clone(),
            app: self.label_of(&a.name).to_string(),
            status: a.status.clone().unwrap_or_else(|| "unknown".to_string()),
            domains: hosts_of(a.fqdn.as_deref()),
            repo: a
                .git_repository
                .as_deref()
                .and_then(|u| git_url::repo_in_org(u, &self.org))
                .map(|name| format!("{}/{name}", self.org)),
            git_repository: a.git_repository.as_deref().map(redact::urls),
            git_branch: a.git_branch.clone(),
            build_pack: a.build_pack.clone(),
        }
    }

    /// One of this workspace's apps in full.
    pub(super) fn app_detail(&self, a: &Application) -> AppDetail {
        let app = self.app_summary(a);
        AppDetail {
            url: app.domains.first().map(|d| format!("https://{d}")),
            app,
            description: a.description.clone(),
            git_commit_sha: a.git_commit_sha.clone(),
            ports_exposes: a.ports_exposes.clone(),
            base_directory: a.base_directory.clone(),
            publish_directory: a.publish_directory.clone(),
            dockerfile_location: a.dockerfile_location.clone(),
            docker_compose_location: a.docker_compose_location.clone(),
            install_command: a.install_command.clone(),
            build_command: a.build_command.clone(),
            start_command: a.start_command.clone(),
        }
    }
}

/// A path parameter (starts with `/`, no `..`, one line).
fn path_param(field: &str, value: Option<&str>) -> Result<Option<String>, ApiError> {
    value
        .map(|v| {
            patch::value_of(patch::Rule::Path, &json!(v))
                .map(|_| v.to_string())
                .map_err(|why| ApiError::bad_request(format!("invalid {field}: {why}")))
        })
        .transpose()
}

impl ControlPlaneApi {
    /// Every application of the workspace.
    pub(super) async fn workspace_apps(&self, t: &Tenant) -> Result<Vec<Application>, ApiError> {
        let (scope, apps) = tokio::join!(self.list_scope(t), self.coolify()?.list_applications());
        let (scope, apps) = (scope?, apps?);
        let mut apps: Vec<Application> = apps
            .into_iter()
            .filter(|a| tenant::in_project(a.environment_id, a.project_uuid.as_deref(), &scope))
            .collect();
        apps.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(apps)
    }

    /// The workspace repository `input` names, read as the bot: 403 outside the org,
    /// 404 when the bot cannot see it.
    pub(super) async fn workspace_repo(
        &self,
        t: &Tenant,
        gitea: &GiteaClient,
        input: &str,
    ) -> Result<Repository, ApiError> {
        let repo = repo_ref::parse(input, Some(&t.org))?;
        protected::check_repo_in_org(Some(&t.org), &repo.full_name())?;
        gitea
            .get_repo(&t.org, &repo.name)
            .await
            .map_err(|e| match e.status() {
                Some(404) => ApiError::not_found(format!(
                    "no repository {}/{} in the workspace org",
                    t.org, repo.name
                ))
                .with_hint(
                    "call repos_list to see the org's repositories, or repos_create to make one",
                ),
                _ => e.into(),
            })
    }

    /// The HTTPS clone URL of `repo` with the bot's current token in it.
    pub(super) fn clone_url(
        &self,
        t: &Tenant,
        repo: &Repository,
        token: &str,
    ) -> Result<String, ApiError> {
        git_url::authenticated(&repo.clone_url, &t.org, &repo.name, &t.bot, token).map_err(|why| {
            ApiError::upstream(format!(
                "Gitea reports clone URL {} for {}/{}, which vibn will not use ({why:?})",
                quote(&redact::urls(&repo.clone_url)),
                t.org,
                repo.name
            ))
            .with_hint("tell the user: Gitea's ROOT_URL may be misconfigured")
        })
    }

    /// The workspace's applications.
    pub async fn apps_list(
        &self,
        caller: &Caller,
        _p: AppsListParams,
    ) -> Result<AppsListOut, ApiError> {
        let t = self.tenant(caller).await?;
        let apps = self.workspace_apps(&t).await?;
        Ok(AppsListOut {
            apps: apps.iter().map(|a| t.app_summary(a)).collect(),
        })
    }

    /// One application (status, domains, git info).
    pub async fn apps_get(&self, caller: &Caller, p: AppRef) -> Result<AppDetail, ApiError> {
        super::limits::check(&p)?;
        let t = self.tenant(caller).await?;
        let app = self.app(&t, &p.uuid).await?;
        Ok(t.app_detail(&app))
    }

    /// Create an application from a repository of the workspace org.
    pub async fn apps_create(
        &self,
        caller: &Caller,
        p: AppsCreateParams,
    ) -> Result<AppsCreateOut, ApiError> {
        super::limits::check(&p)?;
        let ws = self.workspace(caller)?;
        let target = format!("{}/{}", ws.gitea_org, p.name.as_deref().unwrap_or(&p.repo));
        let result = self.create_app(caller, p).await;
        let target = match &result {
            Ok(out) => out.app.name.clone(),
            Err(_) => target,
        };
        caller.audited(&target, result).await
    }

    async fn create_app(
        &self,
        caller: &Caller,
        p: AppsCreateParams,
    ) -> Result<AppsCreateOut, ApiError> {
        let base = &self.inner.settings.base_domain;
        let ws = self.workspace(caller)?;
        let (slug, org) = (ws.slug.as_str(), ws.gitea_org.as_str());
        // Every guard before the first upstream call (provisioning included).
        let repo_input = repo_ref::parse(&p.repo, Some(org))?;
        protected::check_repo_in_org(Some(org), &repo_input.full_name())?;
        let label = match &p.name {
            Some(name) => domain::app_label(name)?,
            None => domain::label_from(&repo_input.name).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "no app name can be made from repository name {}",
                    quote(&repo_input.name)
                ))
                .with_hint("pass name (a-z, 0-9, '-'), e.g. my-site")
            })?,
        };
        let build_pack = p.build_pack;
        let compose = build_pack == BuildPack::Dockercompose;
        let wanted_domain = match &p.domain {
            Some(d) => domain::check(d, slug, base)?,
            None => domain::app_domain(&label, slug, base),
        };
        if let Some(branch) = &p.branch {
            git_refs::check_branch(branch)?;
        }
        let ports = patch::value_of(
            patch::Rule::Ports,
            &json!(p.ports.as_deref().unwrap_or(DEFAULT_PORTS)),
        )
        .map_err(|why| ApiError::bad_request(format!("invalid ports: {why}")))?;
        let base_directory = path_param("base_directory", p.base_directory.as_deref())?;
        let dockerfile = path_param("dockerfile_location", p.dockerfile_location.as_deref())?;
        let compose_file = path_param(
            "docker_compose_location",
            p.docker_compose_location.as_deref(),
        )?;
        let envs = p.envs.unwrap_or_default();
        check_envs(&envs)?;
        let t = &self.tenant(caller).await?;
        let name = t.coolify_name(&label);
        // Upstream: the name is free, the repository is the org's and the bot sees it.
        if let Some(taken) = self
            .workspace_apps(t)
            .await?
            .into_iter()
            .find(|a| a.name == name)
        {
            return Err(ApiError::unprocessable(format!(
                "this workspace already has an application named {name} ({})",
                taken.uuid
            ))
            .with_hint("pass another name, or change that app with apps_update"));
        }
        let gitea = self.gitea_as_bot(caller).await?;
        let repo = self
            .workspace_repo(t, &gitea, &repo_input.full_name())
            .await?;
        let token = caller.gitea_login(None).await?.token;
        let git_repository = self.clone_url(t, &repo, token.expose_secret())?;
        let branch = p
            .branch
            .clone()
            .or_else(|| Some(repo.default_branch.clone()).filter(|b| !b.is_empty()))
            .unwrap_or_else(|| "main".to_string());
        let mut notes = Vec::new();
        if repo.empty {
            notes.push(format!(
                "{} has no commits yet: push code to {branch} before deploying",
                repo.full_name
            ));
        }
        let mut fields = Map::new();
        fields.insert("name".into(), json!(name));
        fields.insert("git_repository".into(), json!(git_repository));
        fields.insert("git_branch".into(), json!(branch));
        fields.insert("build_pack".into(), json!(build_pack.as_str()));
        fields.insert("ports_exposes".into(), ports);
        fields.insert("instant_deploy".into(), json!(false));
        fields.insert("autogenerate_domain".into(), json!(false));
        if compose {
            notes.push(
                "a compose app takes its domains per service; none was set (Coolify refuses \
                 `domains` for dockercompose)"
                    .to_string(),
            );
        } else {
            fields.insert("domains".into(), json!(format!("https://{wanted_domain}")));
        }
        for (field, value) in [
            ("base_directory", base_directory),
            ("dockerfile_location", dockerfile),
            ("docker_compose_location", compose_file),
        ] {
            if let Some(v) = value {
                fields.insert(field.into(), json!(v));
            }
        }
        let coolify = self.coolify()?;
        let created = coolify
            .create_git_application(t.target(), fields, None)
            .await
            .map_err(|e| redacted(e.into(), token.expose_secret()))?;
        if created.uuid.is_empty() {
            return Err(ApiError::upstream(
                "Coolify created the application but answered without its uuid",
            )
            .with_hint("call apps_list to find it"));
        }
        let envs_written = if envs.is_empty() {
            0
        } else {
            let writes: Vec<EnvVarWrite> = envs
                .iter()
                .map(|(key, value)| new_env(key, value, false))
                .collect();
            coolify
                .bulk_envs(&created.uuid, &writes)
                .await
                .map_err(|e| {
                    let e: ApiError = e.into();
                    ApiError::new(
                        e.kind(),
                        format!(
                            "application {} ({}) was created, but its environment variables \
                         were not all written: {}",
                            name,
                            created.uuid,
                            e.message()
                        ),
                    )
                    .with_hint("set them with apps_envs_upsert")
                })?;
            envs.len() as u64
        };
        let app = if compose {
            self.app(t, &created.uuid).await?
        } else {
            self.verify_domains(t, &created.uuid, std::slice::from_ref(&wanted_domain), true)
                .await?
        };
        let deployment_uuid = if p.instant_deploy.unwrap_or(false) {
            let queued = coolify.deploy(&app.uuid, false).await?;
            if let Some(d) = &queued.deployment_uuid {
                self.remember_deployment(d, &app.uuid);
            }
            queued.deployment_uuid
        } else {
            None
        };
        let summary = t.app_summary(&app);
        Ok(AppsCreateOut {
            url: summary.domains.first().map(|d| format!("https://{d}")),
            app: summary,
            envs_written,
            deployment_uuid,
            notes,
        })
    }

    /// Change allowlisted fields of an application.
    pub async fn apps_update(
        &self,
        caller: &Caller,
        p: AppsUpdateParams,
    ) -> Result<AppsUpdateOut, ApiError> {
        super::limits::check(&p)?;
        let result = async {
            let mut fields = patch::app_patch(&p.patch)?;
            let t = self.tenant(caller).await?;
            let app = self.app(&t, &p.uuid).await?;
            if let Some(label) = fields.get("name").and_then(Value::as_str) {
                let name = t.coolify_name(label);
                fields.insert("name".into(), json!(name));
            }
            let changed: Vec<String> = fields.keys().cloned().collect();
            self.coolify()?
                .update_application(&app.uuid, fields)
                .await?;
            let after = self.app(&t, &app.uuid).await?;
            Ok(AppsUpdateOut {
                changed,
                app: t.app_detail(&after),
            })
        }
        .await;
        caller.audited(p.uuid.trim(), result).await
    }

    /// Re-point an application at the canonical HTTPS URL of a workspace repository,
    /// with the bot's current token.
    pub async fn apps_rewire_git(
        &self,
        caller: &Caller,
        p: AppsRewireGitParams,
    ) -> Result<AppsRewireGitOut, ApiError> {
        super::limits::check(&p)?;
        let result = async {
            if let Some(repo) = &p.repo {
                let org = &self.workspace(caller)?.gitea_org;
                let parsed = repo_ref::parse(repo, Some(org))?;
                protected::check_repo_in_org(Some(org), &parsed.full_name())?;
            }
            let t = self.tenant(caller).await?;
            let app = self.app(&t, &p.uuid).await?;
            let repo_name = match &p.repo {
                Some(repo) => repo.clone(),
                None => app
                    .git_repository
                    .as_deref()
                    .and_then(|u| git_url::repo_in_org(u, &t.org))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "application {} does not point at a repository of {}",
                            app.uuid, t.org
                        ))
                        .with_hint("pass repo: the name of the workspace repository to use")
                    })?,
            };
            let token = caller.gitea_login(None).await?.token;
            self.rewire(&t, &app, &repo_name, &token).await
        }
        .await;
        caller.audited(p.uuid.trim(), result).await
    }

    /// Point `app` at the canonical HTTPS URL of workspace repository `repo` with the
    /// bot token `token` (read as the bot with that very token, so a token that does not
    /// work is never written into an app).
    async fn rewire(
        &self,
        t: &Tenant,
        app: &Application,
        repo: &str,
        token: &SecretString,
    ) -> Result<AppsRewireGitOut, ApiError> {
        let gitea = self.gitea_base()?.with_token(token.clone());
        let repo = self.workspace_repo(t, &gitea, repo).await?;
        let url = self.clone_url(t, &repo, token.expose_secret())?;
        let mut fields = Map::new();
        fields.insert("git_repository".into(), json!(url));
        self.coolify()?
            .update_application(&app.uuid, fields)
            .await
            .map_err(|e| redacted(e.into(), token.expose_secret()))?;
        Ok(AppsRewireGitOut {
            uuid: app.uuid.clone(),
            repo: format!("{}/{}", t.org, repo.name),
            git_repository: redact::urls(&url),
        })
    }

    /// Re-point every application of `t` that builds a repository of its org at that
    /// repository's canonical URL with bot token `token`: what rotating the bot's token
    /// must do before the old token is deleted (issue 13 item 3), since every app's git
    /// URL embeds the token. Apps that build something else are left alone; one app's
    /// failure does not stop the others.
    pub async fn rewire_all(
        &self,
        t: &Tenant,
        token: &SecretString,
    ) -> Result<Vec<RewiredApp>, ApiError> {
        let bot = self.gitea_base()?.with_token(token.clone());
        let target = RewireTarget {
            org: &t.org,
            bot: &t.bot,
            project_uuid: &t.project_uuid,
        };
        rewire_apps(self.coolify()?, &bot, target, token).await
    }

    /// Delete an application; `confirm` must be its exact name; volumes are kept unless
    /// `volumes` is delete.
    pub async fn apps_delete(
        &self,
        caller: &Caller,
        p: AppsDeleteParams,
    ) -> Result<DeletedOut, ApiError> {
        super::limits::check(&p)?;
        let result = async {
            let t = self.tenant(caller).await?;
            let app = self.app(&t, &p.uuid).await?;
            confirm::check(p.confirm.as_deref(), &app.name, Kind::Application.noun())?;
            let answer = self
                .coolify()?
                .delete_application(&app.uuid, p.volumes.cleanup())
                .await?;
            Ok(DeletedOut {
                uuid: app.uuid,
                name: app.name,
                volumes_kept: p.volumes == Volumes::Keep,
                message: message_of(&answer, "Application deletion request queued."),
            })
        }
        .await;
        caller.audited(p.uuid.trim(), result).await
    }
}

/// An environment variable as first written: runtime and build time, not literal.
pub(super) fn new_env(key: &str, value: &str, is_preview: bool) -> EnvVarWrite {
    EnvVarWrite {
        key: key.to_string(),
        value: value.to_string(),
        is_preview,
        is_buildtime: true,
        is_runtime: true,
        is_literal: false,
        is_multiline: value.contains('\n'),
        is_shown_once: false,
    }
}

/// Check the keys and values of variables to write.
fn check_envs(envs: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if envs.len() > MAX_CREATE_ENVS {
        return Err(ApiError::bad_request(format!(
            "envs has {} variables; the limit is {MAX_CREATE_ENVS}",
            envs.len()
        )));
    }
    for (key, value) in envs {
        env_key::check(key)?;
        crate::api::limits::Limit::bytes(MAX_ENV_VALUE).check(&format!("envs.{key}"), value)?;
    }
    Ok(())
}

/// An error with `secret` (and any URL credentials) masked out of its message.
fn redacted(e: ApiError, secret: &str) -> ApiError {
    let message = redact::urls(&redact::secret(e.message(), secret));
    let hint = e.hint().map(|h| redact::urls(&redact::secret(h, secret)));
    let out = ApiError::new(e.kind(), message);
    match hint {
        Some(h) => out.with_hint(h),
        None => out,
    }
}

/// Coolify's `message`, or `default`.
pub(super) fn message_of(answer: &Value, default: &str) -> String {
    answer
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or(default)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletes_keep_volumes_unless_asked_and_send_every_flag() {
        assert_eq!(
            Volumes::Keep.cleanup(),
            Cleanup {
                delete_volumes: false,
                delete_configurations: true,
                docker_cleanup: true,
                delete_connected_networks: true
            }
        );
        assert!(Volumes::Delete.cleanup().delete_volumes);
        assert_eq!(Volumes::default(), Volumes::Keep);
    }

    #[test]
    fn errors_lose_the_token_and_url_credentials() {
        let token = "0123456789abcdef0123456789abcdef01234567";
        let e = ApiError::unprocessable(format!(
            "Coolify answered 422: bad https://bot:{token}@g.test/o/r.git and {token}"
        ))
        .with_hint(format!("retry {token}"));
        let r = redacted(e, token);
        assert!(!r.message().contains(token) && !r.hint().unwrap_or("").contains(token));
        assert!(r.message().contains("https://[redacted]@g.test/o/r.git"));
        assert_eq!(r.status(), 422);
    }

    #[test]
    fn hostile_env_maps_are_refused() {
        let ok: BTreeMap<String, String> = [("DATABASE_URL".to_string(), "x".to_string())].into();
        assert!(check_envs(&ok).is_ok());
        for key in ["lower", "A-B", "", "1A", "A B"] {
            let bad: BTreeMap<String, String> = [(key.to_string(), "v".to_string())].into();
            assert_eq!(check_envs(&bad).unwrap_err().status(), 400, "{key:?}");
        }
        let big: BTreeMap<String, String> =
            [("A".to_string(), "x".repeat(MAX_ENV_VALUE + 1))].into();
        assert_eq!(check_envs(&big).unwrap_err().status(), 400);
    }
}

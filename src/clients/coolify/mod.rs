//! The Coolify REST client: Bearer auth, JSON in and out, POST for every lifecycle call
//! (GET answers 405 since 4.2), deletes that always send the four cleanup flags
//! (Coolify defaults them to true, which would destroy volumes), deployment logs parsed
//! from their JSON-in-a-string field, env vars written with the full object (Coolify
//! resets omitted flags). Reference: coolify.md; the controllers beat the spec.

mod deployments;
mod types;

use std::sync::Arc;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Map, Value, json};

pub use deployments::*;
pub use types::*;

use super::http::{Auth, Call, ClientError, Http, HttpConfig};

/// Fields `PATCH /applications/{uuid}` accepts (the controller's `$allowedFields` plus
/// settings); anything else is answered with 422 "This field is not allowed.".
pub const APPLICATION_PATCH_FIELDS: &[&str] = &[
    "name",
    "description",
    "domains",
    "git_repository",
    "git_branch",
    "git_commit_sha",
    "docker_registry_image_name",
    "docker_registry_image_tag",
    "build_pack",
    "static_image",
    "install_command",
    "build_command",
    "start_command",
    "ports_exposes",
    "ports_mappings",
    "custom_network_aliases",
    "base_directory",
    "publish_directory",
    "health_check_enabled",
    "health_check_type",
    "health_check_command",
    "health_check_path",
    "health_check_port",
    "health_check_host",
    "health_check_method",
    "health_check_return_code",
    "health_check_scheme",
    "health_check_response_text",
    "health_check_interval",
    "health_check_timeout",
    "health_check_retries",
    "health_check_start_period",
    "limits_memory",
    "limits_memory_swap",
    "limits_memory_swappiness",
    "limits_memory_reservation",
    "limits_cpus",
    "limits_cpuset",
    "limits_cpu_shares",
    "custom_labels",
    "custom_docker_run_options",
    "pre_deployment_command",
    "pre_deployment_command_container",
    "post_deployment_command",
    "post_deployment_command_container",
    "watch_paths",
    "dockerfile_location",
    "dockerfile_target_build",
    "docker_compose_location",
    "docker_compose_custom_start_command",
    "docker_compose_custom_build_command",
    "docker_compose_domains",
    "redirect",
    "instant_deploy",
    "use_build_server",
    "custom_nginx_configuration",
    "is_http_basic_auth_enabled",
    "http_basic_auth_username",
    "http_basic_auth_password",
    "connect_to_docker_network",
    "force_domain_override",
    "is_static",
    "is_spa",
    "is_auto_deploy_enabled",
    "is_force_https_enabled",
    "is_preview_deployments_enabled",
    "is_git_submodules_enabled",
    "is_git_lfs_enabled",
    "is_git_shallow_clone_enabled",
    "disable_build_cache",
    "max_restart_count",
];

/// Where a new resource goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// The project.
    pub project_uuid: String,
    /// The server (`0`-id localhost included).
    pub server_uuid: String,
    /// The environment, by name.
    pub environment_name: String,
    /// The destination, required only on servers with several.
    pub destination_uuid: Option<String>,
}

impl Target {
    fn into_body(self) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("project_uuid".into(), json!(self.project_uuid));
        body.insert("server_uuid".into(), json!(self.server_uuid));
        body.insert("environment_name".into(), json!(self.environment_name));
        if let Some(d) = self.destination_uuid {
            body.insert("destination_uuid".into(), json!(d));
        }
        body
    }
}

/// What a delete also removes. Every flag is always sent: Coolify defaults all four to
/// true, so leaving one out deletes data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleanup {
    /// Delete the resource's volumes (its data).
    pub delete_volumes: bool,
    /// Delete its configuration files.
    pub delete_configurations: bool,
    /// Run docker cleanup.
    pub docker_cleanup: bool,
    /// Delete its connected networks.
    pub delete_connected_networks: bool,
}

impl Cleanup {
    fn apply(self, call: Call) -> Call {
        call.query("delete_volumes", self.delete_volumes)
            .query("delete_configurations", self.delete_configurations)
            .query("docker_cleanup", self.docker_cleanup)
            .query("delete_connected_networks", self.delete_connected_networks)
    }
}

/// A Coolify instance reached with one token.
#[derive(Debug, Clone)]
pub struct CoolifyClient {
    http: Arc<Http>,
}

impl CoolifyClient {
    /// A client for the Coolify at `url` (with or without `/api/v1`).
    pub fn new(url: &str, token: SecretString, config: HttpConfig) -> Self {
        let url = url.trim().trim_end_matches('/');
        let api = if url.ends_with("/api/v1") {
            url.to_string()
        } else {
            format!("{url}/api/v1")
        };
        Self::with_api_base(&api, token, config)
    }

    /// A client whose API is at `api_base` exactly.
    pub fn with_api_base(api_base: &str, token: SecretString, config: HttpConfig) -> Self {
        CoolifyClient {
            http: Http::new("Coolify", api_base, Auth::Bearer(token), config),
        }
    }

    /// `GET /version` (plain text).
    pub async fn version(&self) -> Result<String, ClientError> {
        let answer = self.http.send(Call::new(Method::GET, &["version"])).await?;
        Ok(String::from_utf8_lossy(&answer.body)
            .trim()
            .trim_matches('"')
            .to_string())
    }

    /// `GET /projects`.
    pub async fn list_projects(&self) -> Result<Vec<Project>, ClientError> {
        self.http.json(Call::new(Method::GET, &["projects"])).await
    }

    /// `GET /projects/{uuid}` with its environments.
    pub async fn get_project(&self, uuid: &str) -> Result<Project, ClientError> {
        self.http
            .json(Call::new(Method::GET, &["projects", uuid]))
            .await
    }

    /// `POST /projects` (a `production` environment comes with it).
    pub async fn create_project(
        &self,
        name: &str,
        description: &str,
    ) -> Result<Created, ClientError> {
        let body = json!({"name": name, "description": description});
        self.http
            .json(Call::new(Method::POST, &["projects"]).json(body))
            .await
    }

    /// `GET /applications`.
    pub async fn list_applications(&self) -> Result<Vec<Application>, ClientError> {
        self.http
            .json(Call::new(Method::GET, &["applications"]))
            .await
    }

    /// `GET /applications/{uuid}`.
    pub async fn get_application(&self, uuid: &str) -> Result<Application, ClientError> {
        self.http
            .json(Call::new(Method::GET, &["applications", uuid]))
            .await
    }

    /// `POST /applications/public` (a public git URL) or, with `private_key_uuid`,
    /// `POST /applications/private-deploy-key`. `fields` carries the rest
    /// (`git_repository`, `git_branch`, `build_pack`, `ports_exposes`, `name`, `domains`…).
    pub async fn create_git_application(
        &self,
        target: Target,
        fields: Map<String, Value>,
        private_key_uuid: Option<&str>,
    ) -> Result<Created, ClientError> {
        let mut body = target.into_body();
        body.extend(fields);
        let route = match private_key_uuid {
            Some(key) => {
                body.insert("private_key_uuid".into(), json!(key));
                "private-deploy-key"
            }
            None => "public",
        };
        self.http
            .json(Call::new(Method::POST, &["applications", route]).json(Value::Object(body)))
            .await
    }

    /// `PATCH /applications/{uuid}` with fields from `APPLICATION_PATCH_FIELDS`.
    pub async fn update_application(
        &self,
        uuid: &str,
        patch: Map<String, Value>,
    ) -> Result<Value, ClientError> {
        self.http
            .json(Call::new(Method::PATCH, &["applications", uuid]).json(Value::Object(patch)))
            .await
    }

    /// `DELETE /applications/{uuid}` with every cleanup flag explicit.
    pub async fn delete_application(
        &self,
        uuid: &str,
        cleanup: Cleanup,
    ) -> Result<Value, ClientError> {
        self.http
            .json(cleanup.apply(Call::new(Method::DELETE, &["applications", uuid])))
            .await
    }

    /// `GET /applications/{uuid}/logs?lines=` (runtime logs of the first container).
    pub async fn application_logs(&self, uuid: &str, lines: u32) -> Result<String, ClientError> {
        let call = Call::new(Method::GET, &["applications", uuid, "logs"]).query("lines", lines);
        self.http
            .json_shaped(call, |v| Ok(log_text(v.get("logs").unwrap_or(&v))))
            .await
    }

    /// `POST /deploy?uuid=&force=`: the deployment started for an application.
    pub async fn deploy(&self, uuid: &str, force: bool) -> Result<Queued, ClientError> {
        let call = Call::new(Method::POST, &["deploy"])
            .query("uuid", uuid)
            .query("force", force);
        let v: Value = self.http.json(call).await?;
        let first = v
            .get("deployments")
            .and_then(|d| d.get(0))
            .cloned()
            .unwrap_or(Value::Null);
        Ok(Queued {
            message: first.get("message").cloned(),
            deployment_uuid: first
                .get("deployment_uuid")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }

    /// `POST /applications/{uuid}/{start|stop|restart}`.
    pub async fn lifecycle(&self, uuid: &str, action: Lifecycle) -> Result<Queued, ClientError> {
        self.http
            .json(Call::new(
                Method::POST,
                &["applications", uuid, action.as_str()],
            ))
            .await
    }

    /// `GET /deployments/applications/{uuid}?skip=&take=`: newest first, in either
    /// documented shape (reference coolify.md §10.3).
    pub async fn list_app_deployments(
        &self,
        uuid: &str,
        skip: u32,
        take: u32,
    ) -> Result<DeploymentPage, ClientError> {
        let call = Call::new(Method::GET, &["deployments", "applications", uuid])
            .query("skip", skip)
            .query("take", take);
        self.http.json_shaped(call, DeploymentPage::read).await
    }

    /// `GET /deployments/{uuid}`.
    pub async fn get_deployment(&self, uuid: &str) -> Result<Deployment, ClientError> {
        self.http
            .json(Call::new(Method::GET, &["deployments", uuid]))
            .await
    }

    /// `GET /applications/{uuid}/envs` (production and preview twins both listed).
    pub async fn list_envs(&self, app: &str) -> Result<Vec<EnvVar>, ClientError> {
        self.http
            .json(Call::new(Method::GET, &["applications", app, "envs"]))
            .await
    }

    /// `POST /applications/{uuid}/envs` (409 when the key exists).
    pub async fn create_env(&self, app: &str, env: &EnvVarWrite) -> Result<Created, ClientError> {
        let body = serde_json::to_value(env).unwrap_or_default();
        self.http
            .json(Call::new(Method::POST, &["applications", app, "envs"]).json(body))
            .await
    }

    /// `PATCH /applications/{uuid}/envs`, identified by key, with the full object.
    pub async fn update_env(&self, app: &str, env: &EnvVarWrite) -> Result<EnvVar, ClientError> {
        let body = serde_json::to_value(env).unwrap_or_default();
        self.http
            .json(Call::new(Method::PATCH, &["applications", app, "envs"]).json(body))
            .await
    }

    /// `PATCH /applications/{uuid}/envs/bulk`: upsert many.
    pub async fn bulk_envs(
        &self,
        app: &str,
        envs: &[EnvVarWrite],
    ) -> Result<Vec<EnvVar>, ClientError> {
        let body = json!({"data": envs});
        self.http
            .json(Call::new(Method::PATCH, &["applications", app, "envs", "bulk"]).json(body))
            .await
    }

    /// `DELETE /applications/{uuid}/envs/{env_uuid}`.
    pub async fn delete_env(&self, app: &str, env_uuid: &str) -> Result<(), ClientError> {
        self.http
            .send(Call::new(
                Method::DELETE,
                &["applications", app, "envs", env_uuid],
            ))
            .await
            .map(|_| ())
    }

    /// `GET /databases`.
    pub async fn list_databases(&self) -> Result<Vec<Database>, ClientError> {
        self.http.json(Call::new(Method::GET, &["databases"])).await
    }

    /// `POST /databases/{kind}`; `kind` is one of `DATABASE_TYPES`.
    pub async fn create_database(
        &self,
        kind: &str,
        target: Target,
        fields: Map<String, Value>,
    ) -> Result<Created, ClientError> {
        let mut body = target.into_body();
        body.extend(fields);
        self.http
            .json(Call::new(Method::POST, &["databases", kind]).json(Value::Object(body)))
            .await
    }

    /// `GET /databases/{uuid}`.
    pub async fn get_database(&self, uuid: &str) -> Result<Database, ClientError> {
        self.http
            .json(Call::new(Method::GET, &["databases", uuid]))
            .await
    }

    /// `PATCH /databases/{uuid}`.
    pub async fn update_database(
        &self,
        uuid: &str,
        patch: Map<String, Value>,
    ) -> Result<Value, ClientError> {
        self.http
            .json(Call::new(Method::PATCH, &["databases", uuid]).json(Value::Object(patch)))
            .await
    }

    /// `DELETE /databases/{uuid}` with every cleanup flag explicit.
    pub async fn delete_database(
        &self,
        uuid: &str,
        cleanup: Cleanup,
    ) -> Result<Value, ClientError> {
        self.http
            .json(cleanup.apply(Call::new(Method::DELETE, &["databases", uuid])))
            .await
    }

    /// `GET /services`.
    pub async fn list_services(&self) -> Result<Vec<Service>, ClientError> {
        self.http.json(Call::new(Method::GET, &["services"])).await
    }

    /// `POST /services` from a one-click template `kind`. An unknown kind is answered
    /// 404 with `valid_service_types` in the error body.
    pub async fn create_service(
        &self,
        kind: &str,
        target: Target,
        name: Option<&str>,
        instant_deploy: bool,
    ) -> Result<Created, ClientError> {
        self.create_described_service(kind, target, name, None, instant_deploy)
            .await
    }

    /// `POST /services` from template `kind`, with a description.
    pub async fn create_described_service(
        &self,
        kind: &str,
        target: Target,
        name: Option<&str>,
        description: Option<&str>,
        instant_deploy: bool,
    ) -> Result<Created, ClientError> {
        let mut body = target.into_body();
        body.insert("type".into(), json!(kind));
        body.insert("instant_deploy".into(), json!(instant_deploy));
        if let Some(n) = name {
            body.insert("name".into(), json!(n));
        }
        if let Some(d) = description {
            body.insert("description".into(), json!(d));
        }
        self.http
            .json(Call::new(Method::POST, &["services"]).json(Value::Object(body)))
            .await
    }

    /// `GET /services/{uuid}`.
    pub async fn get_service(&self, uuid: &str) -> Result<Service, ClientError> {
        self.http
            .json(Call::new(Method::GET, &["services", uuid]))
            .await
    }

    /// `DELETE /services/{uuid}` with every cleanup flag explicit.
    pub async fn delete_service(&self, uuid: &str, cleanup: Cleanup) -> Result<Value, ClientError> {
        self.http
            .json(cleanup.apply(Call::new(Method::DELETE, &["services", uuid])))
            .await
    }

    /// `GET /servers`.
    pub async fn list_servers(&self) -> Result<Vec<Server>, ClientError> {
        self.http.json(Call::new(Method::GET, &["servers"])).await
    }

    /// `GET /servers/{uuid}`.
    pub async fn get_server(&self, uuid: &str) -> Result<Server, ClientError> {
        self.http
            .json(Call::new(Method::GET, &["servers", uuid]))
            .await
    }

    /// `POST /projects/{uuid}/environments` (409 when the name exists).
    pub async fn create_environment(
        &self,
        project_uuid: &str,
        name: &str,
    ) -> Result<Created, ClientError> {
        let body = json!({ "name": name });
        self.http
            .json(Call::new(Method::POST, &["projects", project_uuid, "environments"]).json(body))
            .await
    }

    /// `GET /security/keys`: the team's private keys (their key material is never read).
    pub async fn list_private_keys(&self) -> Result<Vec<PrivateKeyInfo>, ClientError> {
        self.http
            .json(Call::new(Method::GET, &["security", "keys"]))
            .await
    }

    /// `GET /security/keys/{uuid}`.
    pub async fn get_private_key(&self, uuid: &str) -> Result<PrivateKeyInfo, ClientError> {
        self.http
            .json(Call::new(Method::GET, &["security", "keys", uuid]))
            .await
    }

    /// `POST /security/keys`: register a private key (OpenSSH PEM); 422 when it does
    /// not load or the team has it already.
    pub async fn create_private_key(
        &self,
        name: &str,
        description: &str,
        private_key: &SecretString,
    ) -> Result<Created, ClientError> {
        use secrecy::ExposeSecret;
        let body = json!({
            "name": name,
            "description": description,
            "private_key": private_key.expose_secret(),
        });
        self.http
            .json(Call::new(Method::POST, &["security", "keys"]).json(body))
            .await
    }

    /// `DELETE /security/keys/{uuid}` (422 while servers or applications use it).
    pub async fn delete_private_key(&self, uuid: &str) -> Result<(), ClientError> {
        self.http
            .send(Call::new(Method::DELETE, &["security", "keys", uuid]))
            .await
            .map(|_| ())
    }
}

/// The text of a logs answer: `{"logs": "…"}` as documented; a list of lines is joined,
/// anything else is shown as its JSON rather than dropped, and no logs is empty.
fn log_text(logs: &Value) -> String {
    match logs {
        Value::String(text) => text.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Object(map) if map.is_empty() => String::new(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Application lifecycle calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Start (queues a deployment).
    Start,
    /// Stop.
    Stop,
    /// Restart (through the deployment queue).
    Restart,
}

impl Lifecycle {
    fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Start => "start",
            Lifecycle::Stop => "stop",
            Lifecycle::Restart => "restart",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_logs_are_read_in_every_shape_without_dropping_text() {
        let table = [
            (json!({"logs": "a\nb"}), "a\nb"),
            (json!({"logs": ["a", "b", 3]}), "a\nb\n3"),
            (json!({"logs": {"line": 1}}), r#"{"line":1}"#),
            (json!({}), ""),
            (json!("bare text"), "bare text"),
        ];
        for (answer, want) in table {
            assert_eq!(
                log_text(answer.get("logs").unwrap_or(&answer)),
                want,
                "{answer}"
            );
        }
    }
}

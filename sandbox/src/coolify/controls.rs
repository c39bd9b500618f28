//! Test controls of the Coolify sandbox: plain Rust methods on [`CoolifyState`] that
//! mint tokens, seed projects, servers, applications and private keys (and list the
//! private keys), steer the server proxy,
//! application status and logs, deployment outcome and timing, and read back stored
//! rows and the deletes received. Controls panic on misuse (unknown uuids or names),
//! like assertions; they are for tests and `vibn sandbox coolify`, not for user input.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::app_fields::{new_row, new_settings};
use super::domains::sslip_url;
use super::state::{App, CoolifyState, DeployOutcome, PrivateKey, ROOT_TEAM, Server, new_uuid};

impl CoolifyState {
    /// Mint a token for the instance team with these abilities (`root`, `read`,
    /// `read:sensitive`, `write`, `write:sensitive`, `deploy`); returns `<id>|<secret>`.
    pub fn create_token(&self, abilities: &[&str]) -> String {
        self.data().insert_token(ROOT_TEAM, abilities)
    }

    /// Mint a token for a new, empty team (no servers, projects or resources): what
    /// another tenant of the same Coolify sees.
    pub fn create_team_token(&self, abilities: &[&str]) -> String {
        let mut d = self.data();
        let team = d.next_id();
        d.insert_token(team, abilities)
    }

    /// The seeded localhost server's uuid.
    pub fn server_uuid(&self) -> String {
        self.localhost().uuid
    }

    fn localhost(&self) -> Server {
        match self.data().server(0).cloned() {
            Some(s) => s,
            None => panic!("coolify sandbox: the localhost server is missing"),
        }
    }

    /// Turn the localhost server's proxy on or off (off: `domains` are ignored).
    pub fn set_server_proxy(&self, on: bool) {
        if let Some(s) = self.data().servers.iter_mut().find(|s| s.id == 0) {
            s.proxy_on = on;
        }
    }

    /// Set the localhost server's address (Coolify's own is `host.docker.internal`).
    pub fn set_server_ip(&self, ip: &str) {
        if let Some(s) = self.data().servers.iter_mut().find(|s| s.id == 0) {
            s.ip = ip.to_string();
        }
    }

    /// Mark the localhost server a build server or not (a build server ignores `domains`).
    pub fn set_build_server(&self, on: bool) {
        if let Some(s) = self.data().servers.iter_mut().find(|s| s.id == 0) {
            s.build_server = on;
        }
    }

    /// Create a project of the instance team with its `production` environment;
    /// returns (project uuid, production environment id).
    pub fn create_project(&self, name: &str) -> (String, i64) {
        self.data().insert_project(ROOT_TEAM, name, None)
    }

    /// Create an environment in a project; returns its id. Panics on an unknown project.
    pub fn create_environment(&self, project_uuid: &str, name: &str) -> i64 {
        let mut d = self.data();
        let Some(pid) = d.project_by_uuid(ROOT_TEAM, project_uuid).map(|p| p.id) else {
            drop(d);
            panic!("coolify sandbox control create_environment: no project {project_uuid}");
        };
        d.insert_environment(pid, name)
    }

    /// Create a private key (for `/applications/private-deploy-key`); returns its uuid.
    pub fn create_private_key(&self, name: &str) -> String {
        let mut d = self.data();
        let id = d.next_id();
        let uuid = new_uuid();
        d.private_keys.push(PrivateKey {
            id,
            uuid: uuid.clone(),
            name: name.to_string(),
            description: None,
            private_key: None,
            public_key: None,
            fingerprint: None,
            team_id: ROOT_TEAM,
            created: SystemTime::now(),
        });
        uuid
    }

    /// The private keys of the instance team: (uuid, name, public key line), oldest
    /// first.
    pub fn private_keys(&self) -> Vec<(String, String, Option<String>)> {
        self.data()
            .private_keys
            .iter()
            .filter(|k| k.team_id == ROOT_TEAM)
            .map(|k| (k.uuid.clone(), k.name.clone(), k.public_key.clone()))
            .collect()
    }

    /// Add a server of the instance team (its own destination, proxy on); returns its
    /// uuid. Coolify then has more than one server to create resources on.
    pub fn add_server(&self, name: &str) -> String {
        let mut d = self.data();
        let id = d.next_id();
        let destination_id = d.next_id();
        let uuid = new_uuid();
        d.servers.push(Server {
            id,
            uuid: uuid.clone(),
            name: name.to_string(),
            description: None,
            ip: format!("10.0.0.{}", id % 250 + 1),
            user: "root".into(),
            port: 22,
            team_id: ROOT_TEAM,
            proxy_on: true,
            build_server: false,
            destination_id,
            destination_uuid: new_uuid(),
            created: SystemTime::now(),
        });
        uuid
    }

    /// Create a nixpacks application on localhost in environment `env_name` of a
    /// project, as `POST /applications/public` would (sslip domain, `exited` status);
    /// returns its uuid. Panics on an unknown project or environment.
    pub fn create_application(
        &self,
        project_uuid: &str,
        env_name: &str,
        name: &str,
        git_repository: &str,
    ) -> String {
        let server = self.localhost();
        let mut d = self.data();
        let env = d
            .project_by_uuid(ROOT_TEAM, project_uuid)
            .and_then(|p| d.environment_in(p.id, Some(env_name), None))
            .map(|e| e.id);
        let Some(env) = env else {
            drop(d);
            panic!(
                "coolify sandbox control create_application: no environment {env_name} in project {project_uuid}"
            );
        };
        let id = d.next_id();
        let uuid = new_uuid();
        let mut row = new_row(&uuid, env, server.destination_id);
        row.insert("name".into(), json!(name));
        row.insert("git_repository".into(), json!(git_repository));
        row.insert("ports_exposes".into(), json!("3000"));
        row.insert("fqdn".into(), json!(sslip_url(&server, &uuid)));
        d.apps.push(App {
            id,
            uuid: uuid.clone(),
            environment_id: env,
            server_id: server.id,
            row,
            settings: new_settings(),
            tags: Vec::new(),
            runtime_logs: None,
            outcome: DeployOutcome::Finish,
        });
        uuid
    }

    fn with_app<T>(&self, uuid: &str, what: &str, f: impl FnOnce(&mut App) -> T) -> T {
        let mut d = self.data();
        match d.apps.iter_mut().find(|a| a.uuid == uuid) {
            Some(app) => f(app),
            None => {
                drop(d);
                panic!("coolify sandbox control {what}: no application {uuid}");
            }
        }
    }

    /// Set an application's status (`running:healthy`, `exited:unhealthy`, …; a bare
    /// `running` reads as `running:unhealthy`, as Coolify's mutator stores it).
    pub fn set_app_status(&self, uuid: &str, status: &str) {
        let status = normalize_status(status);
        self.with_app(uuid, "set_app_status", |app| {
            app.row.insert("status".into(), json!(status));
        });
    }

    /// Set the runtime log text `GET /applications/{uuid}/logs` tails.
    pub fn set_app_logs(&self, uuid: &str, logs: &str) {
        self.with_app(uuid, "set_app_logs", |app| {
            app.runtime_logs = Some(logs.to_string());
        });
    }

    /// How the application's next deployments end (each takes the outcome set when it
    /// is queued).
    pub fn set_deploy_outcome(&self, app_uuid: &str, outcome: DeployOutcome) {
        self.with_app(app_uuid, "set_deploy_outcome", |app| app.outcome = outcome);
    }

    /// How long new deployments stay `queued`, then `in_progress` (default 150 ms /
    /// 300 ms).
    pub fn set_deploy_timing(&self, queued: Duration, in_progress: Duration) {
        let mut d = self.data();
        d.queued_for = queued;
        d.in_progress_for = in_progress;
    }

    /// The stored application row (every column, secrets included, plus `settings`
    /// and `tags`), or `None` when unknown or deleted.
    pub fn application(&self, uuid: &str) -> Option<Value> {
        let d = self.data();
        let app = d.apps.iter().find(|a| a.uuid == uuid)?;
        let mut row = app.row.clone();
        row.insert("settings".into(), Value::Object(app.settings.clone()));
        row.insert("tags".into(), json!(app.tags));
        Some(Value::Object(row))
    }

    /// The stored database row (passwords included), or `None`.
    pub fn database(&self, uuid: &str) -> Option<Value> {
        let d = self.data();
        let db = d.databases.iter().find(|x| x.uuid == uuid)?;
        let mut row = db.row.clone();
        row.insert("database_type".into(), json!(db.kind.type_name()));
        Some(Value::Object(row))
    }

    /// The stored service row with its `applications` and `databases`, or `None`.
    pub fn service(&self, uuid: &str) -> Option<Value> {
        let d = self.data();
        let s = d.services.iter().find(|x| x.uuid == uuid)?;
        let mut row = s.row.clone();
        row.insert("applications".into(), json!(s.applications));
        row.insert("databases".into(), json!(s.databases));
        Some(Value::Object(row))
    }

    /// Every delete received, oldest first: (`application`|`database`|`service`, uuid,
    /// the four cleanup flags as resolved, absent ones true).
    pub fn deleted(&self) -> Vec<(String, String, Value)> {
        self.data().deleted.clone()
    }

    /// Seed the localhost server (id 0, proxy on) and the root token; returns the token.
    pub(crate) fn seed(&self) -> String {
        let mut d = self.data();
        d.servers.push(Server {
            id: 0,
            uuid: new_uuid(),
            name: "localhost".into(),
            description: Some(
                "This is the server where Coolify is running on. Don't delete this!".into(),
            ),
            ip: "host.docker.internal".into(),
            user: "root".into(),
            port: 22,
            team_id: ROOT_TEAM,
            proxy_on: true,
            build_server: false,
            destination_id: 0,
            destination_uuid: new_uuid(),
            created: SystemTime::now(),
        });
        d.insert_token(ROOT_TEAM, &["root"])
    }
}

/// The Application status mutator: `running (healthy)` and `running:healthy` both
/// store `running:healthy`; a bare status gets `:unhealthy`.
fn normalize_status(s: &str) -> String {
    let (status, health) = if let Some((a, b)) = s.split_once('(') {
        (a.trim(), b.trim_end_matches(')').trim())
    } else if let Some((a, b)) = s.split_once(':') {
        (a.trim(), b.trim())
    } else {
        (s.trim(), "unhealthy")
    };
    let health = if health.is_empty() {
        "unhealthy"
    } else {
        health
    };
    format!("{status}:{health}")
}

#[cfg(test)]
mod tests {
    use super::normalize_status;

    #[test]
    fn statuses_are_stored_as_coolify_mutates_them() {
        assert_eq!(normalize_status("running"), "running:unhealthy");
        assert_eq!(normalize_status("running:healthy"), "running:healthy");
        assert_eq!(normalize_status("running (healthy)"), "running:healthy");
        assert_eq!(normalize_status("exited"), "exited:unhealthy");
    }
}

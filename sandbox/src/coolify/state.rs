//! The Coolify sandbox's in-memory data (teams' tokens, servers, projects and their
//! environments, private keys, applications, environment variables, deployments,
//! databases, services) and the lookups every handler shares, behind the
//! [`CoolifyState`] mutex (the request log and faults are in observe.rs). Resources
//! keep their serialisable columns in a JSON row so that PATCH can fill whitelisted
//! fields like Eloquent's `fill()`. No HTTP here.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;
use serde_json::{Map, Value};

use super::databases::DbKind;
use super::deployment::Deployment;
use super::observe::RecordedRequest;
use crate::faults::Observer;
use crate::relock;

/// The instance-admin team (id 0) that owns the seeded localhost server.
pub(crate) const ROOT_TEAM: i64 = 0;

/// What a deployment of an application ends with (see `set_deploy_outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeployOutcome {
    /// `finished`; the application becomes `running:healthy`.
    #[default]
    Finish,
    /// `failed`, with error lines in the deployment log.
    Fail,
}

/// A Sanctum personal access token (`<id>|<secret>`), bound to one team.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub id: i64,
    pub secret: String,
    pub abilities: Vec<String>,
    pub team_id: i64,
}

impl Token {
    /// `tokenCan`: root bypasses everything.
    pub(crate) fn can(&self, ability: &str) -> bool {
        self.abilities
            .iter()
            .any(|a| a == "root" || a == "*" || a == ability)
    }
}

impl Server {
    /// Coolify's `isProxyShouldRun()`: a proxy type other than NONE, not a build server.
    pub fn proxy_should_run(&self) -> bool {
        self.proxy_on && !self.build_server
    }
}

/// A server with its single standalone-docker destination.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub ip: String,
    pub user: String,
    pub port: i64,
    pub team_id: i64,
    /// The proxy type is not NONE.
    pub proxy_on: bool,
    /// `settings.is_build_server`: builds for other servers, runs no proxy.
    pub build_server: bool,
    pub destination_id: i64,
    pub destination_uuid: String,
    pub created: SystemTime,
}

#[derive(Debug, Clone)]
pub(crate) struct Project {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub team_id: i64,
    pub created: SystemTime,
    pub updated: SystemTime,
}

#[derive(Debug, Clone)]
pub(crate) struct Environment {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub project_id: i64,
    pub created: SystemTime,
    pub updated: SystemTime,
}

/// A private key (`PrivateKey` model). `private_key` is `None` for keys seeded without
/// material by the test control; the API then shows `public_key` as Coolify does for a
/// key it cannot load.
#[derive(Debug, Clone)]
pub(crate) struct PrivateKey {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub private_key: Option<String>,
    pub public_key: Option<String>,
    pub fingerprint: Option<String>,
    pub team_id: i64,
    pub created: SystemTime,
}

/// An application: its columns in `row` (uuid, name, fqdn, status, …) and its
/// ApplicationSetting in `settings`.
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub id: i64,
    pub uuid: String,
    pub environment_id: i64,
    pub server_id: i64,
    pub row: Map<String, Value>,
    pub settings: Map<String, Value>,
    pub tags: Vec<String>,
    /// Runtime log text (`set_app_logs`); a default is written on the first finish.
    pub runtime_logs: Option<String>,
    pub outcome: DeployOutcome,
}

impl App {
    pub(crate) fn name(&self) -> String {
        self.row
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    pub(crate) fn status(&self) -> String {
        self.row
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("exited:unhealthy")
            .to_string()
    }

    pub(crate) fn str_col(&self, key: &str) -> Option<String> {
        self.row
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

/// An application's environment variable row.
#[derive(Debug, Clone)]
pub(crate) struct EnvVar {
    pub id: i64,
    pub uuid: String,
    pub app_id: i64,
    pub key: String,
    pub value: Option<String>,
    pub is_preview: bool,
    pub is_literal: bool,
    pub is_multiline: bool,
    pub is_shown_once: bool,
    pub is_runtime: bool,
    pub is_buildtime: bool,
    pub comment: Option<String>,
    pub created: SystemTime,
    pub updated: SystemTime,
}

/// A standalone database.
#[derive(Debug, Clone)]
pub(crate) struct Database {
    pub id: i64,
    pub uuid: String,
    pub kind: DbKind,
    pub environment_id: i64,
    pub server_id: i64,
    pub row: Map<String, Value>,
}

/// A one-click service with its sub-applications and sub-databases (rows).
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub uuid: String,
    pub environment_id: i64,
    pub server_id: i64,
    pub row: Map<String, Value>,
    pub applications: Vec<Map<String, Value>>,
    pub databases: Vec<Map<String, Value>>,
    pub tags: Vec<String>,
}

/// A delete the sandbox received: kind (`application`, `database`, `service`), uuid
/// and the four cleanup flags as Coolify resolved them.
pub(crate) type DeletedResource = (String, String, Value);

/// Everything the sandbox knows, behind one mutex.
#[derive(Debug)]
pub(crate) struct Data {
    seq: i64,
    pub tokens: Vec<Token>,
    pub servers: Vec<Server>,
    pub projects: Vec<Project>,
    pub environments: Vec<Environment>,
    pub private_keys: Vec<PrivateKey>,
    pub apps: Vec<App>,
    pub envs: Vec<EnvVar>,
    pub deployments: Vec<Deployment>,
    pub databases: Vec<Database>,
    pub services: Vec<Service>,
    pub deleted: Vec<DeletedResource>,
    /// How long new deployments stay queued, then in progress.
    pub queued_for: Duration,
    pub in_progress_for: Duration,
}

impl Default for Data {
    fn default() -> Self {
        Data {
            seq: 0,
            tokens: Vec::new(),
            servers: Vec::new(),
            projects: Vec::new(),
            environments: Vec::new(),
            private_keys: Vec::new(),
            apps: Vec::new(),
            envs: Vec::new(),
            deployments: Vec::new(),
            databases: Vec::new(),
            services: Vec::new(),
            deleted: Vec::new(),
            queued_for: Duration::from_millis(150),
            in_progress_for: Duration::from_millis(300),
        }
    }
}

/// `new_public_id()`: 24 characters of `[a-z0-9]`.
pub(crate) fn new_uuid() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..24)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// A random secret of `len` alphanumerics.
pub(crate) fn random_secret(len: usize) -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

impl Data {
    /// The next id (one sequence for every table; ids only need to be unique).
    pub(crate) fn next_id(&mut self) -> i64 {
        self.seq += 1;
        self.seq
    }

    pub(crate) fn server(&self, id: i64) -> Option<&Server> {
        self.servers.iter().find(|s| s.id == id)
    }

    pub(crate) fn server_by_uuid(&self, team: i64, uuid: &str) -> Option<&Server> {
        self.servers
            .iter()
            .find(|s| s.team_id == team && s.uuid == uuid)
    }

    pub(crate) fn project(&self, id: i64) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }

    pub(crate) fn project_by_uuid(&self, team: i64, uuid: &str) -> Option<&Project> {
        self.projects
            .iter()
            .find(|p| p.team_id == team && p.uuid == uuid)
    }

    pub(crate) fn environment(&self, id: i64) -> Option<&Environment> {
        self.environments.iter().find(|e| e.id == id)
    }

    /// An environment of `project_id` by name first, then by uuid (as the controllers
    /// and `environment_details` look it up).
    pub(crate) fn environment_in(
        &self,
        project_id: i64,
        name: Option<&str>,
        uuid: Option<&str>,
    ) -> Option<&Environment> {
        let of_project = || {
            self.environments
                .iter()
                .filter(move |e| e.project_id == project_id)
        };
        name.and_then(|n| of_project().find(|e| e.name == n))
            .or_else(|| uuid.and_then(|u| of_project().find(|e| e.uuid == u)))
    }

    /// The team owning an environment (through its project).
    pub(crate) fn env_team(&self, environment_id: i64) -> Option<i64> {
        let env = self.environment(environment_id)?;
        self.project(env.project_id).map(|p| p.team_id)
    }

    /// Applications of `team`, sorted by name (`ownedByCurrentTeamAPI`).
    pub(crate) fn team_apps(&self, team: i64) -> Vec<&App> {
        let mut apps: Vec<&App> = self
            .apps
            .iter()
            .filter(|a| self.env_team(a.environment_id) == Some(team))
            .collect();
        apps.sort_by_key(|a| a.name());
        apps
    }

    pub(crate) fn app_index(&self, team: i64, uuid: &str) -> Option<usize> {
        self.apps
            .iter()
            .position(|a| a.uuid == uuid && self.env_team(a.environment_id) == Some(team))
    }

    pub(crate) fn app_by_id(&self, id: i64) -> Option<&App> {
        self.apps.iter().find(|a| a.id == id)
    }

    pub(crate) fn database_index(&self, team: i64, uuid: &str) -> Option<usize> {
        self.databases
            .iter()
            .position(|d| d.uuid == uuid && self.env_team(d.environment_id) == Some(team))
    }

    pub(crate) fn service_index(&self, team: i64, uuid: &str) -> Option<usize> {
        self.services
            .iter()
            .position(|s| s.uuid == uuid && self.env_team(s.environment_id) == Some(team))
    }

    /// Find a token from the bearer text: `<id>|<secret>`, or a bare secret.
    pub(crate) fn token(&self, bearer: &str) -> Option<&Token> {
        match bearer.split_once('|') {
            Some((id, secret)) => {
                let id: i64 = id.parse().ok()?;
                self.tokens
                    .iter()
                    .find(|t| t.id == id && t.secret == secret)
            }
            None => self.tokens.iter().find(|t| t.secret == bearer),
        }
    }

    /// Mint a token for `team`; returns its `<id>|<secret>` text.
    pub(crate) fn insert_token(&mut self, team: i64, abilities: &[&str]) -> String {
        let id = self.next_id();
        let secret = random_secret(40);
        self.tokens.push(Token {
            id,
            secret: secret.clone(),
            abilities: abilities.iter().map(|a| a.to_string()).collect(),
            team_id: team,
        });
        format!("{id}|{secret}")
    }

    /// Create a project with its `production` environment (`Project::booted`).
    pub(crate) fn insert_project(
        &mut self,
        team: i64,
        name: &str,
        description: Option<String>,
    ) -> (String, i64) {
        let now = SystemTime::now();
        let id = self.next_id();
        let uuid = new_uuid();
        self.projects.push(Project {
            id,
            uuid: uuid.clone(),
            name: name.to_string(),
            description,
            team_id: team,
            created: now,
            updated: now,
        });
        let env_id = self.insert_environment(id, "production");
        (uuid, env_id)
    }

    /// Create an environment in a project; returns its id.
    pub(crate) fn insert_environment(&mut self, project_id: i64, name: &str) -> i64 {
        let now = SystemTime::now();
        let id = self.next_id();
        self.environments.push(Environment {
            id,
            uuid: new_uuid(),
            name: name.to_string(),
            description: None,
            project_id,
            created: now,
            updated: now,
        });
        id
    }

    /// Bring deployments and the applications they touch up to `now` (statuses are
    /// computed from timestamps; this applies their side effects once).
    pub(crate) fn settle(&mut self, now: Instant) {
        let mut done: Vec<(i64, DeployOutcome)> = Vec::new();
        for dep in self.deployments.iter_mut() {
            if !dep.applied && dep.cancelled_at.is_none() && now >= dep.end_at {
                dep.applied = true;
                done.push((dep.app_id, dep.outcome));
            }
        }
        for (app_id, outcome) in done {
            if let Some(app) = self.apps.iter_mut().find(|a| a.id == app_id) {
                match outcome {
                    DeployOutcome::Finish => {
                        app.row
                            .insert("status".into(), Value::String("running:healthy".into()));
                        if app.runtime_logs.is_none() {
                            app.runtime_logs = Some(default_runtime_logs(&app.name()));
                        }
                    }
                    DeployOutcome::Fail => {
                        if !app.status().starts_with("running") {
                            app.row
                                .insert("status".into(), Value::String("exited:unhealthy".into()));
                        }
                    }
                }
                app.row.insert(
                    "last_online_at".into(),
                    Value::String(super::http::fmt_time(SystemTime::now())),
                );
            }
        }
    }
}

/// What an application "prints" once its first deployment finished.
fn default_runtime_logs(name: &str) -> String {
    format!(
        "> {name}@1.0.0 start\n> node server.js\n\nServer listening on http://0.0.0.0:3000\nGET / 200 3.1 ms\nGET /health 200 0.4 ms\n"
    )
}

/// The whole sandbox state: data, request log and faults. Shared by the server and the
/// test that started it; test controls are plain methods (see `controls.rs`).
#[derive(Debug)]
pub struct CoolifyState {
    pub(crate) base_url: String,
    data: Mutex<Data>,
    /// The request log and injected faults.
    pub(crate) observer: Observer<RecordedRequest>,
}

impl CoolifyState {
    pub(crate) fn new(base_url: String) -> CoolifyState {
        CoolifyState {
            base_url,
            data: Mutex::new(Data::default()),
            // Fault prefixes match below `/api/v1` too.
            observer: Observer::below("/api/v1"),
        }
    }

    /// The data, locked and settled up to now. Never hold the guard across an `.await`.
    pub(crate) fn data(&self) -> MutexGuard<'_, Data> {
        let mut d = relock(&self.data);
        d.settle(Instant::now());
        d
    }

    /// `http://127.0.0.1:PORT` (no `/api/v1`).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }
}

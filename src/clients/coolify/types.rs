//! Coolify's JSON shapes (the subset vibn reads), tolerant of missing fields: sensitive
//! fields are absent without the `read:sensitive` ability, so they are all `Option`.

use serde::{Deserialize, Serialize};

/// A project with its environments.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Project {
    /// Integer id.
    pub id: Option<i64>,
    /// Uuid (not RFC 4122: 24 lowercase alphanumerics, older ones shorter).
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Environments (only in `GET /projects/{uuid}`).
    pub environments: Vec<Environment>,
}

/// An environment of a project; its integer `id` is what resources carry as
/// `environment_id`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct Environment {
    /// Integer id (the join key to `environment_id`).
    pub id: i64,
    /// Uuid.
    pub uuid: String,
    /// Name (`production` is created with every project).
    pub name: String,
}

/// An application.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Application {
    /// Uuid.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Comma-separated URLs.
    pub fqdn: Option<String>,
    /// Git repository.
    pub git_repository: Option<String>,
    /// Git branch.
    pub git_branch: Option<String>,
    /// Build pack.
    pub build_pack: Option<String>,
    /// Exposed ports, comma-separated.
    pub ports_exposes: Option<String>,
    /// `running:healthy`, `exited:unhealthy`, …
    pub status: Option<String>,
    /// The environment it belongs to (integer id).
    pub environment_id: Option<i64>,
    /// The project it belongs to, when Coolify says explicitly.
    pub project_uuid: Option<String>,
}

/// One deployment (logs are a JSON document inside a string).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Deployment {
    /// Deployment uuid.
    pub deployment_uuid: String,
    /// The application's name.
    pub application_name: Option<String>,
    /// The application's id.
    pub application_id: Option<serde_json::Value>,
    /// `queued`, `in_progress`, `finished`, `failed` or `cancelled-by-user`.
    pub status: String,
    /// Commit sha.
    pub commit: Option<String>,
    /// Commit message.
    pub commit_message: Option<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last change.
    pub updated_at: Option<String>,
    /// JSON-encoded list of log entries (only with `read:sensitive`).
    pub logs: Option<String>,
}

impl Deployment {
    /// True once the deployment can no longer change.
    pub fn is_final(&self) -> bool {
        matches!(
            self.status.as_str(),
            "finished" | "failed" | "cancelled-by-user" | "cancelled"
        )
    }

    /// The log entries, parsed from the JSON-in-a-string field; hidden (internal)
    /// entries dropped.
    pub fn log_lines(&self) -> Vec<LogLine> {
        let Some(raw) = self.logs.as_deref().filter(|l| !l.trim().is_empty()) else {
            return Vec::new();
        };
        let entries: Vec<LogLine> = serde_json::from_str(raw).unwrap_or_default();
        entries.into_iter().filter(|e| !e.hidden).collect()
    }
}

/// One entry of a deployment log.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct LogLine {
    /// The command that produced it, if any.
    pub command: Option<String>,
    /// The text.
    pub output: String,
    /// `stdout` or `stderr`.
    #[serde(rename = "type")]
    pub stream: Option<String>,
    /// Time stamp.
    pub timestamp: Option<String>,
    /// Internal entry the UI hides.
    pub hidden: bool,
}

/// `GET /deployments/applications/{uuid}`: a count and a page, newest first.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct DeploymentPage {
    /// Total deployments of the application.
    pub count: u64,
    /// This page.
    pub deployments: Vec<Deployment>,
}

/// An environment variable of an application.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct EnvVar {
    /// Uuid (delete takes it).
    pub uuid: String,
    /// Key.
    pub key: String,
    /// Value (absent without `read:sensitive`, never shown for shown-once vars).
    pub value: Option<String>,
    /// The preview twin.
    pub is_preview: bool,
    /// Available at build time.
    pub is_buildtime: Option<bool>,
    /// Available at run time.
    pub is_runtime: Option<bool>,
    /// Not interpolated.
    pub is_literal: bool,
    /// Multi-line value.
    pub is_multiline: bool,
    /// Value shown once, then hidden.
    pub is_shown_once: bool,
}

/// The full set of fields a variable is written with (Coolify resets omitted ones).
#[derive(Debug, Clone, Serialize)]
pub struct EnvVarWrite {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
    /// The preview twin.
    pub is_preview: bool,
    /// Available at build time.
    pub is_buildtime: bool,
    /// Available at run time.
    pub is_runtime: bool,
    /// Not interpolated.
    pub is_literal: bool,
    /// Multi-line value.
    pub is_multiline: bool,
    /// Value shown once.
    pub is_shown_once: bool,
}

/// A standalone database.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Database {
    /// Uuid.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// `standalone-postgresql`, …
    pub database_type: Option<String>,
    /// Image.
    pub image: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Publicly reachable.
    pub is_public: Option<bool>,
    /// Public port.
    pub public_port: Option<u16>,
    /// The environment it belongs to.
    pub environment_id: Option<i64>,
    /// Connection URL inside the Docker network (only with `read:sensitive`).
    pub internal_db_url: Option<String>,
    /// Public connection URL (only with `read:sensitive`).
    pub external_db_url: Option<String>,
}

/// A service (one-click or compose).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Service {
    /// Uuid.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The template key it was created from.
    pub service_type: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// The environment it belongs to.
    pub environment_id: Option<i64>,
}

/// A server.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Server {
    /// Uuid.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Address.
    pub ip: Option<String>,
    /// Reachable.
    pub is_reachable: Option<bool>,
    /// Usable.
    pub is_usable: Option<bool>,
}

/// What a create answers: the new uuid and, depending on the kind, domains or URLs.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Created {
    /// The new resource's uuid.
    pub uuid: String,
    /// Domains (applications, services).
    pub domains: Option<serde_json::Value>,
    /// Internal connection URL (databases).
    pub internal_db_url: Option<String>,
    /// Public connection URL (public databases).
    pub external_db_url: Option<String>,
}

/// The answer to a lifecycle call or a deploy.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Queued {
    /// Coolify's message.
    pub message: Option<serde_json::Value>,
    /// The deployment started, when there is one.
    pub deployment_uuid: Option<String>,
}

/// The eight database kinds Coolify can create.
pub const DATABASE_TYPES: [&str; 8] = [
    "postgresql",
    "mysql",
    "mariadb",
    "mongodb",
    "redis",
    "keydb",
    "dragonfly",
    "clickhouse",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_logs_are_parsed_from_the_json_string_and_hidden_lines_dropped() {
        let d = Deployment {
            status: "finished".into(),
            logs: Some(r#"[{"command":null,"output":"Building","type":"stdout","hidden":false},{"command":"docker ps","output":"x","type":"stdout","hidden":true}]"#.into()),
            ..Default::default()
        };
        let lines = d.log_lines();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].output, "Building");
        assert!(d.is_final());
        assert!(
            Deployment {
                logs: Some("not json".into()),
                ..Default::default()
            }
            .log_lines()
            .is_empty()
        );
    }

    #[test]
    fn absent_sensitive_fields_decode_as_none() {
        let e: EnvVar = serde_json::from_str(r#"{"uuid":"u","key":"A"}"#).unwrap();
        assert_eq!(e.value, None);
        let db: Database =
            serde_json::from_str(r#"{"uuid":"d","name":"db","public_port":null}"#).unwrap();
        assert_eq!(db.internal_db_url, None);
    }
}

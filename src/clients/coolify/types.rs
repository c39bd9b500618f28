//! Coolify's JSON shapes (the subset vibn reads), tolerant of missing and `null` fields
//! (`http::decode`): sensitive fields are absent without the `read:sensitive` ability, so
//! they are all `Option`. Integers are `i64` (the spec's plain `integer`); enumerations
//! such as `build_pack` stay strings so a value a newer release adds is kept.

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
    /// Integer id (the join key to `environment_id`); `None` when absent, so a missing id
    /// can never read as 0 and claim the resources of environment 0.
    pub id: Option<i64>,
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
    /// Git commit (`HEAD` for the branch's newest).
    pub git_commit_sha: Option<String>,
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
    /// Folder of the repository the build starts in.
    pub base_directory: Option<String>,
    /// Folder served by static builds.
    pub publish_directory: Option<String>,
    /// The Dockerfile (dockerfile build pack).
    pub dockerfile_location: Option<String>,
    /// The compose file (dockercompose build pack).
    pub docker_compose_location: Option<String>,
    /// Install command override.
    pub install_command: Option<String>,
    /// Build command override.
    pub build_command: Option<String>,
    /// Start command override.
    pub start_command: Option<String>,
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
    /// Public port (the spec's plain integer, so read as `i64`).
    pub public_port: Option<i64>,
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
    /// The proxy's state as Coolify keeps it (`{"type": "TRAEFIK"|"CADDY"|"NONE", …}`).
    pub proxy: Option<ServerProxy>,
    /// The proxy type, where Coolify states it on its own (`traefik|caddy|none`).
    pub proxy_type: Option<String>,
    /// The server's settings.
    pub settings: Option<ServerSettings>,
}

impl Server {
    /// The proxy type, upper-cased (`TRAEFIK`, `CADDY`, `NONE`), when Coolify says.
    pub fn proxy_kind(&self) -> Option<String> {
        self.proxy
            .as_ref()
            .and_then(|p| p.kind.clone())
            .or_else(|| self.proxy_type.clone())
            .map(|k| k.trim().to_ascii_uppercase())
            .filter(|k| !k.is_empty())
    }

    /// True when Coolify says this is a build server (it serves no domains).
    pub fn is_build_server(&self) -> bool {
        self.settings
            .as_ref()
            .and_then(|s| s.is_build_server)
            .unwrap_or(false)
    }
}

/// A server's proxy as Coolify keeps it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ServerProxy {
    /// `TRAEFIK`, `CADDY` or `NONE`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `running`, `exited`, …
    pub status: Option<String>,
}

/// The settings of a server vibn reads.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ServerSettings {
    /// A build server builds images for others and runs no proxy.
    pub is_build_server: Option<bool>,
}

/// A private key as listed (its key material is not part of it: vibn never reads it).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PrivateKeyInfo {
    /// Uuid.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The public half as an OpenSSH line (Coolify derives it from the private key).
    pub public_key: Option<String>,
    /// `SHA256:` fingerprint.
    pub fingerprint: Option<String>,
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
    fn absent_sensitive_fields_decode_as_none() {
        let e: EnvVar = serde_json::from_str(r#"{"uuid":"u","key":"A"}"#).unwrap();
        assert_eq!(e.value, None);
        let db: Database =
            serde_json::from_str(r#"{"uuid":"d","name":"db","public_port":null}"#).unwrap();
        assert_eq!(db.internal_db_url, None);
    }
}

//! Databases (seed 003 §3.4): `databases_list`, `databases_create` (exactly the eight
//! types, `policy::catalog`; credentials and limits through `policy::patch`),
//! `databases_get` (with the internal connection URL, which the agent needs to wire
//! `DATABASE_URL`), `databases_update` (allowlisted fields), `databases_delete` (confirm
//! by exact name, volumes kept unless asked). Coolify names are `<slug>-<name>`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::apps::{DeletedOut, Volumes, message_of};
use super::{ControlPlaneApi, Kind, Tenant};
use crate::api::caller::Caller;
use crate::api::de;
use crate::clients::coolify::Database;
use crate::error::ApiError;
use crate::policy::{catalog, confirm, domain, patch, tenant};

/// A database, trimmed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DatabaseSummary {
    /// Uuid (also its host name on the Docker network).
    pub uuid: String,
    /// Its exact name in Coolify (`<workspace>-<name>`): what a delete's `confirm` must be.
    pub name: String,
    /// postgresql, mysql, mariadb, mongodb, redis, keydb, dragonfly or clickhouse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Reachable from outside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_public: Option<bool>,
    /// The public port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_port: Option<i64>,
}

/// A database in full.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DatabaseDetail {
    /// The summary.
    #[serde(flatten)]
    pub database: DatabaseSummary,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Connection URL inside the workspace's Docker network (credentials included): set
    /// it as an app's DATABASE_URL with apps_envs_upsert.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_url: Option<String>,
    /// Public connection URL, when public.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_url: Option<String>,
}

/// Parameters of `databases_list` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DatabasesListParams {}

/// The workspace's databases.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DatabasesListOut {
    /// Databases, by name.
    pub databases: Vec<DatabaseSummary>,
}

/// Parameters of the tools that take one database.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DatabaseRef {
    /// The database's uuid (from databases_list).
    pub uuid: String,
}

/// Parameters of `databases_create`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DatabasesCreateParams {
    /// postgresql, mysql, mariadb, mongodb, redis, keydb, dragonfly or clickhouse.
    pub r#type: String,
    /// Short name: a-z, 0-9, '-' (default: the type). Coolify's is `<workspace>-<name>`.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Reachable from outside (needs public_port; default false).
    #[serde(default, alias = "isPublic", deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub is_public: Option<bool>,
    /// The public port, 1024-65535.
    #[serde(default, alias = "publicPort", deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub public_port: Option<u64>,
    /// Image (e.g. postgres:17-alpine; default Coolify's).
    #[serde(default)]
    pub image: Option<String>,
    /// Credentials for the type (e.g. postgres_user, postgres_password, postgres_db);
    /// generated when left out.
    #[serde(default)]
    pub credentials: Option<Map<String, Value>>,
    /// Resource limits: limits_memory, limits_memory_swap, limits_memory_swappiness,
    /// limits_memory_reservation, limits_cpus, limits_cpuset, limits_cpu_shares.
    #[serde(default)]
    pub limits: Option<Map<String, Value>>,
    /// Start it at once (default true).
    #[serde(default, alias = "instantDeploy", deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub instant_deploy: Option<bool>,
}

/// Parameters of `databases_update`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DatabasesUpdateParams {
    /// The database's uuid.
    pub uuid: String,
    /// Fields to change: name, description, image, is_public, public_port,
    /// public_port_timeout and the limits_* fields.
    pub patch: Map<String, Value>,
}

/// The database after an update.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DatabasesUpdateOut {
    /// Fields sent.
    pub changed: Vec<String>,
    /// The database now (most changes need a restart to apply).
    pub database: DatabaseDetail,
}

/// Parameters of `databases_delete`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DatabasesDeleteParams {
    /// The database's uuid.
    pub uuid: String,
    /// The database's exact name as databases_get shows it (`<workspace>-<name>`).
    #[serde(default)]
    pub confirm: Option<String>,
    /// keep (default) or delete its volumes (its data).
    #[serde(default)]
    pub volumes: Volumes,
}

/// The type of a Coolify `database_type` (`standalone-postgresql` → `postgresql`).
fn type_of(database_type: Option<&str>) -> Option<String> {
    database_type.map(|t| t.strip_prefix("standalone-").unwrap_or(t).to_string())
}

fn summary(d: &Database) -> DatabaseSummary {
    DatabaseSummary {
        uuid: d.uuid.clone(),
        name: d.name.clone(),
        r#type: type_of(d.database_type.as_deref()),
        status: d.status.clone(),
        is_public: d.is_public,
        public_port: d.public_port,
    }
}

fn detail(d: Database) -> DatabaseDetail {
    DatabaseDetail {
        database: summary(&d),
        description: d.description,
        image: d.image,
        internal_url: d.internal_db_url,
        external_url: d.external_db_url,
    }
}

/// A field of a database create, checked by `rule`.
fn checked(field: &str, rule: patch::Rule, value: Value) -> Result<Value, ApiError> {
    patch::value_of(rule, &value)
        .map_err(|why| ApiError::bad_request(format!("invalid {field}: {why}")))
}

impl ControlPlaneApi {
    async fn workspace_databases(&self, t: &Tenant) -> Result<Vec<Database>, ApiError> {
        let (scope, dbs) = tokio::join!(self.list_scope(t), self.coolify()?.list_databases());
        let (scope, dbs) = (scope?, dbs?);
        let mut dbs: Vec<Database> = dbs
            .into_iter()
            .filter(|d| tenant::in_project(d.environment_id, None, &scope))
            .collect();
        dbs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(dbs)
    }

    /// The workspace's databases.
    pub async fn databases_list(
        &self,
        caller: &Caller,
        _p: DatabasesListParams,
    ) -> Result<DatabasesListOut, ApiError> {
        let t = self.tenant(caller).await?;
        let dbs = self.workspace_databases(&t).await?;
        Ok(DatabasesListOut {
            databases: dbs.iter().map(summary).collect(),
        })
    }

    /// Create a database of one of the eight types.
    pub async fn databases_create(
        &self,
        caller: &Caller,
        p: DatabasesCreateParams,
    ) -> Result<DatabaseDetail, ApiError> {
        super::limits::check(&p)?;
        let target = p.name.clone().unwrap_or_else(|| p.r#type.clone());
        let result = async {
            let kind = catalog::database_type(&p.r#type)?;
            let label = domain::app_label(p.name.as_deref().unwrap_or(kind))?;
            let mut fields = Map::new();
            if let Some(c) = &p.credentials {
                fields.extend(patch::database_credentials(kind, c)?);
            }
            if let Some(l) = &p.limits {
                fields.extend(patch::database_limits(l)?);
            }
            if let Some(d) = &p.description {
                fields.insert(
                    "description".into(),
                    checked("description", patch::Rule::Description, json!(d))?,
                );
            }
            if let Some(image) = &p.image {
                fields.insert(
                    "image".into(),
                    checked("image", patch::Rule::Image, json!(image))?,
                );
            }
            if let Some(port) = p.public_port {
                fields.insert(
                    "public_port".into(),
                    checked("public_port", patch::Rule::PublicPort, json!(port))?,
                );
            }
            let is_public = p.is_public.unwrap_or(false);
            if is_public && p.public_port.is_none() {
                return Err(ApiError::bad_request(
                    "is_public needs public_port (Coolify would silently keep it private)",
                )
                .with_hint("pass public_port, a port from 1024 to 65535"));
            }
            fields.insert("is_public".into(), json!(is_public));
            fields.insert(
                "instant_deploy".into(),
                json!(p.instant_deploy.unwrap_or(true)),
            );
            let t = self.tenant(caller).await?;
            let name = t.coolify_name(&label);
            fields.insert("name".into(), json!(name));
            let created = self
                .coolify()?
                .create_database(kind, t.target(), fields)
                .await?;
            if created.uuid.is_empty() {
                return Err(ApiError::upstream(
                    "Coolify created the database but answered without its uuid",
                )
                .with_hint("call databases_list to find it"));
            }
            let mut db = self.database(&t, &created.uuid).await?;
            // The create answer carries the URL even without read:sensitive.
            db.internal_db_url = db.internal_db_url.or(created.internal_db_url);
            db.external_db_url = db.external_db_url.or(created.external_db_url);
            Ok(detail(db))
        }
        .await;
        caller.audited(&target, result).await
    }

    /// One database with its internal connection URL.
    pub async fn databases_get(
        &self,
        caller: &Caller,
        p: DatabaseRef,
    ) -> Result<DatabaseDetail, ApiError> {
        super::limits::check(&p)?;
        let t = self.tenant(caller).await?;
        Ok(detail(self.database(&t, &p.uuid).await?))
    }

    /// Change allowlisted fields of a database.
    pub async fn databases_update(
        &self,
        caller: &Caller,
        p: DatabasesUpdateParams,
    ) -> Result<DatabasesUpdateOut, ApiError> {
        super::limits::check(&p)?;
        let result = async {
            let mut fields = patch::database_patch(&p.patch)?;
            let t = self.tenant(caller).await?;
            let db = self.database(&t, &p.uuid).await?;
            if let Some(label) = fields.get("name").and_then(Value::as_str) {
                let name = t.coolify_name(label);
                fields.insert("name".into(), json!(name));
            }
            let changed: Vec<String> = fields.keys().cloned().collect();
            self.coolify()?.update_database(&db.uuid, fields).await?;
            let after = self.database(&t, &db.uuid).await?;
            Ok(DatabasesUpdateOut {
                changed,
                database: detail(after),
            })
        }
        .await;
        caller.audited(p.uuid.trim(), result).await
    }

    /// Delete a database; `confirm` must be its exact name; volumes are kept unless
    /// `volumes` is delete.
    pub async fn databases_delete(
        &self,
        caller: &Caller,
        p: DatabasesDeleteParams,
    ) -> Result<DeletedOut, ApiError> {
        super::limits::check(&p)?;
        let result = async {
            let t = self.tenant(caller).await?;
            let db = self.database(&t, &p.uuid).await?;
            confirm::check(p.confirm.as_deref(), &db.name, Kind::Database.noun())?;
            let answer = self
                .coolify()?
                .delete_database(&db.uuid, p.volumes.cleanup())
                .await?;
            Ok(DeletedOut {
                uuid: db.uuid,
                name: db.name,
                volumes_kept: p.volumes == Volumes::Keep,
                message: message_of(&answer, "Database deletion request queued."),
            })
        }
        .await;
        caller.audited(p.uuid.trim(), result).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coolify_database_types_read_as_the_eight() {
        assert_eq!(
            type_of(Some("standalone-postgresql")).as_deref(),
            Some("postgresql")
        );
        assert_eq!(type_of(Some("redis")).as_deref(), Some("redis"));
        assert_eq!(type_of(None), None);
    }
}

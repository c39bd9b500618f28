//! `apps_envs_list`, `apps_envs_upsert`, `apps_envs_delete` (seed 003 §3.3, §7.3): keys
//! must match `^[A-Z_][A-Z0-9_]*$` (400 otherwise, before anything is sent);
//! `is_build_time` is accepted and ignored (Coolify derives build-vs-runtime itself);
//! values of shown-once variables are never listed. Coolify resets the flags a write
//! leaves out, so an update always sends the whole variable, keeping what was set.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ControlPlaneApi;
use crate::api::caller::Caller;
use crate::api::de;
use crate::clients::coolify::{EnvVar, EnvVarWrite};
use crate::error::ApiError;
use crate::policy::env_key;
use crate::redact::REDACTED;

/// One environment variable as listed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EnvOut {
    /// Key.
    pub key: String,
    /// Value; `[redacted]` for shown-once variables, absent when Coolify sent none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The preview-deployment twin (Coolify keeps one per production variable).
    pub is_preview: bool,
    /// Not interpolated.
    pub is_literal: bool,
    /// Multi-line value.
    pub is_multiline: bool,
    /// Shown once, then hidden.
    pub is_shown_once: bool,
}

/// An application's environment variables.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppEnvsOut {
    /// The application's uuid.
    pub uuid: String,
    /// Variables, by key (production first).
    pub envs: Vec<EnvOut>,
}

/// Parameters of `apps_envs_upsert`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppsEnvsUpsertParams {
    /// The application's uuid.
    pub uuid: String,
    /// The key: upper case letters, digits and _ (`DATABASE_URL`).
    pub key: String,
    /// The value.
    pub value: String,
    /// Set the preview-deployment variable instead of the production one (default false).
    #[serde(default, alias = "isPreview", deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub is_preview: Option<bool>,
    /// Multi-line value (default: kept, or true when the value has a line break).
    #[serde(default, alias = "isMultiline", deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub is_multiline: Option<bool>,
    /// Not interpolated (default: kept, else false).
    #[serde(default, alias = "isLiteral", deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub is_literal: Option<bool>,
    /// Show the value once, then hide it (default: kept, else false).
    #[serde(default, alias = "isShownOnce", deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub is_shown_once: Option<bool>,
    /// Ignored: Coolify derives build time from the Dockerfile's ARG lines.
    #[serde(default, alias = "isBuildTime", deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub is_build_time: Option<bool>,
}

/// A variable written.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EnvUpsertOut {
    /// The application's uuid.
    pub uuid: String,
    /// The key.
    pub key: String,
    /// True when it was new, false when an existing one was updated.
    pub created: bool,
    /// The preview variable was written.
    pub is_preview: bool,
    /// Takes effect on the next deploy; says when is_build_time was ignored.
    pub note: String,
}

/// Parameters of `apps_envs_delete`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppsEnvsDeleteParams {
    /// The application's uuid.
    pub uuid: String,
    /// The key.
    pub key: String,
}

/// A variable deleted.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EnvDeleteOut {
    /// The application's uuid.
    pub uuid: String,
    /// The key.
    pub key: String,
    /// Rows deleted (the production variable and its preview twin).
    pub deleted: u64,
}

fn env_out(e: EnvVar) -> EnvOut {
    EnvOut {
        value: if e.is_shown_once {
            Some(REDACTED.to_string())
        } else {
            e.value
        },
        key: e.key,
        is_preview: e.is_preview,
        is_literal: e.is_literal,
        is_multiline: e.is_multiline,
        is_shown_once: e.is_shown_once,
    }
}

impl ControlPlaneApi {
    /// An application's variables, shown-once values redacted.
    pub async fn apps_envs_list(
        &self,
        caller: &Caller,
        p: super::AppRef,
    ) -> Result<AppEnvsOut, ApiError> {
        super::limits::check(&p)?;
        let t = self.tenant(caller).await?;
        let app = self.app(&t, &p.uuid).await?;
        let mut envs: Vec<EnvVar> = self.coolify()?.list_envs(&app.uuid).await?;
        envs.sort_by(|a, b| (a.is_preview, &a.key).cmp(&(b.is_preview, &b.key)));
        Ok(AppEnvsOut {
            uuid: app.uuid,
            envs: envs.into_iter().map(env_out).collect(),
        })
    }

    /// Create or update one variable.
    pub async fn apps_envs_upsert(
        &self,
        caller: &Caller,
        p: AppsEnvsUpsertParams,
    ) -> Result<EnvUpsertOut, ApiError> {
        super::limits::check(&p)?;
        let result = async {
            env_key::check(&p.key)?;
            let t = self.tenant(caller).await?;
            let app = self.app(&t, &p.uuid).await?;
            let coolify = self.coolify()?;
            let is_preview = p.is_preview.unwrap_or(false);
            let existing = coolify
                .list_envs(&app.uuid)
                .await?
                .into_iter()
                .find(|e| e.key == p.key && e.is_preview == is_preview);
            let write = EnvVarWrite {
                key: p.key.clone(),
                value: p.value.clone(),
                is_preview,
                is_buildtime: existing
                    .as_ref()
                    .and_then(|e| e.is_buildtime)
                    .unwrap_or(true),
                is_runtime: existing.as_ref().and_then(|e| e.is_runtime).unwrap_or(true),
                is_literal: p
                    .is_literal
                    .or(existing.as_ref().map(|e| e.is_literal))
                    .unwrap_or(false),
                is_multiline: p
                    .is_multiline
                    .or(existing.as_ref().map(|e| e.is_multiline))
                    .unwrap_or(p.value.contains('\n')),
                is_shown_once: p
                    .is_shown_once
                    .or(existing.as_ref().map(|e| e.is_shown_once))
                    .unwrap_or(false),
            };
            match &existing {
                Some(_) => {
                    coolify.update_env(&app.uuid, &write).await?;
                }
                None => {
                    coolify.create_env(&app.uuid, &write).await?;
                }
            }
            Ok(EnvUpsertOut {
                uuid: app.uuid,
                key: p.key.clone(),
                created: existing.is_none(),
                is_preview,
                note: match p.is_build_time {
                    Some(_) => "takes effect on the next deploy (apps_deploy); is_build_time was \
                                ignored: Coolify derives it from the Dockerfile's ARG lines"
                        .to_string(),
                    None => "takes effect on the next deploy (apps_deploy)".to_string(),
                },
            })
        }
        .await;
        caller
            .audited(&format!("{} {}", p.uuid.trim(), p.key), result)
            .await
    }

    /// Delete a variable (and its preview twin).
    pub async fn apps_envs_delete(
        &self,
        caller: &Caller,
        p: AppsEnvsDeleteParams,
    ) -> Result<EnvDeleteOut, ApiError> {
        super::limits::check(&p)?;
        let result = async {
            env_key::check(&p.key)?;
            let t = self.tenant(caller).await?;
            let app = self.app(&t, &p.uuid).await?;
            let coolify = self.coolify()?;
            let rows: Vec<EnvVar> = coolify
                .list_envs(&app.uuid)
                .await?
                .into_iter()
                .filter(|e| e.key == p.key)
                .collect();
            if rows.is_empty() {
                return Err(ApiError::not_found(format!(
                    "application {} has no variable {}",
                    app.uuid, p.key
                ))
                .with_hint("call apps_envs_list to see its variables"));
            }
            for row in &rows {
                coolify.delete_env(&app.uuid, &row.uuid).await?;
            }
            Ok(EnvDeleteOut {
                uuid: app.uuid,
                key: p.key.clone(),
                deleted: rows.len() as u64,
            })
        }
        .await;
        caller
            .audited(&format!("{} {}", p.uuid.trim(), p.key), result)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_once_values_are_redacted_in_lists() {
        let secret = EnvVar {
            key: "TOKEN".into(),
            value: Some("s3cret".into()),
            is_shown_once: true,
            ..EnvVar::default()
        };
        assert_eq!(env_out(secret).value.as_deref(), Some(REDACTED));
        let plain = EnvVar {
            key: "PORT".into(),
            value: Some("3000".into()),
            ..EnvVar::default()
        };
        assert_eq!(env_out(plain).value.as_deref(), Some("3000"));
    }
}

//! Auth providers (seed 003 §3.5): one-click Coolify services from an allowlist only
//! (`policy::catalog::AUTH_PROVIDERS`, 400 naming the allowed ones otherwise).
//! `auth_list` shows the workspace's services that are allowlisted providers; `auth_delete`
//! deletes only those, by exact name, keeping their volumes (user data) unless asked.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::apps::{DeletedOut, Volumes, message_of};
use super::{ControlPlaneApi, Kind, hosts_of};
use crate::api::caller::Caller;
use crate::api::de;
use crate::clients::coolify::Service;
use crate::error::ApiError;
use crate::policy::{catalog, confirm, domain, patch, tenant};

/// An auth provider deployed in the workspace.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AuthProviderOut {
    /// The service's uuid.
    pub uuid: String,
    /// Its exact name in Coolify: what a delete's `confirm` must be.
    pub name: String,
    /// Which provider it is.
    pub provider: String,
    /// Status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Parameters of `auth_list` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct AuthListParams {}

/// The workspace's auth providers and the ones that can be created.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AuthListOut {
    /// Deployed providers, by name.
    pub providers: Vec<AuthProviderOut>,
    /// What auth_create accepts as provider.
    pub allowed: Vec<String>,
}

/// Parameters of `auth_create`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AuthCreateParams {
    /// pocketbase, authentik, keycloak, keycloak-with-postgres, pocket-id,
    /// pocket-id-with-postgresql, logto or supertokens-with-postgresql.
    pub provider: String,
    /// Short name: a-z, 0-9, '-' (default: the provider). Coolify's is
    /// `<workspace>-<name>`.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Start it at once (default true).
    #[serde(default, alias = "instantDeploy", deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub instant_deploy: Option<bool>,
}

/// The provider made.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AuthCreateOut {
    /// The provider.
    #[serde(flatten)]
    pub provider: AuthProviderOut,
    /// The domains Coolify gave its containers.
    pub domains: Vec<String>,
}

/// Parameters of `auth_delete`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AuthDeleteParams {
    /// The provider's uuid (from auth_list).
    pub uuid: String,
    /// Its exact name as auth_list shows it.
    #[serde(default)]
    pub confirm: Option<String>,
    /// keep (default) or delete its volumes (its users' data).
    #[serde(default)]
    pub volumes: Volumes,
}

/// Parameters of `auth_get`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AuthGetParams {
    /// The auth provider's uuid (from auth_list).
    pub uuid: String,
}

fn provider_out(s: &Service, provider: &str) -> AuthProviderOut {
    AuthProviderOut {
        uuid: s.uuid.clone(),
        name: s.name.clone(),
        provider: provider.to_string(),
        status: s.status.clone(),
    }
}

impl ControlPlaneApi {
    /// The workspace's auth providers, and the allowlist.
    pub async fn auth_list(
        &self,
        caller: &Caller,
        _p: AuthListParams,
    ) -> Result<AuthListOut, ApiError> {
        let t = self.tenant(caller).await?;
        let (scope, services) = tokio::join!(self.list_scope(&t), self.coolify()?.list_services());
        let (scope, services) = (scope?, services?);
        let mut providers: Vec<AuthProviderOut> = services
            .iter()
            .filter(|s| tenant::in_project(s.environment_id, None, &scope))
            .filter_map(|s| {
                let provider = catalog::auth_provider_of(s.service_type.as_deref()?)?;
                Some(provider_out(s, provider))
            })
            .collect();
        providers.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(AuthListOut {
            providers,
            allowed: catalog::AUTH_PROVIDERS
                .iter()
                .map(|p| p.to_string())
                .collect(),
        })
    }

    /// Deploy an allowlisted auth provider.
    pub async fn auth_create(
        &self,
        caller: &Caller,
        p: AuthCreateParams,
    ) -> Result<AuthCreateOut, ApiError> {
        super::limits::check(&p)?;
        let target = p.name.clone().unwrap_or_else(|| p.provider.clone());
        let result = async {
            let provider = catalog::auth_provider(&p.provider)?;
            let label = domain::app_label(p.name.as_deref().unwrap_or(provider))?;
            if let Some(d) = &p.description {
                patch::value_of(patch::Rule::Description, &serde_json::json!(d))
                    .map_err(|why| ApiError::bad_request(format!("invalid description: {why}")))?;
            }
            let t = self.tenant(caller).await?;
            let name = t.coolify_name(&label);
            let created = self
                .coolify()?
                .create_described_service(
                    provider,
                    t.target(),
                    Some(&name),
                    p.description.as_deref(),
                    p.instant_deploy.unwrap_or(true),
                )
                .await?;
            if created.uuid.is_empty() {
                return Err(ApiError::upstream(
                    "Coolify created the service but answered without its uuid",
                )
                .with_hint("call auth_list to find it"));
            }
            let service = self.service(&t, &created.uuid).await?;
            let domains = match &created.domains {
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str())
                    .flat_map(|s| hosts_of(Some(s)))
                    .collect(),
                Some(serde_json::Value::String(s)) => hosts_of(Some(s)),
                _ => Vec::new(),
            };
            Ok(AuthCreateOut {
                provider: provider_out(&service, provider),
                domains,
            })
        }
        .await;
        caller.audited(&target, result).await
    }

    /// One auth provider of the workspace (`GET …/auth/{uuid}`; 403 for another
    /// workspace's or a missing one, 404 for a service that is not an auth provider).
    pub async fn auth_get(
        &self,
        caller: &Caller,
        p: AuthGetParams,
    ) -> Result<AuthProviderOut, ApiError> {
        super::limits::check(&p)?;
        let t = self.tenant(caller).await?;
        let service = self.service(&t, &p.uuid).await?;
        let provider = service
            .service_type
            .as_deref()
            .and_then(catalog::auth_provider_of)
            .ok_or_else(|| {
                ApiError::not_found(format!("service {} is not an auth provider", service.uuid))
                    .with_hint("call auth_list to see this workspace's auth providers")
            })?;
        Ok(provider_out(&service, provider))
    }

    /// Delete an auth provider; `confirm` must be its exact name.
    pub async fn auth_delete(
        &self,
        caller: &Caller,
        p: AuthDeleteParams,
    ) -> Result<DeletedOut, ApiError> {
        super::limits::check(&p)?;
        let result = async {
            let t = self.tenant(caller).await?;
            let service = self.service(&t, &p.uuid).await?;
            if service
                .service_type
                .as_deref()
                .and_then(catalog::auth_provider_of)
                .is_none()
            {
                return Err(ApiError::not_found(format!(
                    "service {} is not an auth provider",
                    service.uuid
                ))
                .with_hint("call auth_list to see this workspace's auth providers"));
            }
            confirm::check(p.confirm.as_deref(), &service.name, Kind::Service.noun())?;
            let answer = self
                .coolify()?
                .delete_service(&service.uuid, p.volumes.cleanup())
                .await?;
            Ok(DeletedOut {
                uuid: service.uuid,
                name: service.name,
                volumes_kept: p.volumes == Volumes::Keep,
                message: message_of(&answer, "Service deletion request queued."),
            })
        }
        .await;
        caller.audited(p.uuid.trim(), result).await
    }
}

//! Configuration of the domain and storage providers (issue 15): OpenSRS for
//! registration, Google (Cloud DNS, IAM, Cloud Storage) for zones and buckets. Each is
//! optional: a missing one makes its tools answer 503 naming what to set, never stops
//! the server. A value that is set but unusable (an unknown `OPENSRS_ENV`, a DNS
//! provider vibn does not have) is a configuration error at start.

use std::path::PathBuf;

use secrecy::SecretString;

use super::{ConfigError, http_url, read_env};
use crate::env_vars as env_names;

/// The default bucket location: Montréal.
pub const DEFAULT_STORAGE_LOCATION: &str = "NORTHAMERICA-NORTHEAST1";

/// OpenSRS credentials and endpoint.
#[derive(Debug, Clone)]
pub struct OpenSrsSettings {
    /// The XCP endpoint.
    pub url: String,
    /// The reseller user.
    pub username: String,
    /// The reseller key.
    pub key: SecretString,
}

/// Google credentials and project.
#[derive(Debug, Clone)]
pub struct GoogleSettings {
    /// The service-account key file (read when first needed).
    pub key_file: PathBuf,
    /// The project.
    pub project: String,
    /// A replacement root URL for every API.
    pub api_base: Option<String>,
}

/// The providers the domain and storage tools use.
#[derive(Debug, Clone)]
pub struct ProvidersConfig {
    /// OpenSRS, when fully configured.
    pub opensrs: Option<OpenSrsSettings>,
    /// Google, when fully configured.
    pub google: Option<GoogleSettings>,
    /// Where buckets go.
    pub storage_location: String,
    /// `cloud_dns`.
    pub dns_provider: String,
}

impl ProvidersConfig {
    /// Resolve from the environment.
    pub fn resolve() -> Result<Self, ConfigError> {
        let get = |name: &str| {
            read_env(name)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let url = match get(env_names::OPENSRS_ENV).as_deref() {
            None | Some("test") => crate::clients::opensrs::TEST_URL.to_string(),
            Some("live") => crate::clients::opensrs::LIVE_URL.to_string(),
            Some(other) => http_url(env_names::OPENSRS_ENV, other)?,
        };
        let opensrs = match (
            get(env_names::OPENSRS_USERNAME),
            read_env(env_names::OPENSRS_KEY),
        ) {
            (Some(username), Some(key)) if !key.trim().is_empty() => Some(OpenSrsSettings {
                url,
                username,
                key: SecretString::from(key.trim().to_string()),
            }),
            _ => None,
        };
        let api_base = get(env_names::VIBN_GOOGLE_API_URL)
            .map(|u| http_url(env_names::VIBN_GOOGLE_API_URL, &u))
            .transpose()?;
        let google = match (
            get(env_names::GOOGLE_APPLICATION_CREDENTIALS),
            get(env_names::GCP_PROJECT),
        ) {
            (Some(file), Some(project)) => Some(GoogleSettings {
                key_file: PathBuf::from(file),
                project,
                api_base,
            }),
            _ => None,
        };
        let dns_provider = get(env_names::VIBN_DNS_PROVIDER).unwrap_or_else(|| "cloud_dns".into());
        if dns_provider != "cloud_dns" {
            return Err(ConfigError::BadValue {
                var: env_names::VIBN_DNS_PROVIDER,
                value: crate::error::cut(&dns_provider, 100).into_owned(),
                reason: "the only DNS provider is cloud_dns".to_string(),
            });
        }
        let storage_location = get(env_names::VIBN_STORAGE_LOCATION)
            .map(|l| l.to_ascii_uppercase())
            .unwrap_or_else(|| DEFAULT_STORAGE_LOCATION.to_string());
        if !storage_location
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            || storage_location.len() > 64
        {
            return Err(ConfigError::BadValue {
                var: env_names::VIBN_STORAGE_LOCATION,
                value: crate::error::cut(&storage_location, 100).into_owned(),
                reason: "a location is letters, digits and '-' (e.g. NORTHAMERICA-NORTHEAST1)"
                    .to_string(),
            });
        }
        Ok(ProvidersConfig {
            opensrs,
            google,
            storage_location,
            dns_provider,
        })
    }
}

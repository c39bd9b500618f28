//! The domain and storage providers of the control plane: the OpenSRS client and the
//! Google client (built from the key file the first time it is needed, so a missing or
//! broken file is a 503 on the tools that need it, never a server that will not start).
//! Either missing → 503 naming exactly what to set.

use std::sync::OnceLock;

use crate::clients::google::{GoogleClient, KeyFile};
use crate::clients::http::HttpConfig;
use crate::clients::opensrs::OpenSrsClient;
use crate::config::{GoogleSettings, ProvidersConfig};
use crate::error::ApiError;

/// Where the Google client comes from.
enum GoogleSource {
    None,
    Ready(GoogleClient),
    File {
        settings: GoogleSettings,
        http: HttpConfig,
        built: OnceLock<Result<GoogleClient, String>>,
    },
}

/// The providers of the domain and storage tools.
pub struct Providers {
    registrar: Option<OpenSrsClient>,
    google: GoogleSource,
    /// Where buckets go.
    pub storage_location: String,
    /// `cloud_dns`.
    pub dns_provider: String,
}

impl Providers {
    /// No provider configured (every domain and storage tool answers 503).
    pub fn none() -> Providers {
        Providers {
            registrar: None,
            google: GoogleSource::None,
            storage_location: crate::config::DEFAULT_STORAGE_LOCATION.to_string(),
            dns_provider: "cloud_dns".into(),
        }
    }

    /// Explicit clients (tests point them at the stand-ins).
    pub fn with_clients(
        registrar: Option<OpenSrsClient>,
        google: Option<GoogleClient>,
        storage_location: &str,
    ) -> Providers {
        Providers {
            registrar,
            google: google.map_or(GoogleSource::None, GoogleSource::Ready),
            storage_location: storage_location.to_string(),
            dns_provider: "cloud_dns".into(),
        }
    }

    /// From the resolved configuration.
    pub fn from_config(config: &ProvidersConfig, http: &HttpConfig) -> Providers {
        Providers {
            registrar: config
                .opensrs
                .as_ref()
                .map(|o| OpenSrsClient::new(&o.url, &o.username, o.key.clone(), http.clone())),
            google: match &config.google {
                None => GoogleSource::None,
                Some(settings) => GoogleSource::File {
                    settings: settings.clone(),
                    http: http.clone(),
                    built: OnceLock::new(),
                },
            },
            storage_location: config.storage_location.clone(),
            dns_provider: config.dns_provider.clone(),
        }
    }

    /// The registrar (503 naming the settings when not configured).
    pub fn registrar(&self) -> Result<&OpenSrsClient, ApiError> {
        self.registrar.as_ref().ok_or_else(|| {
            ApiError::not_provisioned("the domain registrar (OpenSRS) is not configured").with_hint(
                "the operator must set OPENSRS_USERNAME and OPENSRS_KEY (and OPENSRS_ENV=live \
                     for real registrations; the default is the test endpoint) in the MCP \
                     client's config",
            )
        })
    }

    /// The Google client (503 naming the settings when not configured or unusable).
    pub fn google(&self) -> Result<&GoogleClient, ApiError> {
        let missing = || {
            ApiError::not_provisioned("Google Cloud (DNS, IAM, Storage) is not configured")
                .with_hint(
                    "the operator must set GOOGLE_APPLICATION_CREDENTIALS (a service-account \
                     key file) and GCP_PROJECT in the MCP client's config",
                )
        };
        match &self.google {
            GoogleSource::None => Err(missing()),
            GoogleSource::Ready(client) => Ok(client),
            GoogleSource::File {
                settings,
                http,
                built,
            } => built
                .get_or_init(|| {
                    let text = std::fs::read_to_string(&settings.key_file).map_err(|e| {
                        format!(
                            "cannot read GOOGLE_APPLICATION_CREDENTIALS {}: {e}",
                            settings.key_file.display()
                        )
                    })?;
                    let key = KeyFile::parse(&text).map_err(|why| {
                        format!(
                            "GOOGLE_APPLICATION_CREDENTIALS {} is unusable: {why}",
                            settings.key_file.display()
                        )
                    })?;
                    Ok(GoogleClient::new(
                        key,
                        &settings.project,
                        settings.api_base.as_deref(),
                        http.clone(),
                    ))
                })
                .as_ref()
                .map_err(|why| {
                    ApiError::not_provisioned(why.clone()).with_hint(
                        "the operator must point GOOGLE_APPLICATION_CREDENTIALS at a readable \
                         service-account key file (JSON, type service_account)",
                    )
                }),
        }
    }
}

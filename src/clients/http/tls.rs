//! The one TLS configuration every HTTP client of the process shares. reqwest, left to
//! itself, parses the built-in web PKI roots into a fresh store for each client it builds:
//! about 200 KB of heap each, and a server holds up to eight clients (two redirect policies
//! for each upstream). Built once here and cloned into each client (the clone shares the
//! roots), the cost is paid once. Certificates are verified exactly as reqwest would: the
//! same roots (webpki-roots), rustls' safe defaults (TLS 1.2 and 1.3), the ring provider.

use std::sync::{Arc, OnceLock};

/// The process's TLS client configuration (built on first use).
pub fn shared() -> Result<rustls::ClientConfig, String> {
    static CONFIG: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
            .map_err(|e| format!("cannot set up TLS: {e}"))
        })
        .clone()
}

/// A reqwest client builder that uses the shared TLS configuration.
pub fn client_builder() -> Result<reqwest::ClientBuilder, String> {
    Ok(reqwest::Client::builder().use_preconfigured_tls(shared()?))
}

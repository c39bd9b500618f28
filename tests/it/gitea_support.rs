//! A Gitea sandbox with fixtures, and Gitea APIs pointed at it (through the contract
//! proxy when the specs are available).

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use vibn::api::caller::Pinning;
use vibn::api::gitea_api::GiteaApi;
use vibn::clients::gitea::GiteaClient;
use vibn::clients::http::HttpConfig;
use vibn::config::ToolFilter;
use vibn::mcp::gitea_server::GiteaServer;
use vibn::policy::protected::ProtectedList;
use vibn_sandbox::gitea::{GiteaSandbox, GiteaState};

use crate::support::Client;

/// A running sandbox seeded with org `acme` (repos `site`, `api`) and a few issues.
pub struct Gitea {
    pub _data: tempfile::TempDir,
    pub sandbox: GiteaSandbox,
}

impl Gitea {
    pub async fn start() -> Gitea {
        let data = tempfile::tempdir().unwrap();
        let sandbox = GiteaSandbox::start(data.path(), 0).await.unwrap();
        Gitea {
            _data: data,
            sandbox,
        }
    }

    /// A sandbox with org `acme`, repos `acme/site` (initialised) and `acme/api`.
    pub async fn seeded() -> Gitea {
        let g = Gitea::start().await;
        let state = g.state();
        let admin = g.sandbox.admin_login();
        state.create_org("acme", &admin);
        state.create_repo("acme", "site", true).unwrap();
        state.create_repo("acme", "api", true).unwrap();
        g
    }

    pub fn state(&self) -> &Arc<GiteaState> {
        self.sandbox.state()
    }

    /// The API base clients should use (the sandbox, or the contract proxy in front).
    pub fn api_base(&self) -> String {
        crate::contract::gitea_base(&self.sandbox.api_url())
    }

    pub fn client_with(&self, token: &str, http: HttpConfig) -> GiteaClient {
        GiteaClient::with_api_base(
            &self.api_base(),
            &self.sandbox.base_url(),
            SecretString::from(token.to_string()),
            http,
        )
    }

    /// A client that bypasses the contract proxy (it follows redirects itself and
    /// waits on hung upstreams, which those tests must see directly).
    pub fn direct_client_with(&self, token: &str, http: HttpConfig) -> GiteaClient {
        GiteaClient::with_api_base(
            &self.sandbox.api_url(),
            &self.sandbox.base_url(),
            SecretString::from(token.to_string()),
            http,
        )
    }

    pub fn admin_client(&self) -> GiteaClient {
        self.client_with(&self.sandbox.admin_token(), fast_http())
    }

    pub fn api(&self, protected: &str) -> GiteaApi {
        GiteaApi::with_client(
            Some(self.admin_client()),
            Some(self.sandbox.admin_login()),
            ProtectedList::parse("VIBN_PROTECTED_REPOS", protected).unwrap(),
        )
    }

    /// An in-process MCP client of `vibn mcp gitea` over this sandbox.
    pub async fn mcp(&self, protected: &str, pin: Pinning) -> Client {
        let server = GiteaServer::new(self.api(protected), pin, &ToolFilter::default()).unwrap();
        let (server_io, client_io) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            use rmcp::ServiceExt;
            if let Ok(running) = server.serve(server_io).await {
                let _ = running.waiting().await;
            }
        });
        use rmcp::ServiceExt;
        ().serve(client_io).await.unwrap()
    }
}

/// Short timeouts and backoff so failure tests run fast.
pub fn fast_http() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(3),
        retries: 2,
        backoff: Duration::from_millis(20),
    }
}

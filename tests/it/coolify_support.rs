//! A Coolify sandbox with fixtures, and Coolify APIs pointed at it (through the contract
//! proxy when the specs are available).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, NumberOrString, ProgressNotificationParam,
    ProgressToken, RequestMetaObject,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use secrecy::SecretString;
use serde_json::Value;
use vibn::api::caller::Pinning;
use vibn::api::coolify_api::CoolifyApi;
use vibn::clients::coolify::CoolifyClient;
use vibn::clients::http::HttpConfig;
use vibn::config::ToolFilter;
use vibn::mcp::coolify_server::CoolifyServer;
use vibn::policy::protected::ProtectedList;
use vibn_sandbox::coolify::{CoolifySandbox, CoolifyState};

/// A running Coolify sandbox.
pub struct Coolify {
    pub sandbox: CoolifySandbox,
}

/// Records progress messages the server sends.
#[derive(Clone, Default)]
pub struct ProgressLog(pub Arc<Mutex<Vec<String>>>);

impl ClientHandler for ProgressLog {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _ctx: NotificationContext<RoleClient>,
    ) {
        if let Ok(mut log) = self.0.lock() {
            log.push(params.message.unwrap_or_default());
        }
    }
}

/// An MCP client that records progress.
pub type ProgressClient = RunningService<RoleClient, ProgressLog>;

impl Coolify {
    pub async fn start() -> Coolify {
        let sandbox = CoolifySandbox::start(0).await.unwrap();
        sandbox
            .state()
            .set_deploy_timing(Duration::from_millis(60), Duration::from_millis(120));
        Coolify { sandbox }
    }

    pub fn state(&self) -> &Arc<CoolifyState> {
        self.sandbox.state()
    }

    pub fn client_with(&self, token: &str, http: HttpConfig) -> CoolifyClient {
        let base = crate::contract::coolify_base(&self.sandbox.api_url());
        CoolifyClient::with_api_base(&base, SecretString::from(token.to_string()), http)
    }

    /// A client that bypasses the contract proxy (for hung-upstream tests).
    pub fn direct_client_with(&self, token: &str, http: HttpConfig) -> CoolifyClient {
        CoolifyClient::with_api_base(
            &self.sandbox.api_url(),
            SecretString::from(token.to_string()),
            http,
        )
    }

    pub fn root_client(&self) -> CoolifyClient {
        self.client_with(
            &self.sandbox.root_token(),
            crate::gitea_support::fast_http(),
        )
    }

    pub fn api(&self, protected: &str, wait_budget: Duration) -> CoolifyApi {
        CoolifyApi::with_client(
            Some(self.root_client()),
            ProtectedList::parse("VIBN_PROTECTED_APPS", protected).unwrap(),
            Duration::from_millis(40),
            wait_budget,
        )
    }

    /// An in-process MCP client of `vibn mcp coolify` over this sandbox.
    pub async fn mcp(
        &self,
        protected: &str,
        pin: Pinning,
        wait_budget: Duration,
    ) -> ProgressClient {
        let server = CoolifyServer::new(
            self.api(protected, wait_budget),
            pin,
            &ToolFilter::default(),
        )
        .unwrap();
        let (server_io, client_io) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            if let Ok(running) = server.serve(server_io).await {
                let _ = running.waiting().await;
            }
        });
        ProgressLog::default().serve(client_io).await.unwrap()
    }
}

/// Serve any server in-process to a client that records progress.
pub async fn serve_with_progress<S: rmcp::ServerHandler>(server: S) -> ProgressClient {
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    ProgressLog::default().serve(client_io).await.unwrap()
}

/// Call a tool (optionally asking for progress).
pub async fn call_tool(
    client: &ProgressClient,
    tool: &str,
    args: Value,
    progress: bool,
) -> CallToolResult {
    let Value::Object(map) = args else {
        panic!("arguments must be an object")
    };
    let mut params = CallToolRequestParams::new(tool.to_string()).with_arguments(map);
    if progress {
        let mut meta = RequestMetaObject::new();
        meta.set_progress_token(ProgressToken(NumberOrString::Number(7)));
        params.meta = Some(meta);
    }
    let result = client.call_tool(params).await.unwrap();
    crate::support::check_output(client, tool, &result);
    result
}

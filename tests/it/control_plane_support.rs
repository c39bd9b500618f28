//! Fixtures for the control-plane tests: a Gitea and a Coolify stand-in (through the
//! contract proxy when it runs), a keystore with two workspaces — `mark` and `justine` —
//! each provisioned (Coolify project, org, bot, token) and with a key, and in-process MCP
//! clients of `vibn mcp control-plane` pinned by either key.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::CallToolResult;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use vibn::api::caller::Pinning;
use vibn::api::control_plane_api::{ControlPlaneApi, Settings};
use vibn::api::provision::Provisioner;
use vibn::config::{PinConfig, ToolFilter};
use vibn::keystore::{Keyring, Keystore, SecretKey, Store};
use vibn::mcp::control_plane_server::ControlPlaneServer;

use crate::coolify_support::{Coolify, ProgressClient, call_tool, serve_with_progress};
use crate::gitea_support::Gitea;

/// Where Gitea says its repositories are (`ROOT_URL`): Coolify refuses IP hosts in git
/// URLs, and the stand-in listens on 127.0.0.1.
pub const GITEA_ROOT: &str = "https://git.vibn.test";
/// The base domain of the tests' namespaces.
pub const BASE: &str = "vibnai.com";

/// A workspace with its key.
pub struct Tenant {
    pub slug: String,
    pub key: String,
    pub key_id: String,
}

/// Two provisioned workspaces on shared stand-ins.
pub struct Cp {
    pub gitea: Gitea,
    pub coolify: Coolify,
    pub dir: tempfile::TempDir,
    pub store: Arc<Store>,
    pub secrets: String,
    pub mark: Tenant,
    pub justine: Tenant,
}

impl Cp {
    /// Stand-ins, a keystore and workspaces `mark` and `justine` with keys; provisioned
    /// when `provisioned`.
    pub async fn new(provisioned: bool) -> Cp {
        let gitea = Gitea::start().await;
        gitea.state().set_root_url(GITEA_ROOT);
        let coolify = Coolify::start().await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vibn/keystore.db");
        let store = Arc::new(Store::open(&path).unwrap());
        let tenant = |email: &str| {
            let slug = store.create_workspace(email, None).unwrap().slug;
            let minted = store.mint_workspace_key(&slug, "t", None, "cli").unwrap();
            Tenant {
                slug,
                key: minted.token.expose_secret().to_string(),
                key_id: minted.record.id,
            }
        };
        let (mark, justine) = (tenant("mark@example.com"), tenant("justine@example.com"));
        let cp = Cp {
            gitea,
            coolify,
            dir,
            store,
            secrets: SecretKey::generate_base64(),
            mark,
            justine,
        };
        if provisioned {
            for slug in [cp.mark.slug.clone(), cp.justine.slug.clone()] {
                let report = cp.provisioner().provision(&slug).await.unwrap();
                assert!(report.error.is_none(), "{slug}: {report:?}");
            }
        }
        cp.clear_logs();
        cp
    }

    pub fn keystore_path(&self) -> PathBuf {
        self.dir.path().join("vibn/keystore.db")
    }

    pub fn ring(&self) -> Keyring {
        Keyring::new(
            SecretKey::parse("VIBN_SECRETS_KEY", &self.secrets).unwrap(),
            None,
        )
    }

    pub fn provisioner(&self) -> Provisioner {
        Provisioner::new(
            self.gitea.admin_client(),
            &self.gitea.sandbox.admin_login(),
            self.coolify.root_client(),
            None,
            Keystore::from_store(Store::open(&self.keystore_path()).unwrap()),
            Arc::new(self.ring()),
        )
    }

    /// The control-plane API over the stand-ins; with the operator's Gitea admin token
    /// when `can_provision`.
    pub fn api(&self, scope_ttl: Duration, can_provision: bool) -> ControlPlaneApi {
        let (gitea, operator) = if can_provision {
            (
                self.gitea.admin_client(),
                Some(self.gitea.sandbox.admin_login()),
            )
        } else {
            (
                self.gitea
                    .client_with("", crate::gitea_support::fast_http()),
                None,
            )
        };
        ControlPlaneApi::with_clients(
            Some(self.coolify.root_client()),
            Some(gitea),
            operator,
            Settings {
                gitea_url: Some(self.gitea.sandbox.base_url()),
                server_uuid: None,
                base_domain: BASE.to_string(),
                scope_ttl,
            },
        )
    }

    pub fn pinning(&self, key: &str) -> Pinning {
        Pinning::from_config(&PinConfig {
            api_key: Some(SecretString::from(key.to_string())),
            expected_workspace: None,
            keystore: Some(self.keystore_path()),
            keyring: Some(Arc::new(self.ring())),
        })
    }

    /// An MCP client of the control plane pinned by `key`.
    pub async fn client(&self, key: &str) -> ProgressClient {
        self.client_over(self.api(vibn::config::SCOPE_TTL, true), key)
            .await
    }

    pub async fn client_over(&self, api: ControlPlaneApi, key: &str) -> ProgressClient {
        let server =
            ControlPlaneServer::new(api, self.pinning(key), &ToolFilter::default()).unwrap();
        serve_with_progress(server).await
    }

    /// Every write (not GET/HEAD) the two stand-ins saw since their logs were cleared.
    pub fn upstream_writes(&self) -> Vec<String> {
        crate::provision_support::writes_seen(&self.gitea, &self.coolify)
    }

    pub fn clear_logs(&self) {
        crate::provision_support::clear_request_logs(&self.gitea, &self.coolify);
    }

    /// The stored bot token of `slug`.
    pub fn bot_token(&self, slug: &str) -> String {
        self.store
            .bot_token(slug, &self.ring())
            .unwrap()
            .unwrap()
            .expose_secret()
            .to_string()
    }
}

/// Call a tool (no progress).
pub async fn call(client: &ProgressClient, tool: &str, args: Value) -> CallToolResult {
    call_tool(client, tool, args, false).await
}

/// Everything a result shows the model, as one string (to look for secrets in).
pub fn shown(result: &CallToolResult) -> String {
    let text: String = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect();
    format!(
        "{text}{}",
        result
            .structured_content
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default()
    )
}

//! `vibn mcp control-plane`: the tenant-safe control plane of one workspace as thin
//! wrappers over `api::control_plane_api` (no guard here). Two tool families, one file
//! each — applications (`apps`) and the rest of the workspace (`workspace`) — summed into
//! one router. The seed's dotted names (`apps.envs.upsert`) are call-time aliases of the
//! snake_case tools (`ALIASES`, the one table): callable, never listed.

mod apps;
mod domains;
mod workspace;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{CallToolRequestParams, CallToolResponse, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool_handler};

use super::common::{LazyRouter, UnknownTool, call_tool, server_config};
use crate::api::caller::Pinning;
use crate::api::control_plane_api::ControlPlaneApi;
use crate::config::ToolFilter;

const INSTRUCTIONS: &str = "The control plane of one vibn workspace: its apps, databases and \
auth providers (Coolify) and its repositories (Gitea org), nothing else. Start with \
workspace_describe. To ship an app: repos_create (or repos_list), push code with the bot's \
credentials from gitea_credentials, apps_create {repo}, optionally databases_create and \
apps_envs_upsert DATABASE_URL with the database's internal_url, apps_deploy, then poll \
apps_deployments until finished and read deployments_logs when a build fails. Domains must be \
<name>.<workspace>.<base>, or a custom domain: domains_search, domains_register, then \
domains_attach {domain, app_uuid}. For S3 storage: storage_provision, then storage_inject_env \
{uuid}. Deletes need confirm set to the resource's exact name (from its get \
or list tool) and keep volumes unless volumes is delete. A 403 means the resource is not this \
workspace's: stop and ask the user.";

/// The names of this server's tools (checked against the router by a test).
pub const TOOL_NAMES: [&str; 37] = [
    "apps_create",
    "apps_delete",
    "apps_deploy",
    "apps_deployments",
    "apps_domains_list",
    "apps_domains_set",
    "apps_envs_delete",
    "apps_envs_list",
    "apps_envs_upsert",
    "apps_get",
    "apps_list",
    "apps_logs",
    "apps_rewire_git",
    "apps_update",
    "auth_create",
    "auth_delete",
    "auth_list",
    "databases_create",
    "databases_delete",
    "databases_get",
    "databases_list",
    "databases_update",
    "deployments_logs",
    "domains_attach",
    "domains_get",
    "domains_list",
    "domains_register",
    "domains_search",
    "gitea_credentials",
    "projects_get",
    "projects_list",
    "repos_create",
    "repos_list",
    "storage_describe",
    "storage_inject_env",
    "storage_provision",
    "workspace_describe",
];

/// The source spec's dotted tool names (seed 003 §3), each the alias of one tool.
pub const ALIASES: [(&str, &str); 37] = [
    ("workspace.describe", "workspace_describe"),
    ("gitea.credentials", "gitea_credentials"),
    ("projects.list", "projects_list"),
    ("projects.get", "projects_get"),
    ("apps.list", "apps_list"),
    ("apps.get", "apps_get"),
    ("apps.create", "apps_create"),
    ("apps.update", "apps_update"),
    ("apps.rewire_git", "apps_rewire_git"),
    ("apps.delete", "apps_delete"),
    ("apps.deploy", "apps_deploy"),
    ("apps.deployments", "apps_deployments"),
    ("apps.domains.list", "apps_domains_list"),
    ("apps.domains.set", "apps_domains_set"),
    ("apps.envs.list", "apps_envs_list"),
    ("apps.envs.upsert", "apps_envs_upsert"),
    ("apps.envs.delete", "apps_envs_delete"),
    ("apps.logs", "apps_logs"),
    ("deployments.logs", "deployments_logs"),
    ("databases.list", "databases_list"),
    ("databases.create", "databases_create"),
    ("databases.get", "databases_get"),
    ("databases.update", "databases_update"),
    ("databases.delete", "databases_delete"),
    ("auth.list", "auth_list"),
    ("auth.create", "auth_create"),
    ("auth.delete", "auth_delete"),
    ("repos.list", "repos_list"),
    ("repos.create", "repos_create"),
    ("domains.search", "domains_search"),
    ("domains.register", "domains_register"),
    ("domains.list", "domains_list"),
    ("domains.get", "domains_get"),
    ("domains.attach", "domains_attach"),
    ("storage.describe", "storage_describe"),
    ("storage.provision", "storage_provision"),
    ("storage.inject_env", "storage_inject_env"),
];

/// The tool a called name means: itself, or the tool a dotted alias stands for.
pub fn resolve(name: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, tool)| tool)
}

/// The control-plane MCP server.
#[derive(Clone)]
pub struct ControlPlaneServer {
    pinning: Pinning,
    api: ControlPlaneApi,
    router: LazyRouter<Self>,
    /// The instructions, with the pinned workspace's facts when they were known at start.
    instructions: String,
}

impl ControlPlaneServer {
    /// A server over `api` exposing the tools `filter` allows.
    pub fn new(
        api: ControlPlaneApi,
        pinning: Pinning,
        filter: &ToolFilter,
    ) -> Result<Self, UnknownTool> {
        let router = LazyRouter::new("control-plane", &TOOL_NAMES, Self::router, filter)?;
        Ok(ControlPlaneServer {
            pinning,
            api,
            router,
            instructions: INSTRUCTIONS.to_string(),
        })
    }

    /// The same server, its instructions naming the pinned workspace (`note`, from
    /// `control_plane_api::pinned_workspace_note`).
    pub fn with_workspace_note(mut self, note: Option<String>) -> Self {
        if let Some(note) = note {
            self.instructions = format!("{note} {INSTRUCTIONS}");
        }
        self
    }

    fn router() -> ToolRouter<Self> {
        Self::apps_router() + Self::workspace_router() + Self::domains_router()
    }

    /// Every tool of this server as served without filters.
    pub fn all_tools() -> Vec<rmcp::model::Tool> {
        super::common::served_tools(Self::router)
    }

    /// The tools this server serves, its filter applied (what `tools/list` answers).
    pub fn served_tools(&self) -> Vec<rmcp::model::Tool> {
        self.router.get().list_all()
    }

    /// The tool names the router really has (to check `TOOL_NAMES`).
    pub fn router_tool_names() -> Vec<String> {
        super::common::built_tool_names(Self::router)
    }
}

#[tool_handler(router = self.router.get())]
impl ServerHandler for ControlPlaneServer {
    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        let tool = resolve(&request.name);
        if tool != request.name {
            request.name = tool.to_string().into();
        }
        call_tool(
            self,
            self.router.get(),
            &self.pinning,
            "control-plane",
            request,
            context,
        )
        .await
    }

    fn get_info(&self) -> ServerConfig {
        server_config("control-plane", &self.instructions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alias_is_the_dotted_spelling_of_one_tool() {
        for (alias, tool) in ALIASES {
            assert_eq!(alias.replace('.', "_"), tool, "{alias}");
            assert!(TOOL_NAMES.contains(&tool), "{alias} -> {tool}");
            assert_eq!(resolve(alias), tool);
        }
        assert_eq!(resolve("apps_list"), "apps_list");
        assert_eq!(resolve("apps.nope"), "apps.nope");
    }
}

//! One call of a control-plane operation by name with JSON params, for the routes that
//! are not MCP: `POST /api/mcp {tool, params}` and every REST adapter. The params
//! deserialize into the very structs the MCP tools take and go to the very
//! `ControlPlaneApi` methods the tools call, so a rule can never differ between MCP and
//! HTTP. Which tools may be called is the MCP server's own (filtered) tool list, so
//! `--read-only` and `--tools` hold over every route; a test checks the table below
//! against the server's `TOOL_NAMES`.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::api::caller::Caller;
use crate::api::control_plane_api::ControlPlaneApi;
use crate::error::{ApiError, cut, quote};
use crate::mcp::control_plane_server::ControlPlaneServer;

/// REST-only operations (no MCP tool of their own) and the tool whose presence in the
/// served list lets them run (a read of the same resource family).
const REST_ONLY: [(&str, &str); 1] = [("auth_get", "auth_list")];

/// The tool names `server` serves, its filter applied.
pub fn served_tool_names(server: &ControlPlaneServer) -> Vec<String> {
    server
        .served_tools()
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect()
}

/// Whether `operation` may run where `served` (the server's tool names) is served (404
/// otherwise, as an unknown tool).
pub(crate) fn check_served(served: &[String], operation: &str) -> Result<(), ApiError> {
    let gate = REST_ONLY
        .iter()
        .find(|(op, _)| *op == operation)
        .map_or(operation, |(_, tool)| tool);
    if served.iter().any(|t| t == gate) {
        Ok(())
    } else {
        Err(
            ApiError::not_found(format!("no tool {} on this server", quote(operation)))
                .with_hint("GET /api/mcp lists the tools this server serves"),
        )
    }
}

/// Params of one call: a JSON object (absent or null is `{}`), 400 otherwise or when it
/// does not fit the tool's params (the message names the field, values cut short).
fn params<P: DeserializeOwned>(value: Value) -> Result<P, ApiError> {
    let value = match value {
        Value::Null => Value::Object(Map::new()),
        Value::Object(_) => value,
        _ => {
            return Err(ApiError::bad_request("params must be a JSON object")
                .with_hint("send the tool's params as an object, e.g. {\"uuid\": \"…\"}"));
        }
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!(" at {path}")
        };
        ApiError::bad_request(format!(
            "invalid params{at}: {}",
            cut(&e.into_inner().to_string(), 300)
        ))
        .with_hint(
            "the params do not match the tool's input schema (GET /api/mcp); fix them and retry",
        )
    })
}

fn out<T: Serialize>(result: T) -> Result<Value, ApiError> {
    serde_json::to_value(result)
        .map_err(|e| ApiError::internal(format!("could not render the result: {e}")))
}

macro_rules! operations {
    ($($name:literal => $method:ident),* $(,)?) => {
        /// Run `operation` (a tool name, already resolved from its alias) for `caller`.
        pub(crate) async fn call(
            api: &ControlPlaneApi,
            caller: &Caller,
            operation: &str,
            value: Value,
        ) -> Result<Value, ApiError> {
            match operation {
                $($name => out(api.$method(caller, params(value)?).await?),)*
                other => Err(ApiError::not_found(format!("no tool {} on this server", quote(other)))
                    .with_hint("GET /api/mcp lists the tools this server serves")),
            }
        }

        /// The names `call` dispatches (checked against the MCP server's tools).
        #[cfg(test)]
        fn dispatched_names() -> Vec<&'static str> {
            vec![$($name),*]
        }
    };
}

operations! {
    "workspace_describe" => workspace_describe,
    "gitea_credentials" => gitea_credentials,
    "projects_list" => projects_list,
    "projects_get" => projects_get,
    "apps_list" => apps_list,
    "apps_get" => apps_get,
    "apps_create" => apps_create,
    "apps_update" => apps_update,
    "apps_rewire_git" => apps_rewire_git,
    "apps_delete" => apps_delete,
    "apps_deploy" => apps_deploy,
    "apps_deployments" => apps_deployments,
    "apps_logs" => apps_logs,
    "apps_domains_list" => apps_domains_list,
    "apps_domains_set" => apps_domains_set,
    "apps_envs_list" => apps_envs_list,
    "apps_envs_upsert" => apps_envs_upsert,
    "apps_envs_delete" => apps_envs_delete,
    "deployments_logs" => deployments_logs,
    "databases_list" => databases_list,
    "databases_create" => databases_create,
    "databases_get" => databases_get,
    "databases_update" => databases_update,
    "databases_delete" => databases_delete,
    "auth_list" => auth_list,
    "auth_get" => auth_get,
    "auth_create" => auth_create,
    "auth_delete" => auth_delete,
    "repos_list" => repos_list,
    "repos_create" => repos_create,
    "domains_search" => domains_search,
    "domains_register" => domains_register,
    "domains_list" => domains_list,
    "domains_get" => domains_get,
    "domains_attach" => domains_attach,
    "storage_describe" => storage_describe,
    "storage_provision" => storage_provision,
    "storage_inject_env" => storage_inject_env,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::control_plane_server::TOOL_NAMES;

    #[test]
    fn every_tool_and_nothing_else_is_dispatched() {
        let dispatched = dispatched_names();
        let mut tools: Vec<&str> = TOOL_NAMES.to_vec();
        tools.extend(REST_ONLY.iter().map(|(op, _)| *op));
        let (mut a, mut b) = (dispatched.clone(), tools);
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b);
    }

    #[test]
    fn params_must_be_an_object_that_fits() {
        let e = params::<crate::api::control_plane_api::AppRef>(Value::from(3)).unwrap_err();
        assert_eq!(e.status(), 400);
        let e = params::<crate::api::control_plane_api::AppRef>(serde_json::json!({"uuid": 5}))
            .unwrap_err();
        assert!(e.message().contains("uuid"), "{}", e.message());
        let ok: crate::api::control_plane_api::AppsListParams = params(Value::Null).unwrap();
        let _ = ok;
    }
}

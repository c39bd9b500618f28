//! Integration tests: one binary, a module per server or concern. In-process tests
//! drive the servers through rmcp's client over `tokio::io::duplex`; `process` runs the
//! built binary as a child.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods
)]

mod contract;
mod control_plane_support;
mod coolify_support;
mod domains_support;
mod gitea_support;
mod provision_support;
mod serve_support;
mod support;

mod agent_tools;
mod call;
mod caller;
mod control_plane;
mod control_plane_attach;
mod control_plane_domains;
mod control_plane_storage;
mod control_plane_tenancy;
mod coolify_client;
mod coolify_pinning;
mod coolify_shapes;
mod coolify_tools;
mod demo;
mod doctor;
mod error_results;
mod gitea_client;
mod gitea_pinning;
mod gitea_shapes;
mod gitea_tools;
mod http_tls;
mod inventory;
mod keystore_cli;
mod manifests;
mod pinning;
mod platform_tools;
mod prism_mock;
mod process;
mod provision;
mod provision_cli;
mod provision_faults;
mod provision_rotation;
mod sandbox_up;
mod schemas_cli;
mod serve;
mod serve_rest;
mod setup_cli;
mod transport;
mod workspace_exec;
mod workspace_git;
mod workspace_git_hostile;
mod workspace_paths;
mod workspace_robustness;
mod workspace_sandbox;
mod workspace_tools;

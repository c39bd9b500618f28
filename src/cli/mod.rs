//! The non-MCP subcommands (what the user typed is `args`; resolving it into typed
//! configuration is `config`'s job); printing happens only in `output`.

pub mod admin;
pub mod call;
pub mod demo;
pub mod doctor;
pub mod manifests;

pub mod output;
pub mod provision;
pub mod sandbox;
pub mod sandbox_up;
pub mod schemas;
pub mod serve;
pub mod setup;

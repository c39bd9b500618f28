//! Command-line surface: the clap structs (only what the user typed) and the non-MCP
//! subcommands. Resolving arguments into typed configuration is `config.rs`'s job;
//! printing happens only in `output`.

pub mod admin;
pub mod args;
pub mod output;
pub mod sandbox;
pub mod schemas;

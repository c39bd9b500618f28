//! Command-line surface: the clap structs (only what the user typed) and the non-MCP
//! subcommands. Resolving arguments into typed configuration is `config.rs`'s job.

pub mod args;
pub mod sandbox;

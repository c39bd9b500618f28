//! vibn: one binary whose `mcp` subcommands are stdio MCP servers acting for one
//! workspace. Layers (DESIGN §1): `policy` (pure guards) → `api` (logic, every guard
//! enforced) → `mcp` (thin rmcp wrappers) and `cli`; `config` resolves flags and env;
//! `sandbox` holds local stand-ins for the upstream services.

pub mod api;
pub mod args;
pub mod cli;
pub mod clients;
pub mod config;
pub mod env_vars;
pub mod error;
pub mod keystore;
pub mod logging;
pub mod mcp;
pub mod policy;
pub mod redact;
pub mod serve;

pub mod sandbox_exec;

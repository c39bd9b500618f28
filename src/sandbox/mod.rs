//! Local stand-ins for upstream services, used by tests, smoke scripts and
//! `vibn sandbox`. They bind to 127.0.0.1 only and follow the real servers' documented
//! behaviour.

pub mod coolify;
pub mod git_http;
pub mod gitea;
pub mod runner;
pub mod search;

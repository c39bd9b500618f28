//! Local stand-ins for upstream services, used by tests, smoke scripts and
//! `vibn sandbox`. They bind to 127.0.0.1 only and follow the real servers' documented
//! behaviour.

use std::sync::{Mutex, MutexGuard};

pub mod coolify;
mod faults;
pub mod git_http;
pub mod gitea;
pub mod google;
pub mod opensrs;
mod plumbing;
pub mod runner;
pub mod search;

/// Lock `m`, carrying on when a panicking holder poisoned it.
pub(crate) fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

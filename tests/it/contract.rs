//! Contract check: when `scripts/test` runs the suite under `scripts/contract/
//! contract-proxy.mjs`, `CONTRACT_GITEA_URL` / `CONTRACT_COOLIFY_URL` name a validating
//! proxy (Stoplight Prism against ../shared/specs). Clients then send every request
//! through it, addressed to their own sandbox as `/_up/<port>/…`; the wrapper fails the
//! run on any request that violates the spec. Without the variables the suite talks to
//! the sandboxes directly and says so once.

use std::sync::Once;

static NOTICE: Once = Once::new();

fn via_proxy(var: &str, sandbox_api: &str) -> String {
    match std::env::var(var) {
        Ok(proxy) if !proxy.trim().is_empty() => {
            let port = sandbox_api
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .and_then(|authority| authority.rsplit(':').next())
                .unwrap_or_default();
            format!("{}/_up/{port}/api/v1", proxy.trim_end_matches('/'))
        }
        _ => {
            NOTICE.call_once(|| {
                eprintln!(
                    "contract check off for this run: {var} is not set (scripts/test sets it when \
                     ../shared/specs is present)"
                )
            });
            sandbox_api.to_string()
        }
    }
}

/// The Gitea API base clients use for a sandbox whose API is at `sandbox_api`.
pub fn gitea_base(sandbox_api: &str) -> String {
    via_proxy("CONTRACT_GITEA_URL", sandbox_api)
}

/// The Coolify API base clients use for a sandbox whose API is at `sandbox_api`.
pub fn coolify_base(sandbox_api: &str) -> String {
    via_proxy("CONTRACT_COOLIFY_URL", sandbox_api)
}

//! `apps_domains_list` and `apps_domains_set` (seed 003 §3.3, §6): an application's
//! domains, replaced only by names in the workspace's namespace (`policy::domain`,
//! 403 with a valid example otherwise). After every domain write the application is read
//! back: Coolify answers 200 and silently drops `domains` when the server's proxy should
//! not run (seed 003 §3.6), and that is a 422 with the fix, never a success.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};

use super::{ControlPlaneApi, Tenant, hosts_of};
use crate::api::caller::Caller;
use crate::clients::coolify::Application;
use crate::error::ApiError;
use crate::policy::domain;

/// Most domains one application takes.
pub const MAX_DOMAINS: usize = 20;

/// An application's domains.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppDomainsOut {
    /// The application's uuid.
    pub uuid: String,
    /// Its domains (host names).
    pub domains: Vec<String>,
    /// The URLs they serve (`https://<domain>`).
    pub urls: Vec<String>,
}

/// Parameters of `apps_domains_set`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppsDomainsSetParams {
    /// The application's uuid.
    pub uuid: String,
    /// The whole new set of host names, each `<name>.<workspace>.<base>` (no scheme,
    /// port or path).
    pub domains: Vec<String>,
}

impl ControlPlaneApi {
    /// An application's current domains.
    pub async fn apps_domains_list(
        &self,
        caller: &Caller,
        p: super::AppRef,
    ) -> Result<AppDomainsOut, ApiError> {
        super::limits::check(&p)?;
        let t = self.tenant(caller).await?;
        let app = self.app(&t, &p.uuid).await?;
        Ok(domains_out(&app))
    }

    /// Replace an application's domains.
    pub async fn apps_domains_set(
        &self,
        caller: &Caller,
        p: AppsDomainsSetParams,
    ) -> Result<AppDomainsOut, ApiError> {
        super::limits::check(&p)?;
        let slug = self.workspace(caller)?.slug.clone();
        let result = async {
            let wanted = match self.checked_domains(&slug, &p.domains, &[]) {
                Ok(w) => w,
                // Names outside the namespace may be the workspace's own attached domains.
                Err(e) => {
                    let attached = self.attached_domains(caller).await;
                    if attached.is_empty() {
                        return Err(e);
                    }
                    self.checked_domains(&slug, &p.domains, &attached)?
                }
            };
            let t = self.tenant(caller).await?;
            let app = self.app(&t, &p.uuid).await?;
            let list: Vec<String> = wanted.iter().map(|d| format!("https://{d}")).collect();
            let mut fields = Map::new();
            fields.insert("domains".into(), json!(list.join(",")));
            self.coolify()?
                .update_application(&app.uuid, fields)
                .await?;
            let after = self.verify_domains(&t, &app.uuid, &wanted, false).await?;
            Ok(domains_out(&after))
        }
        .await;
        caller.audited(p.uuid.trim(), result).await
    }

    /// Every domain checked against the namespace — or, for `attached` (the workspace's
    /// own attached apex domains), equal to one of them or a name under one — lowered,
    /// duplicates dropped.
    fn checked_domains(
        &self,
        slug: &str,
        given: &[String],
        attached: &[String],
    ) -> Result<Vec<String>, ApiError> {
        if given.is_empty() || given.len() > MAX_DOMAINS {
            let example = domain::app_domain("my-api", slug, &self.inner.settings.base_domain);
            return Err(ApiError::bad_request(format!(
                "domains must list 1 to {MAX_DOMAINS} host names; {} given",
                given.len()
            ))
            .with_hint(format!("e.g. [\"{example}\"]")));
        }
        let mut out: Vec<String> = Vec::new();
        for d in given {
            let checked = match domain::check(d, slug, &self.inner.settings.base_domain) {
                Ok(c) => c,
                Err(e) => own_domain(d, attached).ok_or(e)?,
            };
            if !out.contains(&checked) {
                out.push(checked);
            }
        }
        Ok(out)
    }

    /// Read the application back and make sure every domain in `wanted` is on it; a
    /// domain Coolify dropped is a 422 naming the server and the fix. `created` words the
    /// message for an application that was just made.
    pub(super) async fn verify_domains(
        &self,
        t: &Tenant,
        uuid: &str,
        wanted: &[String],
        created: bool,
    ) -> Result<Application, ApiError> {
        let app = self.app(t, uuid).await?;
        let have = hosts_of(app.fqdn.as_deref());
        let dropped: Vec<&str> = wanted
            .iter()
            .filter(|d| !have.contains(d))
            .map(String::as_str)
            .collect();
        if dropped.is_empty() {
            return Ok(app);
        }
        let what = if created {
            format!(
                "application {} ({}) was created, but Coolify did not apply its domain {}",
                app.name,
                app.uuid,
                dropped.join(", ")
            )
        } else {
            format!(
                "Coolify accepted the domains of application {} but did not apply {}",
                app.uuid,
                dropped.join(", ")
            )
        };
        Err(ApiError::unprocessable(format!(
            "{what}: Coolify server {} is not proxy-enabled (it ignores domains unless its \
             proxy is Traefik or Caddy and it is not a build server)",
            t.server_uuid
        ))
        .with_hint(format!(
            "ask the operator to enable the proxy (Traefik or Caddy) on Coolify server {} and \
             make sure it is not a build server, then call apps_domains_set on {} again",
            t.server_uuid, app.uuid
        )))
    }
}

/// `input` when it is one of the workspace's attached apex domains or a valid name under
/// one (lowered).
fn own_domain(input: &str, attached: &[String]) -> Option<String> {
    let lowered = input.to_ascii_lowercase();
    let valid = input.is_ascii()
        && !input.ends_with('.')
        && lowered.len() <= domain::MAX_DOMAIN
        && lowered
            .split('.')
            .all(|l| domain::label_problem(l).is_none());
    if !valid {
        return None;
    }
    attached
        .iter()
        .any(|a| lowered == *a || lowered.ends_with(&format!(".{a}")))
        .then_some(lowered)
}

fn domains_out(app: &Application) -> AppDomainsOut {
    let domains = hosts_of(app.fqdn.as_deref());
    AppDomainsOut {
        uuid: app.uuid.clone(),
        urls: domains.iter().map(|d| format!("https://{d}")).collect(),
        domains,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_at_or_under_an_attached_domain_are_the_workspaces_own() {
        let attached = vec!["shop.com".to_string()];
        assert_eq!(
            own_domain("Shop.com", &attached).as_deref(),
            Some("shop.com")
        );
        assert_eq!(
            own_domain("www.shop.com", &attached).as_deref(),
            Some("www.shop.com")
        );
        for bad in [
            "evilshop.com",
            "shop.com.",
            "shop.com.evil.io",
            "*.shop.com",
            "x..shop.com",
            "é.shop.com",
        ] {
            assert_eq!(own_domain(bad, &attached), None, "{bad}");
        }
        assert_eq!(own_domain("shop.com", &[]), None);
    }
}

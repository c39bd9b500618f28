//! `domains_attach` (seed 003 §3.6, issue 15): wire a registered domain to an app of the
//! workspace (or an IP or CNAME target). Steps, each idempotent and recorded as an
//! append-only event: the Cloud DNS zone (a 409 is read back and must be ours), the
//! record sets (a 409 is patched), the registrar's name servers (trailing dots stripped;
//! a registry refusal retried through unlock → update, the relock done whatever
//! happens next), the app's domains (appended, then read back: Coolify drops them
//! silently on a server that is not proxy-enabled → 422 with the fix), then the lock.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};
use sha2::{Digest, Sha256};

use super::domain_params::{domain_out, registrar_nameservers};
use super::{ControlPlaneApi, DomainOut, hosts_of};
use crate::api::caller::Caller;
use crate::clients::google::is_conflict;
use crate::error::{ApiError, quote};
use crate::keystore::{DomainPatch, DomainRecord, Keystore};
use crate::policy::apex;

/// Most subdomains one attach writes.
pub const MAX_SUBDOMAINS: usize = 10;
/// TTL of the records written.
const TTL: u32 = 300;

/// Parameters of `domains_attach`: one of `app_uuid`, `ip`, `cname` — or `app_uuid`
/// with `ip` when the app's Coolify server has no public address of its own.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DomainsAttachParams {
    /// A registered domain of this workspace.
    pub domain: String,
    /// An app of this workspace: records point at its Coolify server, and the names are
    /// added to the app's domains.
    #[serde(default)]
    pub app_uuid: Option<String>,
    /// An IPv4 or IPv6 address (A / AAAA records); with app_uuid, the address the app's
    /// server is reached at.
    #[serde(default)]
    pub ip: Option<String>,
    /// A host name (CNAME records; not possible at the apex "@").
    #[serde(default)]
    pub cname: Option<String>,
    /// Names to write, "@" for the apex (default ["@", "www"]).
    #[serde(default)]
    pub subdomains: Option<Vec<String>>,
    /// Point the registrar at the zone's name servers (default true).
    #[serde(default)]
    pub update_registrar_ns: Option<bool>,
}

/// What `domains_attach` did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DomainsAttachOut {
    /// The record after the attach.
    pub domain: DomainOut,
    /// The steps done, in order.
    pub steps: Vec<String>,
    /// The URLs now served (https://…), when attached to an app.
    pub urls: Vec<String>,
}

/// Where the records point.
enum Target {
    App(String, Option<IpAddr>),
    Ip(IpAddr),
    Cname(String),
}

/// A Cloud DNS zone name for `domain`: `vibn-` + the name's labels joined by `-` + a
/// short hash (so `ex-ample.com` and `ex.ample.com` differ), at most 63 characters.
pub fn zone_name(domain: &str) -> String {
    let digest = Sha256::digest(domain.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let mut body = domain.replace('.', "-");
    body.truncate(63 - "vibn-".len() - 1 - hash.len());
    let body = body.trim_end_matches('-');
    format!("vibn-{body}-{hash}")
}

fn check_ip(text: &str) -> Result<IpAddr, ApiError> {
    let ip: IpAddr = text.trim().parse().map_err(|_| {
        ApiError::bad_request(format!("ip {} is not an IPv4 or IPv6 address", quote(text)))
    })?;
    let public = match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast())
        }
        IpAddr::V6(v6) => !(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast()),
    };
    if public {
        Ok(ip)
    } else {
        Err(ApiError::bad_request(format!(
            "ip {ip} is not a public address; a public domain must point at a public address"
        )))
    }
}

fn check_cname(text: &str) -> Result<String, ApiError> {
    let bare = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = bare.is_ascii()
        && bare.len() <= 253
        && bare.split('.').count() >= 2
        && bare
            .split('.')
            .all(|l| crate::policy::domain::label_problem(l).is_none());
    if ok {
        Ok(bare)
    } else {
        Err(ApiError::bad_request(format!(
            "cname {} is not a host name",
            quote(text)
        )))
    }
}

impl ControlPlaneApi {
    /// Attach a registered domain (idempotent; safe to retry after any failure).
    pub async fn domains_attach(
        &self,
        caller: &Caller,
        p: DomainsAttachParams,
    ) -> Result<DomainsAttachOut, ApiError> {
        super::limits::check(&p)?;
        let target = p.domain.trim().to_ascii_lowercase();
        let result = self.attach_inner(caller, p).await;
        caller.audited(&target, result).await
    }

    async fn attach_inner(
        &self,
        caller: &Caller,
        p: DomainsAttachParams,
    ) -> Result<DomainsAttachOut, ApiError> {
        let (ws, row) = self.owned_domain(caller, &p.domain).await?;
        let target = match (&p.app_uuid, &p.ip, &p.cname) {
            (Some(uuid), None, None) => Target::App(uuid.trim().to_string(), None),
            (Some(uuid), Some(ip), None) => {
                Target::App(uuid.trim().to_string(), Some(check_ip(ip)?))
            }
            (None, Some(ip), None) => Target::Ip(check_ip(ip)?),
            (None, None, Some(c)) => Target::Cname(check_cname(c)?),
            _ => {
                return Err(ApiError::bad_request(
                    "give one of app_uuid, ip and cname (or app_uuid with ip)",
                ));
            }
        };
        let subs: Vec<String> = match &p.subdomains {
            None => vec!["@".into(), "www".into()],
            Some(list) if list.is_empty() || list.len() > MAX_SUBDOMAINS => {
                return Err(ApiError::bad_request(format!(
                    "subdomains must list 1 to {MAX_SUBDOMAINS} names"
                )));
            }
            Some(list) => {
                let mut out: Vec<String> = Vec::new();
                for s in list {
                    let checked = apex::check_subdomain(s).map_err(|r| {
                        ApiError::bad_request(format!(
                            "subdomain {} cannot be used: {}",
                            quote(s),
                            r.reason
                        ))
                    })?;
                    if !out.contains(&checked) {
                        out.push(checked);
                    }
                }
                out
            }
        };
        if matches!(target, Target::Cname(_)) && subs.iter().any(|s| s == "@") {
            return Err(ApiError::bad_request(
                "the apex (\"@\") cannot be a CNAME; give ip or app_uuid, or leave \"@\" out \
                 of subdomains",
            ));
        }
        if !matches!(row.status.as_str(), "registered" | "attached") {
            return Err(ApiError::unprocessable(format!(
                "domain {} is {}, not registered",
                row.domain, row.status
            ))
            .with_hint("call domains_register first (or domains_get to see why it stopped)"));
        }
        let google = self.providers.google()?;
        let registrar = self.providers.registrar()?;
        let store = caller.store().await?;
        let fqdns: Vec<String> = subs.iter().map(|s| apex::fqdn(s, &row.domain)).collect();

        // Where the records point: an app's Coolify server address, or what was given.
        let (tenant, app_uuid, rrdata, kind) = match &target {
            Target::App(uuid, given) => {
                let t = self.tenant(caller).await?;
                let app = self.app(&t, uuid).await?;
                let ip = match given {
                    Some(ip) => *ip,
                    None => {
                        let server = self.coolify()?.get_server(&t.server_uuid).await?;
                        server
                            .ip
                            .as_deref()
                            .and_then(|i| i.parse().ok())
                            .ok_or_else(|| {
                                ApiError::unprocessable(format!(
                                    "Coolify server {} has no IP address to point {} at (it \
                                     says {})",
                                    t.server_uuid,
                                    row.domain,
                                    quote(server.ip.as_deref().unwrap_or(""))
                                ))
                                .with_hint(
                                    "pass ip with the server's public address along with \
                                     app_uuid (ask the user or the operator for it)",
                                )
                            })?
                    }
                };
                let kind = if ip.is_ipv4() { "A" } else { "AAAA" };
                (Some(t), Some(app.uuid), ip.to_string(), kind)
            }
            Target::Ip(ip) => (
                None,
                None,
                ip.to_string(),
                if ip.is_ipv4() { "A" } else { "AAAA" },
            ),
            Target::Cname(c) => (None, None, format!("{c}."), "CNAME"),
        };
        let log = Steps {
            store: store.clone(),
            row: row.clone(),
            workspace_id: ws.id.clone(),
        };
        let mut steps: Vec<String> = Vec::new();
        let mut unlocked = false;
        let outcome: Result<(), ApiError> = async {
            // 1. The zone.
            let zone_id = zone_name(&row.domain);
            let dns_name = format!("{}.", row.domain);
            let zone = match google
                .create_zone(&zone_id, &dns_name, &format!("vibn workspace {}", ws.slug))
                .await
            {
                Ok(z) => z,
                Err(e) if is_conflict(&e) => {
                    let z = google.get_zone(&zone_id).await?;
                    if !z.dns_name.eq_ignore_ascii_case(&dns_name) {
                        return Err(ApiError::unprocessable(format!(
                            "Cloud DNS zone {zone_id} exists for {}, not {dns_name}",
                            z.dns_name
                        )));
                    }
                    z
                }
                Err(e) => return Err(e.into()),
            };
            let nameservers = zone.name_servers.clone();
            store
                .patch_domain(
                    &row.id,
                    DomainPatch {
                        dns_zone: Some(Some(zone.name.clone())),
                        nameservers: Some(Some(json!(nameservers).to_string())),
                        ..Default::default()
                    },
                )
                .await?;
            log.event(
                "attach.zone",
                format!("zone {} ({} name servers)", zone.name, nameservers.len()),
            )
            .await?;
            steps.push(format!("zone {}", zone.name));

            // 2. The records.
            for fqdn in &fqdns {
                let rrset = json!({"name": format!("{fqdn}."), "type": kind, "ttl": TTL,
                                   "rrdatas": [rrdata]});
                match google.create_rrset(&zone.name, &rrset).await {
                    Ok(_) => {}
                    Err(e) if is_conflict(&e) => {
                        google
                            .patch_rrset(&zone.name, &format!("{fqdn}."), kind, &rrset)
                            .await?;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            log.event(
                "attach.records",
                format!("{kind} {} -> {rrdata}", fqdns.join(", ")),
            )
            .await?;
            steps.push(format!("records {kind} {}", fqdns.join(", ")));

            // 3. The registrar's name servers.
            if p.update_registrar_ns.unwrap_or(true) {
                let ns = registrar_nameservers(&nameservers).map_err(|_| {
                    ApiError::upstream(format!(
                        "Cloud DNS gave zone {} {} name servers; 2 or more are needed",
                        zone.name,
                        nameservers.len()
                    ))
                })?;
                let first = registrar.assign_nameservers(&row.domain, &ns).await?;
                let reply = if first.ok() {
                    first
                } else if first.code == 405 {
                    log.event(
                        "attach.unlock",
                        format!(
                            "the registry refused the update ({} {}); unlocking",
                            first.code, first.text
                        ),
                    )
                    .await?;
                    let u = registrar.set_lock(&row.domain, false).await?;
                    if !u.ok() {
                        return Err(ApiError::upstream(format!(
                            "the registrar refused to unlock {}: {} {}",
                            row.domain, u.code, u.text
                        )));
                    }
                    unlocked = true;
                    registrar.assign_nameservers(&row.domain, &ns).await?
                } else {
                    first
                };
                if !reply.ok() {
                    return Err(ApiError::upstream(format!(
                        "the registrar refused the name servers of {}: {} {}",
                        row.domain, reply.code, reply.text
                    ))
                    .with_hint("call domains_attach again; every step already done is kept"));
                }
                log.event("attach.nameservers", ns.join(", ")).await?;
                steps.push(format!("registrar name servers {}", ns.join(", ")));
            }

            // 4. The app's domains, read back.
            if let (Some(t), Some(uuid)) = (&tenant, &app_uuid) {
                let app = self.app(t, uuid).await?;
                let mut have = hosts_of(app.fqdn.as_deref());
                let missing: Vec<&String> = fqdns.iter().filter(|f| !have.contains(f)).collect();
                if !missing.is_empty() {
                    for f in missing {
                        have.push(f.clone());
                    }
                    let list: Vec<String> = have.iter().map(|d| format!("https://{d}")).collect();
                    let mut fields = Map::new();
                    fields.insert("domains".into(), json!(list.join(",")));
                    self.coolify()?.update_application(uuid, fields).await?;
                }
                self.verify_domains(t, uuid, &fqdns, false).await?;
                log.event("attach.app", format!("app {uuid}: {}", fqdns.join(", ")))
                    .await?;
                steps.push(format!("app {uuid} domains {}", fqdns.join(", ")));
            }

            // 5. The lock.
            let l = registrar.set_lock(&row.domain, true).await?;
            if !l.ok() {
                return Err(ApiError::upstream(format!(
                    "the registrar refused to lock {}: {} {}",
                    row.domain, l.code, l.text
                ))
                .with_hint("call domains_attach again"));
            }
            unlocked = false;
            store
                .patch_domain(
                    &row.id,
                    DomainPatch {
                        locked: Some(true),
                        ..Default::default()
                    },
                )
                .await?;
            log.event("attach.lock", "locked".into()).await?;
            steps.push("locked".into());
            Ok(())
        }
        .await;
        if let Err(e) = outcome {
            if unlocked {
                // The unlock was only for the name-server update: lock again whatever
                // failed after it.
                let relocked = registrar.set_lock(&row.domain, true).await;
                let detail = match relocked {
                    Ok(r) if r.ok() => "relocked after the failure".to_string(),
                    Ok(r) => format!("relock refused: {} {}", r.code, r.text),
                    Err(err) => format!("relock failed: {err}"),
                };
                let _ = log.event("attach.lock", detail).await;
            }
            let _ = log.event("attach.failed", e.message().to_string()).await;
            let _ = store
                .patch_domain(
                    &row.id,
                    DomainPatch {
                        last_error: Some(Some(e.message().to_string())),
                        ..Default::default()
                    },
                )
                .await;
            return Err(e);
        }
        store
            .patch_domain(
                &row.id,
                DomainPatch {
                    status: Some("attached".into()),
                    attached_app_uuid: Some(app_uuid.clone()),
                    attached_target: Some(Some(rrdata.trim_end_matches('.').to_string())),
                    fqdns: Some(Some(json!(fqdns).to_string())),
                    last_error: Some(None),
                    ..Default::default()
                },
            )
            .await?;
        log.event("attach.success", fqdns.join(", ")).await?;
        let after = store.domain_record(&row.domain).await?.unwrap_or(row);
        Ok(DomainsAttachOut {
            domain: domain_out(&after),
            steps,
            urls: if app_uuid.is_some() {
                fqdns.iter().map(|f| format!("https://{f}")).collect()
            } else {
                Vec::new()
            },
        })
    }

    /// The apex names this workspace has attached (for `apps_domains_set`).
    pub(super) async fn attached_domains(&self, caller: &Caller) -> Vec<String> {
        let Some(ws) = caller.workspace() else {
            return Vec::new();
        };
        let Ok(store) = caller.store().await else {
            return Vec::new();
        };
        store
            .domains_of(&ws.id)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d.status == "attached")
            .map(|d| d.domain)
            .collect()
    }
}

/// Appends the events of one attach.
struct Steps {
    store: Keystore,
    row: DomainRecord,
    workspace_id: String,
}

impl Steps {
    async fn event(&self, kind: &str, detail: String) -> Result<(), ApiError> {
        self.store
            .append_domain_event(&self.row.id, &self.workspace_id, kind, &detail)
            .await
            .map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_are_valid_distinct_and_bounded() {
        let a = zone_name("ex-ample.com");
        let b = zone_name("ex.ample.com");
        assert_ne!(a, b);
        let long = zone_name(&format!("{}.com", "a".repeat(63)));
        assert!(long.len() <= 63, "{long}");
        for z in [a, b, long] {
            assert!(z.starts_with("vibn-"));
            assert!(
                z.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            );
            assert!(!z.ends_with('-'));
        }
    }

    #[test]
    fn private_and_malformed_addresses_are_refused() {
        for bad in [
            "10.0.0.1",
            "127.0.0.1",
            "192.168.1.1",
            "0.0.0.0",
            "::1",
            "1.2.3",
            "x",
        ] {
            assert!(check_ip(bad).is_err(), "{bad}");
        }
        assert!(check_ip("8.8.8.8").is_ok());
        assert!(check_ip("2001:4860::8888").is_ok());
    }

    #[test]
    fn cname_targets_are_host_names() {
        assert_eq!(check_cname("App.Example.NET.").unwrap(), "app.example.net");
        for bad in ["x", "a b.com", "*.x.com", "http://x.com"] {
            assert!(check_cname(bad).is_err(), "{bad}");
        }
    }
}

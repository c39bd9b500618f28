//! `domains_search`, `domains_register`, `domains_list`, `domains_get` (seed 003 §3.6,
//! issue 15): custom apex domains through OpenSRS, owned by the workspace that registered
//! them. Names are checked strictly (`policy::apex`) before any call; a name another
//! workspace holds is 403 for every tool. Registration is idempotent per (workspace,
//! domain): the row is claimed first, every attempt and outcome is an append-only event,
//! a retry after an unknown outcome asks the registrar before registering again, a
//! `pending` answer is reported as pending, and each completed order is one debit row.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ControlPlaneApi;
use crate::api::caller::Caller;
use crate::clients::http::Failure;
use crate::clients::opensrs::{Availability, Ops, Registration};
use crate::error::{ApiError, quote};
use crate::keystore::{DomainPatch, DomainRecord, Keyring, Workspace};
use crate::policy::apex;

/// Most names one search takes.
pub const MAX_SEARCH: usize = 25;
/// Longest registration, in years.
pub const MAX_PERIOD: u32 = 10;
/// Events shown by `domains_get`.
const EVENTS_SHOWN: i64 = 20;
/// CIRA's Canadian Presence Requirement categories (OpenSRS `legal_type`).
const CPR_CATEGORIES: [&str; 18] = [
    "CCO", "CCT", "RES", "GOV", "EDU", "ASS", "HOP", "PRT", "TDM", "TRD", "PLT", "LAM", "TRS",
    "ABO", "INB", "LGR", "OMK", "MAJ",
];

/// Parameters of `domains_search`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DomainsSearchParams {
    /// Up to 25 candidate apex names, e.g. ["my-shop.com", "my-shop.ca"].
    pub names: Vec<String>,
    /// Years (1–10; raised to a TLD's minimum, e.g. 2 for .ai).
    #[serde(default)]
    pub period: Option<u32>,
}

/// One searched name.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DomainQuote {
    /// The name (lowered).
    pub domain: String,
    /// `available`, `taken`, `invalid` (the registry refuses it) or `unknown`.
    pub status: String,
    /// True only when the registrar says 210 (available).
    pub available: bool,
    /// The price for `period` years, as the registrar quotes it (when available).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// The period the price is for.
    pub period: u32,
    /// Why the period differs from the one asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What `domains_search` found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DomainsSearchOut {
    /// One entry per name, in the order given.
    pub results: Vec<DomainQuote>,
}

/// A registrant contact (used for owner, admin, billing and tech).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct Contact {
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Organisation.
    #[serde(default)]
    pub org_name: Option<String>,
    /// Street address.
    pub address1: String,
    /// More address.
    #[serde(default)]
    pub address2: Option<String>,
    /// City.
    pub city: String,
    /// State or province (ON).
    pub state: String,
    /// Country, ISO alpha-2 (CA).
    pub country: String,
    /// Postal code.
    pub postal_code: String,
    /// Phone, +1.4165550100.
    pub phone: String,
    /// Email.
    pub email: String,
}

/// CIRA fields, required for .ca.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct CaFields {
    /// CIRA presence category (CCO, CCT, RES …).
    pub cpr_category: String,
    /// Legal type, if not the category.
    #[serde(default)]
    pub legal_type: Option<String>,
    /// EN or FR (default EN).
    #[serde(default)]
    pub lang_pref: Option<String>,
    /// A registered trademark (default false).
    #[serde(default)]
    pub isa_trademark: Option<bool>,
}

/// Parameters of `domains_register`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DomainsRegisterParams {
    /// The apex name, e.g. my-shop.com.
    pub domain: String,
    /// Years (default the TLD's minimum: 1, 2 for .ai).
    #[serde(default)]
    pub period: Option<u32>,
    /// Ask for WHOIS privacy.
    #[serde(default)]
    pub whois_privacy: Option<bool>,
    /// The registrant.
    pub contact: Contact,
    /// Name servers (default the registrar's; domains_attach sets them).
    #[serde(default)]
    pub nameservers: Option<Vec<String>>,
    /// CIRA fields (required for .ca).
    #[serde(default)]
    pub ca: Option<CaFields>,
}

/// A domain's name only.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DomainRef {
    /// The apex name.
    pub domain: String,
}

/// Parameters of `domains_list` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DomainsListParams {}

/// One domain of the workspace.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DomainOut {
    /// The name.
    pub domain: String,
    /// `registering`, `pending`, `registered`, `failed` or `attached`.
    pub status: String,
    /// Years registered.
    pub period: i64,
    /// The registrar's order id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// Price paid, as quoted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// Registrar lock.
    pub locked: bool,
    /// `cloud_dns`.
    pub dns_provider: String,
    /// The managed zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_zone: Option<String>,
    /// The zone's name servers.
    pub nameservers: Vec<String>,
    /// The app it serves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attached_app_uuid: Option<String>,
    /// The IP or CNAME target of its records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attached_target: Option<String>,
    /// The names written (apex, www …).
    pub fqdns: Vec<String>,
    /// The last failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A lifecycle event.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DomainEventOut {
    /// When (ms since the epoch).
    pub at: i64,
    /// `register.attempt`, `register.success`, `attach.zone`, …
    pub kind: String,
    /// What happened.
    pub detail: String,
}

/// `domains_get`: the record and its last 20 events, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DomainDetail {
    /// The record.
    pub domain: DomainOut,
    /// Newest first.
    pub events: Vec<DomainEventOut>,
}

/// `domains_list`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DomainsListOut {
    /// By name.
    pub domains: Vec<DomainOut>,
}

/// `domains_register`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DomainsRegisterOut {
    /// The record after this call.
    pub domain: DomainOut,
    /// `registered`, `pending` (the order is saved but not done: not a success) or
    /// `already_registered`.
    pub outcome: String,
    /// What to do next.
    pub note: String,
}

fn json_list(text: Option<&str>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

pub(super) fn domain_out(r: &DomainRecord) -> DomainOut {
    DomainOut {
        domain: r.domain.clone(),
        status: r.status.clone(),
        period: r.period,
        order_id: r.order_id.clone(),
        price: r.price.clone(),
        locked: r.locked,
        dns_provider: r.dns_provider.clone(),
        dns_zone: r.dns_zone.clone(),
        nameservers: json_list(r.nameservers.as_deref()),
        attached_app_uuid: r.attached_app_uuid.clone(),
        attached_target: r.attached_target.clone(),
        fqdns: json_list(r.fqdns.as_deref()),
        last_error: r.last_error.clone(),
    }
}

/// A checked apex name (400/403 with the reason otherwise).
pub(super) fn checked_apex(input: &str, base: &str) -> Result<String, ApiError> {
    apex::check(input, base).map_err(|r| {
        let message = format!("{} cannot be used: {}", quote(input), r.reason);
        if r.forbidden {
            ApiError::forbidden(message).with_hint(
                "names under the platform's domain are the workspace namespace; use \
                 apps_domains_set for those",
            )
        } else {
            ApiError::bad_request(message).with_hint("give an apex name such as my-shop.com")
        }
    })
}

/// The period to use for `apex`: given or the minimum, raised to the minimum; a note
/// when raised.
fn period_for(apex: &str, asked: Option<u32>) -> Result<(u32, Option<String>), ApiError> {
    let min = apex::min_period(apex);
    match asked {
        Some(0) => Err(ApiError::bad_request("period must be 1 to 10 years")),
        Some(p) if p > MAX_PERIOD => Err(ApiError::bad_request(format!(
            "period {p} is more than {MAX_PERIOD} years"
        ))),
        Some(p) if p < min => Ok((
            min,
            Some(format!(
                ".{} registers for at least {min} years; period raised from {p}",
                apex::tld(apex)
            )),
        )),
        Some(p) => Ok((p, None)),
        None => Ok((min, None)),
    }
}

/// The keyring (503 naming VIBN_SECRETS_KEY when absent).
pub(super) fn ring_of(caller: &Caller) -> Result<std::sync::Arc<Keyring>, ApiError> {
    caller.keyring().cloned().ok_or_else(|| {
        ApiError::not_provisioned(
            "VIBN_SECRETS_KEY is not set: domain and storage secrets are sealed with it",
        )
        .with_hint("set VIBN_SECRETS_KEY in the MCP client's config")
    })
}

/// A contact, checked field by field (400 naming the field).
fn check_contact(c: &Contact) -> Result<(), ApiError> {
    let fields: [(&str, &str, usize); 9] = [
        ("first_name", &c.first_name, 64),
        ("last_name", &c.last_name, 64),
        ("address1", &c.address1, 100),
        ("city", &c.city, 64),
        ("state", &c.state, 32),
        ("country", &c.country, 2),
        ("postal_code", &c.postal_code, 16),
        ("phone", &c.phone, 24),
        ("email", &c.email, 254),
    ];
    for (name, value, max) in fields {
        if value.trim().is_empty() || value.chars().count() > max {
            return Err(ApiError::bad_request(format!(
                "contact.{name} must be 1 to {max} characters"
            )));
        }
        if value.chars().any(char::is_control) {
            return Err(ApiError::bad_request(format!(
                "contact.{name} has control characters"
            )));
        }
    }
    for (name, value) in [("org_name", &c.org_name), ("address2", &c.address2)] {
        if let Some(v) = value
            && (v.chars().count() > 100 || v.chars().any(char::is_control))
        {
            return Err(ApiError::bad_request(format!(
                "contact.{name} must be at most 100 characters without control characters"
            )));
        }
    }
    if !(c.country.len() == 2 && c.country.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(ApiError::bad_request(
            "contact.country must be an ISO 3166 alpha-2 code in capitals (CA, US)",
        ));
    }
    let phone_ok = c
        .phone
        .strip_prefix('+')
        .and_then(|p| p.split_once('.'))
        .is_some_and(|(cc, n)| {
            (1..=3).contains(&cc.len())
                && cc.bytes().all(|b| b.is_ascii_digit())
                && (4..=14).contains(&n.len())
                && n.bytes().all(|b| b.is_ascii_digit())
        });
    if !phone_ok {
        return Err(ApiError::bad_request(
            "contact.phone must be +CC.NUMBER, e.g. +1.4165550100",
        ));
    }
    let email_ok = c.email.split_once('@').is_some_and(|(user, host)| {
        !user.is_empty() && host.contains('.') && !c.email.contains(char::is_whitespace)
    });
    if !email_ok {
        return Err(ApiError::bad_request(
            "contact.email is not an email address",
        ));
    }
    Ok(())
}

fn contact_ops(c: &Contact, ca: bool) -> Ops {
    let mut m = Ops::assoc([
        ("first_name", Ops::text(c.first_name.trim())),
        ("last_name", Ops::text(c.last_name.trim())),
        (
            "org_name",
            Ops::text(
                c.org_name
                    .clone()
                    .unwrap_or_else(|| format!("{} {}", c.first_name.trim(), c.last_name.trim())),
            ),
        ),
        ("address1", Ops::text(c.address1.trim())),
        (
            "address2",
            Ops::text(c.address2.clone().unwrap_or_default()),
        ),
        ("city", Ops::text(c.city.trim())),
        ("state", Ops::text(c.state.trim())),
        ("country", Ops::text(&c.country)),
        ("postal_code", Ops::text(c.postal_code.trim())),
        ("phone", Ops::text(&c.phone)),
        ("email", Ops::text(c.email.trim())),
    ]);
    if ca {
        m.set("lang_pref", Ops::text("EN"));
    }
    m
}

/// The CIRA fields, checked (400 naming the fix).
fn check_ca(apex: &str, ca: Option<&CaFields>) -> Result<Option<(String, String, bool)>, ApiError> {
    if apex::tld(apex) != "ca" {
        return Ok(None);
    }
    let ca = ca.ok_or_else(|| {
        ApiError::bad_request(format!("{apex} is a .ca name: ca.cpr_category is required"))
            .with_hint(format!(
                "add ca {{cpr_category}}: one of {} (CCO corporation, CCT citizen, RES \
                 permanent resident)",
                CPR_CATEGORIES.join(", ")
            ))
    })?;
    let category = ca.cpr_category.trim().to_ascii_uppercase();
    let legal = ca
        .legal_type
        .as_deref()
        .map_or(category.clone(), |l| l.trim().to_ascii_uppercase());
    for (name, v) in [("ca.cpr_category", &category), ("ca.legal_type", &legal)] {
        if !CPR_CATEGORIES.contains(&v.as_str()) {
            return Err(ApiError::bad_request(format!(
                "{name} {} is not a CIRA category",
                quote(v)
            ))
            .with_hint(format!("one of {}", CPR_CATEGORIES.join(", "))));
        }
    }
    let lang = ca
        .lang_pref
        .as_deref()
        .map_or("EN".to_string(), |l| l.trim().to_ascii_uppercase());
    if lang != "EN" && lang != "FR" {
        return Err(ApiError::bad_request("ca.lang_pref must be EN or FR"));
    }
    Ok(Some((legal, lang, ca.isa_trademark.unwrap_or(false))))
}

/// Name servers for a registration: host names, trailing dots stripped, 2 to 13.
pub(super) fn registrar_nameservers(given: &[String]) -> Result<Vec<String>, ApiError> {
    if given.len() < 2 || given.len() > 13 {
        return Err(ApiError::bad_request(
            "nameservers must list 2 to 13 host names",
        ));
    }
    given
        .iter()
        .map(|n| {
            let bare = n.trim_end_matches('.').to_ascii_lowercase();
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
                    "nameserver {} is not a host name",
                    quote(n)
                )))
            }
        })
        .collect()
}

/// The registrant profile user of a domain row: deterministic, so a retry reuses it.
fn profile_user(row_id: &str) -> String {
    let digest = Sha256::digest(row_id.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("vibn{hex}")
}

impl ControlPlaneApi {
    /// Availability and price of up to 25 names.
    pub async fn domains_search(
        &self,
        caller: &Caller,
        p: DomainsSearchParams,
    ) -> Result<DomainsSearchOut, ApiError> {
        super::limits::check(&p)?;
        self.workspace(caller)?;
        if p.names.is_empty() || p.names.len() > MAX_SEARCH {
            return Err(ApiError::bad_request(format!(
                "names must list 1 to {MAX_SEARCH} domains; {} given",
                p.names.len()
            )));
        }
        let base = self.inner.settings.base_domain.clone();
        let mut names: Vec<String> = Vec::new();
        for n in &p.names {
            let checked = checked_apex(n, &base)?;
            if !names.contains(&checked) {
                names.push(checked);
            }
        }
        let registrar = self.providers.registrar()?;
        let quotes = names.iter().map(|name| async move {
            let (period, note) = period_for(name, p.period)?;
            let availability = registrar.lookup(name).await?;
            let price = if availability == Availability::Available {
                registrar.price(name, period).await?
            } else {
                None
            };
            let status = match availability {
                Availability::Available => "available",
                Availability::Taken => "taken",
                Availability::Invalid => "invalid",
                Availability::Unknown(_) => "unknown",
            };
            Ok::<_, ApiError>(DomainQuote {
                domain: name.clone(),
                status: status.to_string(),
                available: availability == Availability::Available,
                price,
                period,
                note,
            })
        });
        let results = futures::future::join_all(quotes)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DomainsSearchOut { results })
    }

    /// The row of `domain` when it is this workspace's (403 when another's, 404 when
    /// nobody's).
    pub(super) async fn owned_domain(
        &self,
        caller: &Caller,
        domain: &str,
    ) -> Result<(Workspace, DomainRecord), ApiError> {
        let ws = self.workspace(caller)?.clone();
        let name = checked_apex(domain, &self.inner.settings.base_domain)?;
        let row = caller.store().await?.domain_record(&name).await?;
        match row {
            Some(r) if r.workspace_id == ws.id => Ok((ws, r)),
            Some(_) => Err(not_yours(&name)),
            None => Err(ApiError::not_found(format!(
                "domain {name} is not registered by this workspace"
            ))
            .with_hint("call domains_list for this workspace's domains, or domains_register")),
        }
    }

    /// Every domain of the workspace.
    pub async fn domains_list(
        &self,
        caller: &Caller,
        p: DomainsListParams,
    ) -> Result<DomainsListOut, ApiError> {
        super::limits::check(&p)?;
        let ws = self.workspace(caller)?;
        let rows = caller.store().await?.domains_of(&ws.id).await?;
        Ok(DomainsListOut {
            domains: rows.iter().map(domain_out).collect(),
        })
    }

    /// One domain and its last 20 events.
    pub async fn domains_get(
        &self,
        caller: &Caller,
        p: DomainRef,
    ) -> Result<DomainDetail, ApiError> {
        super::limits::check(&p)?;
        let (_, row) = self.owned_domain(caller, &p.domain).await?;
        let events = caller
            .store()
            .await?
            .domain_events(&row.id, EVENTS_SHOWN)
            .await?;
        Ok(DomainDetail {
            domain: domain_out(&row),
            events: events
                .into_iter()
                .map(|e| DomainEventOut {
                    at: e.at,
                    kind: e.kind,
                    detail: e.detail,
                })
                .collect(),
        })
    }

    /// Register a domain (idempotent per workspace and name).
    pub async fn domains_register(
        &self,
        caller: &Caller,
        p: DomainsRegisterParams,
    ) -> Result<DomainsRegisterOut, ApiError> {
        super::limits::check(&p)?;
        let target = p.domain.trim().to_ascii_lowercase();
        let result = self.register_inner(caller, p).await;
        caller.audited(&target, result).await
    }

    async fn register_inner(
        &self,
        caller: &Caller,
        p: DomainsRegisterParams,
    ) -> Result<DomainsRegisterOut, ApiError> {
        let ws = self.workspace(caller)?.clone();
        let name = checked_apex(&p.domain, &self.inner.settings.base_domain)?;
        let (period, period_note) = period_for(&name, p.period)?;
        check_contact(&p.contact)?;
        let ca = check_ca(&name, p.ca.as_ref())?;
        let nameservers = p
            .nameservers
            .as_deref()
            .map(registrar_nameservers)
            .transpose()?;
        let ring = ring_of(caller)?;
        let registrar = self.providers.registrar()?;
        let store = caller.store().await?;
        if let Some(existing) = store.domain_record(&name).await? {
            // Another workspace's definite refusal (no order) never made the name theirs.
            let abandoned = existing.status == "failed" && existing.order_id.is_none();
            if existing.workspace_id != ws.id && !abandoned {
                return Err(not_yours(&name));
            }
            if matches!(existing.status.as_str(), "registered" | "attached") {
                return Ok(DomainsRegisterOut {
                    domain: domain_out(&existing),
                    outcome: "already_registered".into(),
                    note: "registered earlier by this workspace; nothing was done".into(),
                });
            }
        }
        let (row, created) = store
            .claim_domain(
                &ws.id,
                &name,
                i64::from(period),
                p.whois_privacy.unwrap_or(false),
                &ring,
            )
            .await?;
        if row.workspace_id != ws.id {
            return Err(not_yours(&name));
        }
        let event = |kind: &'static str, detail: String| {
            let (store, id, ws_id) = (store.clone(), row.id.clone(), ws.id.clone());
            async move { store.append_domain_event(&id, &ws_id, kind, &detail).await }
        };
        let price = registrar.price(&name, period).await?;
        event(
            "register.attempt",
            format!(
                "{period} year(s){}",
                price
                    .as_deref()
                    .map(|p| format!(", quoted {p}"))
                    .unwrap_or_default()
            ),
        )
        .await?;
        // A row that was already there means an earlier attempt whose outcome may be
        // unknown (a lost reply): ask the registrar before registering again.
        if !created {
            if let Some(out) = self.reconcile(caller, &row, &price, &event).await? {
                return Ok(out);
            }
            if row.status == "pending" {
                return Ok(DomainsRegisterOut {
                    domain: domain_out(&row),
                    outcome: "pending".into(),
                    note: format!(
                        "NOT registered yet: order {} is still pending at the registrar;                          nothing was ordered again. Ask the operator to check the reseller                          account, then call domains_register again",
                        row.order_id.as_deref().unwrap_or("?")
                    ),
                });
            }
        }
        let password = store.domain_password(&row.id, &ring).await?;
        let contact = contact_ops(&p.contact, ca.is_some());
        let mut attrs = Ops::assoc([
            ("domain", Ops::text(&name)),
            ("period", Ops::text(period.to_string())),
            ("reg_username", Ops::text(profile_user(&row.id))),
            (
                "reg_password",
                Ops::text(secrecy::ExposeSecret::expose_secret(&password)),
            ),
            ("auto_renew", Ops::text("0")),
            ("f_lock_domain", Ops::text("0")),
            (
                "f_whois_privacy",
                Ops::text(if p.whois_privacy.unwrap_or(false) {
                    "1"
                } else {
                    "0"
                }),
            ),
            ("custom_tech_contact", Ops::text("1")),
            (
                "contact_set",
                Ops::assoc([
                    ("owner", contact.clone()),
                    ("admin", contact.clone()),
                    ("billing", contact.clone()),
                    ("tech", contact),
                ]),
            ),
        ]);
        match &nameservers {
            Some(list) => {
                attrs.set("custom_nameservers", Ops::text("1"));
                attrs.set(
                    "nameserver_list",
                    Ops::Array(
                        list.iter()
                            .enumerate()
                            .map(|(i, n)| {
                                Ops::assoc([
                                    ("name", Ops::text(n)),
                                    ("sortorder", Ops::text((i + 1).to_string())),
                                ])
                            })
                            .collect(),
                    ),
                );
            }
            None => attrs.set("custom_nameservers", Ops::text("0")),
        }
        if let Some((legal, lang, trademark)) = &ca {
            attrs.set("legal_type", Ops::text(legal));
            attrs.set("lang_pref", Ops::text(lang));
            attrs.set(
                "isa_trademark",
                Ops::text(if *trademark { "1" } else { "0" }),
            );
            attrs.set(
                "registrant_extra_info",
                Ops::assoc([("legal_type", Ops::text(legal))]),
            );
        }
        let outcome = registrar.register(attrs).await;
        let note_with = |base: &str| match &period_note {
            Some(n) => format!("{base} ({n})"),
            None => base.to_string(),
        };
        match outcome {
            Err(e) => {
                // No answer, or a gateway's error instead of one: OpenSRS may have acted.
                let unknown = matches!(e.failure, Failure::Timeout | Failure::Connect(_))
                    || e.status().is_some_and(|s| s >= 500);
                let text = e.to_string();
                event(
                    "register.failed",
                    if unknown {
                        format!("outcome unknown: {text}")
                    } else {
                        text.clone()
                    },
                )
                .await?;
                store
                    .patch_domain(
                        &row.id,
                        DomainPatch {
                            status: Some(if unknown { "registering" } else { "failed" }.into()),
                            last_error: Some(Some(text)),
                            ..Default::default()
                        },
                    )
                    .await?;
                let err: ApiError = e.into();
                Err(if unknown {
                    err.with_hint(
                        "the registrar's answer was lost; call domains_register again: vibn \
                         asks the registrar first and does not register twice",
                    )
                } else {
                    err
                })
            }
            Ok(Registration::Done { order_id }) => {
                let r = self
                    .mark_registered(caller, &row, &order_id, &price, &event)
                    .await?;
                Ok(DomainsRegisterOut {
                    domain: domain_out(&r),
                    outcome: "registered".into(),
                    note: note_with(&format!(
                        "registered (order {order_id}), unlocked until domains_attach locks it; \
                         next: domains_attach {{domain: \"{name}\", app_uuid}}"
                    )),
                })
            }
            Ok(Registration::Pending { order_id, text }) => {
                event("register.pending", format!("order {order_id}: {text}")).await?;
                store
                    .patch_domain(
                        &row.id,
                        DomainPatch {
                            status: Some("pending".into()),
                            order_id: Some(Some(order_id.clone())),
                            price: Some(price.clone()),
                            last_error: Some(Some(text.clone())),
                            ..Default::default()
                        },
                    )
                    .await?;
                let r = store
                    .domain_record(&name)
                    .await?
                    .unwrap_or_else(|| row.clone());
                Ok(DomainsRegisterOut {
                    domain: domain_out(&r),
                    outcome: "pending".into(),
                    note: format!(
                        "NOT registered yet: the registrar saved order {order_id} without \
                         processing it ({text}); ask the operator to check the reseller \
                         account (funds), then call domains_register again"
                    ),
                })
            }
            Ok(Registration::Taken) => {
                event("register.failed", "the name is taken (485)".into()).await?;
                store
                    .patch_domain(
                        &row.id,
                        DomainPatch {
                            status: Some("failed".into()),
                            last_error: Some(Some("taken".into())),
                            ..Default::default()
                        },
                    )
                    .await?;
                Err(
                    ApiError::unprocessable(format!("{name} is already registered"))
                        .with_hint("call domains_search for available names"),
                )
            }
            Ok(Registration::Refused { code: 705, text }) => {
                // "Timed out, resubmit request": the outcome is unknown until asked.
                event("register.failed", format!("outcome unknown: 705 {text}")).await?;
                store
                    .patch_domain(
                        &row.id,
                        DomainPatch {
                            last_error: Some(Some(format!("705 {text}"))),
                            ..Default::default()
                        },
                    )
                    .await?;
                Err(ApiError::upstream(format!(
                    "the registrar timed out registering {name} (705 {text})"
                ))
                .with_hint(
                    "call domains_register again: vibn asks the registrar first and does not \
                     register twice",
                ))
            }
            Ok(Registration::Refused { code, text }) => {
                event("register.failed", format!("{code} {text}")).await?;
                store
                    .patch_domain(
                        &row.id,
                        DomainPatch {
                            status: Some("failed".into()),
                            last_error: Some(Some(format!("{code} {text}"))),
                            ..Default::default()
                        },
                    )
                    .await?;
                Err(
                    ApiError::unprocessable(format!("the registrar refused {name}: {code} {text}"))
                        .with_hint("fix what the registrar names and call domains_register again"),
                )
            }
        }
    }

    /// After an earlier attempt: when the registrar already holds the name for this
    /// reseller, the registration is complete (no second order).
    async fn reconcile<F, Fut>(
        &self,
        caller: &Caller,
        row: &DomainRecord,
        price: &Option<String>,
        event: &F,
    ) -> Result<Option<DomainsRegisterOut>, ApiError>
    where
        F: Fn(&'static str, String) -> Fut,
        Fut: std::future::Future<Output = Result<(), crate::keystore::KeystoreError>>,
    {
        let registrar = self.providers.registrar()?;
        let info = registrar.get_domain(&row.domain, "all_info").await?;
        if !info.ok() {
            return Ok(None);
        }
        let order = row
            .order_id
            .clone()
            .unwrap_or_else(|| format!("reconciled-{}", row.id));
        let r = self
            .mark_registered(caller, row, &order, price, event)
            .await?;
        Ok(Some(DomainsRegisterOut {
            domain: domain_out(&r),
            outcome: "registered".into(),
            note: "an earlier attempt had registered the name; confirmed with the registrar, \
                   nothing was ordered again"
                .into(),
        }))
    }

    async fn mark_registered<F, Fut>(
        &self,
        caller: &Caller,
        row: &DomainRecord,
        order_id: &str,
        price: &Option<String>,
        event: &F,
    ) -> Result<DomainRecord, ApiError>
    where
        F: Fn(&'static str, String) -> Fut,
        Fut: std::future::Future<Output = Result<(), crate::keystore::KeystoreError>>,
    {
        let store = caller.store().await?;
        store
            .patch_domain(
                &row.id,
                DomainPatch {
                    status: Some("registered".into()),
                    order_id: Some(Some(order_id.to_string())),
                    price: Some(price.clone()),
                    last_error: Some(None),
                    ..Default::default()
                },
            )
            .await?;
        store
            .record_debit(
                &row.workspace_id,
                price.as_deref().unwrap_or("unquoted"),
                "USD",
                &format!("register {} for {} year(s)", row.domain, row.period),
                order_id,
            )
            .await?;
        event("register.success", format!("order {order_id}")).await?;
        Ok(store
            .domain_record(&row.domain)
            .await?
            .unwrap_or_else(|| row.clone()))
    }
}

/// 403 for a name another workspace holds.
pub(super) fn not_yours(name: &str) -> ApiError {
    ApiError::forbidden(format!("domain {name} belongs to another workspace"))
        .with_hint("do not retry; a domain stays with the workspace that registered it")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact() -> Contact {
        Contact {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            org_name: None,
            address1: "1 Main St".into(),
            address2: None,
            city: "Toronto".into(),
            state: "ON".into(),
            country: "CA".into(),
            postal_code: "M5V 1A1".into(),
            phone: "+1.4165550100".into(),
            email: "ada@example.org".into(),
        }
    }

    #[test]
    fn a_period_below_the_tld_minimum_is_raised_with_a_note() {
        assert_eq!(period_for("x.ai", Some(1)).unwrap().0, 2);
        assert!(period_for("x.ai", Some(1)).unwrap().1.is_some());
        assert_eq!(period_for("x.ai", None).unwrap(), (2, None));
        assert_eq!(period_for("x.com", None).unwrap(), (1, None));
        assert!(period_for("x.com", Some(0)).is_err());
        assert!(period_for("x.com", Some(11)).is_err());
    }

    #[test]
    fn contacts_are_checked_field_by_field() {
        assert!(check_contact(&contact()).is_ok());
        for broken in [
            Contact {
                country: "Canada".into(),
                ..contact()
            },
            Contact {
                country: "ca".into(),
                ..contact()
            },
            Contact {
                phone: "416-555-0100".into(),
                ..contact()
            },
            Contact {
                email: "nobody".into(),
                ..contact()
            },
            Contact {
                city: "".into(),
                ..contact()
            },
            Contact {
                last_name: "a\nb".into(),
                ..contact()
            },
        ] {
            assert_eq!(
                check_contact(&broken).unwrap_err().status(),
                400,
                "{broken:?}"
            );
        }
    }

    #[test]
    fn dot_ca_needs_a_cira_category() {
        assert!(check_ca("x.com", None).unwrap().is_none());
        assert_eq!(check_ca("x.ca", None).unwrap_err().status(), 400);
        let bad = CaFields {
            cpr_category: "XYZ".into(),
            legal_type: None,
            lang_pref: None,
            isa_trademark: None,
        };
        assert_eq!(check_ca("x.ca", Some(&bad)).unwrap_err().status(), 400);
        let good = CaFields {
            cpr_category: "cco".into(),
            legal_type: None,
            lang_pref: None,
            isa_trademark: None,
        };
        assert_eq!(check_ca("x.ca", Some(&good)).unwrap().unwrap().0, "CCO");
    }

    #[test]
    fn registrar_nameservers_lose_their_trailing_dots() {
        let ns = registrar_nameservers(&[
            "ns-cloud-d1.googledomains.com.".into(),
            "NS-CLOUD-D2.googledomains.com".into(),
        ])
        .unwrap();
        assert_eq!(
            ns,
            [
                "ns-cloud-d1.googledomains.com",
                "ns-cloud-d2.googledomains.com"
            ]
        );
        assert!(registrar_nameservers(&["a.b".into()]).is_err());
        assert!(registrar_nameservers(&["a.b".into(), "x y.z".into()]).is_err());
    }

    #[test]
    fn the_registrant_profile_is_deterministic_per_row() {
        assert_eq!(profile_user("dom_1"), profile_user("dom_1"));
        assert_ne!(profile_user("dom_1"), profile_user("dom_2"));
        assert!(profile_user("dom_1").len() <= 20);
    }
}

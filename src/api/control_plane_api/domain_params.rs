//! The parameters and results of the domain tools (issue 15) and the checks on them:
//! periods per TLD, registrant contacts, CIRA fields, name servers, the registrant
//! profile's user name. Pure; the calls are in `registrar` and `domains_lifecycle`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::api::caller::Caller;
use crate::clients::opensrs::Ops;
use crate::error::{ApiError, quote};
use crate::keystore::{DomainRecord, Keyring};
use crate::policy::apex;

/// Most names one search takes.
pub const MAX_SEARCH: usize = 25;
/// Longest registration, in years.
pub const MAX_PERIOD: u32 = 10;
/// Events shown by `domains_get`.
pub(super) const EVENTS_SHOWN: i64 = 20;
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

pub(super) fn json_list(text: Option<&str>) -> Vec<String> {
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
pub(super) fn period_for(
    apex: &str,
    asked: Option<u32>,
) -> Result<(u32, Option<String>), ApiError> {
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
pub(super) fn check_contact(c: &Contact) -> Result<(), ApiError> {
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

pub(super) fn contact_ops(c: &Contact, ca: bool) -> Ops {
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
pub(super) fn check_ca(
    apex: &str,
    ca: Option<&CaFields>,
) -> Result<Option<(String, String, bool)>, ApiError> {
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
pub(super) fn profile_user(row_id: &str) -> String {
    let digest = Sha256::digest(row_id.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("vibn{hex}")
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

//! The XCP commands the stand-in serves (providers.md §4): LOOKUP, NAME_SUGGEST,
//! GET_PRICE, GET ([`super::queries`]), SW_REGISTER ([`super::register`]),
//! ADVANCED_UPDATE_NAMESERVERS and MODIFY data=status ([`super::domains`]). Here: the
//! dispatch, which checks attributes against the names the references list (an unknown
//! attribute is refused with 465, a missing required one with 460), and the checks the
//! commands share. Codes as in §5. TLD rules: `.ai` is registered for 2–10 years,
//! `.ca` needs CIRA's `legal_type`, `isa_trademark` and `lang_pref` (top level or in
//! `registrant_extra_info`) and a province (`state`) on every contact.

use super::domains::{modify, update_nameservers};
use super::queries::{get, get_price, lookup, name_suggest};
use super::register::sw_register;
use super::state::{Domain, Mode, OpenSrsState, Registry};
use super::xcp::Data;

/// A command's answer: `response_code`, `response_text`, `is_success`, `attributes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// `response_code`.
    pub code: u16,
    /// `response_text`.
    pub text: String,
    /// `is_success`.
    pub success: bool,
    /// `attributes`, when any.
    pub attributes: Option<Data>,
}

impl Answer {
    pub(super) fn ok(code: u16, text: &str, attributes: Option<Data>) -> Answer {
        Answer {
            code,
            text: text.into(),
            success: true,
            attributes,
        }
    }

    /// A failure with `code` and `text`.
    pub fn err(code: u16, text: impl Into<String>) -> Answer {
        Answer {
            code,
            text: text.into(),
            success: false,
            attributes: None,
        }
    }
}

/// The TLDs the stand-in sells and their yearly price (USD, new registrations).
pub(super) const TLDS: &[(&str, f64)] = &[
    ("com", 14.99),
    ("net", 16.99),
    ("org", 15.99),
    ("io", 49.00),
    ("dev", 15.00),
    ("app", 18.00),
    ("ca", 12.99),
    ("ai", 80.00),
];

/// Which attributes each command accepts (names from the toolkit, the clients and the
/// docs listed in providers.md §0).
pub(super) fn allowed_attributes(action: &str) -> &'static [&'static str] {
    match action {
        "LOOKUP" => &["domain", "no_cache"],
        "NAME_SUGGEST" => &[
            "searchstring",
            "tlds",
            "services",
            "maximum",
            "max_wait_time",
            "search_key",
            "languages",
            "skip_registry_lookup",
            "service_override",
        ],
        "GET_PRICE" => &["domain", "period", "reg_type", "all_periods"],
        "SW_REGISTER" => &[
            "domain",
            "reg_type",
            "period",
            "reg_username",
            "reg_password",
            "reg_domain",
            "contact_set",
            "custom_tech_contact",
            "custom_nameservers",
            "nameserver_list",
            "f_lock_domain",
            "f_whois_privacy",
            "auto_renew",
            "handle",
            "premium_price_to_verify",
            "tld_data",
            "legal_type",
            "isa_trademark",
            "lang_pref",
            "ca_link_domain",
            "cwa",
            "domain_description",
            "rant_agrees",
            "rant_no",
            "registrant_extra_info",
        ],
        "ADVANCED_UPDATE_NAMESERVERS" => &["domain", "op_type", "assign_ns", "add_ns", "remove_ns"],
        "MODIFY" => &[
            "domain",
            "domain_name",
            "data",
            "lock_state",
            "affect_domains",
        ],
        "GET" => &["domain", "type"],
        _ => &[],
    }
}

/// Whether `action` changes state (for the write log).
pub fn is_write(action: &str) -> bool {
    matches!(
        action,
        "SW_REGISTER" | "ADVANCED_UPDATE_NAMESERVERS" | "MODIFY"
    )
}

/// Run `action` on `object` with `attributes`; `top_domain` is a legacy top-level
/// `domain` ("cookie bypass").
pub fn run(
    state: &OpenSrsState,
    action: &str,
    object: &str,
    attributes: &Data,
    top_domain: Option<&str>,
) -> Answer {
    let allowed = allowed_attributes(action);
    if allowed.is_empty() {
        return Answer::err(430, format!("Invalid command: {action}"));
    }
    if object != "DOMAIN" {
        return Answer::err(430, format!("Invalid object {object} for action {action}"));
    }
    if !matches!(attributes, Data::Assoc(_)) {
        return Answer::err(465, "Invalid data: attributes must be a dt_assoc");
    }
    if let Some(unknown) = attributes.keys().into_iter().find(|k| !allowed.contains(k)) {
        return Answer::err(
            465,
            format!("Invalid data: unknown attribute '{unknown}' for {action}"),
        );
    }
    let mut registry = state.registry();
    match action {
        "LOOKUP" => lookup(&registry, attributes),
        "NAME_SUGGEST" => name_suggest(&registry, attributes),
        "GET_PRICE" => get_price(attributes),
        "SW_REGISTER" => sw_register(&mut registry, attributes, false),
        "ADVANCED_UPDATE_NAMESERVERS" => update_nameservers(&mut registry, attributes, top_domain),
        "MODIFY" => modify(&mut registry, attributes, top_domain),
        _ => get(&registry, attributes, top_domain),
    }
}

/// The lower-case domain and its TLD, or the 465 syntax error.
pub(super) fn domain_syntax(raw: &str) -> Result<(String, &'static str, f64), Answer> {
    let invalid = || Answer::err(465, format!("Invalid domain syntax: {raw}"));
    let name = raw.to_ascii_lowercase();
    let (label, tld) = name.split_once('.').ok_or_else(invalid)?;
    let label_ok = !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !label_ok {
        return Err(invalid());
    }
    let (tld, price) = TLDS
        .iter()
        .find(|(t, _)| *t == tld)
        .copied()
        .ok_or_else(|| {
            Answer::err(
                465,
                format!("Invalid domain syntax: TLD .{tld} is not offered"),
            )
        })?;
    Ok((name, tld, price))
}

/// The period in years, checked against the TLD's range; when absent, `default` raised
/// to the TLD's minimum (a choice of the stand-in: OpenSRS documents 1 as the default).
pub(super) fn period_of(attributes: &Data, tld: &str, default: u32) -> Result<u32, Answer> {
    let raw = attributes.text("period");
    let min = if tld == "ai" { 2 } else { 1 };
    let period = match raw {
        None | Some("") => default.max(min),
        Some(p) => p
            .parse::<u32>()
            .map_err(|_| Answer::err(465, format!("Invalid data: period '{p}' is not a number")))?,
    };
    if period < min || period > 10 {
        let why = if tld == "ai" {
            ".AI registrations require a period of 2 to 10 years".to_string()
        } else {
            "period must be 1 to 10 years".to_string()
        };
        return Err(Answer::err(465, format!("Invalid data supplied: {why}")));
    }
    Ok(period)
}

pub(super) fn required<'a>(attributes: &'a Data, key: &str) -> Result<&'a str, Answer> {
    match attributes.text(key) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(Answer::err(
            460,
            format!("Missing required field: '{key}' not provided"),
        )),
    }
}

pub(super) fn flag(attributes: &Data, key: &str) -> Result<bool, Answer> {
    match attributes.text(key) {
        None | Some("0") | Some("") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(Answer::err(
            465,
            format!("Invalid data: {key} must be 0 or 1, got '{other}'"),
        )),
    }
}

/// A host name as OpenSRS takes it: lower-case letters, digits, dashes, dots, no
/// trailing dot.
pub(super) fn host_ok(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.contains('.')
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// In Horizon, the first nameserver its mock registry does not know.
pub(super) fn unknown_in_test(registry: &Registry, names: &[String]) -> Option<String> {
    (registry.settings.mode == Mode::Test)
        .then(|| {
            names
                .iter()
                .find(|n| {
                    !registry
                        .settings
                        .test_nameservers
                        .iter()
                        .any(|k| k.eq_ignore_ascii_case(n))
                })
                .cloned()
        })
        .flatten()
}

/// The domain a per-domain command names: `attributes/domain` or the legacy top-level
/// one; 460 when neither, 480 when it is not registered here.
pub(super) fn own_domain<'r>(
    registry: &'r mut Registry,
    attributes: &Data,
    top: Option<&str>,
) -> Result<&'r mut Domain, Answer> {
    let name = domain_named(attributes, top)?;
    registry.domains.get_mut(&name).ok_or_else(|| {
        Answer::err(
            480,
            format!("Domain {name} not found in this reseller's account"),
        )
    })
}

/// The lower-case domain a per-domain command names, or 460.
pub(super) fn domain_named(attributes: &Data, top: Option<&str>) -> Result<String, Answer> {
    attributes
        .text("domain")
        .or(top)
        .filter(|d| !d.trim().is_empty())
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| Answer::err(460, "No Domain Supplied"))
}

/// JSON as XCP data (objects → dt_assoc, arrays → dt_array, the rest → text).
pub fn json_to_data(v: &serde_json::Value) -> Data {
    match v {
        serde_json::Value::Object(m) => Data::Assoc(
            m.iter()
                .map(|(k, v)| (k.clone(), json_to_data(v)))
                .collect(),
        ),
        serde_json::Value::Array(a) => Data::Array(a.iter().map(json_to_data).collect()),
        serde_json::Value::String(s) => Data::Text(s.clone()),
        serde_json::Value::Null => Data::Text(String::new()),
        other => Data::Text(other.to_string()),
    }
}

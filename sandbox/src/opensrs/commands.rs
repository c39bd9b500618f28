//! The XCP commands the stand-in serves (providers.md §4): LOOKUP, NAME_SUGGEST,
//! GET_PRICE, SW_REGISTER, ADVANCED_UPDATE_NAMESERVERS, MODIFY data=status and GET
//! type=status|all_info|nameservers. Each checks its attributes against the names the
//! references list (an unknown attribute is refused with 465, a missing required one
//! with 460) and answers the codes of §5. TLD rules: `.ai` is registered for 2–10 years,
//! `.ca` needs CIRA's `legal_type`, `isa_trademark` and `lang_pref` (top level or in
//! `registrant_extra_info`) and a province (`state`) on every contact.

use std::time::SystemTime;

use super::state::{Domain, Mode, OpenSrsState, PendingOrder, Registry};
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
    fn ok(code: u16, text: &str, attributes: Option<Data>) -> Answer {
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
const TLDS: &[(&str, f64)] = &[
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
fn allowed_attributes(action: &str) -> &'static [&'static str] {
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

const CONTACT_KEYS: &[&str] = &[
    "first_name",
    "last_name",
    "org_name",
    "address1",
    "address2",
    "address3",
    "city",
    "state",
    "country",
    "postal_code",
    "phone",
    "fax",
    "email",
    "url",
    "lang_pref",
];

/// CIRA's Canadian Presence Requirement categories (`legal_type`).
const CPR_CATEGORIES: &[&str] = &[
    "CCO", "CCT", "RES", "GOV", "EDU", "ASS", "HOP", "PRT", "TDM", "TRD", "PLT", "LAM", "TRS",
    "ABO", "INB", "LGR", "OMK", "MAJ",
];

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

/// Save a SW_REGISTER as a pending order (the `pending` fault); answers
/// `forced_pending`.
pub fn save_pending(state: &OpenSrsState, attributes: &Data) -> Answer {
    let mut registry = state.registry();
    let checked = sw_register(&mut registry, attributes, true);
    if !checked.success {
        return checked;
    }
    let domain = attributes
        .text("domain")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let order_id = registry.next_order_id();
    registry.pending.insert(
        domain.clone(),
        PendingOrder {
            order_id,
            domain,
            attributes: Some(attributes.clone()),
        },
    );
    Answer::ok(
        200,
        "Registration request saved, not processed",
        Some(Data::assoc([(
            "forced_pending",
            Data::text_of(order_id.to_string()),
        )])),
    )
}

/// Process a pending order (control): registers the domain now. `Err` when there is no
/// such order or the registration fails.
pub fn process_pending(state: &OpenSrsState, order_id: u64) -> Result<Answer, String> {
    let mut registry = state.registry();
    let Some((domain, order)) = registry
        .pending
        .iter()
        .find(|(_, o)| o.order_id == order_id)
        .map(|(d, o)| (d.clone(), o.clone()))
    else {
        return Err(format!("no pending order {order_id}"));
    };
    registry.pending.remove(&domain);
    let attributes = order.attributes.unwrap_or(Data::Assoc(Vec::new()));
    let answer = sw_register(&mut registry, &attributes, false);
    if answer.success {
        Ok(answer)
    } else {
        Err(format!("{} {}", answer.code, answer.text))
    }
}

/// The lower-case domain and its TLD, or the 465 syntax error.
fn domain_syntax(raw: &str) -> Result<(String, &'static str, f64), Answer> {
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

/// The period in years, checked against the TLD's range.
fn period_of(attributes: &Data, tld: &str, default: u32) -> Result<u32, Answer> {
    let raw = attributes.text("period");
    let period = match raw {
        None | Some("") => default,
        Some(p) => p
            .parse::<u32>()
            .map_err(|_| Answer::err(465, format!("Invalid data: period '{p}' is not a number")))?,
    };
    let min = if tld == "ai" { 2 } else { 1 };
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

fn required<'a>(attributes: &'a Data, key: &str) -> Result<&'a str, Answer> {
    match attributes.text(key) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(Answer::err(
            460,
            format!("Missing required field: '{key}' not provided"),
        )),
    }
}

fn flag(attributes: &Data, key: &str) -> Result<bool, Answer> {
    match attributes.text(key) {
        None | Some("0") | Some("") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(Answer::err(
            465,
            format!("Invalid data: {key} must be 0 or 1, got '{other}'"),
        )),
    }
}

fn lookup(registry: &Registry, attributes: &Data) -> Answer {
    let domain = match required(attributes, "domain") {
        Ok(d) => d,
        Err(e) => return e,
    };
    if let Err(e) = flag(attributes, "no_cache") {
        return e;
    }
    let (name, _, _) = match domain_syntax(domain) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let status = |s: &str| {
        Some(Data::assoc([
            ("status", Data::text_of(s)),
            ("price_status", Data::text_of("Undef")),
        ]))
    };
    if registry.domains.contains_key(&name) || registry.taken.contains(&name) {
        Answer::ok(211, "Domain taken", status("taken"))
    } else if registry.pending.contains_key(&name) {
        Answer::ok(
            221,
            "Domain taken (waiting registration exists in OpenSRS)",
            status("taken"),
        )
    } else {
        Answer::ok(210, "Domain available", status("available"))
    }
}

fn name_suggest(registry: &Registry, attributes: &Data) -> Answer {
    let label = match required(attributes, "searchstring") {
        Ok(s) => s.to_ascii_lowercase(),
        Err(e) => return e,
    };
    let texts = |key: &str| -> Result<Option<Vec<String>>, Answer> {
        match attributes.get(key) {
            None => Ok(None),
            Some(Data::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Data::Text(t) => Ok(t.clone()),
                    _ => Err(Answer::err(
                        465,
                        format!("Invalid data: {key} items must be text"),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(Answer::err(
                465,
                format!("Invalid data: {key} must be a dt_array"),
            )),
        }
    };
    let tlds = match texts("tlds") {
        Ok(t) => t.unwrap_or_else(|| vec![".com".into(), ".net".into(), ".org".into()]),
        Err(e) => return e,
    };
    let services = match texts("services") {
        Ok(s) => s.unwrap_or_else(|| vec!["lookup".into(), "suggestion".into()]),
        Err(e) => return e,
    };
    let mut out: Vec<(String, Data)> = Vec::new();
    for service in &services {
        let service = service.to_ascii_lowercase();
        if service != "lookup" {
            // Suggestion engines are not modelled; OpenSRS reports a per-service
            // temporary failure with 500, which clients must tolerate.
            out.push((
                service,
                Data::assoc([
                    ("is_success", Data::text_of("0")),
                    ("response_code", Data::text_of("500")),
                    (
                        "response_text",
                        Data::text_of("Service temporarily unavailable"),
                    ),
                ]),
            ));
            continue;
        }
        let mut items = Vec::new();
        for tld in &tlds {
            let domain = format!(
                "{label}.{}",
                tld.trim_start_matches('.').to_ascii_lowercase()
            );
            let status = match lookup(
                registry,
                &Data::assoc([("domain", Data::text_of(domain.clone()))]),
            ) {
                a if a.code == 210 => "available",
                a if a.code == 211 || a.code == 221 => "taken",
                _ => "undetermined",
            };
            items.push(Data::assoc([
                ("domain", Data::text_of(domain)),
                ("status", Data::text_of(status)),
            ]));
        }
        out.push((
            "lookup".into(),
            Data::assoc([
                ("is_success", Data::text_of("1")),
                ("response_code", Data::text_of("200")),
                (
                    "response_text",
                    Data::text_of("Command completed successfully."),
                ),
                ("count", Data::text_of(items.len().to_string())),
                ("items", Data::Array(items)),
            ]),
        ));
    }
    let mut answer = Answer::ok(
        200,
        "Command completed successfully",
        Some(Data::Assoc(out)),
    );
    answer.attributes = answer.attributes.map(|a| match a {
        Data::Assoc(mut items) => {
            items.push(("is_search_completed".into(), Data::text_of("1")));
            Data::Assoc(items)
        }
        other => other,
    });
    answer
}

fn price_text(yearly: f64, years: u32) -> String {
    format!("{:.2}", yearly * f64::from(years))
}

fn get_price(attributes: &Data) -> Answer {
    let domain = match required(attributes, "domain") {
        Ok(d) => d,
        Err(e) => return e,
    };
    let (_, tld, yearly) = match domain_syntax(domain) {
        Ok(x) => x,
        Err(e) => return e,
    };
    match attributes.text("reg_type") {
        None | Some("new" | "renewal" | "transfer" | "trade") => {}
        Some(other) => return Answer::err(465, format!("Invalid data: reg_type '{other}'")),
    }
    let all = match flag(attributes, "all_periods") {
        Ok(a) => a,
        Err(e) => return e,
    };
    let period = match period_of(attributes, tld, 1) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let mut items = vec![(
        "price".to_string(),
        Data::text_of(price_text(yearly, period)),
    )];
    if all {
        let min = if tld == "ai" { 2 } else { 1 };
        items.push((
            "prices".into(),
            Data::Assoc(
                (min..=10)
                    .map(|y| (y.to_string(), Data::text_of(price_text(yearly, y))))
                    .collect(),
            ),
        ));
    }
    Answer::ok(
        200,
        "Command completed successfully",
        Some(Data::Assoc(items)),
    )
}

/// Check a contact map; `needs_state` for `.ca` (CIRA wants a province).
fn check_contact(role: &str, contact: Option<&Data>, needs_state: bool) -> Result<(), Answer> {
    let Some(contact @ Data::Assoc(_)) = contact else {
        return Err(Answer::err(
            460,
            format!("Missing required field: contact_set/{role}"),
        ));
    };
    if let Some(k) = contact
        .keys()
        .into_iter()
        .find(|k| !CONTACT_KEYS.contains(k))
    {
        return Err(Answer::err(
            465,
            format!("Invalid data: unknown contact field '{k}' in {role}"),
        ));
    }
    let mut needed = vec![
        "first_name",
        "last_name",
        "address1",
        "city",
        "country",
        "postal_code",
        "phone",
        "email",
    ];
    if needs_state {
        needed.push("state");
    }
    for key in needed {
        if contact.text(key).is_none_or(|v| v.trim().is_empty()) {
            return Err(Answer::err(
                460,
                format!("Missing required field: {role} {key}"),
            ));
        }
    }
    let country = contact.text("country").unwrap_or_default();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(Answer::err(
            465,
            format!("Invalid data: {role} country '{country}' is not an ISO 3166 code"),
        ));
    }
    let phone = contact.text("phone").unwrap_or_default();
    if !phone_ok(phone) {
        return Err(Answer::err(
            465,
            format!("Invalid data: {role} phone '{phone}' must look like +1.4165550100"),
        ));
    }
    let email = contact.text("email").unwrap_or_default();
    let email_ok = email.split_once('@').is_some_and(|(l, d)| {
        !l.is_empty() && d.contains('.') && !email.contains(char::is_whitespace)
    });
    if !email_ok {
        return Err(Answer::err(
            465,
            format!("Invalid data: {role} email '{email}'"),
        ));
    }
    Ok(())
}

/// EPP phone syntax: `+CC.NNNN…` with an optional `xNNN` extension.
fn phone_ok(phone: &str) -> bool {
    let number = phone.split_once('x').map_or(phone, |(n, ext)| {
        if ext.is_empty() || !ext.chars().all(|c| c.is_ascii_digit()) {
            ""
        } else {
            n
        }
    });
    let Some((cc, rest)) = number.strip_prefix('+').and_then(|n| n.split_once('.')) else {
        return false;
    };
    (1..=3).contains(&cc.len())
        && cc.chars().all(|c| c.is_ascii_digit())
        && (4..=14).contains(&rest.len())
        && rest.chars().all(|c| c.is_ascii_digit())
}

/// A host name as OpenSRS takes it: lower-case letters, digits, dashes, dots, no
/// trailing dot.
fn host_ok(host: &str) -> bool {
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

/// The `.ca` CIRA fields (top level or in `registrant_extra_info`), checked.
fn cira_fields(attributes: &Data, owner: Option<&Data>) -> Result<serde_json::Value, Answer> {
    let extra = attributes.get("registrant_extra_info");
    let field = |key: &str| {
        attributes
            .text(key)
            .or_else(|| extra.and_then(|e| e.text(key)))
            .map(str::to_string)
    };
    let mut out = serde_json::Map::new();
    for key in ["legal_type", "isa_trademark", "lang_pref"] {
        let Some(value) = field(key).filter(|v| !v.trim().is_empty()) else {
            return Err(Answer::err(
                460,
                format!("Missing required field: '{key}' is required for .CA registrations"),
            ));
        };
        out.insert(key.into(), value.clone().into());
    }
    let legal_type = field("legal_type").unwrap_or_default().to_ascii_uppercase();
    if !CPR_CATEGORIES.contains(&legal_type.as_str()) {
        return Err(Answer::err(
            465,
            format!("Invalid data: legal_type '{legal_type}' is not a CIRA CPR category"),
        ));
    }
    if !matches!(field("isa_trademark").as_deref(), Some("0" | "1")) {
        return Err(Answer::err(
            465,
            "Invalid data: isa_trademark must be 0 or 1",
        ));
    }
    if !matches!(
        field("lang_pref")
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref(),
        Some("EN" | "FR")
    ) {
        return Err(Answer::err(465, "Invalid data: lang_pref must be EN or FR"));
    }
    if legal_type == "CCO" {
        // CIRA: a corporation's registrant name carries its legal suffix.
        let org = owner
            .and_then(|o| o.text("org_name"))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let suffixed = [
            "inc",
            "ltd",
            "corp",
            "ltée",
            "limited",
            "incorporated",
            "corporation",
            "llc",
            "ulc",
            "société",
        ]
        .iter()
        .any(|s| {
            org.split(|c: char| !c.is_alphanumeric() && c != 'é')
                .any(|w| w == *s)
        });
        if !suffixed {
            return Err(Answer::err(
                465,
                "Invalid data: a CCO registrant's org_name must carry its corporate suffix (Inc., Ltd., Corp., …)",
            ));
        }
    }
    out.insert("legal_type".into(), legal_type.into());
    Ok(serde_json::Value::Object(out))
}

/// The `nameserver_list` of SW_REGISTER: `{name, sortorder}` maps, sorted.
fn nameserver_list(list: Option<&Data>) -> Result<Vec<String>, Answer> {
    let Some(Data::Array(items)) = list else {
        return Err(Answer::err(460, "Missing required field: nameserver_list"));
    };
    let mut named = Vec::new();
    for item in items {
        if let Some(k) = item
            .keys()
            .into_iter()
            .find(|k| !["name", "sortorder", "ipaddress"].contains(k))
        {
            return Err(Answer::err(
                465,
                format!("Invalid data: unknown nameserver field '{k}'"),
            ));
        }
        let name = item.text("name").unwrap_or_default().to_ascii_lowercase();
        let order = item
            .text("sortorder")
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(|| Answer::err(460, "Missing required field: nameserver sortorder"))?;
        if !host_ok(&name) {
            return Err(Answer::err(
                465,
                format!("Invalid data: nameserver '{name}'"),
            ));
        }
        named.push((order, name));
    }
    named.sort();
    let names: Vec<String> = named.into_iter().map(|(_, n)| n).collect();
    if names.len() < 2 {
        return Err(Answer::err(
            465,
            "Invalid data: at least two nameservers are required",
        ));
    }
    Ok(names)
}

/// In Horizon, the first nameserver its mock registry does not know.
fn unknown_in_test(registry: &Registry, names: &[String]) -> Option<String> {
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

/// SW_REGISTER; with `check_only` every check runs but nothing is registered.
fn sw_register(registry: &mut Registry, attributes: &Data, check_only: bool) -> Answer {
    match sw_register_checked(registry, attributes, check_only) {
        Ok(a) | Err(a) => a,
    }
}

fn sw_register_checked(
    registry: &mut Registry,
    attributes: &Data,
    check_only: bool,
) -> Result<Answer, Answer> {
    let domain = required(attributes, "domain")?;
    let (name, tld, _) = domain_syntax(domain)?;
    match attributes.text("reg_type") {
        Some("new") => {}
        Some(other) => {
            return Err(Answer::err(
                465,
                format!(
                    "Invalid data: reg_type '{other}' is not supported by this stand-in (new only)"
                ),
            ));
        }
        None => {
            return Err(Answer::err(
                460,
                "Missing required field: 'reg_type' not provided",
            ));
        }
    }
    let period = period_of(attributes, tld, 1)?;
    let reg_username = required(attributes, "reg_username")?.to_string();
    let reg_password = required(attributes, "reg_password")?.to_string();
    for key in [
        "custom_tech_contact",
        "custom_nameservers",
        "f_lock_domain",
        "f_whois_privacy",
        "auto_renew",
    ] {
        flag(attributes, key)?;
    }
    match attributes.text("handle") {
        None | Some("process" | "save") => {}
        Some(other) => return Err(Answer::err(465, format!("Invalid data: handle '{other}'"))),
    }
    let contacts = attributes
        .get("contact_set")
        .ok_or_else(|| Answer::err(460, "Missing required field: 'contact_set' not provided"))?;
    let mut roles = vec!["owner", "admin", "billing"];
    if flag(attributes, "custom_tech_contact")? {
        roles.push("tech");
    }
    if let Some(k) = contacts
        .keys()
        .into_iter()
        .find(|k| !["owner", "admin", "billing", "tech"].contains(k))
    {
        return Err(Answer::err(
            465,
            format!("Invalid data: unknown contact type '{k}'"),
        ));
    }
    for role in roles {
        check_contact(role, contacts.get(role), tld == "ca")?;
    }
    let cira = if tld == "ca" {
        Some(cira_fields(attributes, contacts.get("owner"))?)
    } else {
        for key in [
            "legal_type",
            "isa_trademark",
            "lang_pref",
            "registrant_extra_info",
        ] {
            if attributes.get(key).is_some() {
                return Err(Answer::err(
                    465,
                    format!("Invalid data: {key} applies to .CA only"),
                ));
            }
        }
        None
    };
    let nameservers = if flag(attributes, "custom_nameservers")? {
        nameserver_list(attributes.get("nameserver_list"))?
    } else {
        Vec::new()
    };
    if registry.domains.contains_key(&name) || registry.taken.contains(&name) {
        return Err(Answer::err(485, "Domain taken"));
    }
    if registry.pending.contains_key(&name) {
        return Err(Answer::err(
            486,
            "Domain registration already in a processing state; try again in a minute",
        ));
    }
    if let Some(known) = registry.profiles.get(&reg_username)
        && *known != reg_password
    {
        {
            return Err(Answer::err(
                415,
                "Authentication failed: registrant profile password does not match",
            ));
        }
    }
    let order_id = registry.next_order_id();
    if let Some(host) = unknown_in_test(registry, &nameservers) {
        // DRI's fixture: validation failure, order saved as pending.
        return Err(Answer {
            code: 435,
            text: format!(
                "Request failed validation: Name server '{host}' is not found at the registry"
            ),
            success: false,
            attributes: Some(Data::assoc([(
                "forced_pending",
                Data::text_of(order_id.to_string()),
            )])),
        });
    }
    if check_only {
        return Ok(Answer::ok(200, "checked", None));
    }
    if attributes.text("handle") == Some("save") {
        registry.pending.insert(
            name.clone(),
            PendingOrder {
                order_id,
                domain: name,
                attributes: Some(attributes.clone()),
            },
        );
        return Ok(Answer::ok(
            200,
            "Registration request saved, not processed",
            Some(Data::assoc([(
                "forced_pending",
                Data::text_of(order_id.to_string()),
            )])),
        ));
    }
    registry.profiles.insert(reg_username.clone(), reg_password);
    let admin_email = contacts
        .get("admin")
        .and_then(|c| c.text("email"))
        .unwrap_or_default()
        .to_string();
    registry.domains.insert(
        name.clone(),
        Domain {
            name,
            order_id,
            period,
            created: SystemTime::now(),
            locked: flag(attributes, "f_lock_domain")?,
            nameservers,
            contact_set: contacts.to_json(),
            auto_renew: flag(attributes, "auto_renew")?,
            whois_privacy: flag(attributes, "f_whois_privacy")?,
            reg_username,
            cira,
        },
    );
    Ok(Answer::ok(
        200,
        "Registration successful",
        Some(Data::assoc([
            ("id", Data::text_of(order_id.to_string())),
            ("admin_email", Data::text_of(admin_email)),
        ])),
    ))
}

/// The domain a per-domain command names: `attributes/domain` or the legacy top-level
/// one; 460 when neither, 480 when it is not registered here.
fn own_domain<'r>(
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
fn domain_named(attributes: &Data, top: Option<&str>) -> Result<String, Answer> {
    attributes
        .text("domain")
        .or(top)
        .filter(|d| !d.trim().is_empty())
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| Answer::err(460, "No Domain Supplied"))
}

fn texts_of(list: Option<&Data>, key: &str) -> Result<Vec<String>, Answer> {
    match list {
        None => Ok(Vec::new()),
        Some(Data::Array(items)) => items
            .iter()
            .map(|i| match i {
                Data::Text(t) if host_ok(&t.to_ascii_lowercase()) => Ok(t.to_ascii_lowercase()),
                Data::Text(t) => Err(Answer::err(
                    465,
                    format!("Invalid data: nameserver '{t}' in {key}"),
                )),
                _ => Err(Answer::err(
                    465,
                    format!("Invalid data: {key} holds host names (text)"),
                )),
            })
            .collect(),
        Some(_) => Err(Answer::err(
            465,
            format!("Invalid data: {key} must be a dt_array"),
        )),
    }
}

fn update_nameservers(registry: &mut Registry, attributes: &Data, top: Option<&str>) -> Answer {
    match update_nameservers_checked(registry, attributes, top) {
        Ok(a) | Err(a) => a,
    }
}

fn update_nameservers_checked(
    registry: &mut Registry,
    attributes: &Data,
    top: Option<&str>,
) -> Result<Answer, Answer> {
    let op = required(attributes, "op_type")?.to_string();
    let assign = texts_of(attributes.get("assign_ns"), "assign_ns")?;
    let add = texts_of(attributes.get("add_ns"), "add_ns")?;
    let remove = texts_of(attributes.get("remove_ns"), "remove_ns")?;
    let current = own_domain(registry, attributes, top)?.nameservers.clone();
    let wanted: Vec<String> = match op.as_str() {
        "assign" => {
            if attributes.get("add_ns").is_some() || attributes.get("remove_ns").is_some() {
                return Err(Answer::err(
                    465,
                    "Invalid data: assign_ns cannot be combined with add_ns or remove_ns",
                ));
            }
            if attributes.get("assign_ns").is_none() {
                return Err(Answer::err(
                    460,
                    "Missing required field: 'assign_ns' not provided",
                ));
            }
            assign
        }
        "add_remove" => {
            if attributes.get("assign_ns").is_some() {
                return Err(Answer::err(
                    465,
                    "Invalid data: assign_ns cannot be used with op_type add_remove",
                ));
            }
            let mut next: Vec<String> = current
                .iter()
                .filter(|n| !remove.contains(n))
                .cloned()
                .collect();
            for n in add {
                if !next.contains(&n) {
                    next.push(n);
                }
            }
            next
        }
        other => return Err(Answer::err(465, format!("Invalid data: op_type '{other}'"))),
    };
    let mut dedup = wanted.clone();
    dedup.sort();
    dedup.dedup();
    if dedup.len() != wanted.len() {
        return Err(Answer::err(465, "Invalid data: duplicate nameservers"));
    }
    if wanted.len() < 2 {
        return Err(Answer::err(
            465,
            "Invalid data: at least two nameservers are required",
        ));
    }
    let refuse_locked = registry.settings.ns_update_refused_while_locked;
    let unknown = unknown_in_test(registry, &wanted);
    let domain = own_domain(registry, attributes, top)?;
    if domain.locked && refuse_locked {
        return Err(Answer::err(
            405,
            "Registry error: domain's nameserver not updated.",
        ));
    }
    if let Some(host) = unknown {
        return Err(Answer::err(
            480,
            format!("Nameserver {host} does not exist at the registry"),
        ));
    }
    if domain.nameservers == wanted {
        return Ok(Answer::ok(200, "No nameserver changes necessary", None));
    }
    domain.nameservers = wanted;
    Ok(Answer::ok(200, "Nameserver Update Successful", None))
}

fn modify(registry: &mut Registry, attributes: &Data, top: Option<&str>) -> Answer {
    let checked = (|| {
        let data = required(attributes, "data")?;
        if data != "status" {
            return Err(Answer::err(
                465,
                format!(
                    "Invalid data: data '{data}' is not supported by this stand-in (status only)"
                ),
            ));
        }
        let lock = match required(attributes, "lock_state")? {
            "0" => false,
            "1" => true,
            other => {
                return Err(Answer::err(
                    465,
                    format!("Invalid data: lock_state '{other}'"),
                ));
            }
        };
        match required(attributes, "affect_domains")? {
            "0" | "1" => {}
            other => {
                return Err(Answer::err(
                    465,
                    format!("Invalid data: affect_domains '{other}'"),
                ));
            }
        }
        let domain = own_domain(registry, attributes, top)?;
        domain.locked = lock;
        Ok(Answer::ok(200, "Modification Successful", None))
    })();
    match checked {
        Ok(a) | Err(a) => a,
    }
}

/// `YYYY-MM-DD HH:MM:SS` of `t` plus `years`.
fn registry_date(t: SystemTime, years: u32) -> String {
    let text = humantime::format_rfc3339_seconds(t).to_string();
    let (year, rest) = text.split_at(4);
    let year = year.parse::<u32>().unwrap_or(1970) + years;
    format!("{year}{}", rest.trim_end_matches('Z').replacen('T', " ", 1))
}

fn get(registry: &Registry, attributes: &Data, top: Option<&str>) -> Answer {
    let domain = match domain_named(attributes, top) {
        Ok(name) => match registry.domains.get(&name) {
            Some(d) => d.clone(),
            None => {
                return Answer::err(
                    480,
                    format!("Domain {name} not found in this reseller's account"),
                );
            }
        },
        Err(e) => return e,
    };
    let kind = match required(attributes, "type") {
        Ok(k) => k,
        Err(e) => return e,
    };
    let ns_list = || {
        Data::Array(
            domain
                .nameservers
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    Data::assoc([
                        ("name", Data::text_of(n.clone())),
                        ("ipaddress", Data::text_of("")),
                        ("sortorder", Data::text_of((i + 1).to_string())),
                    ])
                })
                .collect(),
        )
    };
    let attrs = match kind {
        "status" => Data::assoc([
            (
                "lock_state",
                Data::text_of(if domain.locked { "1" } else { "0" }),
            ),
            ("can_modify", Data::text_of("1")),
            ("parkp_status", Data::text_of("0")),
            ("transfer_away_in_progress", Data::text_of("0")),
            ("auctionescrow", Data::text_of("0")),
        ]),
        "nameservers" => Data::assoc([("nameserver_list", ns_list())]),
        "all_info" => {
            let created = registry_date(domain.created, 0);
            let expires = registry_date(domain.created, domain.period);
            Data::assoc([
                ("expiredate", Data::text_of(expires.clone())),
                ("registry_createdate", Data::text_of(created.clone())),
                ("registry_expiredate", Data::text_of(expires)),
                ("registry_updatedate", Data::text_of(created)),
                (
                    "auto_renew",
                    Data::text_of(if domain.auto_renew { "1" } else { "0" }),
                ),
                ("let_expire", Data::text_of("0")),
                ("sponsoring_rsp", Data::text_of("1")),
                ("contact_set", json_to_data(&domain.contact_set)),
                ("nameserver_list", ns_list()),
            ])
        }
        other => {
            return Answer::err(
                465,
                format!(
                    "Invalid data: type '{other}' is not supported by this stand-in (status, all_info, nameservers)"
                ),
            );
        }
    };
    Answer::ok(200, "Query Successful", Some(attrs))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epp_phone_numbers_are_checked() {
        assert!(phone_ok("+1.4165550100"));
        assert!(phone_ok("+1.4165550123x1902"));
        assert!(!phone_ok("416-555-0100"));
        assert!(!phone_ok("+1.416x"));
    }

    #[test]
    fn registry_dates_add_whole_years() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(registry_date(t, 0), "2023-11-14 22:13:20");
        assert_eq!(registry_date(t, 2), "2025-11-14 22:13:20");
    }
}

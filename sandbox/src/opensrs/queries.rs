//! The read-only commands: LOOKUP (210 available / 211 taken / 221 pending here),
//! NAME_SUGGEST (its `lookup` service), GET_PRICE (per-TLD yearly price × period,
//! `all_periods`) and GET type=status|all_info|nameservers.

use std::time::SystemTime;

use super::commands::{
    Answer, domain_named, domain_syntax, flag, json_to_data, period_of, required,
};
use super::state::Registry;
use super::xcp::Data;

pub(super) fn lookup(registry: &Registry, attributes: &Data) -> Answer {
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

pub(super) fn name_suggest(registry: &Registry, attributes: &Data) -> Answer {
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

pub(super) fn price_text(yearly: f64, years: u32) -> String {
    format!("{:.2}", yearly * f64::from(years))
}

pub(super) fn get_price(attributes: &Data) -> Answer {
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

/// `YYYY-MM-DD HH:MM:SS` of `t` plus `years`.
pub(super) fn registry_date(t: SystemTime, years: u32) -> String {
    let text = humantime::format_rfc3339_seconds(t).to_string();
    let (year, rest) = text.split_at(4);
    let year = year.parse::<u32>().unwrap_or(1970) + years;
    format!("{year}{}", rest.trim_end_matches('Z').replacen('T', " ", 1))
}

pub(super) fn get(registry: &Registry, attributes: &Data, top: Option<&str>) -> Answer {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_dates_add_whole_years() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(registry_date(t, 0), "2023-11-14 22:13:20");
        assert_eq!(registry_date(t, 2), "2025-11-14 22:13:20");
    }
}

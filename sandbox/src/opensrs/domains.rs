//! The commands that change a registered domain: ADVANCED_UPDATE_NAMESERVERS
//! (`assign` or `add_remove`, at least two hosts, 405 while locked when the setting says
//! so, Horizon's 480 for hosts its registry does not know, "No nameserver changes
//! necessary" when unchanged) and MODIFY data=status (`lock_state`).

use super::commands::{Answer, host_ok, own_domain, required, unknown_in_test};
use super::state::Registry;
use super::xcp::Data;

pub(super) fn texts_of(list: Option<&Data>, key: &str) -> Result<Vec<String>, Answer> {
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

pub(super) fn update_nameservers(
    registry: &mut Registry,
    attributes: &Data,
    top: Option<&str>,
) -> Answer {
    match update_nameservers_checked(registry, attributes, top) {
        Ok(a) | Err(a) => a,
    }
}

pub(super) fn update_nameservers_checked(
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

pub(super) fn modify(registry: &mut Registry, attributes: &Data, top: Option<&str>) -> Answer {
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

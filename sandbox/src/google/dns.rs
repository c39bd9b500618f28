//! Cloud DNS v1 (providers.md Google §3): managed zones (create → apex SOA + NS record
//! sets and four output-only `ns-cloud-<x>{1..4}.googledomains.com.` name servers;
//! get by name or id; list with `dnsName`; delete only when empty), record sets
//! (create → 409 when (name, type) exists; list with `name`/`type`; get; patch; delete,
//! never the apex SOA/NS) and atomic changes (deletions must match exactly → 412; the
//! answer says `pending`, a later get `done`). Names are FQDNs with the trailing dot.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Value, json};

use super::errors::{Style, error};
use super::state::Zone;
use super::token::now_rfc3339;
use super::{Call, no_content};
use crate::plumbing::{Reply, json_reply};

const STYLE: Style = Style::JsonApi;

const TYPES: &[&str] = &[
    "A", "AAAA", "ALIAS", "CAA", "CNAME", "DNSKEY", "DS", "HTTPS", "IPSECKEY", "MX", "NAPTR", "NS",
    "PTR", "SOA", "SPF", "SRV", "SSHFP", "SVCB", "TLSA", "TXT",
];

fn invalid(place: &str, value: &Value) -> Reply {
    let shown = value
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| value.to_string());
    error(
        STYLE,
        400,
        "invalid",
        &format!("Invalid value for '{place}': '{shown}'"),
    )
}

fn zone_missing(name: &str) -> Reply {
    error(
        STYLE,
        404,
        "notFound",
        &format!("The 'parameters.managedZone' resource named '{name}' does not exist."),
    )
}

/// Serve one Cloud DNS call.
pub(super) fn handle(call: &Call<'_>) -> Reply {
    let project = call.segs[3].as_str();
    if !call.own_project(project) {
        return error(
            STYLE,
            403,
            "forbidden",
            &format!("Forbidden: the caller has no access to project '{project}'"),
        );
    }
    let seg = |i: usize| call.segs.get(i).map(String::as_str).unwrap_or_default();
    match call.op {
        "dns.managedZones.create" => create_zone(call),
        "dns.managedZones.list" => list_zones(call),
        "dns.managedZones.get" => with_zone(call, seg(5), |z| json_reply(200, &z.resource)),
        "dns.managedZones.delete" => delete_zone(call, seg(5)),
        "dns.resourceRecordSets.create" => create_rrset(call, seg(5)),
        "dns.resourceRecordSets.list" => list_rrsets(call, seg(5)),
        "dns.resourceRecordSets.get" => with_zone(call, seg(5), |z| {
            match z.rrsets.get(&(seg(7).to_string(), seg(8).to_string())) {
                Some(r) => json_reply(200, r),
                None => rrset_missing(seg(7), seg(8)),
            }
        }),
        "dns.resourceRecordSets.patch" => patch_rrset(call, seg(5), seg(7), seg(8)),
        "dns.resourceRecordSets.delete" => delete_rrset(call, seg(5), seg(7), seg(8)),
        "dns.changes.create" => create_change(call, seg(5)),
        _ => with_zone(call, seg(5), |z| {
            match z.changes.iter().find(|c| c["id"] == seg(7)) {
                Some(c) => json_reply(200, c),
                None => error(
                    STYLE,
                    404,
                    "notFound",
                    &format!(
                        "The 'parameters.changeId' resource named '{}' does not exist.",
                        seg(7)
                    ),
                ),
            }
        }),
    }
}

fn rrset_missing(name: &str, kind: &str) -> Reply {
    error(
        STYLE,
        404,
        "notFound",
        &format!("The 'parameters.name' resource named '{name} ({kind})' does not exist."),
    )
}

/// The zone named `key` (its name or numeric id), mutably.
fn find_zone<'z>(zones: &'z mut BTreeMap<String, Zone>, key: &str) -> Option<&'z mut Zone> {
    if zones.contains_key(key) {
        return zones.get_mut(key);
    }
    zones.values_mut().find(|z| z.resource["id"] == key)
}

fn with_zone(call: &Call<'_>, key: &str, f: impl FnOnce(&mut Zone) -> Reply) -> Reply {
    let mut cloud = call.state.cloud();
    match find_zone(&mut cloud.zones, key) {
        Some(z) => f(z),
        None => zone_missing(key),
    }
}

fn zone_name_ok(name: &str) -> bool {
    let b = name.as_bytes();
    (1..=63).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && (b.len() == 1 || b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
}

/// A DNS name written as an FQDN: labels of letters, digits, `-`, `_`, `*`, ending in `.`.
fn fqdn_ok(name: &str) -> bool {
    let Some(body) = name.strip_suffix('.') else {
        return false;
    };
    !body.is_empty()
        && body.len() <= 253
        && body.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '*')
        })
}

fn create_zone(call: &Call<'_>) -> Reply {
    let body = &call.body;
    let name = body["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return error(
            STYLE,
            400,
            "required",
            "Required field 'entity.managedZone.name' not specified",
        );
    }
    if !zone_name_ok(name) {
        return invalid("entity.managedZone.name", &body["name"]);
    }
    let dns_name = body["dnsName"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if dns_name.is_empty() {
        return error(
            STYLE,
            400,
            "required",
            "Required field 'entity.managedZone.dnsName' not specified",
        );
    }
    if !fqdn_ok(&dns_name) {
        return invalid("entity.managedZone.dnsName", &body["dnsName"]);
    }
    if body["description"].as_str().is_some_and(|d| d.len() > 1024) {
        return invalid("entity.managedZone.description", &body["description"]);
    }
    let visibility = body["visibility"].as_str().unwrap_or("public");
    if !matches!(visibility, "public" | "private") {
        return invalid("entity.managedZone.visibility", &body["visibility"]);
    }
    let mut cloud = call.state.cloud();
    if cloud.zones.contains_key(name) {
        return error(
            STYLE,
            409,
            "alreadyExists",
            &format!("The resource 'entity.managedZone' named '{name}' already exists"),
        );
    }
    let n = cloud.next();
    let shard = char::from(b'a' + (n % 5) as u8);
    let name_servers: Vec<String> = (1..=4)
        .map(|i| format!("ns-cloud-{shard}{i}.googledomains.com."))
        .collect();
    let id = (4_000_000_000_000_000_000u64 + n * 7_919).to_string();
    let mut resource = json!({
        "kind": "dns#managedZone",
        "name": name,
        "dnsName": dns_name,
        "description": body["description"].as_str().unwrap_or_default(),
        "id": id,
        "nameServers": name_servers,
        "creationTime": now_rfc3339(),
        "visibility": visibility,
        "cloudLoggingConfig": { "kind": "dns#managedZoneCloudLoggingConfig" },
    });
    if body["labels"].is_object() {
        resource["labels"] = body["labels"].clone();
    }
    let mut rrsets = BTreeMap::new();
    rrsets.insert(
        (dns_name.clone(), "NS".to_string()),
        json!({ "kind": "dns#resourceRecordSet", "name": dns_name, "type": "NS", "ttl": 21600, "rrdatas": name_servers }),
    );
    rrsets.insert(
        (dns_name.clone(), "SOA".to_string()),
        json!({
            "kind": "dns#resourceRecordSet", "name": dns_name, "type": "SOA", "ttl": 21600,
            "rrdatas": [format!("{} cloud-dns-hostmaster.google.com. 1 21600 3600 259200 300", name_servers[0])],
        }),
    );
    cloud.zones.insert(
        name.to_string(),
        Zone {
            resource: resource.clone(),
            rrsets,
            changes: Vec::new(),
        },
    );
    json_reply(200, &resource)
}

/// `pageToken` as an offset and `maxResults` as a page size over `items`.
fn page(call: &Call<'_>, items: Vec<Value>, key: &str, kind: &str) -> Reply {
    let start = call
        .q("pageToken")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let size = call
        .q("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .filter(|m| *m > 0)
        .unwrap_or(1000);
    let end = (start + size).min(items.len());
    let mut out = json!({ "kind": kind, key: items.get(start..end).unwrap_or_default() });
    if end < items.len() {
        out["nextPageToken"] = json!(end.to_string());
    }
    json_reply(200, &out)
}

fn list_zones(call: &Call<'_>) -> Reply {
    let wanted = call.q("dnsName").map(str::to_ascii_lowercase);
    let zones: Vec<Value> = call
        .state
        .cloud()
        .zones
        .values()
        .filter(|z| wanted.as_deref().is_none_or(|d| z.resource["dnsName"] == d))
        .map(|z| z.resource.clone())
        .collect();
    page(call, zones, "managedZones", "dns#managedZonesListResponse")
}

fn delete_zone(call: &Call<'_>, key: &str) -> Reply {
    let mut cloud = call.state.cloud();
    let Some(zone) = find_zone(&mut cloud.zones, key) else {
        return zone_missing(key);
    };
    let apex = zone.resource["dnsName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let extra = zone
        .rrsets
        .keys()
        .any(|(n, t)| !(n == &apex && (t == "SOA" || t == "NS")));
    if extra {
        return error(
            STYLE,
            400,
            "containerNotEmpty",
            &format!("The resource named '{key}' cannot be deleted because it is not empty"),
        );
    }
    let name = zone.resource["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    cloud.zones.remove(&name);
    no_content()
}

/// A record set checked for the zone `apex`, as stored (with `kind`, lower-case name).
fn checked_rrset(apex: &str, value: &Value, place: &str) -> Result<Value, Box<Reply>> {
    let name = value["name"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if name.is_empty() || !fqdn_ok(&name) || !(name == apex || name.ends_with(&format!(".{apex}")))
    {
        return Err(Box::new(invalid(&format!("{place}.name"), &value["name"])));
    }
    let kind = value["type"].as_str().unwrap_or_default();
    if !TYPES.contains(&kind) {
        return Err(Box::new(invalid(&format!("{place}.type"), &value["type"])));
    }
    let ttl = match &value["ttl"] {
        Value::Null => 300,
        v => match v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        {
            Some(t) if t >= 0 => t,
            _ => return Err(Box::new(invalid(&format!("{place}.ttl"), v))),
        },
    };
    let rrdatas: Vec<String> = match value["rrdatas"].as_array() {
        Some(items) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => {
            return Err(Box::new(invalid(
                &format!("{place}.rrdatas"),
                &value["rrdatas"],
            )));
        }
    };
    for (i, data) in rrdatas.iter().enumerate() {
        let ok = match kind {
            "A" => data.parse::<Ipv4Addr>().is_ok(),
            "AAAA" => data.parse::<Ipv6Addr>().is_ok(),
            "CNAME" | "NS" | "PTR" => fqdn_ok(&data.to_ascii_lowercase()),
            _ => !data.trim().is_empty(),
        };
        if !ok {
            return Err(Box::new(invalid(
                &format!("{place}.rrdata[{i}]"),
                &json!(data),
            )));
        }
    }
    if kind == "CNAME" && name == apex {
        return Err(Box::new(error(
            STYLE,
            400,
            "invalid",
            &format!(
                "The resource record set '{place}' is invalid because a CNAME record cannot be created at the zone apex"
            ),
        )));
    }
    if kind == "CNAME" && rrdatas.len() > 1 {
        return Err(Box::new(invalid(
            &format!("{place}.rrdata"),
            &json!(rrdatas),
        )));
    }
    Ok(
        json!({ "kind": "dns#resourceRecordSet", "name": name, "type": kind, "ttl": ttl, "rrdatas": rrdatas }),
    )
}

/// A CNAME cannot share its name with another type (and the other way round).
fn cname_conflict(zone: &Zone, rrset: &Value, place: &str) -> Option<Reply> {
    let name = rrset["name"].as_str().unwrap_or_default();
    let kind = rrset["type"].as_str().unwrap_or_default();
    let clash = zone
        .rrsets
        .keys()
        .any(|(n, t)| n == name && t != kind && (t == "CNAME" || kind == "CNAME"));
    clash.then(|| {
        error(STYLE, 409, "alreadyExists", &format!("The resource '{place}' named '{name} ({kind})' conflicts with an existing record set of another type at the same name (CNAME)"))
    })
}

fn create_rrset(call: &Call<'_>, key: &str) -> Reply {
    with_zone(call, key, |zone| {
        let apex = zone.resource["dnsName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let rrset = match checked_rrset(&apex, &call.body, "entity.rrset") {
            Ok(r) => r,
            Err(e) => return *e,
        };
        let k = (
            rrset["name"].as_str().unwrap_or_default().to_string(),
            rrset["type"].as_str().unwrap_or_default().to_string(),
        );
        if zone.rrsets.contains_key(&k) {
            return error(
                STYLE,
                409,
                "alreadyExists",
                &format!(
                    "The resource 'entity.rrset' named '{} ({})' already exists",
                    k.0, k.1
                ),
            );
        }
        if let Some(e) = cname_conflict(zone, &rrset, "entity.rrset") {
            return e;
        }
        zone.rrsets.insert(k, rrset.clone());
        json_reply(200, &rrset)
    })
}

fn list_rrsets(call: &Call<'_>, key: &str) -> Reply {
    if call.q("filter").is_some() {
        return error(
            STYLE,
            501,
            "notImplemented",
            "the AIP-160 filter of resourceRecordSets.list is not implemented by the vibn stand-in; use name and type",
        );
    }
    if call.q("type").is_some() && call.q("name").is_none() {
        return error(
            STYLE,
            400,
            "invalid",
            "Invalid value for 'parameters.type': type requires name",
        );
    }
    let name = call.q("name").map(str::to_ascii_lowercase);
    let kind = call.q("type").map(str::to_string);
    let items = {
        let mut cloud = call.state.cloud();
        let Some(zone) = find_zone(&mut cloud.zones, key) else {
            return zone_missing(key);
        };
        zone.rrsets
            .iter()
            .filter(|((n, t), _)| {
                name.as_deref().is_none_or(|w| w == n) && kind.as_deref().is_none_or(|w| w == t)
            })
            .map(|(_, v)| v.clone())
            .collect()
    };
    page(call, items, "rrsets", "dns#resourceRecordSetsListResponse")
}

fn patch_rrset(call: &Call<'_>, key: &str, name: &str, kind: &str) -> Reply {
    with_zone(call, key, |zone| {
        let apex = zone.resource["dnsName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let k = (name.to_ascii_lowercase(), kind.to_string());
        let Some(current) = zone.rrsets.get(&k).cloned() else {
            return rrset_missing(name, kind);
        };
        let mut merged = current;
        if let Some(patch) = call.body.as_object() {
            for (field, v) in patch {
                let renamed = match field.as_str() {
                    "name" => v.as_str().is_some_and(|n| !n.eq_ignore_ascii_case(&k.0)),
                    "type" => v.as_str().is_some_and(|t| t != k.1),
                    _ => false,
                };
                if renamed {
                    return invalid(&format!("entity.rrset.{field}"), v);
                }
                if !v.is_null() {
                    merged[field] = v.clone();
                }
            }
        }
        let rrset = match checked_rrset(&apex, &merged, "entity.rrset") {
            Ok(r) => r,
            Err(e) => return *e,
        };
        zone.rrsets.insert(k, rrset.clone());
        json_reply(200, &rrset)
    })
}

fn delete_rrset(call: &Call<'_>, key: &str, name: &str, kind: &str) -> Reply {
    with_zone(call, key, |zone| {
        let apex = zone.resource["dnsName"].as_str().unwrap_or_default();
        let k = (name.to_ascii_lowercase(), kind.to_string());
        if k.0 == apex && (kind == "SOA" || kind == "NS") {
            return error(
                STYLE,
                400,
                "invalid",
                &format!(
                    "The resource record set 'entity.rrset' is invalid because a zone must contain exactly one resource record set of type '{kind}' at the apex."
                ),
            );
        }
        if zone.rrsets.remove(&k).is_none() {
            return rrset_missing(name, kind);
        }
        json_reply(200, &json!({}))
    })
}

fn create_change(call: &Call<'_>, key: &str) -> Reply {
    let mut cloud = call.state.cloud();
    let n = cloud.next();
    let Some(zone) = find_zone(&mut cloud.zones, key) else {
        return zone_missing(key);
    };
    let apex = zone.resource["dnsName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let list = |field: &str| call.body[field].as_array().cloned().unwrap_or_default();
    let (additions, deletions) = (list("additions"), list("deletions"));
    if additions.is_empty() && deletions.is_empty() {
        return error(
            STYLE,
            400,
            "invalid",
            "Invalid value for 'entity.change': the change has no additions or deletions",
        );
    }
    let mut next = zone.rrsets.clone();
    let mut deleted = Vec::new();
    for (i, d) in deletions.iter().enumerate() {
        let place = format!("entity.change.deletions[{i}]");
        let rrset = match checked_rrset(&apex, d, &place) {
            Ok(r) => r,
            Err(e) => return *e,
        };
        let k = (
            rrset["name"].as_str().unwrap_or_default().to_string(),
            rrset["type"].as_str().unwrap_or_default().to_string(),
        );
        if next.get(&k) != Some(&rrset) {
            return error(
                STYLE,
                412,
                "conditionNotMet",
                &format!("Precondition not met for '{place}'"),
            );
        }
        next.remove(&k);
        deleted.push(rrset);
    }
    let mut added = Vec::new();
    for (i, a) in additions.iter().enumerate() {
        let place = format!("entity.change.additions[{i}]");
        let rrset = match checked_rrset(&apex, a, &place) {
            Ok(r) => r,
            Err(e) => return *e,
        };
        let k = (
            rrset["name"].as_str().unwrap_or_default().to_string(),
            rrset["type"].as_str().unwrap_or_default().to_string(),
        );
        if next.contains_key(&k) {
            return error(
                STYLE,
                409,
                "alreadyExists",
                &format!(
                    "The resource '{place}' named '{} ({})' already exists",
                    k.0, k.1
                ),
            );
        }
        next.insert(k, rrset.clone());
        added.push(rrset);
    }
    for kind in ["SOA", "NS"] {
        if !next.contains_key(&(apex.clone(), kind.to_string())) {
            return error(
                STYLE,
                400,
                "invalid",
                &format!(
                    "The resource record set 'entity.change' is invalid because a zone must contain exactly one resource record set of type '{kind}' at the apex."
                ),
            );
        }
    }
    zone.rrsets = next;
    let change = json!({
        "kind": "dns#change",
        "id": n.to_string(),
        "startTime": now_rfc3339(),
        "status": "pending",
        "additions": added,
        "deletions": deleted,
        "isServing": true,
    });
    let mut done = change.clone();
    done["status"] = json!("done");
    zone.changes.push(done);
    json_reply(200, &change)
}

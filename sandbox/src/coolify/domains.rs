//! Application domains as Coolify handles them (`ValidationPatterns` and
//! `bootstrap/helpers/domains.php`): splitting the comma-separated `domains` list,
//! validating each URL (`Invalid URL: …`), normalising scheme and host to lower case,
//! finding conflicts with other resources of the team (409 with `conflicts`), and the
//! sslip URLs generated for new resources. Pure functions over the data.

use serde_json::{Value, json};

use super::http::ApiErr;
use super::state::{Data, Server};

/// `APPLICATION_DOMAIN_FORBIDDEN_PATTERN`: `` ` $ ; & | < > ( ) \ `` and line breaks.
const FORBIDDEN: &[char] = &[
    '`', '$', ';', '&', '|', '<', '>', '(', ')', '\\', '\r', '\n',
];

/// `applicationDomainList()`: split on commas, trimmed, empties dropped.
pub(crate) fn domain_list(value: &str) -> Vec<String> {
    value
        .trim_start_matches(',')
        .trim_end_matches(',')
        .trim()
        .split(',')
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .collect()
}

/// A URL split into scheme, optional userinfo, host, optional port and the rest
/// (path, query, fragment).
struct Parts<'a> {
    scheme: &'a str,
    user: Option<&'a str>,
    host: &'a str,
    port: Option<&'a str>,
    rest: &'a str,
}

fn split_url(url: &str) -> Option<Parts<'_>> {
    let (scheme, after) = url.split_once("://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() => (h, Some(p)),
        _ => (hostport, None),
    };
    Some(Parts {
        scheme,
        user,
        host,
        port,
        rest,
    })
}

/// `isValidDomainUrl()`: http(s) with a plausible host.
fn valid_domain_url(url: &str) -> bool {
    let Some(p) = split_url(url) else {
        return false;
    };
    let scheme_ok = p.scheme.eq_ignore_ascii_case("http") || p.scheme.eq_ignore_ascii_case("https");
    let host_ok = !p.host.is_empty()
        && !p.host.starts_with('.')
        && !p.host.ends_with('.')
        && p.host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_');
    let port_ok = p
        .port
        .is_none_or(|port| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()));
    let rest_ok = !p.rest.chars().any(char::is_whitespace);
    scheme_ok && host_ok && port_ok && rest_ok
}

/// `validateApplicationDomains()`: one message per bad URL.
pub(crate) fn validate_domains(value: &Value) -> Vec<String> {
    let text = match value {
        Value::Null => return Vec::new(),
        Value::String(s) if s.trim().is_empty() => return Vec::new(),
        Value::String(s) => s,
        _ => return vec!["The domains field must be a string.".to_string()],
    };
    domain_list(text)
        .into_iter()
        .filter(|u| u.contains(FORBIDDEN) || !valid_domain_url(u))
        .map(|u| format!("Invalid URL: {u}"))
        .collect()
}

/// `normalizeApplicationDomainUrl()`: lower-case scheme and host, the rest kept.
fn normalize_url(url: &str) -> String {
    let Some(p) = split_url(url) else {
        return url.to_string();
    };
    let mut out = format!("{}://", p.scheme.to_ascii_lowercase());
    if let Some(u) = p.user {
        out.push_str(u);
        out.push('@');
    }
    out.push_str(&p.host.to_ascii_lowercase());
    if let Some(port) = p.port {
        out.push(':');
        out.push_str(port);
    }
    out.push_str(p.rest);
    out
}

/// `normalizeApplicationDomains()`: `None` when the list is empty.
pub(crate) fn normalize_domains(value: &str) -> Option<String> {
    let urls = domain_list(value);
    (!urls.is_empty()).then(|| {
        urls.iter()
            .map(|u| normalize_url(u))
            .collect::<Vec<_>>()
            .join(",")
    })
}

fn strip_slash(u: &str) -> &str {
    u.strip_suffix('/').unwrap_or(u)
}

/// `checkIfDomainIsAlreadyUsedViaAPI()`: conflicts of `urls` with the team's
/// applications (except `exclude_uuid`) and service applications.
pub(crate) fn conflicts(
    d: &Data,
    team: i64,
    urls: &[String],
    exclude_uuid: Option<&str>,
) -> Vec<Value> {
    let wanted: Vec<&str> = urls.iter().map(|u| strip_slash(u)).collect();
    let mut out = Vec::new();
    for app in d.team_apps(team) {
        if exclude_uuid == Some(app.uuid.as_str()) {
            continue;
        }
        let fqdn = app.str_col("fqdn").unwrap_or_default();
        for domain in fqdn.split(',').filter(|x| !x.is_empty()).map(strip_slash) {
            if wanted.contains(&domain) {
                let name = app.name();
                out.push(json!({
                    "domain": domain,
                    "resource_name": name,
                    "resource_uuid": app.uuid,
                    "resource_type": "application",
                    "message": format!("Domain {domain} is already in use by application '{name}'"),
                }));
            }
        }
    }
    for svc in d
        .services
        .iter()
        .filter(|s| d.env_team(s.environment_id) == Some(team))
    {
        let name = svc
            .row
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("Unknown Service");
        for sub in &svc.applications {
            if exclude_uuid.is_some_and(|x| sub.get("uuid").and_then(Value::as_str) == Some(x)) {
                continue;
            }
            let fqdn = sub.get("fqdn").and_then(Value::as_str).unwrap_or_default();
            for domain in fqdn.split(',').filter(|x| !x.is_empty()).map(strip_slash) {
                if wanted.contains(&domain) {
                    out.push(json!({
                        "domain": domain,
                        "resource_name": name,
                        "resource_uuid": sub.get("uuid"),
                        "resource_type": "service",
                        "message": format!("Domain {domain} is already in use by service '{name}'"),
                    }));
                }
            }
        }
    }
    out
}

/// The 409 for domain conflicts.
pub(crate) fn conflict_error(conflicts: Vec<Value>) -> ApiErr {
    ApiErr::with(
        409,
        json!({
            "message": "Domain conflicts detected. Use force_domain_override=true to proceed.",
            "conflicts": conflicts,
            "warning": "Using the same domain for multiple resources can cause routing conflicts and unpredictable behavior.",
        }),
    )
}

/// `generateUrl()` on a server without a wildcard domain: `http://<random>.<ip>.sslip.io`
/// (the localhost server's `host.docker.internal` reads as 127.0.0.1).
pub(crate) fn sslip_url(server: &Server, random: &str) -> String {
    let ip = if server.ip == "host.docker.internal" {
        "127.0.0.1"
    } else {
        server.ip.as_str()
    };
    format!("http://{random}.{ip}.sslip.io")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_validated_and_normalised_like_coolify() {
        assert!(
            validate_domains(&json!(
                "https://App.Example.com, http://b.example.com:8080/x"
            ))
            .is_empty()
        );
        assert_eq!(
            validate_domains(&json!(
                "ftp://a.example.com,https://ok.example.com,https://bad$host"
            )),
            vec![
                "Invalid URL: ftp://a.example.com",
                "Invalid URL: https://bad$host"
            ]
        );
        assert_eq!(
            validate_domains(&json!("example.com")),
            vec!["Invalid URL: example.com"]
        );
        assert_eq!(
            validate_domains(&json!(5)),
            vec!["The domains field must be a string."]
        );
        assert_eq!(
            normalize_domains(",HTTPS://App.Example.COM/Path , http://b.example.com,").as_deref(),
            Some("https://app.example.com/Path,http://b.example.com")
        );
        assert_eq!(normalize_domains(" , "), None);
    }
}

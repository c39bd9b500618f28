//! Registrable (apex) domain names for the domain tools (issue 15): what may be searched,
//! registered and attached. Strict, never "cleaned up" beyond lowering (DNS is
//! case-insensitive): no IDN or punycode, no wildcard, no trailing dot, no IP address,
//! no subdomain of a registrable name, nothing under the platform's own base domain.
//! Also the subdomain labels an attach writes, and the minimum period per TLD.

use super::domain::{MAX_DOMAIN, label_problem};

/// Two-label public suffixes under which a registrable name has three labels.
const SECOND_LEVEL_SUFFIXES: [&str; 12] = [
    "co.uk", "org.uk", "me.uk", "ltd.uk", "plc.uk", "com.au", "net.au", "org.au", "co.nz",
    "com.br", "co.jp", "com.mx",
];

/// Why `input` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The reason, in words.
    pub reason: String,
    /// 403 (the platform's own names) rather than 400.
    pub forbidden: bool,
}

fn bad(reason: impl Into<String>) -> Refusal {
    Refusal {
        reason: reason.into(),
        forbidden: false,
    }
}

/// Check one apex name; the lowered name, or why not. `base` is the platform's base
/// domain (`VIBN_BASE_DOMAIN`), whose names are never registered or attached.
pub fn check(input: &str, base: &str) -> Result<String, Refusal> {
    if input.is_empty() {
        return Err(bad("it is empty"));
    }
    if !input.is_ascii() {
        return Err(bad(
            "it has non-ASCII characters (internationalized names are not supported)",
        ));
    }
    if input.len() > MAX_DOMAIN {
        return Err(bad("it is longer than 253 characters"));
    }
    if let Some(c) = input
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(bad(match c {
            '*' => "wildcards are not accepted".to_string(),
            ':' | '/' => "give a bare domain name: no scheme, port or path".to_string(),
            c if c.is_whitespace() || c.is_control() => {
                "it has whitespace or control characters".to_string()
            }
            c => format!("it has the character {c:?}; only letters, digits, '-' and '.'"),
        }));
    }
    if input.ends_with('.') {
        return Err(bad("it ends with a dot; give the name without it"));
    }
    let lowered = input.to_ascii_lowercase();
    let labels: Vec<&str> = lowered.split('.').collect();
    if let Some(problem) = labels.iter().find_map(|l| label_problem(l)) {
        return Err(bad(problem));
    }
    if lowered.parse::<std::net::Ipv4Addr>().is_ok()
        || labels
            .last()
            .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad("an IP address is not a domain name"));
    }
    let tld = labels.last().copied().unwrap_or_default();
    if tld.len() < 2 || !tld.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(bad(
            "its top-level domain is not a known form (letters only)",
        ));
    }
    if lowered == base || lowered.ends_with(&format!(".{base}")) {
        return Err(Refusal {
            reason: format!("it is under the platform's own domain {base}"),
            forbidden: true,
        });
    }
    let wanted = if SECOND_LEVEL_SUFFIXES
        .iter()
        .any(|s| lowered.ends_with(&format!(".{s}")))
    {
        3
    } else {
        2
    };
    if labels.len() < wanted {
        return Err(bad("it is a top-level domain, not a registrable name"));
    }
    if labels.len() > wanted {
        let apex = labels[labels.len() - wanted..].join(".");
        return Err(bad(format!(
            "it is a subdomain; register or attach the apex {apex} (subdomains are written \
             by domains_attach)"
        )));
    }
    Ok(lowered)
}

/// The top-level domain of a checked apex name.
pub fn tld(apex: &str) -> &str {
    apex.rsplit('.').next().unwrap_or(apex)
}

/// The shortest registration a TLD takes, in years (`.ai`: 2).
pub fn min_period(apex: &str) -> u32 {
    match tld(apex) {
        "ai" => 2,
        _ => 1,
    }
}

/// Check one subdomain of an attach: `@` (the apex) or labels (`www`, `api.v2`); lowered.
pub fn check_subdomain(input: &str) -> Result<String, Refusal> {
    if input == "@" {
        return Ok("@".to_string());
    }
    if input.is_empty() || input.len() > 190 {
        return Err(bad("a subdomain is empty or too long"));
    }
    if input.contains('*') {
        return Err(bad("wildcards are not accepted"));
    }
    if !input.is_ascii() {
        return Err(bad("a subdomain has non-ASCII characters"));
    }
    let lowered = input.to_ascii_lowercase();
    if let Some(problem) = lowered.split('.').find_map(label_problem) {
        return Err(bad(problem));
    }
    Ok(lowered)
}

/// The FQDN (no trailing dot) of `sub` under `apex`.
pub fn fqdn(sub: &str, apex: &str) -> String {
    if sub == "@" {
        apex.to_string()
    } else {
        format!("{sub}.{apex}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "vibnai.com";

    #[test]
    fn hostile_names_are_refused() {
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = format!("{}.com", "a.".repeat(130));
        for bad in [
            "",
            "xn--80ak6aa92e.com",
            "аpple.com",
            "exa_mple.com",
            "*.example.com",
            "example.com.",
            "www.example.com",
            "a.b.example.com",
            "1.2.3.4",
            "example.123",
            "com",
            "example .com",
            "example.com\n",
            "https://example.com",
            "example.com:443",
            "-example.com",
            "example-.com",
            "ex..com",
            ".example.com",
            long_label.as_str(),
            long_name.as_str(),
            "ab--cd.com",
        ] {
            assert!(check(bad, BASE).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_platforms_own_domain_is_forbidden() {
        for own in ["vibnai.com", "mark.vibnai.com", "VIBNAI.COM"] {
            let r = check(own, BASE).unwrap_err();
            assert!(r.forbidden, "{own}");
        }
    }

    #[test]
    fn apex_names_are_accepted_and_lowered() {
        assert_eq!(check("Example.COM", BASE).unwrap(), "example.com");
        assert_eq!(check("my-shop.ca", BASE).unwrap(), "my-shop.ca");
        assert_eq!(check("shop.co.uk", BASE).unwrap(), "shop.co.uk");
        assert_eq!(check("x1.ai", BASE).unwrap(), "x1.ai");
    }

    #[test]
    fn dot_ai_takes_two_years() {
        assert_eq!(min_period("x.ai"), 2);
        assert_eq!(min_period("x.com"), 1);
    }

    #[test]
    fn subdomains_are_labels_or_the_apex() {
        assert_eq!(check_subdomain("@").unwrap(), "@");
        assert_eq!(check_subdomain("WWW").unwrap(), "www");
        assert_eq!(check_subdomain("api.v2").unwrap(), "api.v2");
        for bad in ["*", "*.x", "", "a..b", "-a", "é", "a b", "a/b"] {
            assert!(check_subdomain(bad).is_err(), "{bad:?}");
        }
        assert_eq!(fqdn("@", "ex.com"), "ex.com");
        assert_eq!(fqdn("www", "ex.com"), "www.ex.com");
    }
}

//! Domain policy (seed 003 §6): an agent may point an application only at names in its
//! workspace's namespace, `<label>(.<label>)*.<slug>.<base>` (`VIBN_BASE_DOMAIN`, default
//! `vibnai.com`). The input is parsed strictly, never "cleaned up" into something else:
//!
//! - accepted: ASCII letters (lowered: DNS names are case-insensitive), digits, `-` and
//!   `.` only; one or more labels before `.<slug>.<base>`;
//! - refused: schemes, ports, paths, queries, fragments, userinfo (any `:` `/` `?` `#`
//!   `@`), whitespace and control characters (no trimming), percent-encoding, `_`,
//!   wildcards, non-ASCII (IDN, look-alike letters) and punycode/reserved labels
//!   (`xn--…`, any `??--`), empty labels, labels over 63 characters or with a hyphen at
//!   an edge, a trailing dot, names over 253 characters, another workspace's namespace
//!   and the bare namespace itself.
//!
//! Pure functions; the refusal names the input (cut short) and a valid example.

use super::PolicyError;

/// The base domain when `VIBN_BASE_DOMAIN` is unset.
pub const DEFAULT_BASE: &str = "vibnai.com";
/// Longest domain name (RFC 1035, without the trailing dot).
pub const MAX_DOMAIN: usize = 253;
/// Longest label.
pub const MAX_LABEL: usize = 63;

/// Why a label is not a valid hostname label, or `None` when it is.
pub(crate) fn label_problem(label: &str) -> Option<&'static str> {
    if label.is_empty() {
        return Some("it has an empty label (two dots in a row, or a dot at an edge)");
    }
    if label.len() > MAX_LABEL {
        return Some("a label is longer than 63 characters");
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Some("a label starts or ends with a hyphen");
    }
    if !label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("a label has a character other than a-z, 0-9 and '-'");
    }
    // ASCII only from here, so byte positions are character positions.
    if label.as_bytes().get(2..4) == Some(b"--") {
        return Some("a label is punycode or reserved (xn--…, ??--…); IDNs are not accepted");
    }
    None
}

/// Check a configured base domain (`VIBN_BASE_DOMAIN`): at least two valid labels,
/// lowered; an error names the problem.
pub fn check_base(base: &str) -> Result<String, String> {
    let lowered = base.to_ascii_lowercase();
    if lowered.is_empty() || lowered.len() > MAX_DOMAIN {
        return Err("it is empty or longer than 253 characters".to_string());
    }
    if !lowered.is_ascii() {
        return Err("it is not ASCII".to_string());
    }
    let labels: Vec<&str> = lowered.split('.').collect();
    if labels.len() < 2 {
        return Err("it needs at least two labels (example.com)".to_string());
    }
    if let Some(problem) = labels.iter().find_map(|l| label_problem(l)) {
        return Err(problem.to_string());
    }
    Ok(lowered)
}

/// An application name as a DNS label (it becomes `<name>.<slug>.<base>` and the
/// Coolify name `<slug>-<name>`): lowered, then `a-z0-9-`, 1–63 characters, no hyphen at
/// an edge.
pub fn app_label(name: &str) -> Result<String, PolicyError> {
    let lowered = name.to_ascii_lowercase();
    match label_problem(&lowered) {
        None => Ok(lowered),
        Some(reason) => Err(PolicyError::BadAppName {
            name: name.to_string(),
            reason,
        }),
    }
}

/// A default application label derived from a repository name: lowered, runs of
/// anything but `a-z0-9` turned into one `-`, trimmed, cut to 63; `None` when nothing is
/// left.
pub fn label_from(name: &str) -> Option<String> {
    let mut label = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            label.push(c);
        } else if !label.ends_with('-') {
            label.push('-');
        }
    }
    let mut label = label.trim_matches('-').to_string();
    label.truncate(MAX_LABEL);
    let label = label.trim_end_matches('-').to_string();
    (label_problem(&label).is_none()).then_some(label)
}

/// The workspace's automatic domain for an application: `<label>.<slug>.<base>`.
pub fn app_domain(label: &str, slug: &str, base: &str) -> String {
    format!("{label}.{slug}.{base}")
}

/// Check one domain an agent asked for against the namespace of workspace `slug` under
/// `base`; the normalized (lowered) name, or a refusal naming a valid example.
pub fn check(input: &str, slug: &str, base: &str) -> Result<String, PolicyError> {
    let suffix = format!(".{slug}.{base}");
    let refuse = |reason: &'static str| {
        let example = input
            .split(['.', ':', '/', '@'])
            .map(|part| part.to_ascii_lowercase())
            .find(|part| label_problem(part).is_none() && part != "https" && part != "http")
            .unwrap_or_else(|| "my-api".to_string());
        PolicyError::DomainNotAllowed {
            domain: input.to_string(),
            reason,
            namespace: suffix.clone(),
            example: format!("{example}{suffix}"),
        }
    };
    if input.is_empty() {
        return Err(refuse("it is empty"));
    }
    if !input.is_ascii() {
        return Err(refuse(
            "it has non-ASCII characters (IDNs and look-alike letters are not accepted)",
        ));
    }
    if input.len() > MAX_DOMAIN {
        return Err(refuse("it is longer than 253 characters"));
    }
    if let Some(c) = input
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(refuse(match c {
            ':' | '/' => "give a bare host name: no scheme, port or path",
            '?' | '#' => "give a bare host name: no query or fragment",
            '@' => "give a bare host name: no user info",
            '%' => "percent-encoding is not accepted",
            '*' => "wildcards are not accepted",
            c if c.is_whitespace() || c.is_control() => "it has whitespace or control characters",
            _ => "it has a character other than letters, digits, '-' and '.'",
        }));
    }
    if input.ends_with('.') {
        return Err(refuse("it ends with a dot"));
    }
    let lowered = input.to_ascii_lowercase();
    if let Some(problem) = lowered.split('.').find_map(label_problem) {
        return Err(refuse(problem));
    }
    match lowered.strip_suffix(suffix.as_str()) {
        Some(prefix) if !prefix.is_empty() => Ok(lowered),
        _ if lowered == suffix[1..] => Err(refuse(
            "it is the workspace namespace itself; add a name in front of it",
        )),
        _ => Err(refuse("it is outside this workspace's namespace")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLUG: &str = "mark";
    const BASE: &str = "vibnai.com";

    #[test]
    fn names_in_the_namespace_are_accepted_and_lowered() {
        let table = [
            ("api.mark.vibnai.com", "api.mark.vibnai.com"),
            ("my-site.mark.vibnai.com", "my-site.mark.vibnai.com"),
            ("API.Mark.VibnAI.com", "api.mark.vibnai.com"),
            ("a.b.mark.vibnai.com", "a.b.mark.vibnai.com"),
            ("evil.com.mark.vibnai.com", "evil.com.mark.vibnai.com"),
            ("x1.mark.vibnai.com", "x1.mark.vibnai.com"),
            ("0.mark.vibnai.com", "0.mark.vibnai.com"),
            ("ApI.mArK.vIbNaI.cOm", "api.mark.vibnai.com"),
            ("123.mark.vibnai.com", "123.mark.vibnai.com"),
            (
                "api.mark.vibnai.com.mark.vibnai.com",
                "api.mark.vibnai.com.mark.vibnai.com",
            ),
            ("api.justine.mark.vibnai.com", "api.justine.mark.vibnai.com"),
        ];
        for (input, want) in table {
            assert_eq!(check(input, SLUG, BASE).as_deref(), Ok(want), "{input}");
        }
        let long = format!("{}.mark.vibnai.com", "a".repeat(63));
        assert!(check(&long, SLUG, BASE).is_ok());
    }

    #[test]
    fn hostile_domains_are_refused() {
        let too_long_label = format!("{}.mark.vibnai.com", "a".repeat(64));
        let too_long_name = format!("{}mark.vibnai.com", "abcdefghi.".repeat(25));
        let table: Vec<&str> = vec![
            "",
            "evil.com",
            "mark.vibnai.com",
            "MARK.vibnai.com",
            ".mark.vibnai.com",
            "api.justine.vibnai.com",
            "api.mark.justine.vibnai.com",
            "api.mark.vibnai.com.evil.com",
            "apimark.vibnai.com",
            "api.mark.vibnai.co",
            "api.mark.vibnai.com.",
            "api.mark.vibnai.com..",
            "api..mark.vibnai.com",
            "https://api.mark.vibnai.com",
            "HTTP://api.mark.vibnai.com",
            "//api.mark.vibnai.com",
            "api.mark.vibnai.com:443",
            "api.mark.vibnai.com:8080",
            "api.mark.vibnai.com/",
            "api.mark.vibnai.com/path",
            "api.mark.vibnai.com?x=1",
            "api.mark.vibnai.com#frag",
            "evil.com#.mark.vibnai.com",
            "evil.com?.mark.vibnai.com",
            "evil.com/.mark.vibnai.com",
            "evil.com\\.mark.vibnai.com",
            "user@api.mark.vibnai.com",
            "evil.com@api.mark.vibnai.com",
            "user:pass@api.mark.vibnai.com",
            " api.mark.vibnai.com",
            "api.mark.vibnai.com ",
            "api .mark.vibnai.com",
            "api.mark.vibnai.com\n",
            "api\t.mark.vibnai.com",
            "api\0.mark.vibnai.com",
            "api\u{7f}.mark.vibnai.com",
            "api%2emark.vibnai.com",
            "evil.com%23.mark.vibnai.com",
            "*.mark.vibnai.com",
            "a*.mark.vibnai.com",
            "api.mаrk.vibnai.com",
            "аpi.mark.vibnai.com",
            "bücher.mark.vibnai.com",
            "xn--bcher-kva.mark.vibnai.com",
            "ab--c.mark.vibnai.com",
            "-api.mark.vibnai.com",
            "api-.mark.vibnai.com",
            "a_b.mark.vibnai.com",
            "api.mark.vibnai.com\u{200b}",
            "api\u{ff0e}mark.vibnai.com",
            "api.mark.vibnai.com,evil.com",
            "api.mark.vibnai.com,https://evil.com",
            "evil.com,api.mark.vibnai.com",
            "api.mark.vibnai.com;evil.com",
            "api.mark.vibnai.com|evil.com",
            "api.marketing.vibnai.com",
            "api.xmark.vibnai.com",
            "api-mark.vibnai.com",
            "api.mark-vibnai.com",
            "127.0.0.1",
            "[::1]",
            "api.mark.vibnai.com\r",
            "\u{feff}api.mark.vibnai.com",
            "api.mark.vibnai.com%00",
            "api%2Emark%2Evibnai%2Ecom",
            "XN--bcher-kva.mark.vibnai.com",
            "api.mark.vibnai.com\u{2024}evil",
            "api.mark.vibnai.\u{441}om",
            "api.mark.vibnai.com\u{ff0f}x",
            "a\u{212a}.mark.vibnai.com",
            "\"api.mark.vibnai.com\"",
            "'api.mark.vibnai.com'",
            "api.mark.vibnai.com/../evil.com",
            "javascript:alert(1)//.mark.vibnai.com",
            "*",
            ".",
            "..",
            too_long_label.as_str(),
            too_long_name.as_str(),
        ];
        for input in table {
            match check(input, SLUG, BASE) {
                Err(PolicyError::DomainNotAllowed { example, .. }) => {
                    assert!(
                        check(&example, SLUG, BASE).is_ok(),
                        "{input:?}: the example {example:?} must itself be valid"
                    );
                }
                other => panic!("{input:?} was not refused: {other:?}"),
            }
        }
    }

    #[test]
    fn the_refusal_suggests_a_name_under_the_namespace() {
        let Err(PolicyError::DomainNotAllowed { example, .. }) = check("evil.com", SLUG, BASE)
        else {
            panic!("not refused")
        };
        assert_eq!(example, "evil.mark.vibnai.com");
        let Err(PolicyError::DomainNotAllowed { example, .. }) =
            check("https://api.evil.com", SLUG, BASE)
        else {
            panic!("not refused")
        };
        assert_eq!(example, "api.mark.vibnai.com");
    }

    #[test]
    fn app_labels_and_defaults() {
        assert_eq!(app_label("Site").as_deref(), Ok("site"));
        for bad in [
            "",
            "-a",
            "a-",
            "a_b",
            "a.b",
            "a b",
            "é",
            &"a".repeat(64),
            "xn--a",
        ] {
            assert!(app_label(bad).is_err(), "{bad:?}");
        }
        assert_eq!(label_from("My_Site.v2").as_deref(), Some("my-site-v2"));
        assert_eq!(label_from("___"), None);
        assert_eq!(
            label_from(&"a".repeat(80)).map(|l| l.len()),
            Some(MAX_LABEL)
        );
    }

    #[test]
    fn base_domains_are_checked() {
        assert_eq!(check_base("VibnAI.com").as_deref(), Ok("vibnai.com"));
        for bad in ["", "com", "a..b", "-a.com", "a.com.", "a_b.com", "a.com:80"] {
            assert!(check_base(bad).is_err(), "{bad:?}");
        }
    }
}

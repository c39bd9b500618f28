//! Which repository a git remote URL points at: host and `owner/name`, parsed from
//! the URL forms git accepts (https, ssh://, scp-like `git@host:owner/name`).

/// The repository a remote URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRepo {
    /// The scheme (`https`, `http`, `ssh`, or `ssh` for the scp-like form).
    pub scheme: String,
    /// Host with port, lowercased (`git.example.com:3000`).
    pub host: String,
    /// `owner/name`, without a trailing `.git`.
    pub full_name: String,
    /// True when the URL carries `user:password@` (a credential stored in the config).
    pub has_password: bool,
}

/// Parse a remote URL; `None` when it names no `owner/name` on a host.
pub fn parse(url: &str) -> Option<RemoteRepo> {
    let url = url.trim();
    if let Some((scheme, rest)) = url.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "http" | "https" | "ssh" | "git") {
            return None;
        }
        let (authority, path) = rest.split_once('/')?;
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, authority),
        };
        let full_name = owner_and_name(path)?;
        return Some(RemoteRepo {
            scheme,
            host: host.to_ascii_lowercase(),
            full_name,
            has_password: userinfo.is_some_and(|u| u.contains(':')),
        });
    }
    // scp-like: [user@]host:path, where host has no slash before the colon.
    let (before, path) = url.split_once(':')?;
    if before.contains('/') || path.starts_with(':') || path.starts_with("//") {
        return None;
    }
    let host = before.rsplit_once('@').map_or(before, |(_, h)| h);
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
    {
        return None;
    }
    Some(RemoteRepo {
        scheme: "ssh".to_string(),
        host: host.to_ascii_lowercase(),
        full_name: owner_and_name(path)?,
        has_password: false,
    })
}

/// The last two segments of a URL path as `owner/name`: percent-decoded as the server
/// will decode them (so `%69nfra` is `infra`), `.git` and query stripped, and valid
/// Gitea names (anything else names no repository vibn will touch).
fn owner_and_name(path: &str) -> Option<String> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut segments = path.split('/').filter(|s| !s.is_empty()).rev();
    let name = decode(segments.next()?)?;
    let owner = decode(segments.next()?)?;
    let parsed = super::repo_ref::parse(&format!("{owner}/{name}"), None).ok()?;
    Some(parsed.full_name())
}

/// A percent-decoded path segment; `None` when it is not UTF-8 or decodes to a `/`.
fn decode(segment: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()?;
    (!decoded.contains('/')).then(|| decoded.into_owned())
}

/// The `host[:port]` of an http(s) base URL such as `GITEA_API_URL`, lowercased.
pub fn http_host(base_url: &str) -> Option<String> {
    let (scheme, rest) = base_url.trim().split_once("://")?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(url: &str) -> Option<(String, String, String, bool)> {
        parse(url).map(|r| (r.scheme, r.host, r.full_name, r.has_password))
    }

    #[test]
    fn remote_url_forms_resolve_to_host_and_full_name() {
        let s = |x: &str| x.to_string();
        let table = [
            (
                "https://git.vibnai.com/vibn-mark/site.git",
                Some((s("https"), s("git.vibnai.com"), s("vibn-mark/site"), false)),
            ),
            (
                "https://git.vibnai.com/vibn-mark/site",
                Some((s("https"), s("git.vibnai.com"), s("vibn-mark/site"), false)),
            ),
            (
                "http://127.0.0.1:3000/o/r.git",
                Some((s("http"), s("127.0.0.1:3000"), s("o/r"), false)),
            ),
            (
                "https://bot:tok@Git.Example.com/o/r.git",
                Some((s("https"), s("git.example.com"), s("o/r"), true)),
            ),
            (
                "https://bot@git.example.com/o/r.git",
                Some((s("https"), s("git.example.com"), s("o/r"), false)),
            ),
            (
                "https://example.com/gitea/o/r.git",
                Some((s("https"), s("example.com"), s("o/r"), false)),
            ),
            (
                "ssh://git@git.example.com:2222/o/r.git",
                Some((s("ssh"), s("git.example.com:2222"), s("o/r"), false)),
            ),
            (
                "git@git.example.com:o/r.git",
                Some((s("ssh"), s("git.example.com"), s("o/r"), false)),
            ),
            (
                "http://h/vibn-mark/%69nfra.git",
                Some((s("http"), s("h"), s("vibn-mark/infra"), false)),
            ),
            (
                "http://h/vibn-%6Dark/site.GIT",
                Some((s("http"), s("h"), s("vibn-mark/site"), false)),
            ),
            ("http://h/o/a%2fb.git", None),
            ("http://h/o/%2e%2e", None),
            ("http://h/o/a%20b", None),
            ("http://h/o/%ff", None),
            ("https://git.example.com/r.git", None),
            ("file:///tmp/o/r.git", None),
            ("/tmp/o/r.git", None),
            ("ext::sh -c touch% /tmp/pwned", None),
        ];
        for (url, want) in table {
            assert_eq!(repo(url), want, "{url}");
        }
    }

    #[test]
    fn http_host_reads_the_authority_of_a_base_url() {
        assert_eq!(
            http_host("https://git.vibnai.com/api/v1"),
            Some("git.vibnai.com".into())
        );
        assert_eq!(
            http_host("http://127.0.0.1:8080"),
            Some("127.0.0.1:8080".into())
        );
        assert_eq!(http_host("ftp://x/y"), None);
        assert_eq!(http_host("not a url"), None);
    }
}

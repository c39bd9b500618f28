//! The git URL a control-plane application is cloned from (seed 003 §3.3): the HTTPS
//! clone URL Gitea reports for a repository of the workspace org, with the bot's login
//! and token as its userinfo (Coolify clones over HTTPS; Gitea's SSH is not reachable on
//! the default port). Also: which repository of the org an application's current URL
//! points at, so `apps_rewire_git` can re-point it without being told.
//!
//! Pure functions. The URL built here holds a secret: callers keep it out of every result
//! and log (`redact::urls` masks the userinfo of any URL).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::git_remote;

/// Characters percent-encoded in userinfo: everything but RFC 3986's unreserved set.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a clone URL cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneUrlProblem {
    /// Not `http(s)://host/owner/name[.git]`.
    NotHttp,
    /// It already carries credentials.
    HasUserinfo,
    /// It has a query or a fragment.
    HasQuery,
    /// It names a repository other than the one asked for.
    OtherRepository,
}

/// `clone_url` (as Gitea reports it for `org/repo`) with `user:token@` added. Refused
/// when it is not a plain http(s) URL of exactly that repository, so a URL that an
/// upstream answered oddly is never sent on with the token in it.
pub fn authenticated(
    clone_url: &str,
    org: &str,
    repo: &str,
    user: &str,
    token: &str,
) -> Result<String, CloneUrlProblem> {
    let url = clone_url;
    let (scheme, rest) = url.split_once("://").ok_or(CloneUrlProblem::NotHttp)?;
    if !(scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")) {
        return Err(CloneUrlProblem::NotHttp);
    }
    if rest.contains(['?', '#']) {
        return Err(CloneUrlProblem::HasQuery);
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(CloneUrlProblem::HasUserinfo);
    }
    if authority.is_empty()
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
        || !rest.contains('/')
    {
        return Err(CloneUrlProblem::NotHttp);
    }
    let parsed = git_remote::parse(url).ok_or(CloneUrlProblem::NotHttp)?;
    let want = format!("{org}/{repo}");
    if !parsed.full_name.eq_ignore_ascii_case(&want) {
        return Err(CloneUrlProblem::OtherRepository);
    }
    Ok(format!(
        "{}://{}:{}@{rest}",
        scheme.to_ascii_lowercase(),
        utf8_percent_encode(user, USERINFO),
        utf8_percent_encode(token, USERINFO),
    ))
}

/// The repository of `org` that a git URL (https, ssh or scp-like, with or without
/// credentials) points at, by name; `None` when it names another owner or no
/// repository at all.
pub fn repo_in_org(git_url: &str, org: &str) -> Option<String> {
    let parsed = git_remote::parse(git_url)?;
    let (owner, name) = parsed.full_name.split_once('/')?;
    owner.eq_ignore_ascii_case(org).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn the_clone_url_gains_the_bots_credentials() {
        let table = [
            (
                "https://git.vibn.test/vibn-mark/site.git",
                "https://vibn-bot-mark:0123456789abcdef0123456789abcdef01234567@git.vibn.test/vibn-mark/site.git",
            ),
            (
                "HTTP://git.vibn.test:3000/gitea/vibn-mark/Site.git",
                "http://vibn-bot-mark:0123456789abcdef0123456789abcdef01234567@git.vibn.test:3000/gitea/vibn-mark/Site.git",
            ),
        ];
        for (input, want) in table {
            assert_eq!(
                authenticated(input, "vibn-mark", "site", "vibn-bot-mark", TOKEN).as_deref(),
                Ok(want),
                "{input}"
            );
        }
        let odd = authenticated(
            "https://g.test/vibn-mark/site.git",
            "vibn-mark",
            "site",
            "a b",
            "t:o@k/",
        );
        assert_eq!(
            odd.as_deref(),
            Ok("https://a%20b:t%3Ao%40k%2F@g.test/vibn-mark/site.git"),
            "userinfo is percent-encoded"
        );
    }

    #[test]
    fn hostile_clone_urls_are_refused() {
        use CloneUrlProblem::*;
        let table = [
            ("", NotHttp),
            ("git.vibn.test/vibn-mark/site.git", NotHttp),
            ("ssh://git@git.vibn.test/vibn-mark/site.git", NotHttp),
            ("git@git.vibn.test:vibn-mark/site.git", NotHttp),
            ("file:///srv/vibn-mark/site.git", NotHttp),
            ("https://x:y@git.vibn.test/vibn-mark/site.git", HasUserinfo),
            ("https://evil@git.vibn.test/vibn-mark/site.git", HasUserinfo),
            ("https://git.vibn.test/vibn-mark/site.git?x=1", HasQuery),
            ("https://git.vibn.test/vibn-mark/site.git#frag", HasQuery),
            (
                "https://git.vibn.test/vibn-justine/site.git",
                OtherRepository,
            ),
            ("https://git.vibn.test/vibn-mark/other.git", OtherRepository),
            (
                "https://git.vibn.test/vibn-mark/site.git/../../x/y.git",
                OtherRepository,
            ),
            ("https://git.vibn.test/vibn-mark/site .git", NotHttp),
            ("https://git.vibn.test/vibn-mark/site.git\n", NotHttp),
            ("https:///vibn-mark/site.git", NotHttp),
            ("https://git.vibn.test", NotHttp),
        ];
        for (input, want) in table {
            assert_eq!(
                authenticated(input, "vibn-mark", "site", "vibn-bot-mark", TOKEN),
                Err(want),
                "{input:?}"
            );
        }
    }

    #[test]
    fn the_repository_of_the_org_is_read_from_any_url_form() {
        let table = [
            (
                "https://bot:tok@git.vibn.test/vibn-mark/site.git",
                Some("site"),
            ),
            ("https://git.vibn.test/VIBN-MARK/site", Some("site")),
            ("git@git.vibn.test:vibn-mark/site.git", Some("site")),
            (
                "ssh://git@git.vibn.test:2222/vibn-mark/api.git",
                Some("api"),
            ),
            ("https://git.vibn.test/vibn-justine/site.git", None),
            ("https://git.vibn.test/vibn-mark", None),
            ("https://github.com/vibn-mark/site", Some("site")),
            ("not a url", None),
            ("", None),
        ];
        for (input, want) in table {
            assert_eq!(
                repo_in_org(input, "vibn-mark").as_deref(),
                want,
                "{input:?}"
            );
        }
    }
}

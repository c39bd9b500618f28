//! Authentication as Gitea's API auth group does it (OAuth2/token header, then Basic with
//! a token or a password) and access-token scopes (`models/auth/access_token_scope.go`):
//! parsing, normalising, and the read/write check per category. No routing here.

use axum::http::{HeaderMap, header};
use base64::Engine as _;

use super::http::ApiErr;
use super::state::GiteaState;

/// How a request presented credentials (by the header, valid or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthKind {
    None,
    Token,
    Bearer,
    Basic,
}

impl AuthKind {
    /// `token`, `bearer`, `basic` or `none` (the request log's spelling).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AuthKind::None => "none",
            AuthKind::Token => "token",
            AuthKind::Bearer => "bearer",
            AuthKind::Basic => "basic",
        }
    }
}

/// Credentials read from the `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    None,
    /// `token X` or `Bearer X` (scheme compared case-insensitively).
    Token(AuthKind, String),
    /// `Basic base64(user:pass)`.
    Basic {
        user: String,
        pass: String,
    },
    /// A Basic header that does not decode: always refused.
    Malformed,
}

impl Credentials {
    pub(crate) fn kind(&self) -> AuthKind {
        match self {
            Credentials::None => AuthKind::None,
            Credentials::Token(kind, _) => *kind,
            Credentials::Basic { .. } | Credentials::Malformed => AuthKind::Basic,
        }
    }
}

/// Read the `Authorization` header. Unknown schemes are ignored (anonymous), as Gitea's
/// auth methods skip them.
pub(crate) fn credentials(headers: &HeaderMap) -> Credentials {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Credentials::None;
    };
    let mut parts = value.split_whitespace();
    let (Some(scheme), rest) = (parts.next(), parts.next()) else {
        return Credentials::None;
    };
    let scheme = scheme.to_ascii_lowercase();
    match (scheme.as_str(), rest) {
        ("token", Some(t)) => Credentials::Token(AuthKind::Token, t.to_string()),
        ("bearer", Some(t)) => Credentials::Token(AuthKind::Bearer, t.to_string()),
        ("basic", Some(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|pair| {
                pair.split_once(':').map(|(u, p)| Credentials::Basic {
                    user: u.to_string(),
                    pass: p.to_string(),
                })
            })
            .unwrap_or(Credentials::Malformed),
        ("basic", None) => Credentials::Malformed,
        _ => Credentials::None,
    }
}

/// Who a request is, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Auth {
    pub kind: AuthKind,
    /// The signed-in user (after Sudo).
    pub doer: Option<i64>,
    /// Scopes when a token authenticated the request (header or Basic).
    pub token_scopes: Option<Vec<String>>,
    /// Id of that token.
    pub token_id: Option<i64>,
    /// Authenticated by the Basic method (password, or token as a Basic credential).
    pub basic: bool,
}

impl Auth {
    pub(crate) fn anonymous() -> Auth {
        Auth {
            kind: AuthKind::None,
            doer: None,
            token_scopes: None,
            token_id: None,
            basic: false,
        }
    }
}

/// The login `creds` name, looked up without using them (no `last_used`, no password
/// check): for the request log, so tests can tell whose token each request carried.
pub(crate) fn login_named(state: &GiteaState, creds: &Credentials) -> Option<String> {
    let d = state.data();
    let by_token = |secret: &str| {
        d.tokens
            .iter()
            .find(|t| !secret.is_empty() && t.secret == secret)
            .and_then(|t| d.accounts.iter().find(|a| a.id == t.uid))
            .map(|a| a.login.clone())
    };
    match creds {
        Credentials::Token(_, secret) => by_token(secret),
        Credentials::Basic { user, pass } => {
            let token = if pass.is_empty() || pass == "x-oauth-basic" {
                user
            } else {
                pass
            };
            by_token(token).or_else(|| Some(user.clone()))
        }
        _ => None,
    }
}

/// The 401 every failed credential gets.
pub(crate) fn invalid_credentials() -> ApiErr {
    ApiErr::new(401, "invalid username, password or token")
}

/// Authenticate: a token header must name a live token; Basic tries the password (or,
/// when the password is empty or `x-oauth-basic`, the user name) as a token first, then
/// as the user's password (login or email). Unknown credentials are 401.
pub(crate) fn authenticate(state: &GiteaState, creds: &Credentials) -> Result<Auth, ApiErr> {
    let mut d = state.data();
    let now = std::time::SystemTime::now();
    let mut by_token = |secret: &str, kind: AuthKind, basic: bool| {
        let t = d
            .tokens
            .iter_mut()
            .find(|t| !secret.is_empty() && t.secret == secret)?;
        t.last_used = Some(now);
        Some(Auth {
            kind,
            doer: Some(t.uid),
            token_scopes: Some(t.scopes.clone()),
            token_id: Some(t.id),
            basic,
        })
    };
    match creds {
        Credentials::None => Ok(Auth::anonymous()),
        Credentials::Token(kind, secret) => {
            by_token(secret, *kind, false).ok_or_else(invalid_credentials)
        }
        Credentials::Basic { user, pass } => {
            let token = if pass.is_empty() || pass == "x-oauth-basic" {
                user
            } else {
                pass
            };
            if let Some(auth) = by_token(token, AuthKind::Basic, true) {
                return Ok(auth);
            }
            let found = d.accounts.iter().find(|a| {
                !a.is_org
                    && !pass.is_empty()
                    && (a.login.eq_ignore_ascii_case(user) || a.email.eq_ignore_ascii_case(user))
                    && a.password == *pass
            });
            match found {
                Some(a) => Ok(Auth {
                    kind: AuthKind::Basic,
                    doer: Some(a.id),
                    token_scopes: None,
                    token_id: None,
                    basic: true,
                }),
                None => Err(invalid_credentials()),
            }
        }
        Credentials::Malformed => Err(invalid_credentials()),
    }
}

/// Scope categories in Gitea's canonical order.
pub(crate) const SCOPE_CATEGORIES: [&str; 9] = [
    "activitypub",
    "admin",
    "misc",
    "notification",
    "organization",
    "package",
    "issue",
    "repository",
    "user",
];

/// `AccessTokenScope.Normalize`: validate, fold `read` into `write`, write `all` when every
/// category is writable, keep Gitea's order. `Err` is Gitea's wording for a bad scope.
pub(crate) fn normalize_scopes(input: &[String]) -> Result<Vec<String>, String> {
    let mut level = [0u8; SCOPE_CATEGORIES.len()];
    let mut public_only = false;
    for raw in input.iter().flat_map(|s| s.split(',')) {
        let s = raw.trim();
        if s.is_empty() {
            continue;
        }
        match s {
            "all" => level = [2; SCOPE_CATEGORIES.len()],
            "public-only" => public_only = true,
            _ => {
                let parsed = s.split_once(':').and_then(|(lvl, cat)| {
                    let l = match lvl {
                        "read" => 1,
                        "write" => 2,
                        _ => return None,
                    };
                    SCOPE_CATEGORIES
                        .iter()
                        .position(|c| *c == cat)
                        .map(|i| (i, l))
                });
                let Some((i, l)) = parsed else {
                    return Err(format!("invalid access token scope: {s}"));
                };
                level[i] = level[i].max(l);
            }
        }
    }
    let mut out = Vec::new();
    if public_only {
        out.push("public-only".to_string());
    }
    if level.iter().all(|l| *l == 2) {
        out.push("all".to_string());
        return Ok(out);
    }
    for (cat, l) in SCOPE_CATEGORIES.iter().zip(level) {
        match l {
            2 => out.push(format!("write:{cat}")),
            1 => out.push(format!("read:{cat}")),
            _ => {}
        }
    }
    Ok(out)
}

/// True when `have` grants every scope in `required` (`write` implies `read`; `all` is
/// everything).
pub(crate) fn has_scopes(have: &[String], required: &[String]) -> bool {
    let all = have.iter().any(|s| s == "all");
    required.iter().all(|req| {
        let Some((lvl, cat)) = req.split_once(':') else {
            return false;
        };
        all || have.iter().any(|h| match h.split_once(':') {
            Some(("write", c)) => c == cat,
            Some(("read", c)) => c == cat && lvl == "read",
            _ => false,
        })
    })
}

/// True for a `public-only` token.
pub(crate) fn is_public_only(have: &[String]) -> bool {
    have.iter().any(|s| s == "public-only")
}

/// Check one `tokenRequiresScopes(categories…)`: 403 with Gitea's message when a token
/// lacks them; password Basic and anonymous requests pass.
pub(crate) fn check_scopes(auth: &Auth, write: bool, categories: &[&str]) -> Result<(), ApiErr> {
    let Some(have) = &auth.token_scopes else {
        return Ok(());
    };
    if categories.is_empty() {
        return Ok(());
    }
    let level = if write { "write" } else { "read" };
    let required: Vec<String> = categories.iter().map(|c| format!("{level}:{c}")).collect();
    if has_scopes(have, &required) {
        return Ok(());
    }
    Err(ApiErr::forbidden(format!(
        "token does not have at least one of required scope(s), required=[{}], token scope={}",
        required.join(" "),
        have.join(",")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn scopes_normalise_like_gitea() {
        assert_eq!(normalize_scopes(&v(&["all"])).unwrap(), v(&["all"]));
        assert_eq!(
            normalize_scopes(&v(&[
                "read:user",
                "write:repository",
                "read:repository",
                "write:issue"
            ]))
            .unwrap(),
            v(&["write:issue", "write:repository", "read:user"])
        );
        assert_eq!(normalize_scopes(&v(&[])).unwrap(), Vec::<String>::new());
        assert_eq!(
            normalize_scopes(&v(&["write:repo"])).unwrap_err(),
            "invalid access token scope: write:repo"
        );
    }

    #[test]
    fn write_implies_read_and_all_grants_everything() {
        assert!(has_scopes(&v(&["write:issue"]), &v(&["read:issue"])));
        assert!(!has_scopes(&v(&["read:issue"]), &v(&["write:issue"])));
        assert!(has_scopes(&v(&["all"]), &v(&["write:admin", "read:user"])));
        assert!(!has_scopes(
            &v(&["write:user"]),
            &v(&["read:user", "read:repository"])
        ));
    }

    #[test]
    fn authorization_schemes_are_case_insensitive() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("TOKEN abc"));
        assert_eq!(
            credentials(&h),
            Credentials::Token(AuthKind::Token, "abc".into())
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bEaReR abc"),
        );
        assert_eq!(
            credentials(&h),
            Credentials::Token(AuthKind::Bearer, "abc".into())
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dTpw"),
        );
        assert_eq!(
            credentials(&h),
            Credentials::Basic {
                user: "u".into(),
                pass: "p".into()
            }
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!"));
        assert_eq!(credentials(&h), Credentials::Malformed);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Digest x"));
        assert_eq!(credentials(&h), Credentials::None);
    }
}

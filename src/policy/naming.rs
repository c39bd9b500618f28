//! Naming rules: workspace slugs from owner emails, and the names derived from a slug
//! (Gitea org, bot user and its email, Writers team, Coolify project, deploy key).

/// Longest slug base, so derived names (`vibn-bot-<slug>-99`) stay within Gitea's
/// 40-character limit for user and org names.
pub const MAX_SLUG_BASE: usize = 24;

/// The slug base of an email: its local part lowercased, runs of anything but `a-z0-9`
/// turned into `-`, trimmed; `user` when nothing is left.
pub fn slug_base(email: &str) -> String {
    let local = email.rsplit_once('@').map_or(email, |(local, _)| local);
    let mut slug = String::new();
    for c in local.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut slug = slug.trim_matches('-').to_string();
    if slug.len() > MAX_SLUG_BASE {
        slug.truncate(MAX_SLUG_BASE);
        slug = slug.trim_end_matches('-').to_string();
    }
    if slug.is_empty() {
        "user".to_string()
    } else {
        slug
    }
}

/// The slugs tried in order: `base`, then `base-2` … `base-99`.
pub fn slug_candidates(base: &str) -> impl Iterator<Item = String> + '_ {
    std::iter::once(base.to_string()).chain((2..=99).map(move |n| format!("{base}-{n}")))
}

/// The fallback after `-99`: a suffix from the clock (base36 seconds and a counter).
pub fn time_suffixed(base: &str, unix_ms: i64, attempt: u32) -> String {
    let mut n = (unix_ms.max(0) as u64) / 1000 * 100 + u64::from(attempt % 100);
    let mut digits = Vec::new();
    while n > 0 {
        let d = (n % 36) as u8;
        digits.push(if d < 10 { b'0' + d } else { b'a' + d - 10 });
        n /= 36;
    }
    digits.reverse();
    format!("{base}-{}", String::from_utf8_lossy(&digits))
}

/// True for a well-formed slug: `a-z0-9` words joined by single `-`, at most 40 chars.
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 40
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A minimal email check: one `@`, a non-empty local part and a dotted domain.
pub fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

/// The Gitea org of a workspace.
pub fn gitea_org(slug: &str) -> String {
    format!("vibn-{slug}")
}

/// The Gitea bot user of a workspace.
pub fn gitea_bot(slug: &str) -> String {
    format!("vibn-bot-{slug}")
}

/// The Coolify project of a workspace.
pub fn coolify_project(slug: &str) -> String {
    format!("vibn-ws-{slug}")
}

/// Gitea's longest user or org name.
pub const MAX_GITEA_NAME: usize = 40;

/// The upstream names provisioning gives a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionNames {
    /// Gitea org `vibn-<slug>`.
    pub org: String,
    /// Gitea bot user `vibn-bot-<slug>`.
    pub bot: String,
    /// The bot's email, `bot+<slug>@vibnai.invalid` (never delivered: `.invalid`).
    pub bot_email: String,
    /// The org team the bot writes through.
    pub team: String,
    /// Coolify project `vibn-ws-<slug>`.
    pub coolify_project: String,
    /// The Coolify project's description.
    pub coolify_description: String,
    /// The name of the deploy key's private half in Coolify.
    pub deploy_key: String,
    /// Prefix of the bot's token names (a timestamp follows: names are unique per user).
    pub token_prefix: String,
}

/// The names of workspace `slug`, refused when the slug is malformed or a derived
/// Gitea name would pass Gitea's 40-character limit (the `-99` and clock-suffixed
/// slugs of very long emails can).
pub fn provision_names(slug: &str) -> Result<ProvisionNames, crate::policy::PolicyError> {
    let bad = |reason: String| crate::policy::PolicyError::BadSlug {
        slug: slug.chars().take(60).collect(),
        reason,
    };
    if !is_valid_slug(slug) {
        return Err(bad(
            "a slug is a-z, 0-9 and single dashes, at most 40 characters".into(),
        ));
    }
    let bot = gitea_bot(slug);
    if bot.len() > MAX_GITEA_NAME {
        return Err(bad(format!(
            "the bot user {bot} would be longer than Gitea's {MAX_GITEA_NAME} characters"
        )));
    }
    Ok(ProvisionNames {
        org: gitea_org(slug),
        bot,
        bot_email: format!("bot+{slug}@vibnai.invalid"),
        team: "Writers".to_string(),
        coolify_project: coolify_project(slug),
        coolify_description: format!("Vibn workspace {slug}"),
        deploy_key: format!("vibn-ws-{slug}-deploy"),
        token_prefix: format!("vibn-{slug}"),
    })
}

/// Gitea logins to try for the owner of `email`: the local part as typed (lowercased)
/// and its slug base, each only when Gitea could have such a login.
pub fn owner_login_candidates(email: &str) -> Vec<String> {
    let local = email
        .rsplit_once('@')
        .map_or(email, |(l, _)| l)
        .to_lowercase();
    let gitea_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= MAX_GITEA_NAME
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    let mut out = Vec::new();
    for candidate in [local, slug_base(email)] {
        if gitea_ok(&candidate) && !out.contains(&candidate) {
            out.push(candidate);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_base_follows_the_rules() {
        let table = [
            ("mark@example.com", "mark"),
            ("Mark.Smith@example.com", "mark-smith"),
            ("a__b..c@x.io", "a-b-c"),
            ("--weird--@x.io", "weird"),
            ("___@x.io", "user"),
            ("@x.io", "user"),
            ("ÉLodie+test@x.io", "lodie-test"),
            ("UPPER@x.io", "upper"),
            (
                "a-very-long-local-part-that-goes-on-and-on@x.io",
                "a-very-long-local-part-t",
            ),
            (
                "long-local-part-with-dash-at-cut-@x.io",
                "long-local-part-with-das",
            ),
        ];
        for (email, want) in table {
            let got = slug_base(email);
            assert_eq!(got, want, "{email}");
            assert!(is_valid_slug(&got), "{got}");
        }
    }

    #[test]
    fn candidates_go_from_base_to_99() {
        let all: Vec<String> = slug_candidates("mark").collect();
        assert_eq!(all.len(), 99);
        assert_eq!(all[0], "mark");
        assert_eq!(all[1], "mark-2");
        assert_eq!(all[98], "mark-99");
        let t = time_suffixed("mark", 1_700_000_000_000, 1);
        assert!(t.starts_with("mark-") && is_valid_slug(&t), "{t}");
        assert_ne!(t, time_suffixed("mark", 1_700_000_000_000, 2));
    }

    #[test]
    fn slug_validation() {
        for good in ["mark", "mark-2", "a1-b2"] {
            assert!(is_valid_slug(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a--b", "A", "a_b", "a b", "../x"] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn provision_names_are_derived_and_hostile_slugs_refused() {
        let n = provision_names("mark").unwrap();
        assert_eq!(n.org, "vibn-mark");
        assert_eq!(n.bot, "vibn-bot-mark");
        assert_eq!(n.bot_email, "bot+mark@vibnai.invalid");
        assert_eq!(n.coolify_project, "vibn-ws-mark");
        assert_eq!(n.team, "Writers");
        let long = "a".repeat(32);
        for bad in ["", "../x", "a/b", "A", "a b", "x\0", "-a", long.as_str()] {
            assert!(provision_names(bad).is_err(), "{bad:?}");
        }
        assert!(provision_names(&"a".repeat(31)).is_ok());
    }

    #[test]
    fn owner_login_candidates_are_what_gitea_could_hold() {
        assert_eq!(owner_login_candidates("Mark@x.io"), ["mark"]);
        assert_eq!(
            owner_login_candidates("mark.smith@x.io"),
            ["mark.smith", "mark-smith"]
        );
        assert_eq!(owner_login_candidates("a+b@x.io"), ["a-b"]);
        assert_eq!(owner_login_candidates("ÉLodie@x.io"), ["lodie"]);
    }

    #[test]
    fn email_plausibility() {
        assert!(is_plausible_email("a@b.co"));
        for bad in ["a", "@b.co", "a@b", "a@@b.co", "a b@c.co", "a@.co", "a@co."] {
            assert!(!is_plausible_email(bad), "{bad}");
        }
    }
}

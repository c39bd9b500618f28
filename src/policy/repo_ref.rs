//! Repository references a model may send: `owner/name`, or a bare `name` that belongs
//! to a default owner (the pinned org, or the configured user). Names are checked
//! against Gitea's own rule (`[A-Za-z0-9_.-]`, not `.` or `..`).

use super::PolicyError;

/// A repository as `owner` and `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    /// The owning user or org.
    pub owner: String,
    /// The repository name.
    pub name: String,
}

impl RepoRef {
    /// `owner/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// True for a name Gitea accepts as a user, org or repository name.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Parse `owner/name` (a trailing `.git`, any case, and trailing `/` are dropped) or a
/// bare `name` owned by `default_owner`. This is the one normalization every guard sees
/// (the org pin, the protected list, the audit row); names compare case-insensitively
/// there, as Gitea's do.
pub fn parse(input: &str, default_owner: Option<&str>) -> Result<RepoRef, PolicyError> {
    let bad = |reason: &'static str| PolicyError::BadRepo {
        input: input.to_string(),
        reason,
    };
    let trimmed = input.trim().trim_end_matches('/');
    let trimmed = match trimmed.len().checked_sub(4) {
        Some(at) if trimmed.is_char_boundary(at) && trimmed[at..].eq_ignore_ascii_case(".git") => {
            &trimmed[..at]
        }
        _ => trimmed,
    };
    let (owner, name) = match trimmed.split_once('/') {
        Some((owner, name)) => (owner.to_string(), name.to_string()),
        None => {
            let owner = default_owner
                .ok_or_else(|| bad("give it as owner/name (no default owner is configured)"))?;
            (owner.to_string(), trimmed.to_string())
        }
    };
    if name.contains('/') {
        return Err(bad("expected owner/name"));
    }
    if !is_valid_name(&owner) || !is_valid_name(&name) {
        return Err(bad(
            "owner and name may only use letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(RepoRef { owner, name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_to_owner_and_name() {
        let table = [
            ("acme/site", None, ("acme", "site")),
            ("acme/site.git", None, ("acme", "site")),
            (" acme/site/ ", None, ("acme", "site")),
            ("site", Some("vibn-mark"), ("vibn-mark", "site")),
            ("my.repo_1-x", Some("o"), ("o", "my.repo_1-x")),
        ];
        for (input, default, (owner, name)) in table {
            let r = parse(input, default).unwrap();
            assert_eq!(
                (r.owner.as_str(), r.name.as_str()),
                (owner, name),
                "{input}"
            );
        }
    }

    #[test]
    fn hostile_references_are_refused() {
        for input in [
            "", "/", "a/", "/b", "a/b/c", "../b", "a/..", "a/.", "a b/c", "a/b?x", "a/%2e%2e",
            "site",
        ] {
            assert!(parse(input, None).is_err(), "{input:?}");
        }
        assert!(parse("..", Some("o")).is_err());
    }
}

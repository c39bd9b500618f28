//! Protected lists: `VIBN_PROTECTED_REPOS` (`owner/name` globs) and `VIBN_PROTECTED_APPS`
//! (uuids or names, globs allowed). Matching is case-insensitive; in repo patterns `*`
//! does not cross `/`.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::PolicyError;

/// A parsed comma-separated list of case-insensitive glob patterns.
#[derive(Debug, Clone)]
pub struct ProtectedList {
    set: GlobSet,
    patterns: Vec<String>,
}

impl ProtectedList {
    /// An empty list that matches nothing.
    pub fn empty() -> Self {
        ProtectedList {
            set: GlobSet::empty(),
            patterns: Vec::new(),
        }
    }

    /// Parse a comma-separated list; blank entries are skipped. `list` names the
    /// setting in error messages.
    pub fn parse(list: &'static str, spec: &str) -> Result<Self, PolicyError> {
        let mut builder = GlobSetBuilder::new();
        let mut patterns = Vec::new();
        for pattern in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let glob = GlobBuilder::new(pattern)
                .case_insensitive(true)
                .literal_separator(true)
                .build()
                .map_err(|e| PolicyError::BadPattern {
                    list,
                    pattern: pattern.to_string(),
                    reason: e.kind().to_string(),
                })?;
            builder.add(glob);
            patterns.push(pattern.to_string());
        }
        let set = builder.build().map_err(|e| PolicyError::BadPattern {
            list,
            pattern: spec.to_string(),
            reason: e.to_string(),
        })?;
        Ok(ProtectedList { set, patterns })
    }

    /// True when `name` matches any pattern.
    pub fn matches(&self, name: &str) -> bool {
        !self.patterns.is_empty() && self.set.is_match(name)
    }

    /// The patterns as configured.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

/// Refuse a write to `repo` (`owner/name`) when it is protected.
pub fn check_repo_writable(list: &ProtectedList, repo: &str) -> Result<(), PolicyError> {
    if list.matches(repo) {
        return Err(PolicyError::ProtectedRepo {
            repo: repo.to_string(),
        });
    }
    Ok(())
}

/// Refuse `repo` (`owner/name`) when a workspace pin restricts writes to `org`.
pub fn check_repo_in_org(org: Option<&str>, repo: &str) -> Result<(), PolicyError> {
    let Some(org) = org else { return Ok(()) };
    let owner = repo.split('/').next().unwrap_or_default();
    if owner.eq_ignore_ascii_case(org) {
        Ok(())
    } else {
        Err(PolicyError::RepoOutsideOrg {
            repo: repo.to_string(),
            org: org.to_string(),
        })
    }
}

/// Refuse an owner other than `org` when a workspace pin restricts visibility to it.
pub fn check_owner_is_org(org: Option<&str>, owner: &str) -> Result<(), PolicyError> {
    match org {
        Some(org) if !org.eq_ignore_ascii_case(owner) => Err(PolicyError::OwnerOutsideOrg {
            owner: owner.to_string(),
            org: org.to_string(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(spec: &str) -> ProtectedList {
        ProtectedList::parse("VIBN_PROTECTED_REPOS", spec).expect("valid list")
    }

    #[test]
    fn repo_patterns_match_case_insensitively() {
        let l = list("acme/infra, platform/*, */secrets");
        let table = [
            ("acme/infra", true),
            ("ACME/Infra", true),
            ("acme/infra2", false),
            ("platform/anything", true),
            ("Platform/API", true),
            ("platform/a/b", false),
            ("team/secrets", true),
            ("team/not-secrets", false),
            ("other/repo", false),
        ];
        for (repo, protected) in table {
            assert_eq!(l.matches(repo), protected, "{repo}");
        }
    }

    #[test]
    fn empty_and_blank_lists_match_nothing() {
        assert!(!list("").matches("a/b"));
        assert!(!list(" , ,").matches("a/b"));
        assert!(!ProtectedList::empty().matches("a/b"));
    }

    #[test]
    fn invalid_pattern_is_reported_with_the_pattern() {
        let err = ProtectedList::parse("VIBN_PROTECTED_REPOS", "ok/repo, bad/[").unwrap_err();
        assert!(matches!(err, PolicyError::BadPattern { ref pattern, .. } if pattern == "bad/["));
    }

    #[test]
    fn protected_repo_is_refused_by_name() {
        let err = check_repo_writable(&list("acme/*"), "acme/web").unwrap_err();
        assert_eq!(
            err,
            PolicyError::ProtectedRepo {
                repo: "acme/web".into()
            }
        );
        assert!(check_repo_writable(&list("acme/*"), "other/web").is_ok());
    }

    #[test]
    fn pinned_org_admits_only_itself_as_owner() {
        assert!(check_owner_is_org(None, "anyone").is_ok());
        assert!(check_owner_is_org(Some("vibn-mark"), "VIBN-mark").is_ok());
        assert!(check_owner_is_org(Some("vibn-mark"), "vibn-marks").is_err());
    }

    #[test]
    fn pinned_org_admits_only_its_own_repos() {
        assert!(check_repo_in_org(None, "anyone/repo").is_ok());
        assert!(check_repo_in_org(Some("vibn-mark"), "vibn-mark/site").is_ok());
        assert!(check_repo_in_org(Some("vibn-mark"), "VIBN-MARK/site").is_ok());
        for repo in [
            "vibn-justine/site",
            "vibn-mark-evil/site",
            "vibn/site",
            "site",
        ] {
            assert!(
                check_repo_in_org(Some("vibn-mark"), repo).is_err(),
                "{repo}"
            );
        }
    }
}

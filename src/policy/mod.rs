//! Pure guards: no I/O, no network, no clock.
//!
//! Each guard takes plain values and answers `Ok` or a `PolicyError` naming what was
//! refused. The `api/` layer calls them before doing anything; MCP wrappers and the CLI
//! never re-implement them. May import only `error`.

pub mod apex;
pub mod catalog;
pub mod child_env;
pub mod confirm;
pub mod domain;
pub mod env_key;
pub mod git_config;
pub mod git_refs;
pub mod git_remote;
pub mod git_url;
pub mod naming;
pub mod patch;
pub mod paths;
pub mod protected;
pub mod repo_ref;
pub mod tenant;

use crate::error::{ApiError, quote};

/// Why a guard refused an input; each variant keeps the offending value as data, and
/// its message quotes that value cut short (`error::quote`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A path contained a NUL byte.
    #[error("path {} contains a NUL byte", quote(.path))]
    NulInPath { path: String },
    /// A path leads outside the workspace root.
    #[error("path {} is outside the workspace root", quote(.path))]
    OutsideRoot { path: String },
    /// A path component longer than the filesystem allows.
    #[error("a file name in {path:?} is longer than {limit} bytes")]
    NameTooLong { path: String, limit: usize },
    /// A write inside git's own metadata (`.git/`).
    #[error("{path} is inside .git/, which the file tools never write")]
    GitMetadata { path: String },
    /// A branch name git would reject or could read as an option.
    #[error("invalid branch name {}: {reason}", quote(.name))]
    BadBranch { name: String, reason: &'static str },
    /// A repository on the protected list.
    #[error("repository {repo} is protected (VIBN_PROTECTED_REPOS): it is read-only for agents")]
    ProtectedRepo { repo: String },
    /// A repository outside the pinned workspace's Gitea org.
    #[error("repository {repo} is outside this workspace's Gitea org {org}")]
    RepoOutsideOrg { repo: String, org: String },
    /// An owner other than the pinned workspace's Gitea org.
    #[error("{} is outside this workspace's Gitea org {org}", quote(.owner))]
    OwnerOutsideOrg { owner: String, org: String },
    /// A repository reference that is not `owner/name` of valid names.
    #[error("invalid repository {}: {reason}", quote(.input))]
    BadRepo { input: String, reason: &'static str },
    /// A workspace slug that is malformed, or whose derived upstream names would be.
    #[error("invalid workspace slug {slug:?}: {reason}")]
    BadSlug { slug: String, reason: String },
    /// A protected-list pattern that is not a valid glob.
    #[error("invalid pattern {pattern:?} in {list}: {reason}")]
    BadPattern {
        list: &'static str,
        pattern: String,
        reason: String,
    },
    /// A domain outside the workspace's namespace, or not a plain host name.
    #[error("domain {} is not allowed: {reason}; it must end with {namespace}", quote(.domain))]
    DomainNotAllowed {
        domain: String,
        reason: &'static str,
        namespace: String,
        example: String,
    },
    /// An application or database name that is not a DNS label.
    #[error("invalid name {}: {reason}", quote(.name))]
    BadAppName { name: String, reason: &'static str },
    /// An environment variable key outside `^[A-Z_][A-Z0-9_]*$`.
    #[error("invalid environment variable key {}: {reason} (keys match ^[A-Z_][A-Z0-9_]*$)", quote(.key))]
    BadEnvKey { key: String, reason: &'static str },
    /// A destructive call whose `confirm` is absent or not the exact resource name.
    #[error("confirmation required: {} the exact name of the {kind} to delete",
            if *.given { "confirm is not" } else { "pass confirm equal to" })]
    ConfirmMismatch { kind: &'static str, given: bool },
    /// A value outside a fixed allowlist (database types, auth providers).
    #[error("{what} {} is not allowed", quote(.given))]
    NotInAllowlist {
        what: &'static str,
        given: String,
        allowed: &'static [&'static str],
    },
    /// A field outside the allowlist of what may be set.
    #[error("{what} field {} cannot be set here", quote(.field))]
    FieldNotAllowed {
        what: &'static str,
        field: String,
        allowed: String,
        elsewhere: Option<&'static str>,
    },
    /// A field whose value does not fit its rule.
    #[error("invalid {field}: {reason}")]
    BadFieldValue { field: String, reason: String },
}

impl From<PolicyError> for ApiError {
    fn from(e: PolicyError) -> Self {
        let message = e.to_string();
        match e {
            PolicyError::NulInPath { .. }
            | PolicyError::NameTooLong { .. }
            | PolicyError::BadBranch { .. }
            | PolicyError::BadRepo { .. }
            | PolicyError::BadSlug { .. } => ApiError::bad_request(message),
            PolicyError::OutsideRoot { .. } => ApiError::forbidden(message)
                .with_hint("use a path relative to the workspace root, without leaving it"),
            PolicyError::GitMetadata { .. } => ApiError::forbidden(message).with_hint(
                "commit and push with git_commit_and_push; change git settings with \
                 execute_command (git config)",
            ),
            PolicyError::ProtectedRepo { .. } => ApiError::forbidden(message)
                .with_hint("do not retry; ask the user to make this change themselves"),
            PolicyError::RepoOutsideOrg { .. } | PolicyError::OwnerOutsideOrg { .. } => {
                ApiError::forbidden(message).with_hint(
                    "only repositories of the workspace org can be written; ask the user",
                )
            }
            PolicyError::BadPattern { .. } => ApiError::internal(message),
            PolicyError::DomainNotAllowed { example, .. } => ApiError::forbidden(message)
                .with_hint(format!(
                    "use a name under the workspace's namespace, e.g. {example}"
                )),
            PolicyError::BadAppName { .. } => ApiError::bad_request(message).with_hint(
                "use a-z, 0-9 and '-' (1-63 characters, no hyphen at an edge), e.g. my-site",
            ),
            PolicyError::BadEnvKey { .. } => ApiError::bad_request(message)
                .with_hint("use upper case letters, digits and _, e.g. DATABASE_URL"),
            PolicyError::ConfirmMismatch { kind, .. } => ApiError::confirm_required(message)
                .with_hint(format!(
                    "read the {kind}'s exact name (its get tool), then retry with confirm set to it"
                )),
            PolicyError::NotInAllowlist { allowed, .. } => ApiError::bad_request(message)
                .with_hint(format!("use one of: {}", allowed.join(", "))),
            PolicyError::FieldNotAllowed {
                allowed, elsewhere, ..
            } => ApiError::bad_request(message).with_hint(match elsewhere {
                Some(hint) => hint.to_string(),
                None => format!("fields that can be set: {allowed}"),
            }),
            PolicyError::BadFieldValue { .. } => ApiError::bad_request(message),
        }
    }
}

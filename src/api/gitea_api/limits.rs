//! Maximum lengths of the Gitea tools' string parameters (see `api::limits`).

use super::{
    CloseIssueParams, CreateIssueParams, ListAllIssuesParams, ListIssuesParams, ListReposParams,
    ReadRepoFileParams,
};
use crate::api::limits::{NAME, PATH, PROSE, TITLE, limits};

/// Labels per call (a repository rarely has more).
const LABELS: usize = 50;

/// Check params against the table below (the first line of each entry point).
pub(super) use crate::api::limits::check;

limits! {
    ReadRepoFileParams { repo: NAME, path: PATH, git_ref as "ref": NAME }
    ListReposParams { owner: NAME }
    ListIssuesParams { repo: NAME, labels: NAME.items(LABELS) }
    ListAllIssuesParams {}
    CreateIssueParams { repo: NAME, title: TITLE, body: PROSE, labels: NAME.items(LABELS) }
    CloseIssueParams { repo: NAME, comment: PROSE }
}

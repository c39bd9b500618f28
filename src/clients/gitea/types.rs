//! Gitea's JSON shapes (the subset vibn reads and writes), tolerant of missing and `null`
//! fields (`http::decode`). Integers are `i64` because the spec declares every one
//! `int64`: a count or size outside `u64` is still a valid answer (Prism's random
//! examples send -9007199254740991). Enumerations (`state`, `type`, `visibility`) stay
//! strings so a value a newer release adds is kept, not refused.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clients::http::Undecodable;
use crate::clients::http::decode::{from_value, kind_of};

/// A user or an org as embedded in other objects.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct User {
    /// Numeric id.
    pub id: i64,
    /// Login name.
    pub login: String,
    /// Display name.
    pub full_name: String,
    /// Email address.
    pub email: String,
    /// Site administrator.
    pub is_admin: bool,
    /// Activated (false until the email is confirmed, where Gitea requires that).
    pub active: Option<bool>,
}

/// A repository.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Repository {
    /// Numeric id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `owner/name`.
    pub full_name: String,
    /// Owner.
    pub owner: User,
    /// Description.
    pub description: String,
    /// Private.
    pub private: bool,
    /// No commits yet.
    pub empty: bool,
    /// Read-only.
    pub archived: bool,
    /// Default branch.
    pub default_branch: String,
    /// HTTPS clone URL.
    pub clone_url: String,
    /// SSH clone URL.
    pub ssh_url: String,
    /// Web page.
    pub html_url: String,
    /// Last update.
    pub updated_at: String,
    /// Open issues.
    pub open_issues_count: i64,
}

/// An item of the contents API: file, dir, symlink or submodule.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Contents {
    /// `file`, `dir`, `symlink` or `submodule`.
    #[serde(rename = "type")]
    pub kind: String,
    /// File name.
    pub name: String,
    /// Path in the repository.
    pub path: String,
    /// Blob sha (what updates need).
    pub sha: String,
    /// Size in bytes.
    pub size: i64,
    /// `base64` when `content` is present.
    pub encoding: Option<String>,
    /// Base64 content (absent for large blobs and directories).
    pub content: Option<String>,
    /// The last commit touching it.
    pub last_commit_sha: Option<String>,
}

/// What `GET …/contents/{path}` answers: one file or a directory listing.
#[derive(Debug, Clone)]
pub enum ContentsAnswer {
    /// A directory listing.
    Dir(Vec<Contents>),
    /// A single item.
    File(Box<Contents>),
}

impl ContentsAnswer {
    /// Read either shape by looking at the answer first (an untagged enum would only say
    /// that no variant matched, naming neither the field nor the shape expected).
    pub fn read(value: Value) -> Result<Self, Undecodable> {
        match value {
            Value::Array(_) => from_value(value).map(ContentsAnswer::Dir),
            Value::Object(_) => from_value(value).map(ContentsAnswer::File),
            other => Err(Undecodable::whole(format!(
                "expected a file object or a directory listing (array), got {}",
                kind_of(&other)
            ))),
        }
    }
}

/// The commit part of a file change.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CommitMeta {
    /// Commit sha.
    pub sha: String,
    /// Web page.
    pub html_url: String,
}

/// The answer to a file create/update.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct FileResponse {
    /// The file after the change.
    pub content: Option<Contents>,
    /// The commit made.
    pub commit: CommitMeta,
}

/// A label.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct Label {
    /// Numeric id (what issue creation takes).
    pub id: i64,
    /// Name (what issue lists filter by).
    pub name: String,
    /// Color.
    pub color: String,
}

/// An issue (or a pull request, which shares the index space).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Issue {
    /// Global id.
    pub id: i64,
    /// Per-repository number.
    pub number: i64,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// `open` or `closed`.
    pub state: String,
    /// Labels.
    pub labels: Vec<Label>,
    /// Author.
    pub user: User,
    /// Comment count.
    pub comments: i64,
    /// Present for pull requests.
    pub pull_request: Option<serde_json::Value>,
    /// Web page.
    pub html_url: String,
    /// Creation time.
    pub created_at: String,
    /// Last update.
    pub updated_at: String,
    /// Closing time.
    pub closed_at: Option<String>,
}

/// An issue comment.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Comment {
    /// Numeric id.
    pub id: i64,
    /// Text.
    pub body: String,
    /// Web page.
    pub html_url: String,
}

/// A branch.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Branch {
    /// Name.
    pub name: String,
    /// Head commit.
    pub commit: BranchCommit,
}

/// A branch's head commit.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct BranchCommit {
    /// Commit sha.
    pub id: String,
    /// Commit message.
    pub message: String,
}

/// An organization.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Organization {
    /// Numeric id.
    pub id: i64,
    /// Org name.
    pub name: String,
    /// Org name as older releases send it (newer ones send both).
    pub username: String,
    /// Display name.
    pub full_name: String,
    /// `public`, `limited` or `private`.
    pub visibility: String,
}

/// A team of an organization.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Team {
    /// Numeric id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Coarse permission (read it from `units_map` on unit-based teams).
    pub permission: String,
    /// Unit permissions.
    pub units_map: serde_json::Map<String, serde_json::Value>,
    /// All repositories of the org.
    pub includes_all_repositories: bool,
    /// May create repositories in the org.
    pub can_create_org_repo: bool,
}

impl Organization {
    /// The org's name, whichever field the server filled.
    pub fn login(&self) -> &str {
        if self.name.is_empty() {
            &self.username
        } else {
            &self.name
        }
    }
}

/// An access token as returned at creation (`sha1` is the token, shown once).
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct AccessToken {
    /// Numeric id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// The token (only in the creation answer).
    pub sha1: String,
    /// Last eight characters.
    pub token_last_eight: String,
    /// Scopes.
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("sha1", &"[REDACTED]")
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// An SSH public key of a user.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PublicKey {
    /// Numeric id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// The key line.
    pub key: String,
    /// Fingerprint.
    pub fingerprint: String,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// Items on this page.
    pub items: Vec<T>,
    /// Page number (1-based).
    pub page: u32,
    /// Page size asked for.
    pub limit: u32,
    /// Total items, when the server said (`X-Total-Count`).
    pub total: Option<u64>,
    /// True when another page follows.
    pub has_next: bool,
}

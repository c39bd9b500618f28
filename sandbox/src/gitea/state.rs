//! The Gitea sandbox's in-memory data (accounts and orgs, teams, repositories, issues,
//! labels, comments, tokens, keys, rename redirects) and the permission rules read from
//! it (repository access per unit, org visibility and membership), behind the
//! [`GiteaState`] every handler shares (the request log and faults are in observe.rs).
//! Repositories live on disk as bare git repos under the data folder; everything else
//! is lost when the process exits. No HTTP here.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use super::observe::RecordedRequest;
use crate::faults::Observer;
use crate::relock;

/// Access level, as Gitea's `perm.AccessMode` (ordered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Mode {
    None,
    Read,
    Write,
    Admin,
    Owner,
}

impl Mode {
    /// `perm.ParseAccessMode`: unknown text is `None`.
    pub(crate) fn parse(s: &str) -> Mode {
        match s {
            "read" => Mode::Read,
            "write" => Mode::Write,
            "admin" => Mode::Admin,
            "owner" => Mode::Owner,
            _ => Mode::None,
        }
    }

    /// The JSON spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Read => "read",
            Mode::Write => "write",
            Mode::Admin => "admin",
            Mode::Owner => "owner",
        }
    }
}

/// Unit keys a team can be given, in Gitea's order.
pub(crate) const UNIT_KEYS: [&str; 10] = [
    "repo.code",
    "repo.issues",
    "repo.ext_issues",
    "repo.pulls",
    "repo.releases",
    "repo.wiki",
    "repo.ext_wiki",
    "repo.projects",
    "repo.packages",
    "repo.actions",
];

/// User or org visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visibility {
    Public,
    Limited,
    Private,
}

impl Visibility {
    /// Parse `public|limited|private` (empty = public).
    pub(crate) fn parse(s: &str) -> Option<Visibility> {
        match s {
            "" | "public" => Some(Visibility::Public),
            "limited" => Some(Visibility::Limited),
            "private" => Some(Visibility::Private),
            _ => None,
        }
    }

    /// The JSON spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Limited => "limited",
            Visibility::Private => "private",
        }
    }
}

/// A user or an organization (they share one namespace and one id sequence, as in Gitea).
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub id: i64,
    pub login: String,
    pub is_org: bool,
    pub email: String,
    pub full_name: String,
    pub password: String,
    pub is_admin: bool,
    pub must_change_password: bool,
    pub prohibit_login: bool,
    pub restricted: bool,
    pub visibility: Visibility,
    pub description: String,
    pub website: String,
    pub location: String,
    pub repo_admin_change_team_access: bool,
    pub created: SystemTime,
}

/// An org team.
#[derive(Debug, Clone)]
pub(crate) struct Team {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub description: String,
    pub mode: Mode,
    /// Unit key → mode.
    pub units: Vec<(String, Mode)>,
    pub includes_all: bool,
    pub can_create_org_repo: bool,
    pub members: Vec<i64>,
    pub repos: Vec<i64>,
}

impl Team {
    fn unit_mode(&self, unit: &str) -> Mode {
        if self.mode >= Mode::Admin {
            return self.mode;
        }
        self.units
            .iter()
            .find(|(k, _)| k == unit)
            .map(|(_, m)| *m)
            .unwrap_or(Mode::None)
    }
}

/// A repository; its git data is the bare repo at `dir`.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    pub id: i64,
    pub owner_id: i64,
    pub name: String,
    pub description: String,
    pub private: bool,
    pub archived: bool,
    pub archived_at: Option<SystemTime>,
    pub default_branch: String,
    pub has_issues: bool,
    pub created: SystemTime,
    pub updated: SystemTime,
    /// Last issue/PR number handed out.
    pub last_index: i64,
    /// Direct collaborators (user id, mode); the creator of an org repo who is not an
    /// org owner is added as admin, as Gitea does.
    pub collaborators: Vec<(i64, Mode)>,
    pub dir: PathBuf,
}

/// An issue or (with `is_pull`) a pull request.
#[derive(Debug, Clone)]
pub(crate) struct Issue {
    pub id: i64,
    pub repo_id: i64,
    pub index: i64,
    pub title: String,
    pub body: String,
    pub poster_id: i64,
    pub is_pull: bool,
    pub labels: Vec<i64>,
    pub assignees: Vec<i64>,
    pub num_comments: i64,
    pub created: SystemTime,
    pub updated: SystemTime,
    pub closed_at: Option<SystemTime>,
}

/// A comment on an issue.
#[derive(Debug, Clone)]
pub(crate) struct Comment {
    pub id: i64,
    pub issue_id: i64,
    pub poster_id: i64,
    pub body: String,
    pub created: SystemTime,
    pub updated: SystemTime,
}

/// A repository label (`color` keeps the leading `#`).
#[derive(Debug, Clone)]
pub(crate) struct Label {
    pub id: i64,
    pub repo_id: i64,
    pub name: String,
    pub color: String,
    pub description: String,
    pub exclusive: bool,
}

/// A personal access token (kept in plaintext: this is a sandbox).
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub id: i64,
    pub uid: i64,
    pub name: String,
    pub secret: String,
    pub scopes: Vec<String>,
    pub created: SystemTime,
    pub last_used: Option<SystemTime>,
}

/// An SSH public key of a user.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub id: i64,
    pub uid: i64,
    pub title: String,
    pub content: String,
    pub fingerprint: String,
    pub created: SystemTime,
}

/// Id sequences, one per table like Gitea's.
#[derive(Debug, Default)]
pub(crate) struct Seq {
    accounts: i64,
    teams: i64,
    repos: i64,
    issues: i64,
    comments: i64,
    labels: i64,
    tokens: i64,
    keys: i64,
}

/// Which sequence to draw from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Table {
    Accounts,
    Teams,
    Repos,
    Issues,
    Comments,
    Labels,
    Tokens,
    Keys,
}

/// Everything the sandbox knows, behind one mutex.
#[derive(Debug, Default)]
pub(crate) struct Data {
    seq: Seq,
    pub accounts: Vec<Account>,
    pub teams: Vec<Team>,
    pub repos: Vec<Repo>,
    /// (owner id, lower-case old name, repo id).
    pub redirects: Vec<(i64, String, i64)>,
    pub issues: Vec<Issue>,
    pub comments: Vec<Comment>,
    pub labels: Vec<Label>,
    pub tokens: Vec<Token>,
    pub keys: Vec<Key>,
    /// `[server] ROOT_URL` when it differs from the address the API is served on: the
    /// public URL Gitea writes into repositories' clone and web URLs.
    pub root_url: Option<String>,
}

/// What a user may do in one repository, per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Perm {
    pub code: Mode,
    pub issues: Mode,
    pub pulls: Mode,
}

impl Perm {
    const NONE: Perm = Perm {
        code: Mode::None,
        issues: Mode::None,
        pulls: Mode::None,
    };

    fn all(mode: Mode) -> Perm {
        Perm {
            code: mode,
            issues: mode,
            pulls: mode,
        }
    }

    /// Repository admin (owner, org owner, admin team, site admin).
    pub(crate) fn is_admin(&self) -> bool {
        self.code >= Mode::Admin
    }

    /// Any access at all (`HasAnyUnitAccessOrPublicAccess`).
    pub(crate) fn has_access(&self) -> bool {
        self.code >= Mode::Read || self.issues >= Mode::Read || self.pulls >= Mode::Read
    }
}

impl Data {
    /// The next id of `table`.
    pub(crate) fn next_id(&mut self, table: Table) -> i64 {
        let s = &mut self.seq;
        let slot = match table {
            Table::Accounts => &mut s.accounts,
            Table::Teams => &mut s.teams,
            Table::Repos => &mut s.repos,
            Table::Issues => &mut s.issues,
            Table::Comments => &mut s.comments,
            Table::Labels => &mut s.labels,
            Table::Tokens => &mut s.tokens,
            Table::Keys => &mut s.keys,
        };
        *slot += 1;
        *slot
    }

    pub(crate) fn account(&self, id: i64) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// A user or org by name (case-insensitive, like Gitea's lower_name).
    pub(crate) fn account_by_name(&self, name: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|a| a.login.eq_ignore_ascii_case(name))
    }

    pub(crate) fn repo(&self, id: i64) -> Option<&Repo> {
        self.repos.iter().find(|r| r.id == id)
    }

    pub(crate) fn repo_mut(&mut self, id: i64) -> Option<&mut Repo> {
        self.repos.iter_mut().find(|r| r.id == id)
    }

    pub(crate) fn repo_by_name(&self, owner_id: i64, name: &str) -> Option<&Repo> {
        self.repos
            .iter()
            .find(|r| r.owner_id == owner_id && r.name.eq_ignore_ascii_case(name))
    }

    /// The repository a renamed path now points at.
    pub(crate) fn redirect(&self, owner_id: i64, name: &str) -> Option<&Repo> {
        let lower = name.to_ascii_lowercase();
        self.redirects
            .iter()
            .find(|(o, n, _)| *o == owner_id && *n == lower)
            .and_then(|(_, _, id)| self.repo(*id))
    }

    /// `owner/name` of a repository.
    pub(crate) fn full_name(&self, repo: &Repo) -> String {
        let owner = self
            .account(repo.owner_id)
            .map(|a| a.login.as_str())
            .unwrap_or_default();
        format!("{owner}/{}", repo.name)
    }

    pub(crate) fn is_org_owner(&self, org_id: i64, uid: i64) -> bool {
        self.teams
            .iter()
            .any(|t| t.org_id == org_id && t.mode == Mode::Owner && t.members.contains(&uid))
    }

    pub(crate) fn is_org_member(&self, org_id: i64, uid: i64) -> bool {
        self.teams
            .iter()
            .any(|t| t.org_id == org_id && t.members.contains(&uid))
    }

    /// `CanCreateOrgRepo`: an owner, or in a team with `can_create_org_repo`.
    pub(crate) fn can_create_org_repo(&self, org_id: i64, uid: i64) -> bool {
        self.teams.iter().any(|t| {
            t.org_id == org_id
                && t.members.contains(&uid)
                && (t.mode == Mode::Owner || t.can_create_org_repo)
        })
    }

    /// Whether `doer` may see `owner` at all (org/user visibility).
    pub(crate) fn owner_visible(&self, owner: &Account, doer: Option<&Account>) -> bool {
        match (owner.visibility, doer) {
            (Visibility::Public, _) => true,
            (_, None) => false,
            (Visibility::Limited, Some(_)) => true,
            (Visibility::Private, Some(d)) => {
                d.is_admin
                    || d.id == owner.id
                    || (owner.is_org && self.is_org_member(owner.id, d.id))
            }
        }
    }

    /// `GetUserRepoPermission`: site admin and owners get everything; org repos add up
    /// the doer's teams (admin teams, else per-unit modes); public repos of visible
    /// owners give read to everyone else.
    pub(crate) fn repo_perm(&self, repo: &Repo, doer: Option<&Account>) -> Perm {
        let Some(owner) = self.account(repo.owner_id) else {
            return Perm::NONE;
        };
        let owns = |d: &Account| {
            d.is_admin || d.id == owner.id || (owner.is_org && self.is_org_owner(owner.id, d.id))
        };
        if doer.is_some_and(owns) {
            return Perm::all(Mode::Owner);
        }
        let mut perm = Perm::NONE;
        if let Some((_, m)) =
            doer.and_then(|d| repo.collaborators.iter().find(|(uid, _)| *uid == d.id))
        {
            perm = Perm::all(*m);
        }
        if let (true, Some(d)) = (owner.is_org, doer) {
            for t in self.teams.iter().filter(|t| {
                t.org_id == owner.id
                    && t.members.contains(&d.id)
                    && (t.includes_all || t.repos.contains(&repo.id))
            }) {
                perm.code = perm.code.max(t.unit_mode("repo.code"));
                perm.issues = perm.issues.max(t.unit_mode("repo.issues"));
                perm.pulls = perm.pulls.max(t.unit_mode("repo.pulls"));
            }
        }
        if !repo.private && self.owner_visible(owner, doer) {
            perm.code = perm.code.max(Mode::Read);
            perm.issues = perm.issues.max(Mode::Read);
            perm.pulls = perm.pulls.max(Mode::Read);
        }
        perm
    }

    /// True when `uid` reaches `repo` as owner, collaborator or through a team (not
    /// merely because it is public): `/user/repos` lists these.
    pub(crate) fn is_member_of_repo(&self, repo: &Repo, uid: i64) -> bool {
        repo.owner_id == uid
            || repo.collaborators.iter().any(|(c, _)| *c == uid)
            || self.teams.iter().any(|t| {
                t.org_id == repo.owner_id
                    && t.members.contains(&uid)
                    && (t.includes_all || t.repos.contains(&repo.id))
            })
    }

    /// Repositories `doer` can see, in id order.
    pub(crate) fn visible_repos(&self, doer: Option<&Account>) -> Vec<&Repo> {
        self.repos
            .iter()
            .filter(|r| self.repo_perm(r, doer).has_access())
            .collect()
    }
}

/// The whole sandbox state: data, request log and faults. Shared by the server and the
/// test that started it; test controls are plain methods (see `controls.rs`).
#[derive(Debug)]
pub struct GiteaState {
    pub(crate) base_url: String,
    pub(crate) data_dir: PathBuf,
    data: Mutex<Data>,
    /// The request log and injected faults.
    pub(crate) observer: Observer<RecordedRequest>,
    /// Serialises commits made through the API (git's own ref locking backs it up).
    pub(crate) git_lock: Mutex<()>,
}

impl GiteaState {
    pub(crate) fn new(base_url: String, data_dir: &Path) -> GiteaState {
        GiteaState {
            base_url,
            data_dir: data_dir.to_path_buf(),
            data: Mutex::new(Data::default()),
            // Fault prefixes match below `/api/v1` too.
            observer: Observer::below("/api/v1"),
            git_lock: Mutex::new(()),
        }
    }

    /// The data, locked. Never hold the guard across an `.await` or a git command.
    pub(crate) fn data(&self) -> MutexGuard<'_, Data> {
        relock(&self.data)
    }

    /// Serialise a commit.
    pub(crate) fn git_guard(&self) -> MutexGuard<'_, ()> {
        relock(&self.git_lock)
    }

    /// `http://127.0.0.1:PORT` (no `/api/v1`).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The folder holding `<owner>/<name>.git` (lower-case, as Gitea stores them).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where a new repository of `owner/name` lives on disk.
    pub(crate) fn repo_dir(&self, owner: &str, name: &str) -> PathBuf {
        self.data_dir
            .join(owner.to_ascii_lowercase())
            .join(format!("{}.git", name.to_ascii_lowercase()))
    }
}

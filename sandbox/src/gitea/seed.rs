//! Creation rules the HTTP handlers and the test controls share: user, org, repository
//! name checks and Gitea's 422/409 wording, inserting accounts, tokens and issues, and
//! creating or renaming a repository on disk (bare repo, README commit, redirect).
//! No HTTP here.

use std::io;
use std::time::SystemTime;

use super::git::{self, FileOp, NewCommit, Signature};
use super::state::{Account, Data, GiteaState, Issue, Mode, Repo, Table, Team, Token, Visibility};

/// Names Gitea reserves for users and orgs.
const RESERVED_USERNAMES: [&str; 24] = [
    ".",
    "..",
    ".well-known",
    "admin",
    "api",
    "assets",
    "attachments",
    "avatar",
    "avatars",
    "captcha",
    "commits",
    "debug",
    "error",
    "explore",
    "ghost",
    "issues",
    "login",
    "new",
    "notifications",
    "org",
    "pulls",
    "raw",
    "repo",
    "user",
];

/// Gitea's username rule: alphanumerics with single `-`, `_` or `.` between them.
pub(crate) fn valid_username(name: &str) -> bool {
    let b = name.as_bytes();
    let special = |c: &u8| matches!(c, b'-' | b'_' | b'.');
    !b.is_empty()
        && b.len() <= 40
        && b.iter().all(|c| c.is_ascii_alphanumeric() || special(c))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !b.windows(2).any(|w| special(&w[0]) && special(&w[1]))
}

/// Check a new user/org name against the namespace: 422 messages as Gitea words them.
pub(crate) fn check_new_account_name(d: &Data, name: &str, field: &str) -> Result<(), String> {
    if RESERVED_USERNAMES.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!("name is reserved [name: {name}]"));
    }
    if !valid_username(name) {
        return Err(format!("[{field}]: invalid username [name: {name}]"));
    }
    if d.account_by_name(name).is_some() {
        return Err(format!("user already exists [name: {name}]"));
    }
    Ok(())
}

/// Check a repository name (`AlphaDashDot`, reserved names and patterns).
pub(crate) fn check_repo_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 100 {
        return Err("[Name]: Required".to_string());
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    {
        return Err("[Name]: AlphaDashDot".to_string());
    }
    if matches!(name, "." | ".." | "-") {
        return Err(format!("name is reserved [name: {name}]"));
    }
    for pattern in [".git", ".wiki", ".rss", ".atom"] {
        if name.to_ascii_lowercase().ends_with(pattern) {
            return Err(format!("name pattern is not allowed [pattern: *{pattern}]"));
        }
    }
    Ok(())
}

/// A fresh 40-hex token secret.
pub(crate) fn new_secret() -> String {
    rand::random::<[u8; 20]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Insert a user; `Err` carries Gitea's 422 message.
pub(crate) fn insert_user(
    d: &mut Data,
    login: &str,
    email: &str,
    password: &str,
    is_admin: bool,
    must_change_password: bool,
) -> Result<i64, String> {
    check_new_account_name(d, login, "Username")?;
    if d.accounts
        .iter()
        .any(|a| !a.is_org && a.email.eq_ignore_ascii_case(email))
    {
        return Err(format!("e-mail already in use [email: {email}]"));
    }
    let id = d.next_id(Table::Accounts);
    d.accounts.push(Account {
        id,
        login: login.to_string(),
        is_org: false,
        email: email.to_string(),
        full_name: String::new(),
        password: password.to_string(),
        is_admin,
        must_change_password,
        prohibit_login: false,
        restricted: false,
        visibility: Visibility::Public,
        description: String::new(),
        website: String::new(),
        location: String::new(),
        repo_admin_change_team_access: false,
        created: SystemTime::now(),
    });
    Ok(id)
}

/// Insert an org with its Owners team holding `owner_id`; `Err` is a 422 message.
pub(crate) fn insert_org(
    d: &mut Data,
    name: &str,
    owner_id: i64,
    visibility: Visibility,
) -> Result<i64, String> {
    check_new_account_name(d, name, "UserName")?;
    let id = d.next_id(Table::Accounts);
    d.accounts.push(Account {
        id,
        login: name.to_string(),
        is_org: true,
        email: String::new(),
        full_name: String::new(),
        password: String::new(),
        is_admin: false,
        must_change_password: false,
        prohibit_login: false,
        restricted: false,
        visibility,
        description: String::new(),
        website: String::new(),
        location: String::new(),
        repo_admin_change_team_access: false,
        created: SystemTime::now(),
    });
    let team_id = d.next_id(Table::Teams);
    d.teams.push(Team {
        id: team_id,
        org_id: id,
        name: "Owners".to_string(),
        description: String::new(),
        mode: Mode::Owner,
        units: super::state::UNIT_KEYS
            .iter()
            .map(|k| (k.to_string(), Mode::Owner))
            .collect(),
        includes_all: true,
        can_create_org_repo: true,
        members: vec![owner_id],
        repos: Vec::new(),
    });
    Ok(id)
}

/// Insert a token with already-normalised scopes; returns (id, secret).
pub(crate) fn insert_token(
    d: &mut Data,
    uid: i64,
    name: &str,
    scopes: Vec<String>,
) -> (i64, String) {
    let id = d.next_id(Table::Tokens);
    let secret = new_secret();
    d.tokens.push(Token {
        id,
        uid,
        name: name.to_string(),
        secret: secret.clone(),
        scopes,
        created: SystemTime::now(),
        last_used: None,
    });
    (id, secret)
}

/// Options of a new repository.
#[derive(Debug, Clone)]
pub(crate) struct NewRepo {
    pub name: String,
    pub description: String,
    pub private: bool,
    pub auto_init: bool,
    pub default_branch: String,
}

/// Why a repository could not be created.
#[derive(Debug)]
pub(crate) enum CreateRepoError {
    /// 409 "The repository with the same name already exists."
    Exists,
    /// 422 with this message.
    Invalid(String),
    /// 404: no such owner.
    NoOwner,
    /// Disk or git failure.
    Io(io::Error),
}

/// The signature of commits made for `account` (its email, or a no-reply address).
pub(crate) fn signature_of(a: &Account) -> Signature {
    let email = if a.email.is_empty() {
        format!("{}@noreply.localhost", a.login)
    } else {
        a.email.clone()
    };
    Signature {
        name: a.login.clone(),
        email,
    }
}

/// Create a repository: the record, then the bare repo on disk (adopting one left by a
/// previous run under the same data folder), then the README commit if `auto_init`.
/// Blocking (runs git).
pub(crate) fn create_repo_with(
    state: &GiteaState,
    owner_id: i64,
    opts: &NewRepo,
    author: &Signature,
) -> Result<i64, CreateRepoError> {
    check_repo_name(&opts.name).map_err(CreateRepoError::Invalid)?;
    let (id, dir) = {
        let mut d = state.data();
        let owner = d
            .account(owner_id)
            .ok_or(CreateRepoError::NoOwner)?
            .login
            .clone();
        if d.repo_by_name(owner_id, &opts.name).is_some() {
            return Err(CreateRepoError::Exists);
        }
        let lower = opts.name.to_ascii_lowercase();
        d.redirects
            .retain(|(o, n, _)| !(*o == owner_id && *n == lower));
        let id = d.next_id(Table::Repos);
        let dir = state.repo_dir(&owner, &opts.name);
        let now = SystemTime::now();
        d.repos.push(Repo {
            id,
            owner_id,
            name: opts.name.clone(),
            description: opts.description.clone(),
            private: opts.private,
            archived: false,
            archived_at: None,
            default_branch: opts.default_branch.clone(),
            has_issues: true,
            created: now,
            updated: now,
            last_index: 0,
            collaborators: Vec::new(),
            dir: dir.clone(),
        });
        (id, dir)
    };
    let init = || -> io::Result<()> {
        git::init_bare(&dir, &opts.default_branch)?;
        if opts.auto_init && !git::has_branches(&dir) {
            let readme = if opts.description.is_empty() {
                format!("# {}\n", opts.name)
            } else {
                format!("# {}\n\n{}\n", opts.name, opts.description)
            };
            let ops = [FileOp::Put {
                path: "README.md".to_string(),
                content: readme.into_bytes(),
            }];
            git::commit_files(
                &dir,
                &NewCommit {
                    parent: None,
                    ops: &ops,
                    message: "Initial commit\n",
                    author,
                    committer: author,
                    branch: &opts.default_branch,
                    expected_old: None,
                },
            )?;
        }
        Ok(())
    };
    if let Err(e) = init() {
        state.data().repos.retain(|r| r.id != id);
        return Err(CreateRepoError::Io(e));
    }
    Ok(id)
}

/// Rename repository `id` to `new_name`: moves the bare repo and leaves a redirect from
/// the old name. `Err` carries (status, message).
pub(crate) fn rename_repo_id(
    state: &GiteaState,
    id: i64,
    new_name: &str,
) -> Result<(), (u16, String)> {
    check_repo_name(new_name).map_err(|m| (422, m))?;
    let mut d = state.data();
    let Some(repo) = d.repo(id).cloned() else {
        return Err((404, "not found".to_string()));
    };
    if repo.name == new_name {
        return Ok(());
    }
    if d.repo_by_name(repo.owner_id, new_name)
        .is_some_and(|other| other.id != id)
    {
        return Err((422, "repo name is already taken".to_string()));
    }
    let owner = d
        .account(repo.owner_id)
        .map(|a| a.login.clone())
        .unwrap_or_default();
    let new_dir = state.repo_dir(&owner, new_name);
    if new_dir != repo.dir {
        std::fs::rename(&repo.dir, &new_dir).map_err(|e| (500, e.to_string()))?;
    }
    let new_lower = new_name.to_ascii_lowercase();
    d.redirects
        .retain(|(o, n, _)| !(*o == repo.owner_id && *n == new_lower));
    if !repo.name.eq_ignore_ascii_case(new_name) {
        d.redirects
            .push((repo.owner_id, repo.name.to_ascii_lowercase(), id));
    }
    if let Some(r) = d.repo_mut(id) {
        r.name = new_name.to_string();
        r.dir = new_dir;
        r.updated = SystemTime::now();
    }
    Ok(())
}

/// Insert an issue (or PR) with the next number of its repository; returns the number.
pub(crate) fn insert_issue(
    d: &mut Data,
    repo_id: i64,
    poster_id: i64,
    title: &str,
    body: &str,
    labels: Vec<i64>,
    is_pull: bool,
) -> i64 {
    let id = d.next_id(Table::Issues);
    let index = match d.repo_mut(repo_id) {
        Some(r) => {
            r.last_index += 1;
            r.last_index
        }
        None => 0,
    };
    let now = SystemTime::now();
    d.issues.push(Issue {
        id,
        repo_id,
        index,
        title: title.to_string(),
        body: body.to_string(),
        poster_id,
        is_pull,
        labels,
        assignees: Vec::new(),
        num_comments: 0,
        created: now,
        updated: now,
        closed_at: None,
    });
    index
}

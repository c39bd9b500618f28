//! Test controls of the Gitea sandbox: plain Rust methods on [`GiteaState`] that seed
//! users, tokens, orgs, teams, repositories, labels and issues, rename or archive a
//! repository, delete a token, and read back tokens, keys, teams, memberships and
//! account flags. Controls panic on misuse (unknown names, taken names), like
//! assertions; they are for tests and the `vibn sandbox gitea` seeding (which uses the
//! non-panicking `try_create_org` and `create_repo`), not for user input.

use std::io;
use std::path::PathBuf;
use std::time::SystemTime;

use super::seed::{
    CreateRepoError, NewRepo, create_repo_with, insert_issue, insert_org, insert_token,
    insert_user, rename_repo_id, signature_of,
};
use super::state::{GiteaState, Label, Mode, Table, Team, Visibility};

fn must<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("gitea sandbox control {what}: {e}"),
    }
}

impl GiteaState {
    fn account_id(&self, login: &str) -> Option<i64> {
        self.data().account_by_name(login).map(|a| a.id)
    }

    fn repo_id(&self, owner: &str, name: &str) -> Option<i64> {
        let d = self.data();
        let owner = d.account_by_name(owner)?;
        d.repo_by_name(owner.id, name).map(|r| r.id)
    }

    fn known_repo(&self, owner: &str, name: &str) -> i64 {
        must(
            "repo lookup",
            self.repo_id(owner, name)
                .ok_or(format!("no repository {owner}/{name}")),
        )
    }

    /// Set `[server] ROOT_URL`: the public base (`https://git.example.com`) Gitea writes
    /// into repositories' `clone_url`, `html_url` and `ssh_url`, while the API stays on
    /// the address the sandbox listens on (a Gitea behind a proxy or reached internally).
    pub fn set_root_url(&self, url: &str) {
        self.data().root_url = Some(url.trim_end_matches('/').to_string());
    }

    /// The id of user or org `login`, if any.
    pub fn find_account(&self, login: &str) -> Option<i64> {
        self.account_id(login)
    }

    /// Create a user and return its id. Panics if the name or email is taken or invalid.
    pub fn create_user(
        &self,
        login: &str,
        email: &str,
        password: &str,
        is_admin: bool,
        must_change_password: bool,
    ) -> i64 {
        let r = insert_user(
            &mut self.data(),
            login,
            email,
            password,
            is_admin,
            must_change_password,
        );
        must("create_user", r)
    }

    /// Set or clear a user's must-change-password flag.
    pub fn set_must_change_password(&self, login: &str, value: bool) {
        let mut d = self.data();
        let found = d
            .accounts
            .iter_mut()
            .find(|a| a.login.eq_ignore_ascii_case(login));
        match found {
            Some(a) => a.must_change_password = value,
            None => {
                drop(d);
                panic!("gitea sandbox control set_must_change_password: no user {login}");
            }
        }
    }

    /// Mint a token for `login` and return its 40-hex secret. Scopes are normalised like
    /// Gitea's; panics on an unknown user, a taken name or an invalid scope.
    pub fn create_token(&self, login: &str, name: &str, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let scopes = must("create_token", super::auth::normalize_scopes(&scopes));
        let mut d = self.data();
        let uid = d.account_by_name(login).filter(|a| !a.is_org).map(|a| a.id);
        let taken = uid.is_some_and(|uid| d.tokens.iter().any(|t| t.uid == uid && t.name == name));
        let result = match uid {
            Some(_) if taken => Err(format!("token name {name} is taken")),
            Some(uid) => Ok(insert_token(&mut d, uid, name, scopes).1),
            None => Err(format!("no user {login}")),
        };
        drop(d);
        must("create_token", result)
    }

    /// Create a public org owned by `owner_login` (put in its Owners team); returns its id.
    /// Panics when the name is taken or invalid, or the owner unknown.
    pub fn create_org(&self, name: &str, owner_login: &str) -> i64 {
        must("create_org", self.try_create_org(name, owner_login))
    }

    /// [`Self::create_org`] that reports a bad name or owner instead of panicking
    /// (Gitea's 422 wording).
    pub fn try_create_org(&self, name: &str, owner_login: &str) -> Result<i64, String> {
        let mut d = self.data();
        let owner = d
            .account_by_name(owner_login)
            .filter(|a| !a.is_org)
            .map(|a| a.id);
        match owner {
            Some(owner) => insert_org(&mut d, name, owner, Visibility::Public),
            None => Err(format!("no user {owner_login}")),
        }
    }

    /// Change an org's visibility (`public`, `limited` or `private`).
    pub fn set_org_visibility(&self, org: &str, visibility: &str) {
        let v = must(
            "set_org_visibility",
            Visibility::parse(visibility).ok_or("bad visibility"),
        );
        let mut d = self.data();
        if let Some(a) = d
            .accounts
            .iter_mut()
            .find(|a| a.is_org && a.login.eq_ignore_ascii_case(org))
        {
            a.visibility = v;
        }
    }

    /// Create a team in `org` with `permission` (`read|write|admin`) on `units` (unit
    /// keys such as `repo.code`; all units when empty) over all repositories; returns
    /// its id.
    pub fn create_team(
        &self,
        org: &str,
        name: &str,
        permission: &str,
        units: &[&str],
        can_create_org_repo: bool,
    ) -> i64 {
        let mode = Mode::parse(permission);
        let mut d = self.data();
        let Some(org_id) = d.account_by_name(org).filter(|a| a.is_org).map(|a| a.id) else {
            drop(d);
            panic!("gitea sandbox control create_team: no org {org}");
        };
        let units: Vec<&str> = if units.is_empty() {
            super::state::UNIT_KEYS.to_vec()
        } else {
            units.to_vec()
        };
        let id = d.next_id(Table::Teams);
        d.teams.push(Team {
            id,
            org_id,
            name: name.to_string(),
            description: String::new(),
            mode,
            units: units.iter().map(|u| (u.to_string(), mode)).collect(),
            includes_all: true,
            can_create_org_repo,
            members: Vec::new(),
            repos: Vec::new(),
        });
        id
    }

    /// Put `login` in team `team_id`.
    pub fn add_team_member(&self, team_id: i64, login: &str) {
        let uid = must(
            "add_team_member",
            self.account_id(login).ok_or(format!("no user {login}")),
        );
        let mut d = self.data();
        match d.teams.iter_mut().find(|t| t.id == team_id) {
            Some(t) if !t.members.contains(&uid) => t.members.push(uid),
            Some(_) => {}
            None => {
                drop(d);
                panic!("gitea sandbox control add_team_member: no team {team_id}");
            }
        }
    }

    /// Create `owner/name` (a bare git repo under the data folder; with `auto_init`, a
    /// README.md commit on `main`). `NotFound` when the owner is unknown,
    /// `AlreadyExists` when the repository exists.
    pub fn create_repo(&self, owner: &str, name: &str, auto_init: bool) -> io::Result<()> {
        let owner_acc = self.data().account_by_name(owner).cloned();
        let Some(owner_acc) = owner_acc else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no user or org {owner}"),
            ));
        };
        let author = {
            let d = self.data();
            let admin = d.accounts.iter().find(|a| a.is_admin && !a.is_org);
            signature_of(if owner_acc.is_org {
                admin.unwrap_or(&owner_acc)
            } else {
                &owner_acc
            })
        };
        let opts = NewRepo {
            name: name.to_string(),
            description: String::new(),
            private: false,
            auto_init,
            default_branch: "main".to_string(),
        };
        match create_repo_with(self, owner_acc.id, &opts, &author) {
            Ok(_) => Ok(()),
            Err(CreateRepoError::Exists) => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{owner}/{name} already exists"),
            )),
            Err(CreateRepoError::Invalid(m)) => Err(io::Error::new(io::ErrorKind::InvalidInput, m)),
            Err(CreateRepoError::NoOwner) => Err(io::Error::new(io::ErrorKind::NotFound, owner)),
            Err(CreateRepoError::Io(e)) => Err(e),
        }
    }

    /// Where the bare repository of `owner/name` is on disk.
    pub fn repo_path(&self, owner: &str, name: &str) -> Option<PathBuf> {
        let id = self.repo_id(owner, name)?;
        self.data().repo(id).map(|r| r.dir.clone())
    }

    /// Rename `owner/old` to `new`; later requests to the old path answer 301.
    pub fn rename_repo(&self, owner: &str, old: &str, new: &str) {
        let id = self.known_repo(owner, old);
        must(
            "rename_repo",
            rename_repo_id(self, id, new).map_err(|(_, m)| m),
        );
    }

    /// Archive (or unarchive) `owner/name`: writes then answer 423.
    pub fn archive_repo(&self, owner: &str, name: &str, archived: bool) {
        let id = self.known_repo(owner, name);
        if let Some(r) = self.data().repo_mut(id) {
            r.archived = archived;
            r.archived_at = archived.then(SystemTime::now);
        }
    }

    /// Make `owner/name` private (or public).
    pub fn set_repo_private(&self, owner: &str, name: &str, private: bool) {
        let id = self.known_repo(owner, name);
        if let Some(r) = self.data().repo_mut(id) {
            r.private = private;
        }
    }

    /// Create a label (color with or without `#`); returns its id.
    pub fn create_label(&self, owner: &str, repo: &str, name: &str, color: &str) -> i64 {
        let repo_id = self.known_repo(owner, repo);
        let mut d = self.data();
        let id = d.next_id(Table::Labels);
        d.labels.push(Label {
            id,
            repo_id,
            name: name.to_string(),
            color: format!("#{}", color.trim_start_matches('#').to_ascii_lowercase()),
            description: String::new(),
            exclusive: false,
        });
        id
    }

    fn seed_issue(
        &self,
        owner: &str,
        repo: &str,
        title: &str,
        labels: &[&str],
        is_pull: bool,
    ) -> i64 {
        let repo_id = self.known_repo(owner, repo);
        let mut d = self.data();
        let poster = d
            .accounts
            .iter()
            .find(|a| a.is_admin && !a.is_org)
            .map(|a| a.id)
            .unwrap_or_default();
        let label_ids = d
            .labels
            .iter()
            .filter(|l| l.repo_id == repo_id && labels.contains(&l.name.as_str()))
            .map(|l| l.id)
            .collect();
        insert_issue(&mut d, repo_id, poster, title, "", label_ids, is_pull)
    }

    /// Create an open issue with the named labels (unknown names ignored); returns its
    /// number.
    pub fn create_issue(&self, owner: &str, repo: &str, title: &str, labels: &[&str]) -> i64 {
        self.seed_issue(owner, repo, title, labels, false)
    }

    /// Create an open pull request (an issue with `pull_request` set, sharing the issue
    /// numbers); returns its number.
    pub fn create_pull_request(&self, owner: &str, repo: &str, title: &str) -> i64 {
        self.seed_issue(owner, repo, title, &[], true)
    }

    /// Close issue (or PR) `number`.
    pub fn close_issue(&self, owner: &str, repo: &str, number: i64) {
        let repo_id = self.known_repo(owner, repo);
        let mut d = self.data();
        if let Some(i) = d
            .issues
            .iter_mut()
            .find(|i| i.repo_id == repo_id && i.index == number)
        {
            i.closed_at = Some(SystemTime::now());
        }
    }

    /// The tokens of user `login`: (id, name), oldest first.
    pub fn tokens_of(&self, login: &str) -> Vec<(i64, String)> {
        let d = self.data();
        let Some(uid) = d.account_by_name(login).map(|a| a.id) else {
            return Vec::new();
        };
        d.tokens
            .iter()
            .filter(|t| t.uid == uid)
            .map(|t| (t.id, t.name.clone()))
            .collect()
    }

    /// Delete token `id` of user `login` (as the user could in Gitea's settings).
    pub fn delete_token(&self, login: &str, id: i64) {
        let mut d = self.data();
        let uid = d.account_by_name(login).map(|a| a.id);
        d.tokens.retain(|t| !(t.id == id && Some(t.uid) == uid));
    }

    /// The SSH keys of user `login`: (id, `type base64`), oldest first.
    pub fn keys_of(&self, login: &str) -> Vec<(i64, String)> {
        let d = self.data();
        let Some(uid) = d.account_by_name(login).map(|a| a.id) else {
            return Vec::new();
        };
        d.keys
            .iter()
            .filter(|k| k.uid == uid)
            .map(|k| (k.id, k.content.clone()))
            .collect()
    }

    /// Team `team` of org `org`: (permission, includes all repositories, may create
    /// repositories, member logins).
    pub fn team_of(&self, org: &str, team: &str) -> Option<(String, bool, bool, Vec<String>)> {
        let d = self.data();
        let org_id = d.account_by_name(org).filter(|a| a.is_org)?.id;
        let t = d
            .teams
            .iter()
            .find(|t| t.org_id == org_id && t.name.eq_ignore_ascii_case(team))?;
        let members = t
            .members
            .iter()
            .filter_map(|id| d.account(*id))
            .map(|a| a.login.clone())
            .collect();
        Some((
            t.mode.as_str().to_string(),
            t.includes_all,
            t.can_create_org_repo,
            members,
        ))
    }

    /// The names of every team `login` is a member of, as `org/team`.
    pub fn memberships_of(&self, login: &str) -> Vec<String> {
        let d = self.data();
        let Some(uid) = d.account_by_name(login).map(|a| a.id) else {
            return Vec::new();
        };
        d.teams
            .iter()
            .filter(|t| t.members.contains(&uid))
            .map(|t| {
                let org = d
                    .account(t.org_id)
                    .map(|o| o.login.clone())
                    .unwrap_or_default();
                format!("{org}/{}", t.name)
            })
            .collect()
    }

    /// An account's flags: (is an org, site admin, must change password, visibility).
    pub fn account_flags(&self, login: &str) -> Option<(bool, bool, bool, String)> {
        let d = self.data();
        d.account_by_name(login).map(|a| {
            (
                a.is_org,
                a.is_admin,
                a.must_change_password,
                a.visibility.as_str().to_string(),
            )
        })
    }

    /// Every account (users and orgs) whose login starts with `prefix`.
    pub fn accounts_named(&self, prefix: &str) -> Vec<String> {
        let prefix = prefix.to_ascii_lowercase();
        self.data()
            .accounts
            .iter()
            .filter(|a| a.login.to_ascii_lowercase().starts_with(&prefix))
            .map(|a| a.login.clone())
            .collect()
    }
}

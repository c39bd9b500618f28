//! The Gitea steps: the private org (adopted only when nobody but the operator, site
//! admins and the workspace owner owns it), the owner as an org owner (best effort),
//! the bot user (never a site admin, never an org) and the Writers team with the bot
//! as its only member.

use rand::TryRngCore;
use rand::distr::{Alphanumeric, Distribution};
use rand::rngs::OsRng;
use secrecy::SecretString;

use super::{Run, StepOutcome, StepResult, is_not_found};
use crate::clients::gitea::{Organization, Team, TeamSpec, User};
use crate::env_vars::GITEA_USERNAME;
use crate::error::ApiError;
use crate::keystore::ProvisionRecord;
use crate::policy::naming;

/// Longest org display name Gitea takes.
const MAX_FULL_NAME: usize = 100;

/// The Writers team: every repository, may create repositories, admin on repositories
/// (their settings; with it write on code, issues, pulls, releases and wiki) — and not
/// the Owners team, so the bot cannot manage the org's teams, members or settings, nor
/// delete or transfer repositories. Gitea has no unit for repository settings: only an
/// admin team gives them (reference gitea.md §4).
pub(super) fn writers_team(names: &naming::ProvisionNames) -> TeamSpec {
    TeamSpec {
        name: names.team.clone(),
        description: "vibn workspace bot: every repository, may create repositories; not an \
                      org owner"
            .to_string(),
        permission: "admin".to_string(),
        units_map: None,
        includes_all_repositories: true,
        can_create_org_repo: true,
    }
}

/// A random password Gitea's complexity settings accept (letters of both cases,
/// digits and a symbol), from the OS RNG. It lives only in memory.
pub(super) fn random_password() -> SecretString {
    let mut rng = OsRng.unwrap_err();
    let body: String = Alphanumeric
        .sample_iter(&mut rng)
        .take(40)
        .map(char::from)
        .collect();
    SecretString::from(format!("{body}aZ9-"))
}

impl Run<'_> {
    /// Find or create the private org; an org found upstream but not recorded is
    /// adopted only after `check_adoptable_org`.
    pub(super) async fn gitea_org(&mut self) -> StepResult {
        let p = self.p;
        let org = self.names.org.clone();
        let (found, outcome) = match p.gitea.get_org(&org).await {
            Ok(o) if self.state.gitea_org_id == Some(o.id) => (o, StepOutcome::Verified),
            Ok(o) => {
                self.check_adoptable_org(&o).await?;
                (o, StepOutcome::Adopted)
            }
            Err(e) if is_not_found(&e) => {
                let full_name: String = self
                    .state
                    .workspace
                    .name
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_FULL_NAME)
                    .collect();
                (
                    p.gitea.create_org(&org, &full_name, "private").await?,
                    StepOutcome::Created,
                )
            }
            Err(e) => return Err(e.into()),
        };
        if found.id <= 0 {
            return Err(ApiError::upstream(format!(
                "Gitea answered for org {org} without its id"
            )));
        }
        if outcome != StepOutcome::Verified {
            self.record(ProvisionRecord::GiteaOrg { id: found.id })
                .await?;
        }
        Ok((outcome, format!("org {org} (id {}), private", found.id)))
    }

    /// Refuse to adopt an org that is not private, or that someone other than the
    /// operator, a site admin or the workspace owner owns: whoever created `vibn-<slug>`
    /// first would otherwise see every repository the workspace's agents push.
    async fn check_adoptable_org(&self, org: &Organization) -> Result<(), ApiError> {
        let name = org.login();
        if org.visibility != "private" {
            return Err(ApiError::unprocessable(format!(
                "Gitea org {name} already exists and is {}, not private; vibn does not adopt it",
                if org.visibility.is_empty() {
                    "public"
                } else {
                    org.visibility.as_str()
                }
            ))
            .with_hint(format!(
                "make {name} private (or remove it) in Gitea, then re-run"
            )));
        }
        let owners = self.owners_team(name).await?;
        let members = self.p.gitea.list_team_members(owners.id).await?;
        let owner_email = self.state.workspace.owner_email.as_str();
        let foreign: Vec<&User> = members
            .iter()
            .filter(|m| {
                !m.is_admin
                    && !m.login.eq_ignore_ascii_case(&self.p.operator)
                    && !m.email.eq_ignore_ascii_case(owner_email)
            })
            .collect();
        if let Some(first) = foreign.first() {
            return Err(ApiError::forbidden(format!(
                "Gitea org {name} already exists and {} {} of its owners; vibn adopts an org \
                 only when its owners are the operator ({GITEA_USERNAME}), site admins or the \
                 workspace owner",
                first.login,
                if foreign.len() > 1 {
                    format!("(and {} more) are", foreign.len() - 1)
                } else {
                    "is one".to_string()
                }
            ))
            .with_hint(format!(
                "check who made {name}; remove them from its Owners team or delete the org, \
                 then re-run"
            )));
        }
        Ok(())
    }

    async fn owners_team(&self, org: &str) -> Result<Team, ApiError> {
        let teams = self.p.gitea.list_teams(org).await?;
        teams
            .into_iter()
            .find(|t| t.permission == "owner" || t.name == "Owners")
            .ok_or_else(|| ApiError::upstream(format!("Gitea listed no Owners team for org {org}")))
    }

    /// Best effort, never fatal: when a Gitea user has the owner's login and the
    /// owner's email (and is active), make it an owner of the org. The email must match
    /// too: a login alone is a name anyone could have registered.
    pub(super) async fn gitea_owner(&mut self) -> (StepOutcome, String) {
        match self.try_gitea_owner().await {
            Ok(done) => done,
            Err(e) => {
                self.note(format!(
                    "could not add the workspace owner to the Gitea org: {e}"
                ));
                (StepOutcome::Skipped, format!("not added: {e}"))
            }
        }
    }

    async fn try_gitea_owner(&mut self) -> Result<(StepOutcome, String), ApiError> {
        let p = self.p;
        let email = self.state.workspace.owner_email.clone();
        let mut found: Option<User> = None;
        for login in naming::owner_login_candidates(&email) {
            match p.gitea.get_user(&login).await {
                Ok(u) if u.email.eq_ignore_ascii_case(&email) && u.active != Some(false) => {
                    found = Some(u);
                    break;
                }
                Ok(_) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let Some(user) = found else {
            return Ok((
                StepOutcome::Skipped,
                format!("no active Gitea user with the owner's login and email {email}"),
            ));
        };
        let owners = self.owners_team(&self.names.org).await?;
        let members = p.gitea.list_team_members(owners.id).await?;
        if members.iter().any(|m| m.id == user.id) {
            return Ok((
                StepOutcome::Verified,
                format!("{} owns {}", user.login, self.names.org),
            ));
        }
        p.gitea.add_team_member(owners.id, &user.login).await?;
        Ok((
            StepOutcome::Created,
            format!("{} added to the Owners of {}", user.login, self.names.org),
        ))
    }

    /// Find or create the bot. A user found under the bot's name that vibn did not
    /// record is adopted only when it is a plain user (not a site admin, not an org);
    /// the token and key steps then replace every credential it had.
    pub(super) async fn gitea_bot(&mut self) -> StepResult {
        let p = self.p;
        let bot = self.names.bot.clone();
        let (user, outcome) = match p.gitea.get_user(&bot).await {
            Ok(u) if self.state.gitea_bot_user_id == Some(u.id) => (u, StepOutcome::Verified),
            Ok(u) => {
                if u.is_admin {
                    return Err(ApiError::forbidden(format!(
                        "Gitea user {bot} exists and is a site administrator; vibn will not \
                         hand its token to agents"
                    ))
                    .with_hint("remove its admin rights (or the user), then re-run"));
                }
                match p.gitea.get_org(&bot).await {
                    Ok(_) => {
                        return Err(ApiError::unprocessable(format!(
                            "{bot} is a Gitea organization, not a user"
                        ))
                        .with_hint(format!("rename or remove the org {bot}, then re-run")));
                    }
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(e.into()),
                }
                (u, StepOutcome::Adopted)
            }
            Err(e) if is_not_found(&e) => {
                let password = random_password();
                let made = p
                    .gitea
                    .admin_create_user(&bot, &self.names.bot_email, &password)
                    .await?;
                self.bot_password = Some(password);
                (made, StepOutcome::Created)
            }
            Err(e) => return Err(e.into()),
        };
        if user.id <= 0 {
            return Err(ApiError::upstream(format!(
                "Gitea answered for user {bot} without its id"
            )));
        }
        if outcome != StepOutcome::Verified {
            self.record(ProvisionRecord::GiteaBot { id: user.id })
                .await?;
        }
        Ok((outcome, format!("bot {bot} (id {})", user.id)))
    }

    /// Find (by name) or create the Writers team, correct its settings, and make the
    /// bot its only member.
    pub(super) async fn gitea_team(&mut self) -> StepResult {
        let p = self.p;
        let org = self.names.org.clone();
        let bot = self.names.bot.clone();
        let spec = writers_team(&self.names);
        let teams = p.gitea.list_teams(&org).await?;
        let existing = teams
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(&spec.name));
        let (team_id, mut outcome) = match existing {
            Some(t) if t.permission == "owner" => {
                return Err(ApiError::unprocessable(format!(
                    "team {} of {org} is an owner team",
                    t.name
                )));
            }
            Some(t) if spec.matches(t) => {
                let outcome = if self.state.gitea_team_id == Some(t.id) {
                    StepOutcome::Verified
                } else {
                    StepOutcome::Adopted
                };
                (t.id, outcome)
            }
            Some(t) => {
                p.gitea.edit_team(t.id, &spec).await?;
                (t.id, StepOutcome::Repaired)
            }
            None => (
                p.gitea.create_team_spec(&org, &spec).await?.id,
                StepOutcome::Created,
            ),
        };
        if team_id <= 0 {
            return Err(ApiError::upstream(format!(
                "Gitea answered for team {} of {org} without its id",
                spec.name
            )));
        }
        if self.state.gitea_team_id != Some(team_id) {
            self.record(ProvisionRecord::GiteaTeam { id: team_id })
                .await?;
        }
        let members = p.gitea.list_team_members(team_id).await?;
        if !members.iter().any(|m| m.login.eq_ignore_ascii_case(&bot)) {
            p.gitea.add_team_member(team_id, &bot).await?;
            if outcome == StepOutcome::Verified {
                outcome = StepOutcome::Repaired;
            }
        }
        for other in members
            .iter()
            .filter(|m| !m.login.eq_ignore_ascii_case(&bot))
        {
            p.gitea.remove_team_member(team_id, &other.login).await?;
            self.note(format!(
                "removed {} from team {} of {org}: the bot is its only member",
                other.login, spec.name
            ));
            if outcome == StepOutcome::Verified {
                outcome = StepOutcome::Repaired;
            }
        }
        Ok((
            outcome,
            format!(
                "team {} (id {team_id}) with {bot} as its only member",
                spec.name
            ),
        ))
    }
}

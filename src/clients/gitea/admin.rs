//! Organization, team, user, token and SSH key endpoints (provisioning). The token
//! routes under `/users/{u}/tokens` take only Basic auth with a password (reference
//! gitea.md §2), so their methods take the user's password and send it for that call
//! only.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::clients::http::{Call, ClientError};

impl GiteaClient {
    /// `GET /orgs/{org}`.
    pub async fn get_org(&self, org: &str) -> Result<Organization, ClientError> {
        self.http.json(Call::new(Method::GET, &["orgs", org])).await
    }

    /// `POST /orgs` (422 when the name is taken).
    pub async fn create_org(
        &self,
        name: &str,
        full_name: &str,
        visibility: &str,
    ) -> Result<Organization, ClientError> {
        let body = json!({"username": name, "full_name": full_name, "visibility": visibility});
        self.http
            .json(Call::new(Method::POST, &["orgs"]).json(body))
            .await
    }

    /// `GET /orgs/{org}/teams` (all pages).
    pub async fn list_teams(&self, org: &str) -> Result<Vec<Team>, ClientError> {
        self.all(Call::new(Method::GET, &["orgs", org, "teams"]), 1000)
            .await
    }

    /// `POST /orgs/{org}/teams` with unit permissions (`units_map`).
    pub async fn create_team(
        &self,
        org: &str,
        name: &str,
        units_map: Value,
        can_create_org_repo: bool,
    ) -> Result<Team, ClientError> {
        let body = json!({
            "name": name,
            "permission": "write",
            "includes_all_repositories": true,
            "can_create_org_repo": can_create_org_repo,
            "units_map": units_map,
        });
        self.http
            .json(Call::new(Method::POST, &["orgs", org, "teams"]).json(body))
            .await
    }

    /// `PUT /teams/{id}/members/{user}` (204).
    pub async fn add_team_member(&self, team_id: i64, user: &str) -> Result<(), ClientError> {
        let id = team_id.to_string();
        self.http
            .send(Call::new(Method::PUT, &["teams", &id, "members", user]))
            .await
            .map(|_| ())
    }

    /// `POST /admin/users`; always sends `must_change_password: false` (Gitea defaults
    /// it to true, which makes every API call of the account fail with 403).
    pub async fn admin_create_user(
        &self,
        login: &str,
        email: &str,
        password: &SecretString,
    ) -> Result<User, ClientError> {
        use secrecy::ExposeSecret;
        let body = json!({
            "username": login,
            "email": email,
            "password": password.expose_secret(),
            "must_change_password": false,
        });
        self.http
            .json(Call::new(Method::POST, &["admin", "users"]).json(body))
            .await
    }

    /// `GET /users/{login}`.
    pub async fn get_user(&self, login: &str) -> Result<User, ClientError> {
        self.http
            .json(Call::new(Method::GET, &["users", login]))
            .await
    }

    /// `POST /users/{login}/tokens` with Basic auth as `login` (Gitea refuses token auth
    /// on this route). Token names must be unique per user.
    pub async fn create_user_token(
        &self,
        login: &str,
        password: SecretString,
        name: &str,
        scopes: &[&str],
    ) -> Result<AccessToken, ClientError> {
        let body = json!({"name": name, "scopes": scopes});
        let auth = Auth::Basic {
            user: login.to_string(),
            password,
        };
        self.http
            .json(
                Call::new(Method::POST, &["users", login, "tokens"])
                    .json(body)
                    .auth(auth),
            )
            .await
    }

    /// `POST /admin/users/{login}/keys`: add an SSH public key to a user.
    pub async fn admin_add_user_key(
        &self,
        login: &str,
        title: &str,
        key: &str,
    ) -> Result<PublicKey, ClientError> {
        let body = json!({"title": title, "key": key});
        self.http
            .json(Call::new(Method::POST, &["admin", "users", login, "keys"]).json(body))
            .await
    }

    /// `PATCH /admin/users/{login}`: set the account's password (and its email, which is
    /// where a reset would be mailed), with `must_change_password: false` so the account
    /// can use the API. `source_id`/`login_name` are sent as a local account has them
    /// (the spec marks both required).
    pub async fn admin_set_password(
        &self,
        login: &str,
        email: &str,
        password: &SecretString,
    ) -> Result<User, ClientError> {
        use secrecy::ExposeSecret;
        let body = json!({
            "source_id": 0,
            "login_name": "",
            "email": email,
            "password": password.expose_secret(),
            "must_change_password": false,
        });
        self.http
            .json(Call::new(Method::PATCH, &["admin", "users", login]).json(body))
            .await
    }

    /// `GET /user`: who the client's token belongs to.
    pub async fn me(&self) -> Result<User, ClientError> {
        self.http.json(Call::new(Method::GET, &["user"])).await
    }

    /// `GET /users/{login}/tokens` (every page) with Basic auth as `login`; `sha1` is
    /// empty in lists.
    pub async fn list_user_tokens(
        &self,
        login: &str,
        password: &SecretString,
    ) -> Result<Vec<AccessToken>, ClientError> {
        let call = Call::new(Method::GET, &["users", login, "tokens"]).auth(Auth::Basic {
            user: login.to_string(),
            password: password.clone(),
        });
        self.all(call, 1000).await
    }

    /// `DELETE /users/{login}/tokens/{id}` (204) with Basic auth as `login`.
    pub async fn delete_user_token(
        &self,
        login: &str,
        password: &SecretString,
        token_id: i64,
    ) -> Result<(), ClientError> {
        let id = token_id.to_string();
        let call = Call::new(Method::DELETE, &["users", login, "tokens", &id]).auth(Auth::Basic {
            user: login.to_string(),
            password: password.clone(),
        });
        self.http.send(call).await.map(|_| ())
    }

    /// `GET /users/{login}/keys` (every page): the user's SSH public keys.
    pub async fn list_user_keys(&self, login: &str) -> Result<Vec<PublicKey>, ClientError> {
        self.all(Call::new(Method::GET, &["users", login, "keys"]), 1000)
            .await
    }

    /// `DELETE /admin/users/{login}/keys/{id}` (204).
    pub async fn admin_delete_user_key(&self, login: &str, key_id: i64) -> Result<(), ClientError> {
        let id = key_id.to_string();
        self.http
            .send(Call::new(
                Method::DELETE,
                &["admin", "users", login, "keys", &id],
            ))
            .await
            .map(|_| ())
    }

    /// `POST /orgs/{org}/teams` with every setting of `spec`.
    pub async fn create_team_spec(&self, org: &str, spec: &TeamSpec) -> Result<Team, ClientError> {
        self.http
            .json(Call::new(Method::POST, &["orgs", org, "teams"]).json(spec.body()))
            .await
    }

    /// `PATCH /teams/{id}` to the settings of `spec`.
    pub async fn edit_team(&self, team_id: i64, spec: &TeamSpec) -> Result<Team, ClientError> {
        let id = team_id.to_string();
        self.http
            .json(Call::new(Method::PATCH, &["teams", &id]).json(spec.body()))
            .await
    }

    /// `GET /teams/{id}/members` (every page).
    pub async fn list_team_members(&self, team_id: i64) -> Result<Vec<User>, ClientError> {
        let id = team_id.to_string();
        self.all(Call::new(Method::GET, &["teams", &id, "members"]), 1000)
            .await
    }

    /// `DELETE /teams/{id}/members/{user}` (204).
    pub async fn remove_team_member(&self, team_id: i64, user: &str) -> Result<(), ClientError> {
        let id = team_id.to_string();
        self.http
            .send(Call::new(Method::DELETE, &["teams", &id, "members", user]))
            .await
            .map(|_| ())
    }
}

/// The settings of a team, as `CreateTeamOption`/`EditTeamOption` take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSpec {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// `read`, `write` or `admin` (admin gives admin on every unit and on repository
    /// settings; only the Owners team is `owner`).
    pub permission: String,
    /// Unit permissions for teams below admin (`repo.code` → `write`, …).
    pub units_map: Option<Value>,
    /// Every repository of the org.
    pub includes_all_repositories: bool,
    /// May create repositories in the org.
    pub can_create_org_repo: bool,
}

impl TeamSpec {
    fn body(&self) -> Value {
        let mut body = json!({
            "name": self.name,
            "description": self.description,
            "permission": self.permission,
            "includes_all_repositories": self.includes_all_repositories,
            "can_create_org_repo": self.can_create_org_repo,
        });
        if let Some(units) = &self.units_map {
            body["units_map"] = units.clone();
        }
        body
    }

    /// True when `team` already has these settings (the name compared without case, as
    /// Gitea does).
    pub fn matches(&self, team: &Team) -> bool {
        team.name.eq_ignore_ascii_case(&self.name)
            && team.permission == self.permission
            && team.includes_all_repositories == self.includes_all_repositories
            && team.can_create_org_repo == self.can_create_org_repo
    }
}

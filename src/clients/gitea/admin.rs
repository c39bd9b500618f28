//! Organization, team, user and token endpoints (provisioning).

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
}

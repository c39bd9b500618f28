//! The bot's token: verified with the stored token itself (`GET /user` as the bot), and
//! otherwise minted the way Gitea requires — Basic auth as the bot with a password
//! only this run knows (set at creation, or reset with the operator's admin token) —
//! stored sealed, and only then every other token of the bot deleted. So a failure at
//! any point leaves either the old working token or the new one stored, and the next
//! run (or rotation) removes whatever was left behind.

use secrecy::SecretString;

use super::rewire::{RewireTarget, RewiredApp, rewire_apps};
use super::{
    BOT_TOKEN_SCOPES, RotationReport, Run, Step, StepOutcome, StepReport, StepResult, time_suffix,
};
use crate::error::ApiError;
use crate::keystore::ProvisionRecord;

impl Run<'_> {
    /// Verify the stored token; mint one when it is missing or dead; delete the bot's
    /// other tokens unless that was already done.
    pub(super) async fn bot_token(&mut self) -> StepResult {
        let live = self.stored_token_is_live().await?;
        if live && self.state.gitea_bot_tokens_clean {
            return Ok((
                StepOutcome::Verified,
                format!(
                    "token {} of {} works",
                    self.state.gitea_bot_token_id.unwrap_or_default(),
                    self.names.bot
                ),
            ));
        }
        let known = match (live, self.state.gitea_bot_token_id) {
            (true, Some(id)) => Some(id),
            // A working token stored by hand (`set-bot-token`) has no id yet.
            (true, None) => self.adopt_stored_token_id().await?,
            _ => None,
        };
        let (keep, outcome) = match known {
            Some(id) => (id, StepOutcome::Repaired),
            None => (self.mint_and_store().await?.0, StepOutcome::Created),
        };
        let deleted = self.delete_other_tokens(keep).await?;
        Ok((
            outcome,
            format!(
                "token {keep} of {} stored sealed{}",
                self.names.bot,
                if deleted.is_empty() {
                    String::new()
                } else {
                    format!("; deleted other tokens {deleted:?}")
                }
            ),
        ))
    }

    /// True when a token is stored and Gitea takes it as the bot. A token Gitea refuses
    /// (401/403) is dead; any other failure stops the step (it may be Gitea's, not the
    /// token's).
    async fn stored_token_is_live(&mut self) -> Result<bool, ApiError> {
        if !self.state.workspace.has_bot_token {
            return Ok(false);
        }
        let Some(token) = self.p.store.bot_token(self.slug(), &self.p.ring).await? else {
            return Ok(false);
        };
        match self.p.gitea.with_token(token).me().await {
            Ok(me) if me.login.eq_ignore_ascii_case(&self.names.bot) => Ok(true),
            Ok(me) => {
                self.note(format!(
                    "the stored token acts as {}, not as {}; replacing it",
                    me.login, self.names.bot
                ));
                Ok(false)
            }
            Err(e) if matches!(e.status(), Some(401 | 403)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The Gitea id of a working stored token that has none recorded, found by its last
    /// eight characters (what Gitea lists), and recorded with it.
    async fn adopt_stored_token_id(&mut self) -> Result<Option<i64>, ApiError> {
        let Some(token) = self.p.store.bot_token(self.slug(), &self.p.ring).await? else {
            return Ok(None);
        };
        let last_eight: String = {
            use secrecy::ExposeSecret;
            let t = token.expose_secret();
            t.get(t.len().saturating_sub(8)..)
                .unwrap_or_default()
                .to_string()
        };
        let password = self.bot_password().await?;
        let listed = self
            .p
            .gitea
            .list_user_tokens(&self.names.bot, &password)
            .await?;
        let matching: Vec<i64> = listed
            .iter()
            .filter(|t| !last_eight.is_empty() && t.token_last_eight == last_eight)
            .map(|t| t.id)
            .collect();
        let [id] = matching.as_slice() else {
            return Ok(None);
        };
        self.p
            .store
            .store_provisioned_bot_token(
                &self.state.workspace.id,
                &self.holder,
                *id,
                &token,
                &self.p.ring,
            )
            .await?;
        self.state = self.p.store.provision_state(self.slug()).await?;
        Ok(Some(*id))
    }

    /// The bot's password for the Basic-only token routes: the one this run set, else a
    /// new random one set now through the admin API (vibn never stores it).
    async fn bot_password(&mut self) -> Result<SecretString, ApiError> {
        if let Some(password) = &self.bot_password {
            return Ok(password.clone());
        }
        let password = super::gitea::random_password();
        self.p
            .gitea
            .admin_set_password(&self.names.bot, &self.names.bot_email, &password)
            .await?;
        self.bot_password = Some(password.clone());
        Ok(password)
    }

    /// Mint a token with Basic auth as the bot and store it sealed; its Gitea id.
    async fn mint_and_store(&mut self) -> Result<(i64, SecretString), ApiError> {
        let password = self.bot_password().await?;
        let name = format!("{}-{}", self.names.token_prefix, time_suffix());
        let mut minted = self
            .p
            .gitea
            .create_user_token(&self.names.bot, password, &name, &BOT_TOKEN_SCOPES)
            .await?;
        if minted.sha1.is_empty() || minted.id <= 0 {
            return Err(ApiError::upstream(format!(
                "Gitea created token {name} but its answer lacks the token or its id"
            ))
            .with_hint("re-run: the next run mints another and deletes this one"));
        }
        let id = minted.id;
        let token = SecretString::from(std::mem::take(&mut minted.sha1));
        // Stored at once: from here on a failure leaves a working token behind.
        self.p
            .store
            .store_provisioned_bot_token(
                &self.state.workspace.id,
                &self.holder,
                id,
                &token,
                &self.p.ring,
            )
            .await?;
        self.state = self.p.store.provision_state(self.slug()).await?;
        Ok((id, token))
    }

    /// Re-point the workspace's applications at `token` (none before its Coolify project
    /// exists).
    async fn rewire_apps(&self, token: &SecretString) -> Result<Vec<RewiredApp>, ApiError> {
        let Some(project_uuid) = self.state.workspace.coolify_project_uuid.as_deref() else {
            return Ok(Vec::new());
        };
        let target = RewireTarget {
            org: &self.names.org,
            bot: &self.names.bot,
            project_uuid,
        };
        let bot = self.p.gitea.with_token(token.clone());
        rewire_apps(&self.p.coolify, &bot, target, token).await
    }

    /// Delete every token of the bot but `keep`, then record that it is the only one.
    async fn delete_other_tokens(&mut self, keep: i64) -> Result<Vec<i64>, ApiError> {
        let password = self.bot_password().await?;
        let bot = self.names.bot.clone();
        let tokens = self.p.gitea.list_user_tokens(&bot, &password).await?;
        let mut deleted = Vec::new();
        for t in tokens.iter().filter(|t| t.id != keep) {
            match self.p.gitea.delete_user_token(&bot, &password, t.id).await {
                Ok(()) => deleted.push(t.id),
                // Gone already: what we wanted.
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.record(ProvisionRecord::BotTokensClean).await?;
        Ok(deleted)
    }

    /// `rotate-bot-token`: a new token stored before any old one is deleted; with
    /// `deploy_key`, a new keypair on both sides.
    pub(super) async fn rotate(
        &mut self,
        deploy_key: bool,
    ) -> Result<RotationReport, (Step, ApiError)> {
        let at = |step| move |e: ApiError| (step, e);
        if self.state.gitea_bot_user_id.is_none() || !self.state.workspace.has_bot_token {
            return Err((
                Step::BotToken,
                ApiError::not_provisioned(format!(
                    "workspace {} has no bot token to rotate yet",
                    self.slug()
                ))
                .with_hint(format!("run `vibn workspace provision {}`", self.slug())),
            ));
        }
        let (token_id, token) = self.mint_and_store().await.map_err(at(Step::BotToken))?;
        // Apps clone with the token in their git URL: re-point them before the old token
        // goes, and keep the old one while any app still uses it.
        let rewired = self.rewire_apps(&token).await.map_err(at(Step::BotToken))?;
        let stuck: Vec<&str> = rewired
            .iter()
            .filter(|a| a.error.is_some())
            .map(|a| a.name.as_str())
            .collect();
        let deleted = if stuck.is_empty() {
            self.delete_other_tokens(token_id)
                .await
                .map_err(at(Step::BotToken))?
        } else {
            self.notes.push(format!(
                "the old token was kept: {} could not be re-pointed at the new one; fix                  and re-run `vibn workspace rotate-bot-token {}`",
                stuck.join(", "),
                self.slug()
            ));
            Vec::new()
        };
        let deploy_key = if deploy_key {
            let (outcome, detail) = self
                .regenerate_deploy_key()
                .await
                .map_err(at(Step::DeployKey))?;
            Some(StepReport {
                step: Step::DeployKey,
                outcome,
                detail,
            })
        } else {
            None
        };
        Ok(RotationReport {
            slug: self.slug().to_string(),
            bot: self.names.bot.clone(),
            token_id,
            rewired,
            deleted_token_ids: deleted,
            deploy_key,
            notes: std::mem::take(&mut self.notes),
        })
    }
}

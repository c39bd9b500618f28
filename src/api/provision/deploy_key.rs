//! The deploy keypair step: the public half on the bot (Gitea key id recorded), the
//! private half as a Coolify private key (uuid recorded) and never kept by vibn (seed
//! 003 §7.4). Both halves are checked against the recorded public key; when either is
//! missing or different the pair is made anew on both sides, each half recorded as soon
//! as it exists, and what is left of older pairs is deleted: every other key of the bot,
//! and Coolify keys of the workspace's key name but another uuid (one an application
//! still uses is kept, with a note).

use super::keypair::DeployKeyPair;
use super::{Run, StepOutcome, StepResult, is_not_found, same_public_key, time_suffix};
use crate::error::ApiError;
use crate::keystore::ProvisionRecord;

impl Run<'_> {
    /// Verify both halves; remove stray keys of the bot; otherwise make a new pair.
    pub(super) async fn deploy_key(&mut self) -> StepResult {
        let p = self.p;
        let bot = self.names.bot.clone();
        let keys = p.gitea.list_user_keys(&bot).await?;
        let recorded = self.state.ssh_public_key.clone();
        let gitea_ok = match (&recorded, self.state.gitea_bot_ssh_key_id) {
            (Some(public), Some(id)) => keys
                .iter()
                .any(|k| k.id == id && same_public_key(&k.key, public)),
            _ => false,
        };
        let coolify_ok = match (&recorded, &self.state.coolify_private_key_uuid) {
            (Some(public), Some(uuid)) => match p.coolify.get_private_key(uuid).await {
                Ok(k) => k
                    .public_key
                    .as_deref()
                    .is_some_and(|pk| same_public_key(pk, public)),
                Err(e) if is_not_found(&e) => false,
                Err(e) => return Err(e.into()),
            },
            _ => false,
        };
        if !(gitea_ok && coolify_ok) {
            if recorded.is_some() {
                self.note(format!(
                    "the deploy key is missing or different on {}; making a new pair for \
                     both sides",
                    match (gitea_ok, coolify_ok) {
                        (false, false) => "both sides",
                        (false, true) => "Gitea",
                        _ => "Coolify",
                    }
                ));
            }
            return self.regenerate_deploy_key().await;
        }
        let stray: Vec<i64> = keys
            .iter()
            .map(|k| k.id)
            .filter(|id| Some(*id) != self.state.gitea_bot_ssh_key_id)
            .collect();
        for id in &stray {
            p.gitea.admin_delete_user_key(&bot, *id).await?;
        }
        let detail = format!(
            "public key {} on {bot}, private key {} in Coolify",
            self.state.gitea_bot_ssh_key_id.unwrap_or_default(),
            self.state
                .coolify_private_key_uuid
                .as_deref()
                .unwrap_or_default()
        );
        if stray.is_empty() {
            Ok((StepOutcome::Verified, detail))
        } else {
            self.note(format!("deleted stray SSH keys {stray:?} of {bot}"));
            Ok((StepOutcome::Repaired, detail))
        }
    }

    /// Make a new pair and put it on both sides, then delete older halves.
    pub(super) async fn regenerate_deploy_key(&mut self) -> StepResult {
        let p = self.p;
        let bot = self.names.bot.clone();
        let key_name = self.names.deploy_key.clone();
        let pair = DeployKeyPair::generate(&key_name)?;
        let title = format!("vibn-deploy-{}", time_suffix());
        let added = p
            .gitea
            .admin_add_user_key(&bot, &title, &pair.public)
            .await?;
        if added.id <= 0 {
            return Err(ApiError::upstream(format!(
                "Gitea added SSH key {title} to {bot} but answered without its id"
            )));
        }
        self.record(ProvisionRecord::DeployKeyGitea {
            public_key: pair.public.clone(),
            key_id: added.id,
        })
        .await?;
        let description = format!(
            "Deploy key of vibn workspace {} (Gitea user {bot})",
            self.slug()
        );
        let created = p
            .coolify
            .create_private_key(&key_name, &description, &pair.private_pem)
            .await?;
        drop(pair);
        if created.uuid.is_empty() {
            return Err(ApiError::upstream(
                "Coolify stored the private key but answered without its uuid",
            )
            .with_hint("re-run: the next run makes a new pair and deletes this one"));
        }
        self.record(ProvisionRecord::DeployKeyCoolify {
            uuid: created.uuid.clone(),
        })
        .await?;
        // The new pair is in place on both sides; now the older halves go.
        for key in p.gitea.list_user_keys(&bot).await? {
            if key.id != added.id {
                match p.gitea.admin_delete_user_key(&bot, key.id).await {
                    Ok(()) => {}
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        for key in p.coolify.list_private_keys().await? {
            if key.name != key_name || key.uuid == created.uuid {
                continue;
            }
            match p.coolify.delete_private_key(&key.uuid).await {
                Ok(()) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) if e.status() == Some(422) => self.note(format!(
                    "kept the old Coolify private key {}: applications still use it; point \
                     them at {} and delete it",
                    key.uuid, created.uuid
                )),
                Err(e) => return Err(e.into()),
            }
        }
        Ok((
            StepOutcome::Created,
            format!(
                "new pair: public key {} on {bot}, private key {} in Coolify",
                added.id, created.uuid
            ),
        ))
    }
}

//! What provisioning records on a workspace row (issue 12): the upstream ids each step
//! found or created, the status with the step a run stopped at and its error, the
//! sealed bot token with its Gitea id, and a lease so two runs for one workspace never
//! interleave. Every write is one write transaction (`Store::write`) guarded by the lease,
//! so a run that lost its lease (it stalled past the lease, another run took over)
//! cannot overwrite what the newer run recorded. No secret is ever part of
//! `ProvisionState`; the bot token is written sealed and only `bot_token` opens it.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::db::{ToValue, Value, params};
use super::secret_box::{Aad, Keyring};
use super::workspaces::{WORKSPACE_COLUMNS, WORKSPACE_FROM, Workspace, workspace_from_row};
use super::{KeystoreError, Store, now_ms};

/// Longest error text kept on the row (upstream messages are already cut shorter).
const MAX_ERROR: usize = 2000;

/// Where a workspace's provisioning stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvisionStatus {
    /// Nothing provisioned yet.
    Pending,
    /// Some steps are recorded, not all (a run is going on, or stopped without an error
    /// being recorded, or a later change left a step to finish).
    Partial,
    /// Every step is done and was verified upstream.
    Ready,
    /// The last run stopped at `provision_step` with `provision_error`; what came before
    /// it is recorded and the next run resumes from there.
    Error,
}

impl ProvisionStatus {
    /// The spelling stored in the row.
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisionStatus::Pending => "pending",
            ProvisionStatus::Partial => "partial",
            ProvisionStatus::Ready => "ready",
            ProvisionStatus::Error => "error",
        }
    }
}

/// What provisioning knows about a workspace (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionState {
    /// The workspace as every command shows it.
    pub workspace: Workspace,
    /// The Coolify private key holding the deploy key's private half.
    pub coolify_private_key_uuid: Option<String>,
    /// The Gitea org's id, once created or adopted.
    pub gitea_org_id: Option<i64>,
    /// The Writers team's id.
    pub gitea_team_id: Option<i64>,
    /// The bot user's id.
    pub gitea_bot_user_id: Option<i64>,
    /// The Gitea id of the stored bot token.
    pub gitea_bot_token_id: Option<i64>,
    /// True once every other token of the bot was deleted.
    pub gitea_bot_tokens_clean: bool,
    /// The deploy key's public half (OpenSSH line, no comment).
    pub ssh_public_key: Option<String>,
    /// The Gitea id of that public key on the bot.
    pub gitea_bot_ssh_key_id: Option<i64>,
}

/// One fact a provisioning step records.
#[derive(Debug, Clone)]
pub enum ProvisionRecord {
    /// The Coolify project and the environment resources go in.
    CoolifyProject {
        /// Project uuid.
        uuid: String,
        /// Environment name.
        environment: String,
    },
    /// The Coolify server resources are created on.
    CoolifyServer {
        /// Server uuid.
        uuid: String,
    },
    /// The Gitea org's id.
    GiteaOrg {
        /// Org id.
        id: i64,
    },
    /// The bot user's id; another id than the recorded one (the user was replaced
    /// upstream) forgets the token and deploy key recorded for the old one.
    GiteaBot {
        /// User id.
        id: i64,
    },
    /// The Writers team's id.
    GiteaTeam {
        /// Team id.
        id: i64,
    },
    /// Every token of the bot but the stored one is gone.
    BotTokensClean,
    /// The deploy key's public half is on the bot as key `key_id`.
    DeployKeyGitea {
        /// OpenSSH public key line.
        public_key: String,
        /// Gitea key id.
        key_id: i64,
    },
    /// The deploy key's private half is Coolify private key `uuid`.
    DeployKeyCoolify {
        /// Coolify private key uuid.
        uuid: String,
    },
    /// Where the run stands: status, the step it stopped at and why.
    Outcome {
        /// New status.
        status: ProvisionStatus,
        /// The step, when it failed or is unfinished.
        step: Option<String>,
        /// The error text (cut to a bounded length).
        error: Option<String>,
    },
}

const STATE_COLUMNS: &str = "w.coolify_private_key_uuid, w.gitea_org_id, w.gitea_team_id, \
    w.gitea_bot_user_id, w.gitea_bot_token_id, w.gitea_bot_tokens_clean, w.ssh_public_key, \
    w.gitea_bot_ssh_key_id";

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn token_aad(workspace_id: &str) -> Aad<'_> {
    Aad {
        table: "workspaces",
        column: "gitea_bot_token_enc",
        row_id: workspace_id,
    }
}

impl Store {
    /// The provisioning state of the workspace `slug`.
    pub fn provision_state(&self, slug: &str) -> Result<ProvisionState, KeystoreError> {
        let found = self.read(|c| {
            c.query_opt(
                &format!(
                    "SELECT {WORKSPACE_COLUMNS}, {STATE_COLUMNS} FROM {WORKSPACE_FROM} \
                     WHERE w.slug = ?1"
                ),
                params![slug],
            )?
            .map(|r| -> Result<ProvisionState, KeystoreError> {
                let workspace = workspace_from_row(&r, 0)?;
                let at = 16;
                Ok(ProvisionState {
                    workspace,
                    coolify_private_key_uuid: r.get(at)?,
                    gitea_org_id: r.get(at + 1)?,
                    gitea_team_id: r.get(at + 2)?,
                    gitea_bot_user_id: r.get(at + 3)?,
                    gitea_bot_token_id: r.get(at + 4)?,
                    gitea_bot_tokens_clean: r.get(at + 5)?,
                    ssh_public_key: r.get(at + 6)?,
                    gitea_bot_ssh_key_id: r.get(at + 7)?,
                })
            })
            .transpose()
        })?;
        found.ok_or_else(|| KeystoreError::NotFound {
            what: format!("workspace {slug:?}"),
        })
    }

    /// Take the provisioning lease of `slug` for `holder` until `ttl_ms` from now;
    /// refused while another holder's lease runs. Every record renews it.
    pub fn acquire_provision_lease(
        &self,
        slug: &str,
        holder: &str,
        ttl_ms: i64,
    ) -> Result<ProvisionState, KeystoreError> {
        let workspace = self.require_workspace(slug)?;
        self.write(|tx| {
            let now = now_ms();
            let current: Option<(Option<String>, Option<i64>)> = tx
                .query_opt(
                    "SELECT provision_lease_holder, provision_lease_until FROM workspaces \
                     WHERE id = ?1",
                    params![workspace.id],
                )?
                .map(|r| -> Result<_, KeystoreError> { Ok((r.get(0)?, r.get(1)?)) })
                .transpose()?;
            if let Some((Some(other), Some(until))) = current
                && other != holder
                && until > now
            {
                return Err(KeystoreError::Busy(format!(
                    "workspace {slug} is being provisioned by another run (lease {other} until \
                     {until} ms); if that run died, the lease lapses within {} s",
                    (until - now + 999) / 1000
                )));
            }
            tx.execute(
                "UPDATE workspaces SET provision_lease_holder = ?1, provision_lease_until = ?2 \
                 WHERE id = ?3",
                params![holder, now + ttl_ms, workspace.id],
            )?;
            Ok(())
        })?;
        self.provision_state(slug)
    }

    /// Give the lease back (only when `holder` still has it).
    pub fn release_provision_lease(
        &self,
        workspace_id: &str,
        holder: &str,
    ) -> Result<(), KeystoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE workspaces SET provision_lease_holder = NULL, \
                 provision_lease_until = NULL WHERE id = ?1 AND provision_lease_holder = ?2",
                params![workspace_id, holder],
            )
            .map(|_| ())
        })
    }

    /// Record one fact for the workspace whose lease `holder` has, renewing the lease
    /// by `ttl_ms`. Refused when the lease was lost.
    pub fn record_provision(
        &self,
        workspace_id: &str,
        holder: &str,
        ttl_ms: i64,
        record: ProvisionRecord,
    ) -> Result<(), KeystoreError> {
        self.write(|tx| {
            let now = now_ms();
            let held = tx.execute(
                "UPDATE workspaces SET provision_lease_until = ?1, updated_at = ?2 \
                 WHERE id = ?3 AND provision_lease_holder = ?4",
                params![now + ttl_ms, now, workspace_id, holder],
            )?;
            if held != 1 {
                return Err(KeystoreError::Busy(
                    "this run lost its provisioning lease to another run; nothing more was \
                     recorded"
                        .into(),
                ));
            }
            let run = |statement: &str, values: &[&dyn ToValue]| {
                let values: Vec<Value> = values.iter().map(|v| v.to_value()).collect();
                tx.execute(statement, &values).map(|_| ())
            };
            match record {
                ProvisionRecord::CoolifyProject { uuid, environment } => run(
                    "UPDATE workspaces SET coolify_project_uuid = ?1, \
                     coolify_environment_name = ?2 WHERE id = ?3",
                    &[&uuid, &environment, &workspace_id],
                ),
                ProvisionRecord::CoolifyServer { uuid } => run(
                    "UPDATE workspaces SET coolify_server_uuid = ?1 WHERE id = ?2",
                    &[&uuid, &workspace_id],
                ),
                ProvisionRecord::GiteaOrg { id } => run(
                    "UPDATE workspaces SET gitea_org_id = ?1 WHERE id = ?2",
                    &[&id, &workspace_id],
                ),
                ProvisionRecord::GiteaBot { id } => run(
                    // A replaced bot user owns none of the recorded credentials; with no
                    // user recorded yet (a token set by hand) the token step decides.
                    "UPDATE workspaces SET \
                     gitea_bot_token_enc = CASE WHEN gitea_bot_user_id IS NULL \
                         OR gitea_bot_user_id = ?1 THEN gitea_bot_token_enc END, \
                     gitea_bot_token_id = CASE WHEN gitea_bot_user_id IS NULL \
                         OR gitea_bot_user_id = ?1 THEN gitea_bot_token_id END, \
                     gitea_bot_tokens_clean = CASE WHEN gitea_bot_user_id = ?1 \
                         THEN gitea_bot_tokens_clean ELSE 0 END, \
                     gitea_bot_ssh_key_id = CASE WHEN gitea_bot_user_id IS NULL \
                         OR gitea_bot_user_id = ?1 THEN gitea_bot_ssh_key_id END, \
                     gitea_bot_user_id = ?1 WHERE id = ?2",
                    &[&id, &workspace_id],
                ),
                ProvisionRecord::GiteaTeam { id } => run(
                    "UPDATE workspaces SET gitea_team_id = ?1 WHERE id = ?2",
                    &[&id, &workspace_id],
                ),
                ProvisionRecord::BotTokensClean => run(
                    "UPDATE workspaces SET gitea_bot_tokens_clean = 1 WHERE id = ?1",
                    &[&workspace_id],
                ),
                ProvisionRecord::DeployKeyGitea { public_key, key_id } => run(
                    "UPDATE workspaces SET ssh_public_key = ?1, gitea_bot_ssh_key_id = ?2 \
                     WHERE id = ?3",
                    &[&public_key, &key_id, &workspace_id],
                ),
                ProvisionRecord::DeployKeyCoolify { uuid } => run(
                    "UPDATE workspaces SET coolify_private_key_uuid = ?1 WHERE id = ?2",
                    &[&uuid, &workspace_id],
                ),
                ProvisionRecord::Outcome {
                    status,
                    step,
                    error,
                } => {
                    let error = error.as_deref().map(cut);
                    let done = (status == ProvisionStatus::Ready).then_some(now);
                    run(
                        "UPDATE workspaces SET provision_status = ?1, provision_step = ?2, \
                         provision_error = ?3, provisioned_at = COALESCE(?4, provisioned_at) \
                         WHERE id = ?5",
                        &[&status.as_str(), &step, &error, &done, &workspace_id],
                    )
                }
            }
        })
    }

    /// Store a freshly minted bot token (sealed) with its Gitea id, for the workspace
    /// whose lease `holder` has. The bot's other tokens are not yet known to be gone,
    /// so the row says so until `BotTokensClean` is recorded.
    pub fn store_provisioned_bot_token(
        &self,
        workspace_id: &str,
        holder: &str,
        token_id: i64,
        token: &SecretString,
        ring: &Keyring,
    ) -> Result<(), KeystoreError> {
        self.check_keyring(ring)?;
        let envelope = ring.seal(token_aad(workspace_id), token.expose_secret().as_bytes());
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE workspaces SET gitea_bot_token_enc = ?1, gitea_bot_token_id = ?2, \
                 gitea_bot_tokens_clean = 0, updated_at = ?3 \
                 WHERE id = ?4 AND provision_lease_holder = ?5",
                params![envelope, token_id, now_ms(), workspace_id, holder],
            )?;
            if changed != 1 {
                return Err(KeystoreError::Busy(
                    "this run lost its provisioning lease to another run; the new token was \
                     not stored"
                        .into(),
                ));
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;
    use crate::keystore::SecretKey;

    const TTL: i64 = 60_000;

    fn ring() -> Keyring {
        Keyring::new(
            SecretKey::parse("VIBN_SECRETS_KEY", &SecretKey::generate_base64()).unwrap(),
            None,
        )
    }

    #[test]
    fn records_need_the_lease_and_a_second_holder_is_refused() {
        testutil::each(|store| {
            let ws = store.create_workspace("a@x.io", None).unwrap();
            let state = store
                .acquire_provision_lease(&ws.slug, "run-1", TTL)
                .unwrap();
            assert_eq!(state.workspace.provision_status, "pending");
            let err = store
                .acquire_provision_lease(&ws.slug, "run-2", TTL)
                .unwrap_err();
            assert!(matches!(err, KeystoreError::Busy(_)), "{err:?}");
            let lost =
                store.record_provision(&ws.id, "run-2", TTL, ProvisionRecord::GiteaOrg { id: 7 });
            assert!(matches!(lost, Err(KeystoreError::Busy(_))));
            store
                .record_provision(&ws.id, "run-1", TTL, ProvisionRecord::GiteaOrg { id: 7 })
                .unwrap();
            store.release_provision_lease(&ws.id, "run-1").unwrap();
            let next = store
                .acquire_provision_lease(&ws.slug, "run-2", TTL)
                .unwrap();
            assert_eq!(next.gitea_org_id, Some(7));
        });
    }

    #[test]
    fn an_expired_lease_can_be_taken_over() {
        testutil::each(|store| {
            let ws = store.create_workspace("a@x.io", None).unwrap();
            store.acquire_provision_lease(&ws.slug, "dead", -1).unwrap();
            assert!(store.acquire_provision_lease(&ws.slug, "live", TTL).is_ok());
        });
    }

    #[test]
    fn the_outcome_keeps_step_and_error_and_ready_stamps_the_time() {
        testutil::each(|store| {
            let ws = store.create_workspace("a@x.io", None).unwrap();
            store.acquire_provision_lease(&ws.slug, "r", TTL).unwrap();
            let long = "e".repeat(5000);
            store
                .record_provision(
                    &ws.id,
                    "r",
                    TTL,
                    ProvisionRecord::Outcome {
                        status: ProvisionStatus::Error,
                        step: Some("gitea_org".to_string()),
                        error: Some(long.clone()),
                    },
                )
                .unwrap();
            let w = store.require_workspace(&ws.slug).unwrap();
            assert_eq!(w.provision_status, "error");
            assert_eq!(w.provision_step.as_deref(), Some("gitea_org"));
            assert!(w.provision_error.unwrap().chars().count() <= MAX_ERROR + 1);
            assert_eq!(w.provisioned_at, None);
            store
                .record_provision(
                    &ws.id,
                    "r",
                    TTL,
                    ProvisionRecord::Outcome {
                        status: ProvisionStatus::Ready,
                        step: None,
                        error: None,
                    },
                )
                .unwrap();
            let w = store.require_workspace(&ws.slug).unwrap();
            assert_eq!(w.provision_status, "ready");
            assert!(w.provisioned_at.is_some());
        });
    }

    #[test]
    fn a_replaced_bot_user_forgets_the_old_bots_token_and_key() {
        testutil::each(|store| {
            let ws = store.create_workspace("a@x.io", None).unwrap();
            let ring = ring();
            store.acquire_provision_lease(&ws.slug, "r", TTL).unwrap();
            let rec = |r| store.record_provision(&ws.id, "r", TTL, r).unwrap();
            rec(ProvisionRecord::GiteaBot { id: 5 });
            store
                .store_provisioned_bot_token(
                    &ws.id,
                    "r",
                    11,
                    &SecretString::from("t1".to_string()),
                    &ring,
                )
                .unwrap();
            rec(ProvisionRecord::BotTokensClean);
            rec(ProvisionRecord::DeployKeyGitea {
                public_key: "ssh-ed25519 AAAA".to_string(),
                key_id: 3,
            });
            // The same bot again changes nothing.
            rec(ProvisionRecord::GiteaBot { id: 5 });
            let s = store.provision_state(&ws.slug).unwrap();
            assert_eq!(s.gitea_bot_token_id, Some(11));
            assert!(s.gitea_bot_tokens_clean && s.workspace.has_bot_token);
            assert_eq!(s.gitea_bot_ssh_key_id, Some(3));
            // Another user under the bot's name owns none of it.
            rec(ProvisionRecord::GiteaBot { id: 9 });
            let s = store.provision_state(&ws.slug).unwrap();
            assert_eq!(s.gitea_bot_user_id, Some(9));
            assert_eq!(s.gitea_bot_token_id, None);
            assert!(!s.gitea_bot_tokens_clean && !s.workspace.has_bot_token);
            assert_eq!(s.gitea_bot_ssh_key_id, None);
        });
    }

    #[test]
    fn a_stored_token_is_sealed_and_opens_for_its_row_only() {
        testutil::each(|store| {
            let ws = store.create_workspace("a@x.io", None).unwrap();
            let other = store.create_workspace("b@x.io", None).unwrap();
            let ring = ring();
            store.acquire_provision_lease(&ws.slug, "r", TTL).unwrap();
            let secret = "0123456789abcdef0123456789abcdef01234567";
            store
                .store_provisioned_bot_token(
                    &ws.id,
                    "r",
                    4,
                    &SecretString::from(secret.to_string()),
                    &ring,
                )
                .unwrap();
            let back = store.bot_token(&ws.slug, &ring).unwrap().unwrap();
            assert_eq!(back.expose_secret(), secret);
            let s = store.provision_state(&ws.slug).unwrap();
            assert!(
                !s.gitea_bot_tokens_clean,
                "other tokens are not known gone yet"
            );
            let sealed: Vec<u8> = store
                .test_value(
                    "SELECT gitea_bot_token_enc FROM workspaces WHERE id = ?1",
                    params![ws.id],
                )
                .unwrap();
            assert!(!sealed.windows(16).any(|w| w == &secret.as_bytes()[..16]));
            // Sealed for its row: the same envelope on another row does not open.
            assert!(ring.open(token_aad(&other.id), &sealed).is_err());
            if let Some(file) = store.sqlite_path() {
                for suffix in ["", "-wal"] {
                    let bytes =
                        std::fs::read(format!("{}{suffix}", file.display())).unwrap_or_default();
                    assert!(!bytes.windows(16).any(|w| w == &secret.as_bytes()[..16]));
                }
            }
        });
    }
}

//! Users, workspaces and members. A workspace is created with its derived names
//! (Gitea org, bot user) and `provision_status = pending`; provisioning fills the rest.

use serde::Serialize;

use super::db::{Row, params};
use super::{KeystoreError, Store, new_id, now_ms};
use crate::policy::naming;

/// A workspace as stored (secrets are never part of it).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Workspace {
    /// Internal id.
    pub id: String,
    /// The tenant's slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// The owner's email.
    pub owner_email: String,
    /// The Gitea org all of the workspace's repositories live in.
    pub gitea_org: String,
    /// The workspace's Gitea bot user.
    pub gitea_bot_username: Option<String>,
    /// True when an encrypted bot token is stored.
    pub has_bot_token: bool,
    /// The Coolify project, once provisioned.
    pub coolify_project_uuid: Option<String>,
    /// The Coolify environment apps are created in.
    pub coolify_environment_name: String,
    /// pending, partial, ready or error.
    pub provision_status: String,
    /// The last provisioning error, if any.
    pub provision_error: Option<String>,
    /// The provisioning step that error belongs to.
    pub provision_step: Option<String>,
    /// The Coolify server new resources are created on, once provisioned.
    pub coolify_server_uuid: Option<String>,
    /// When provisioning last completed, unix ms.
    pub provisioned_at: Option<i64>,
    /// Creation time, unix ms.
    pub created_at: i64,
    /// Last change, unix ms.
    pub updated_at: i64,
}

/// What `ensure_workspace` answered: the workspace, and whether it was created now.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EnsuredWorkspace {
    /// The owner's workspace.
    #[serde(flatten)]
    pub workspace: Workspace,
    /// False when the owner already had it.
    pub created: bool,
}

pub(super) const WORKSPACE_COLUMNS: &str = "w.id, w.slug, w.name, u.email, w.gitea_org, \
    w.gitea_bot_username, w.gitea_bot_token_enc IS NOT NULL, w.coolify_project_uuid, \
    w.coolify_environment_name, w.provision_status, w.provision_error, w.created_at, w.updated_at, \
    w.provision_step, w.coolify_server_uuid, w.provisioned_at";

pub(super) const WORKSPACE_FROM: &str = "workspaces w JOIN users u ON u.id = w.owner_user_id";

/// Read a `Workspace` from columns starting at `at` (in `WORKSPACE_COLUMNS` order).
pub(super) fn workspace_from_row(row: &Row, at: usize) -> Result<Workspace, KeystoreError> {
    Ok(Workspace {
        id: row.get(at)?,
        slug: row.get(at + 1)?,
        name: row.get(at + 2)?,
        owner_email: row.get(at + 3)?,
        gitea_org: row.get(at + 4)?,
        gitea_bot_username: row.get(at + 5)?,
        has_bot_token: row.get(at + 6)?,
        coolify_project_uuid: row.get(at + 7)?,
        coolify_environment_name: row.get(at + 8)?,
        provision_status: row.get(at + 9)?,
        provision_error: row.get(at + 10)?,
        created_at: row.get(at + 11)?,
        updated_at: row.get(at + 12)?,
        provision_step: row.get(at + 13)?,
        coolify_server_uuid: row.get(at + 14)?,
        provisioned_at: row.get(at + 15)?,
    })
}

impl Store {
    /// Create a workspace for `owner_email`, choosing a free slug from the email (always
    /// a new one, even when the owner has one already).
    pub fn create_workspace(
        &self,
        owner_email: &str,
        name: Option<&str>,
    ) -> Result<Workspace, KeystoreError> {
        self.ensure_workspace(owner_email, name, true)
            .map(|e| e.workspace)
    }

    /// The owner's workspace, created when they have none (seed 001's
    /// `ensureWorkspaceForUser`): the same email always answers its oldest workspace.
    /// With `another`, a further workspace is created with the next free slug. The
    /// lookup and the insert share one write transaction, so two processes asking at
    /// once for a new owner create one workspace, not two.
    pub fn ensure_workspace(
        &self,
        owner_email: &str,
        name: Option<&str>,
        another: bool,
    ) -> Result<EnsuredWorkspace, KeystoreError> {
        let email = owner_email.trim().to_lowercase();
        if !naming::is_plausible_email(&email) {
            return Err(KeystoreError::Invalid(format!(
                "{:?} is not an email address",
                owner_email.chars().take(80).collect::<String>()
            )));
        }
        let base = naming::slug_base(&email);
        let (id, created) = self.write(|tx| {
            let now = now_ms();
            tx.execute(
                "INSERT INTO users (id, email, created_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(email) DO NOTHING",
                params![new_id("u"), email, now],
            )?;
            let user_id: String = tx
                .query_one("SELECT id FROM users WHERE email = ?1", params![email])?
                .get(0)?;
            if !another {
                let existing: Option<String> = tx
                    .query_opt(
                        "SELECT id FROM workspaces WHERE owner_user_id = ?1 \
                         ORDER BY created_at, slug LIMIT 1",
                        params![user_id],
                    )?
                    .map(|r| r.get(0))
                    .transpose()?;
                if let Some(id) = existing {
                    return Ok((id, false));
                }
            }
            let taken = |slug: &str| -> Result<bool, KeystoreError> {
                tx.query_opt("SELECT 1 FROM workspaces WHERE slug = ?1", params![slug])
                    .map(|r| r.is_some())
            };
            let mut slug = None;
            for candidate in naming::slug_candidates(&base) {
                if !taken(&candidate)? {
                    slug = Some(candidate);
                    break;
                }
            }
            let mut attempt = 0;
            while slug.is_none() {
                let candidate = naming::time_suffixed(&base, now, attempt);
                attempt += 1;
                if !taken(&candidate)? {
                    slug = Some(candidate);
                }
            }
            let slug = slug.unwrap_or_default();
            let id = new_id("ws");
            let display = name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or(&slug);
            tx.execute(
                "INSERT INTO workspaces (id, slug, name, owner_user_id, gitea_org, \
                 gitea_bot_username, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                params![
                    id,
                    slug,
                    display,
                    user_id,
                    naming::gitea_org(&slug),
                    naming::gitea_bot(&slug),
                    now
                ],
            )?;
            tx.execute(
                "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
                 VALUES (?1, ?2, 'owner', ?3)",
                params![id, user_id, now],
            )?;
            Ok((id, true))
        })?;
        let workspace = self
            .workspace_by_id(&id)?
            .ok_or_else(|| KeystoreError::NotFound {
                what: format!("workspace {id}"),
            })?;
        Ok(EnsuredWorkspace { workspace, created })
    }

    /// Every workspace, oldest first.
    pub fn list_workspaces(&self) -> Result<Vec<Workspace>, KeystoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {WORKSPACE_COLUMNS} FROM {WORKSPACE_FROM} \
                     ORDER BY w.created_at, w.slug"
                ),
                params![],
            )?
            .iter()
            .map(|r| workspace_from_row(r, 0))
            .collect()
        })
    }

    /// The workspace with `slug`, if any.
    pub fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>, KeystoreError> {
        self.read(|c| {
            c.query_opt(
                &format!("SELECT {WORKSPACE_COLUMNS} FROM {WORKSPACE_FROM} WHERE w.slug = ?1"),
                params![slug],
            )?
            .map(|r| workspace_from_row(&r, 0))
            .transpose()
        })
    }

    /// The workspace with `slug`, or a not-found error naming it.
    pub fn require_workspace(&self, slug: &str) -> Result<Workspace, KeystoreError> {
        self.workspace_by_slug(slug)?
            .ok_or_else(|| KeystoreError::NotFound {
                what: format!("workspace {slug:?}"),
            })
    }

    /// Link the workspace to its Coolify project (and the environment apps go in).
    pub fn set_coolify_project(
        &self,
        slug: &str,
        project_uuid: &str,
        environment: &str,
    ) -> Result<Workspace, KeystoreError> {
        let uuid = project_uuid.trim();
        let environment = environment.trim();
        if uuid.is_empty()
            || !uuid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(KeystoreError::Invalid(format!(
                "{project_uuid:?} is not a Coolify project uuid"
            )));
        }
        if environment.is_empty() {
            return Err(KeystoreError::Invalid(
                "the environment name must not be empty".into(),
            ));
        }
        let workspace = self.require_workspace(slug)?;
        self.write(|tx| {
            tx.execute(
                "UPDATE workspaces SET coolify_project_uuid = ?1, coolify_environment_name = ?2, \
                 updated_at = ?3 WHERE id = ?4",
                params![uuid, environment, now_ms(), workspace.id],
            )
        })?;
        self.require_workspace(slug)
    }

    pub(super) fn workspace_by_id(&self, id: &str) -> Result<Option<Workspace>, KeystoreError> {
        self.read(|c| {
            c.query_opt(
                &format!("SELECT {WORKSPACE_COLUMNS} FROM {WORKSPACE_FROM} WHERE w.id = ?1"),
                params![id],
            )?
            .map(|r| workspace_from_row(&r, 0))
            .transpose()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;

    #[test]
    fn a_workspace_gets_its_slug_and_derived_names() {
        testutil::each(|store| {
            let ws = store
                .create_workspace("Mark.Smith@Example.com", Some("Mark's"))
                .unwrap();
            assert_eq!(ws.slug, "mark-smith");
            assert_eq!(ws.name, "Mark's");
            assert_eq!(ws.owner_email, "mark.smith@example.com");
            assert_eq!(ws.gitea_org, "vibn-mark-smith");
            assert_eq!(
                ws.gitea_bot_username.as_deref(),
                Some("vibn-bot-mark-smith")
            );
            assert_eq!(ws.provision_status, "pending");
            assert!(!ws.has_bot_token);
            assert_eq!(store.workspace_by_slug("mark-smith").unwrap(), Some(ws));
        });
    }

    #[test]
    fn taken_slugs_get_numbered_suffixes() {
        testutil::each(|store| {
            let slugs: Vec<String> = (0..4)
                .map(|i| {
                    store
                        .create_workspace(&format!("mark@host{i}.com"), None)
                        .unwrap()
                        .slug
                })
                .collect();
            assert_eq!(slugs, ["mark", "mark-2", "mark-3", "mark-4"]);
            assert_eq!(store.list_workspaces().unwrap().len(), 4);
        });
    }

    #[test]
    fn after_99_a_time_based_suffix_is_used() {
        testutil::each(|store| {
            for i in 0..99 {
                store
                    .create_workspace(&format!("x@h{i}.com"), None)
                    .unwrap();
            }
            let ws = store.create_workspace("x@last.com", None).unwrap();
            assert!(
                ws.slug.starts_with("x-") && ws.slug != "x-100",
                "{}",
                ws.slug
            );
            assert!(crate::policy::naming::is_valid_slug(&ws.slug));
        });
    }

    #[test]
    fn a_workspace_is_linked_to_its_coolify_project() {
        testutil::each(|store| {
            let ws = store.create_workspace("a@x.io", None).unwrap();
            assert_eq!(ws.coolify_project_uuid, None);
            let linked = store
                .set_coolify_project(&ws.slug, "p1abc", "production")
                .unwrap();
            assert_eq!(linked.coolify_project_uuid.as_deref(), Some("p1abc"));
            assert!(
                store
                    .set_coolify_project(&ws.slug, "bad uuid!", "production")
                    .is_err()
            );
            assert!(
                store
                    .set_coolify_project("ghost", "p1", "production")
                    .is_err()
            );
        });
    }

    #[test]
    fn the_same_owner_gets_the_same_workspace_unless_another_is_asked_for() {
        testutil::each(|store| {
            let first = store.ensure_workspace("Mark@x.io", None, false).unwrap();
            assert!(first.created);
            let again = store
                .ensure_workspace(" mark@X.io ", Some("other"), false)
                .unwrap();
            assert!(!again.created);
            assert_eq!(again.workspace, first.workspace);
            let second = store.ensure_workspace("mark@x.io", None, true).unwrap();
            assert!(second.created);
            assert_eq!(second.workspace.slug, "mark-2");
            // The oldest stays the one returned.
            let third = store.ensure_workspace("mark@x.io", None, false).unwrap();
            assert_eq!(third.workspace.slug, "mark");
            assert_eq!(store.list_workspaces().unwrap().len(), 2);
        });
    }

    #[test]
    fn a_bad_email_is_refused_and_nothing_is_written() {
        testutil::each(|store| {
            assert!(store.create_workspace("not an email", None).is_err());
            assert!(store.list_workspaces().unwrap().is_empty());
        });
    }
}

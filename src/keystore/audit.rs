//! The audit trail: one row per write tool call (time, workspace, key hint, server,
//! tool, target, outcome). Never a secret: targets are paths, names and ids, and the key
//! appears only as its display hint.

use serde::Serialize;

use super::db::params;
use super::{KeystoreError, Store, now_ms};

/// Longest target kept (longer ones are cut).
const MAX_TARGET: usize = 500;

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewAuditEvent<'a> {
    /// The pinned workspace's id, if any.
    pub workspace_id: Option<&'a str>,
    /// The key's display hint, if pinned.
    pub key_hint: Option<&'a str>,
    /// The server (`workspace`, `gitea`, …).
    pub server: &'a str,
    /// The tool called.
    pub tool: &'a str,
    /// What it acted on (path, repo, app).
    pub target: &'a str,
    /// `ok`, or `error <status>`.
    pub outcome: &'a str,
}

/// A recorded event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditEvent {
    /// Sequence number.
    pub id: i64,
    /// Unix ms.
    pub at: i64,
    /// The workspace's slug, when the call was pinned.
    pub workspace: Option<String>,
    /// The key's display hint, when pinned.
    pub key_hint: Option<String>,
    /// The server.
    pub server: String,
    /// The tool.
    pub tool: String,
    /// The target.
    pub target: String,
    /// The outcome.
    pub outcome: String,
}

impl Store {
    /// Append one event.
    pub fn append_audit(&self, event: &NewAuditEvent<'_>) -> Result<(), KeystoreError> {
        let mut target = event.target.to_string();
        if target.len() > MAX_TARGET {
            let mut end = MAX_TARGET;
            while !target.is_char_boundary(end) {
                end -= 1;
            }
            target.truncate(end);
            target.push('…');
        }
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit_events (at, workspace_id, key_hint, server, tool, target, outcome) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    now_ms(),
                    event.workspace_id,
                    event.key_hint,
                    event.server,
                    event.tool,
                    target,
                    event.outcome
                ],
            )
            .map(|_| ())
        })
    }

    /// The newest `limit` events, of one workspace or (with `None`) of all.
    pub fn list_audit(
        &self,
        slug: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, KeystoreError> {
        let workspace_id = match slug {
            Some(slug) => Some(self.require_workspace(slug)?.id),
            None => None,
        };
        self.read(|c| {
            c.query(
                "SELECT a.id, a.at, w.slug, a.key_hint, a.server, a.tool, a.target, a.outcome \
                 FROM audit_events a LEFT JOIN workspaces w ON w.id = a.workspace_id \
                 WHERE CAST(?1 AS TEXT) IS NULL OR a.workspace_id = ?1 \
                 ORDER BY a.id DESC LIMIT ?2",
                params![workspace_id, limit],
            )?
            .iter()
            .map(|r| {
                Ok(AuditEvent {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    workspace: r.get(2)?,
                    key_hint: r.get(3)?,
                    server: r.get(4)?,
                    tool: r.get(5)?,
                    target: r.get(6)?,
                    outcome: r.get(7)?,
                })
            })
            .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;

    #[test]
    fn events_are_listed_newest_first_per_workspace() {
        testutil::each(|store| {
            let a = store.create_workspace("a@x.io", None).unwrap();
            let b = store.create_workspace("b@x.io", None).unwrap();
            for (ws, tool) in [
                (&a, "write_file"),
                (&b, "write_file"),
                (&a, "git_commit_and_push"),
            ] {
                store
                    .append_audit(&NewAuditEvent {
                        workspace_id: Some(&ws.id),
                        key_hint: Some("vibn_sk_abcdefgh"),
                        server: "workspace",
                        tool,
                        target: "index.html",
                        outcome: "ok",
                    })
                    .unwrap();
            }
            let events = store.list_audit(Some(&a.slug), 10).unwrap();
            let tools: Vec<&str> = events.iter().map(|e| e.tool.as_str()).collect();
            assert_eq!(tools, ["git_commit_and_push", "write_file"]);
            assert_eq!(events[0].workspace.as_deref(), Some(a.slug.as_str()));
            assert_eq!(store.list_audit(None, 2).unwrap().len(), 2);
        });
    }

    #[test]
    fn long_targets_are_cut() {
        testutil::each(|store| {
            let long = "é".repeat(400);
            store
                .append_audit(&NewAuditEvent {
                    workspace_id: None,
                    key_hint: None,
                    server: "workspace",
                    tool: "execute_command",
                    target: &long,
                    outcome: "ok",
                })
                .unwrap();
            let event = &store.list_audit(None, 1).unwrap()[0];
            assert!(event.target.len() <= MAX_TARGET + '…'.len_utf8());
            assert_eq!(event.workspace, None);
        });
    }
}

//! Schema migrations: an ordered list of additive steps. Each runs once, inside
//! `BEGIN IMMEDIATE`, after re-reading the version under the lock, so processes
//! starting together apply it exactly once.

use super::{KeystoreError, SqliteStore, now_ms, sql};

/// Additive steps; never edit a released one, append a new one.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    applied_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS workspaces (
    id                        TEXT PRIMARY KEY,
    slug                      TEXT NOT NULL UNIQUE,
    name                      TEXT NOT NULL,
    owner_user_id             TEXT NOT NULL REFERENCES users(id),
    coolify_project_uuid      TEXT,
    coolify_environment_name  TEXT NOT NULL DEFAULT 'production',
    gitea_org                 TEXT NOT NULL,
    gitea_bot_username        TEXT,
    gitea_bot_user_id         INTEGER,
    gitea_bot_token_enc       BLOB,
    gitea_bot_ssh_key_id      INTEGER,
    ssh_private_key_enc       BLOB,
    ssh_public_key            TEXT,
    provision_status          TEXT NOT NULL DEFAULT 'pending'
                              CHECK (provision_status IN ('pending','partial','ready','error')),
    provision_error           TEXT,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS workspace_members (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id),
    role         TEXT NOT NULL CHECK (role IN ('owner','admin','member')),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE TABLE IF NOT EXISTS api_keys (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL UNIQUE,
    hint         TEXT NOT NULL,
    name         TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX IF NOT EXISTS api_keys_by_workspace ON api_keys (workspace_id, created_at);
CREATE TABLE IF NOT EXISTS org_tokens (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    hint         TEXT NOT NULL,
    name         TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
CREATE TABLE IF NOT EXISTS secret_keys (
    key_id         INTEGER PRIMARY KEY,
    check_envelope BLOB NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS projects (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT REFERENCES workspaces(id) ON DELETE CASCADE,
    scope        TEXT NOT NULL,
    name         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    content      TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'final',
    created_by   TEXT,
    created_at   INTEGER NOT NULL,
    UNIQUE (scope, name, version)
);
CREATE TABLE IF NOT EXISTS memories (
    id          TEXT PRIMARY KEY,
    scope       TEXT NOT NULL,
    session_key TEXT NOT NULL DEFAULT '',
    key         TEXT NOT NULL,
    content     TEXT NOT NULL,
    tags        TEXT NOT NULL DEFAULT '[]',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (scope, session_key, key)
);
CREATE INDEX IF NOT EXISTS memories_recent ON memories (scope, session_key, updated_at);
CREATE TABLE IF NOT EXISTS jobs (
    id           TEXT PRIMARY KEY,
    scope        TEXT NOT NULL,
    agent        TEXT NOT NULL,
    task         TEXT NOT NULL,
    repo         TEXT,
    project      TEXT,
    status       TEXT NOT NULL,
    progress     TEXT,
    result       TEXT,
    error        TEXT,
    runner_url   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_recent ON jobs (scope, created_at);
CREATE TABLE IF NOT EXISTS audit_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    workspace_id TEXT,
    key_hint     TEXT,
    server       TEXT NOT NULL,
    tool         TEXT NOT NULL,
    target       TEXT NOT NULL,
    outcome      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_workspace ON audit_events (workspace_id, id);
"#,
    ),
    (
        2,
        r#"
CREATE TRIGGER IF NOT EXISTS prd_versions_are_immutable BEFORE UPDATE ON projects
BEGIN
    SELECT RAISE(ABORT, 'finalized PRD versions are immutable; finalize a new version');
END;
CREATE TRIGGER IF NOT EXISTS prd_versions_are_not_deleted BEFORE DELETE ON projects
BEGIN
    SELECT RAISE(ABORT, 'finalized PRD versions are immutable');
END;
"#,
    ),
    (
        3,
        // Provisioning (issue 12): what each step recorded upstream, the step a run
        // stopped at, and a lease so two runs for one workspace never interleave.
        r#"
ALTER TABLE workspaces ADD COLUMN coolify_server_uuid TEXT;
ALTER TABLE workspaces ADD COLUMN coolify_private_key_uuid TEXT;
ALTER TABLE workspaces ADD COLUMN gitea_org_id INTEGER;
ALTER TABLE workspaces ADD COLUMN gitea_team_id INTEGER;
ALTER TABLE workspaces ADD COLUMN gitea_bot_token_id INTEGER;
ALTER TABLE workspaces ADD COLUMN gitea_bot_tokens_clean INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workspaces ADD COLUMN provision_step TEXT;
ALTER TABLE workspaces ADD COLUMN provisioned_at INTEGER;
ALTER TABLE workspaces ADD COLUMN provision_lease_holder TEXT;
ALTER TABLE workspaces ADD COLUMN provision_lease_until INTEGER;
CREATE INDEX IF NOT EXISTS workspaces_by_owner ON workspaces (owner_user_id, created_at);
"#,
    ),
    (
        4,
        // Custom domains and object storage (issue 15). A domain belongs to the one
        // workspace that registered it (UNIQUE domain); its lifecycle events and the
        // billing ledger are append-only; a workspace's storage row is keyed by the
        // workspace id and holds its HMAC secret sealed.
        r#"
CREATE TABLE IF NOT EXISTS domains (
    id                 TEXT PRIMARY KEY,
    workspace_id       TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    domain             TEXT NOT NULL UNIQUE,
    status             TEXT NOT NULL,
    period             INTEGER NOT NULL,
    registrar          TEXT NOT NULL DEFAULT 'opensrs',
    order_id           TEXT,
    price              TEXT,
    expires_at         TEXT,
    whois_privacy      INTEGER NOT NULL DEFAULT 0,
    reg_password_enc   BLOB,
    dns_provider       TEXT NOT NULL DEFAULT 'cloud_dns',
    dns_zone           TEXT,
    nameservers        TEXT,
    attached_app_uuid  TEXT,
    attached_target    TEXT,
    fqdns              TEXT,
    locked             INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS domains_by_workspace ON domains (workspace_id, domain);
CREATE TABLE IF NOT EXISTS domain_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    domain_id    TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    at           INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS domain_events_by_domain ON domain_events (domain_id, id);
CREATE TRIGGER IF NOT EXISTS domain_events_are_append_only BEFORE UPDATE ON domain_events
BEGIN
    SELECT RAISE(ABORT, 'domain events are append-only');
END;
CREATE TRIGGER IF NOT EXISTS domain_events_are_not_deleted BEFORE DELETE ON domain_events
BEGIN
    SELECT RAISE(ABORT, 'domain events are append-only');
END;
CREATE TABLE IF NOT EXISTS billing_ledger (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    at           INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('debit','credit')),
    amount       TEXT NOT NULL,
    currency     TEXT NOT NULL,
    description  TEXT NOT NULL,
    ref_id       TEXT NOT NULL,
    UNIQUE (kind, ref_id)
);
CREATE INDEX IF NOT EXISTS billing_by_workspace ON billing_ledger (workspace_id, at);
CREATE TRIGGER IF NOT EXISTS billing_ledger_is_append_only BEFORE UPDATE ON billing_ledger
BEGIN
    SELECT RAISE(ABORT, 'the billing ledger is append-only');
END;
CREATE TABLE IF NOT EXISTS workspace_storage (
    id                     TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    bucket                 TEXT NOT NULL UNIQUE,
    region                 TEXT NOT NULL,
    service_account_email  TEXT,
    hmac_access_id         TEXT,
    hmac_secret_enc        BLOB,
    status                 TEXT NOT NULL,
    step                   TEXT,
    last_error             TEXT,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);
"#,
    ),
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// Apply every migration newer than the file's version.
pub(super) fn migrate(store: &SqliteStore) -> Result<(), KeystoreError> {
    let current: i64 = store.read(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))?;
    if current > latest_version() {
        return Err(KeystoreError::Invalid(format!(
            "keystore {} has schema version {current}, newer than this vibn ({}); upgrade vibn",
            store.path().display(),
            latest_version()
        )));
    }
    for (version, statements) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let path = store.path().to_path_buf();
        store.write(|tx| {
            let now: i64 = tx
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(sql(&path))?;
            if now >= *version {
                return Ok(()); // another process got here first
            }
            tx.execute_batch(statements).map_err(sql(&path))?;
            tx.execute(
                "INSERT OR IGNORE INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                (version, now_ms()),
            )
            .map_err(sql(&path))?;
            tx.pragma_update(None, "user_version", version)
                .map_err(sql(&path))?;
            Ok(())
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;

    #[test]
    fn migrations_record_their_version_and_are_idempotent() {
        let (_dir, store) = testutil::store();
        let version: i64 = store
            .read(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))
            .unwrap();
        assert_eq!(version, latest_version());
        migrate(&store).unwrap();
        let path = store.path().to_path_buf();
        drop(store);
        let reopened = SqliteStore::open(&path).unwrap();
        let rows: i64 = reopened
            .read(|c| c.query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(rows, latest_version());
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_message() {
        let (_dir, store) = testutil::store();
        store
            .read(|c| c.pragma_update(None, "user_version", 999))
            .unwrap();
        let err = migrate(&store).unwrap_err().to_string();
        assert!(err.contains("999") && err.contains("upgrade"), "{err}");
    }
}

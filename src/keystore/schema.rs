//! Schema migrations: an ordered list of additive steps, the same numbered steps on
//! both backends (written in SQLite's DDL; `Dialect::ddl` translates the types for
//! PostgreSQL, and a step SQLite and PostgreSQL spell differently, such as a trigger,
//! carries its PostgreSQL text). Each runs once, inside the write transaction (`BEGIN
//! IMMEDIATE`, or PostgreSQL's `BEGIN` with the writers' advisory lock), after
//! re-reading the version under the lock, so processes or replicas starting together
//! apply it exactly once. The version is `PRAGMA user_version` in SQLite and the
//! highest row of `schema_migrations` in PostgreSQL.

use super::db::{Conn, Dialect, params};
use super::{KeystoreError, Store, now_ms};

/// One numbered step: its SQLite text, and PostgreSQL's when the translated DDL would
/// not do.
struct Migration {
    version: i64,
    sql: &'static str,
    postgres: Option<&'static str>,
}

/// Additive steps; never edit a released one, append a new one.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: r#"
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
        postgres: None,
    },
    Migration {
        version: 2,
        sql: r#"
CREATE TRIGGER IF NOT EXISTS prd_versions_are_immutable BEFORE UPDATE ON projects
BEGIN
    SELECT RAISE(ABORT, 'finalized PRD versions are immutable; finalize a new version');
END;
CREATE TRIGGER IF NOT EXISTS prd_versions_are_not_deleted BEFORE DELETE ON projects
BEGIN
    SELECT RAISE(ABORT, 'finalized PRD versions are immutable');
END;
"#,
        postgres: Some(
            r#"
CREATE OR REPLACE FUNCTION vibn_prd_version_is_immutable() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'finalized PRD versions are immutable; finalize a new version';
    END IF;
    RAISE EXCEPTION 'finalized PRD versions are immutable';
END
$fn$;
DROP TRIGGER IF EXISTS prd_versions_are_immutable ON projects;
CREATE TRIGGER prd_versions_are_immutable BEFORE UPDATE OR DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION vibn_prd_version_is_immutable();
"#,
        ),
    },
    Migration {
        version: 3,
        // Provisioning (issue 12): what each step recorded upstream, the step a run
        // stopped at, and a lease so two runs for one workspace never interleave.
        sql: r#"
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
        postgres: None,
    },
    Migration {
        version: 4,
        // Custom domains and object storage (issue 15). A domain belongs to the one
        // workspace that registered it (UNIQUE domain); a workspace's storage row is keyed
        // by the workspace id and holds its HMAC secret sealed.
        sql: r#"
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
        postgres: None,
    },
    Migration {
        version: 5,
        // Domain lifecycle events and the billing ledger are append-only (issue 15).
        sql: r#"
CREATE TRIGGER IF NOT EXISTS domain_events_are_append_only BEFORE UPDATE ON domain_events
BEGIN
    SELECT RAISE(ABORT, 'domain events are append-only');
END;
CREATE TRIGGER IF NOT EXISTS domain_events_are_not_deleted BEFORE DELETE ON domain_events
BEGIN
    SELECT RAISE(ABORT, 'domain events are append-only');
END;
CREATE TRIGGER IF NOT EXISTS billing_ledger_is_append_only BEFORE UPDATE ON billing_ledger
BEGIN
    SELECT RAISE(ABORT, 'the billing ledger is append-only');
END;
"#,
        postgres: Some(
            r#"
CREATE OR REPLACE FUNCTION vibn_domain_events_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'domain events are append-only';
END
$fn$;
DROP TRIGGER IF EXISTS domain_events_are_append_only ON domain_events;
CREATE TRIGGER domain_events_are_append_only BEFORE UPDATE ON domain_events
    FOR EACH ROW EXECUTE FUNCTION vibn_domain_events_are_append_only();
CREATE OR REPLACE FUNCTION vibn_domain_events_are_not_deleted() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'domain events are append-only';
END
$fn$;
DROP TRIGGER IF EXISTS domain_events_are_not_deleted ON domain_events;
CREATE TRIGGER domain_events_are_not_deleted BEFORE DELETE ON domain_events
    FOR EACH ROW EXECUTE FUNCTION vibn_domain_events_are_not_deleted();
CREATE OR REPLACE FUNCTION vibn_billing_ledger_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'the billing ledger is append-only';
END
$fn$;
DROP TRIGGER IF EXISTS billing_ledger_is_append_only ON billing_ledger;
CREATE TRIGGER billing_ledger_is_append_only BEFORE UPDATE ON billing_ledger
    FOR EACH ROW EXECUTE FUNCTION vibn_billing_ledger_is_append_only();
"#,
        ),
    },
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The schema version the keystore on `conn` is at (0 when it has none yet).
pub(super) fn current_version(conn: &Conn<'_>) -> Result<i64, KeystoreError> {
    match conn.sqlite() {
        Some(c) => c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| KeystoreError::Unavailable {
                path: "keystore".into(),
                reason: e.to_string(),
            }),
        None if !conn.has_table("schema_migrations")? => Ok(0),
        None => conn
            .query_one(
                "SELECT COALESCE(max(version), 0) FROM schema_migrations",
                params![],
            )?
            .get(0),
    }
}

/// Apply every migration newer than the keystore's version.
pub(super) fn migrate(store: &Store) -> Result<(), KeystoreError> {
    let current = store.read(current_version)?;
    if current > latest_version() {
        return Err(KeystoreError::Invalid(format!(
            "keystore {} has schema version {current}, newer than this vibn ({}); upgrade vibn",
            store.location(),
            latest_version()
        )));
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        store.write(|tx| {
            if current_version(tx)? >= migration.version {
                return Ok(()); // another process got here first
            }
            let dialect = tx.dialect();
            match (dialect, migration.postgres) {
                (Dialect::Postgres, Some(text)) => tx.batch(text)?,
                _ => tx.batch(&dialect.ddl(migration.sql))?,
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2) \
                 ON CONFLICT (version) DO NOTHING",
                params![migration.version, now_ms()],
            )?;
            if let Some(c) = tx.sqlite() {
                c.pragma_update(None, "user_version", migration.version)
                    .map_err(|e| KeystoreError::Unavailable {
                        path: "keystore".into(),
                        reason: e.to_string(),
                    })?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::testutil;
    use super::*;

    #[test]
    fn migrations_record_their_version_and_are_idempotent() {
        testutil::each(|store| {
            assert_eq!(store.read(current_version).unwrap(), latest_version());
            migrate(store).unwrap();
            let reopened = Store::open(store.path()).unwrap();
            let rows: i64 = reopened
                .test_value("SELECT count(*) FROM schema_migrations", params![])
                .unwrap();
            assert_eq!(rows, latest_version());
            if let Some(file) = store.sqlite_path() {
                let version: i64 = rusqlite::Connection::open(file)
                    .unwrap()
                    .pragma_query_value(None, "user_version", |r| r.get(0))
                    .unwrap();
                assert_eq!(
                    version,
                    latest_version(),
                    "SQLite keeps PRAGMA user_version"
                );
            }
        });
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_message() {
        testutil::each(|store| {
            match store.sqlite_path() {
                Some(file) => rusqlite::Connection::open(file)
                    .unwrap()
                    .pragma_update(None, "user_version", 999)
                    .unwrap(),
                None => {
                    store
                        .test_execute(
                            "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)",
                            params![],
                        )
                        .unwrap();
                }
            }
            let err = migrate(store).unwrap_err().to_string();
            assert!(err.contains("999") && err.contains("upgrade"), "{err}");
        });
    }

    #[test]
    fn replicas_opening_a_new_postgres_keystore_at_once_all_succeed() {
        // The writers' advisory lock serializes the migrations: every opener finds
        // the schema either absent (and applies it) or complete, never half-made.
        let Some(url) = testutil::postgres_url() else {
            return;
        };
        let start = std::sync::Barrier::new(6);
        std::thread::scope(|s| {
            let openers: Vec<_> = (0..6)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        Store::open(Path::new(&url)).map(|_| ())
                    })
                })
                .collect();
            for opener in openers {
                let opened = opener.join().expect("opener thread");
                assert!(opened.is_ok(), "{opened:?}");
            }
        });
        let store = Store::open(Path::new(&url)).unwrap();
        let rows: i64 = store
            .test_value("SELECT count(*) FROM schema_migrations", params![])
            .unwrap();
        assert_eq!(rows, latest_version(), "each migration applied once");
    }
}

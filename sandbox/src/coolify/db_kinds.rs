//! The eight standalone database kinds: route names, `database_type`, their own
//! fields and validation, image/port defaults with generated credentials, and the
//! connection URLs Coolify's models build (`internal_db_url`/`external_db_url`). Data
//! and pure functions only.

use serde_json::{Map, Value, json};

use super::http::Input;
use super::state::random_secret;
use super::validate::{Errors, Rule, check, db_identifier, db_password};
use crate::plumbing::percent_encode;

/// A database kind (`POST /databases/{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DbKind {
    Postgresql,
    Mysql,
    Mariadb,
    Mongodb,
    Redis,
    Keydb,
    Dragonfly,
    Clickhouse,
}

/// Every kind, in route order.
pub(crate) const KINDS: [DbKind; 8] = [
    DbKind::Postgresql,
    DbKind::Mysql,
    DbKind::Mariadb,
    DbKind::Mongodb,
    DbKind::Redis,
    DbKind::Keydb,
    DbKind::Dragonfly,
    DbKind::Clickhouse,
];

impl DbKind {
    pub(crate) fn from_route(s: &str) -> Option<DbKind> {
        KINDS.into_iter().find(|k| k.route() == s)
    }

    /// The route segment (`postgresql`).
    pub(crate) fn route(self) -> &'static str {
        match self {
            DbKind::Postgresql => "postgresql",
            DbKind::Mysql => "mysql",
            DbKind::Mariadb => "mariadb",
            DbKind::Mongodb => "mongodb",
            DbKind::Redis => "redis",
            DbKind::Keydb => "keydb",
            DbKind::Dragonfly => "dragonfly",
            DbKind::Clickhouse => "clickhouse",
        }
    }

    /// `database_type` (`standalone-postgresql`).
    pub(crate) fn type_name(self) -> String {
        format!("standalone-{}", self.route())
    }

    /// Its own fields.
    pub(crate) fn fields(self) -> &'static [&'static str] {
        match self {
            DbKind::Postgresql => &[
                "postgres_user",
                "postgres_password",
                "postgres_db",
                "postgres_initdb_args",
                "postgres_host_auth_method",
                "postgres_conf",
            ],
            DbKind::Mysql => &[
                "mysql_root_password",
                "mysql_password",
                "mysql_user",
                "mysql_database",
                "mysql_conf",
            ],
            DbKind::Mariadb => &[
                "mariadb_conf",
                "mariadb_root_password",
                "mariadb_user",
                "mariadb_password",
                "mariadb_database",
            ],
            DbKind::Mongodb => &[
                "mongo_conf",
                "mongo_initdb_root_username",
                "mongo_initdb_root_password",
                "mongo_initdb_database",
            ],
            DbKind::Redis => &["redis_password", "redis_conf"],
            DbKind::Keydb => &["keydb_password", "keydb_conf"],
            DbKind::Dragonfly => &["dragonfly_password"],
            DbKind::Clickhouse => &["clickhouse_admin_user", "clickhouse_admin_password"],
        }
    }

    /// Default image, port and generated credentials (user/db names, passwords).
    pub(crate) fn defaults(self) -> (&'static str, u16, Value) {
        let pw = || random_secret(64);
        match self {
            DbKind::Postgresql => (
                "postgres:16-alpine",
                5432,
                json!({"postgres_user": "postgres", "postgres_password": pw(), "postgres_db": "postgres", "postgres_initdb_args": null, "postgres_host_auth_method": null, "postgres_conf": null}),
            ),
            DbKind::Mysql => (
                "mysql:8",
                3306,
                json!({"mysql_user": "mysql", "mysql_password": pw(), "mysql_root_password": pw(), "mysql_database": "default", "mysql_conf": null}),
            ),
            DbKind::Mariadb => (
                "mariadb:11",
                3306,
                json!({"mariadb_user": "mariadb", "mariadb_password": pw(), "mariadb_root_password": pw(), "mariadb_database": "default", "mariadb_conf": null}),
            ),
            DbKind::Mongodb => (
                "mongo:7",
                27017,
                json!({"mongo_initdb_root_username": "root", "mongo_initdb_root_password": pw(), "mongo_initdb_database": "default", "mongo_conf": null}),
            ),
            DbKind::Redis => (
                "redis:7.2",
                6379,
                json!({"redis_username": "default", "redis_password": pw(), "redis_conf": null}),
            ),
            DbKind::Keydb => (
                "eqalpha/keydb:latest",
                6379,
                json!({"keydb_password": pw(), "keydb_conf": null}),
            ),
            DbKind::Dragonfly => (
                "docker.dragonflydb.io/dragonflydb/dragonfly",
                6379,
                json!({"dragonfly_password": pw()}),
            ),
            DbKind::Clickhouse => (
                "clickhouse/clickhouse-server:25.11",
                9000,
                json!({"clickhouse_admin_user": "default", "clickhouse_admin_password": pw()}),
            ),
        }
    }

    /// Its connection URL to `host:port`.
    pub(crate) fn url(self, row: &Map<String, Value>, host: &str, port: &str) -> String {
        let f = |k: &str| percent_encode(row.get(k).and_then(Value::as_str).unwrap_or_default());
        match self {
            DbKind::Postgresql => format!(
                "postgres://{}:{}@{host}:{port}/{}",
                f("postgres_user"),
                f("postgres_password"),
                f("postgres_db")
            ),
            DbKind::Mysql => format!(
                "mysql://{}:{}@{host}:{port}/{}",
                f("mysql_user"),
                f("mysql_password"),
                f("mysql_database")
            ),
            DbKind::Mariadb => format!(
                "mysql://{}:{}@{host}:{port}/{}",
                f("mariadb_user"),
                f("mariadb_password"),
                f("mariadb_database")
            ),
            DbKind::Mongodb => format!(
                "mongodb://{}:{}@{host}:{port}/?directConnection=true",
                f("mongo_initdb_root_username"),
                f("mongo_initdb_root_password")
            ),
            DbKind::Redis => format!(
                "redis://{}:{}@{host}:{port}/0",
                f("redis_username"),
                f("redis_password")
            ),
            DbKind::Keydb => format!("redis://:{}@{host}:{port}/0", f("keydb_password")),
            DbKind::Dragonfly => format!("redis://:{}@{host}:{port}/0", f("dragonfly_password")),
            DbKind::Clickhouse => format!(
                "clickhouse://{}:{}@{host}:{port}/default",
                f("clickhouse_admin_user"),
                f("clickhouse_admin_password")
            ),
        }
    }

    /// Rules of its own fields (identifiers, passwords, strings).
    pub(crate) fn check_fields(self, e: &mut Errors, input: &Input) {
        for f in self.fields() {
            let rules: &[Rule] = if f.ends_with("_password") {
                &[Rule::Nullable, Rule::Str, Rule::Format(db_password)]
            } else if f.ends_with("_user")
                || f.ends_with("_db")
                || f.ends_with("_database")
                || f.ends_with("_username")
            {
                &[Rule::Nullable, Rule::Str, Rule::Format(db_identifier)]
            } else {
                &[Rule::Str]
            };
            check(e, input, f, rules);
        }
    }
}

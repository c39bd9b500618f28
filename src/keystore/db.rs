//! The one SQL layer under every keystore module, over both backends: embedded SQLite
//! (`rusqlite`) and PostgreSQL (`tokio-postgres`). A module writes each query once
//! against `Conn` and never sees which backend runs it.
//!
//! Writing a portable query: number placeholders `?1`, `?2`… (rewritten to `$1`… for
//! PostgreSQL; reuse a number for the same value) and pass `params![…]` (any of `&str`,
//! `String`, `i64`, `u32`, `bool`, bytes, `Option` of those). Read a `Row` with
//! `row.get::<T>(i)` (`String`, `i64`, `bool`, `Vec<u8>`, or `Option` of them). Keep
//! to SQL both speak: `INSERT … ON CONFLICT (…) DO NOTHING / DO UPDATE SET x =
//! excluded.x` (never `INSERT OR …`), `COALESCE`, `CASE`, `count(*)`, `max()`,
//! `lower(x) LIKE ?n ESCAPE '\'` for case-insensitive search; store booleans as
//! `INTEGER` 0/1 (read back with `get::<bool>`), times as `INTEGER` unix ms; cast a
//! parameter whose type nothing else determines (`CAST(?2 AS TEXT) IS NULL`).
//! Migrations are written in SQLite's DDL with `INTEGER`, `BLOB` and `INTEGER PRIMARY
//! KEY AUTOINCREMENT`; `Dialect::ddl` turns them into `BIGINT`, `BYTEA` and an identity
//! column. What cannot be said portably goes in a `Dialect` method (see
//! `json_array_contains`), so the difference lives here, once. Writes run in
//! `Store::write`: SQLite `BEGIN IMMEDIATE`; PostgreSQL `BEGIN` plus a transaction-wide
//! advisory lock, so writers are serialized across every replica exactly as SQLite
//! serializes them across processes, and a read-then-write inside one stays atomic.
//!
//! PostgreSQL runs on one process-wide runtime thread (`vibn-postgres`); a blocking
//! call hands its query to that thread and waits on a channel. So it is safe from any
//! thread, the façade's blocking pool and an async CLI alike (a nested `block_on`
//! would panic there), and never starts a runtime per connection.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::BytesMut;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::{BUSY_TIMEOUT, KeystoreError};

/// Where a keystore lives: `VIBN_KEYSTORE` (or `--keystore`) is a file path, or a
/// `postgres://` / `postgresql://` URL.
#[derive(Clone)]
pub enum Location {
    /// An embedded SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres {
        /// The URL as given (may hold a password: never print it).
        url: String,
        /// The URL with any password replaced by `***`, for messages and logs.
        redacted: String,
    },
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres { redacted, .. } => f.write_str(redacted),
        }
    }
}

/// True when `value` names a PostgreSQL database rather than a file.
pub fn is_postgres_url(value: &str) -> bool {
    let lower = value.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

impl Location {
    /// The keystore `path` names (a URL travels through the same `--keystore` path).
    pub fn of(path: &Path) -> Location {
        match path.to_str() {
            Some(text) if is_postgres_url(text) => Location::Postgres {
                url: text.trim().to_string(),
                redacted: redact_url(text.trim()),
            },
            _ => Location::Sqlite(path.to_path_buf()),
        }
    }

    /// Which backend, as `vibn doctor` names it.
    pub fn backend(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres { .. } => "postgres",
        }
    }
}

/// `url` with the password of its user-info (and any `password=` parameter) hidden.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = url[..scheme_end + 3].to_string();
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let tail = &rest[authority_end..];
    // `?password=…` (libpq accepts it there too).
    let mut parts = tail.splitn(2, '?');
    out.push_str(parts.next().unwrap_or_default());
    if let Some(query) = parts.next() {
        let (query, fragment) = query
            .split_once('#')
            .map_or((query, None), |(q, f)| (q, Some(f)));
        let hidden: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&hidden.join("&"));
        if let Some(f) = fragment {
            out.push('#');
            out.push_str(f);
        }
    }
    out
}

/// The SQL spelling a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// Migration DDL written for SQLite, in this dialect.
    pub fn ddl(self, sqlite: &str) -> Cow<'_, str> {
        match self {
            Dialect::Sqlite => Cow::Borrowed(sqlite),
            Dialect::Postgres => {
                let identity = sqlite.replace(
                    "INTEGER PRIMARY KEY AUTOINCREMENT",
                    "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                );
                Cow::Owned(replace_word(
                    &replace_word(&identity, "INTEGER", "BIGINT"),
                    "BLOB",
                    "BYTEA",
                ))
            }
        }
    }

    /// A condition: the JSON array of strings in text `column` holds parameter `?n`.
    pub fn json_array_contains(self, column: &str, n: usize) -> String {
        match self {
            Dialect::Sqlite => {
                format!("EXISTS (SELECT 1 FROM json_each({column}) WHERE value = ?{n})")
            }
            Dialect::Postgres => format!(
                "EXISTS (SELECT 1 FROM json_array_elements_text(({column})::json) AS t(v) \
                 WHERE t.v = ?{n})"
            ),
        }
    }
}

/// `text` with every whole word `word` (ASCII identifier boundaries) replaced.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let end = i + word.len();
        if text[i..].starts_with(word)
            && (i == 0 || !is_ident(bytes[i - 1]))
            && (end == text.len() || !is_ident(bytes[end]))
        {
            out.push_str(with);
            i = end;
        } else {
            let c = text[i..].chars().next().unwrap_or_default();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `?N` placeholders as PostgreSQL's `$N` (quoted text is left alone).
fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

/// One parameter or column value, the same on both backends.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer (PostgreSQL `BIGINT`, narrowed when the column is smaller).
    Int(i64),
    /// A boolean PostgreSQL computed (`x IS NOT NULL`); SQLite answers `Int`.
    Bool(bool),
    /// Text.
    Text(String),
    /// Bytes (`BLOB` / `BYTEA`).
    Bytes(Vec<u8>),
}

/// Something that can be a query parameter.
pub trait ToValue {
    /// The value to send.
    fn to_value(&self) -> Value;
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
}
impl ToValue for u32 {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Bytes(self.to_vec())
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Bytes(self.clone())
    }
}
impl<const N: usize> ToValue for [u8; N] {
    fn to_value(&self) -> Value {
        Value::Bytes(self.to_vec())
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// Query parameters: `params![a, b, c]` binds `?1`, `?2`, `?3`.
macro_rules! params {
    () => { &[] as &[$crate::keystore::db::Value] };
    ($($value:expr),+ $(,)?) => {
        &[$($crate::keystore::db::ToValue::to_value(&$value)),+] as &[$crate::keystore::db::Value]
    };
}
pub(crate) use params;

/// A value read back from a column.
pub trait FromValue: Sized {
    /// Convert, or say what was found instead.
    fn from_value(value: Value) -> Result<Self, Value>;
}

impl FromValue for String {
    fn from_value(value: Value) -> Result<Self, Value> {
        match value {
            Value::Text(s) => Ok(s),
            other => Err(other),
        }
    }
}
impl FromValue for i64 {
    fn from_value(value: Value) -> Result<Self, Value> {
        match value {
            Value::Int(i) => Ok(i),
            other => Err(other),
        }
    }
}
impl FromValue for bool {
    fn from_value(value: Value) -> Result<Self, Value> {
        match value {
            Value::Int(i) => Ok(i != 0),
            Value::Bool(b) => Ok(b),
            other => Err(other),
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(value: Value) -> Result<Self, Value> {
        match value {
            Value::Bytes(b) => Ok(b),
            other => Err(other),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Self, Value> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// One result row, read into owned values.
#[derive(Debug, Clone)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    /// Column `i` as `T`.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, KeystoreError> {
        let value = self
            .values
            .get(i)
            .cloned()
            .ok_or_else(|| corrupt(format!("no column {i}")))?;
        T::from_value(value).map_err(|found| {
            corrupt(format!(
                "column {i} holds {found:?}, not a {}",
                std::any::type_name::<T>()
            ))
        })
    }
}

fn corrupt(reason: String) -> KeystoreError {
    KeystoreError::Unavailable {
        path: "keystore".into(),
        reason: format!("unexpected data: {reason}"),
    }
}

/// A connection (or a transaction on one) of either backend; `where_` names the
/// keystore (redacted) in errors.
pub struct Conn<'a> {
    raw: ConnRef<'a>,
    where_: &'a str,
}

#[derive(Clone, Copy)]
enum ConnRef<'a> {
    Sqlite(&'a rusqlite::Connection),
    Postgres(&'a PgConn),
}

/// An open connection of either backend, as pooled.
pub enum RawConn {
    /// SQLite.
    Sqlite(rusqlite::Connection),
    /// PostgreSQL.
    Postgres(PgConn),
}

impl<'a> Conn<'a> {
    /// Wrap `raw`; errors name `where_`.
    pub fn new(raw: &'a RawConn, where_: &'a str) -> Conn<'a> {
        let raw = match raw {
            RawConn::Sqlite(c) => ConnRef::Sqlite(c),
            RawConn::Postgres(c) => ConnRef::Postgres(c),
        };
        Conn { raw, where_ }
    }

    /// Wrap a SQLite connection (or transaction); errors name `where_`.
    pub fn sqlite_conn(conn: &'a rusqlite::Connection, where_: &'a str) -> Conn<'a> {
        Conn {
            raw: ConnRef::Sqlite(conn),
            where_,
        }
    }

    /// The dialect this connection speaks.
    pub fn dialect(&self) -> Dialect {
        match self.raw {
            ConnRef::Sqlite(_) => Dialect::Sqlite,
            ConnRef::Postgres(_) => Dialect::Postgres,
        }
    }

    fn fail(&self, reason: impl std::fmt::Display) -> KeystoreError {
        KeystoreError::Unavailable {
            path: self.where_.to_string(),
            reason: reason.to_string(),
        }
    }

    /// Run one statement; answers the rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, KeystoreError> {
        match self.raw {
            ConnRef::Sqlite(c) => c
                .prepare_cached(sql)
                .and_then(|mut s| s.execute(rusqlite::params_from_iter(params)))
                .map(|n| n as u64)
                .map_err(|e| self.fail(e)),
            ConnRef::Postgres(c) => c.execute(sql, params).map_err(|e| self.fail(e)),
        }
    }

    /// Every row `sql` answers.
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, KeystoreError> {
        match self.raw {
            ConnRef::Sqlite(c) => sqlite_query(c, sql, params).map_err(|e| self.fail(e)),
            ConnRef::Postgres(c) => c.query(sql, params).map_err(|e| self.fail(e)),
        }
    }

    /// The first row `sql` answers, if any.
    pub fn query_opt(&self, sql: &str, params: &[Value]) -> Result<Option<Row>, KeystoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first row `sql` answers (an error when there is none).
    pub fn query_one(&self, sql: &str, params: &[Value]) -> Result<Row, KeystoreError> {
        self.query_opt(sql, params)?
            .ok_or_else(|| self.fail("the query answered no row"))
    }

    /// Run several statements without parameters (migrations).
    pub fn batch(&self, sql: &str) -> Result<(), KeystoreError> {
        match self.raw {
            ConnRef::Sqlite(c) => c.execute_batch(sql).map_err(|e| self.fail(e)),
            ConnRef::Postgres(c) => c.batch(sql).map_err(|e| self.fail(e)),
        }
    }

    /// True when table `name` exists.
    pub fn has_table(&self, name: &str) -> Result<bool, KeystoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => {
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1"
            }
            Dialect::Postgres => "SELECT to_regclass(CAST(?1 AS TEXT)) IS NOT NULL",
        };
        self.query_one(sql, params![name])?.get(0)
    }

    /// The SQLite connection, for what only SQLite has (pragmas).
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self.raw {
            ConnRef::Sqlite(c) => Some(c),
            ConnRef::Postgres(_) => None,
        }
    }
}

fn sqlite_query(
    c: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> rusqlite::Result<Vec<Row>> {
    let mut stmt = c.prepare_cached(sql)?;
    let width = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            use rusqlite::types::ValueRef;
            values.push(match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::Int(n),
                ValueRef::Real(f) => Value::Text(f.to_string()),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
            });
        }
        out.push(Row { values });
    }
    Ok(out)
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Bool(b) => ValueRef::Integer(i64::from(*b)),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => i.to_string().to_sql(ty, out),
                _ => Err(format!("an integer cannot be sent as {ty}").into()),
            },
            Value::Bool(b) => match *ty {
                Type::BOOL => b.to_sql(ty, out),
                _ => Value::Int(i64::from(*b)).to_sql(ty, out),
            },
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Bytes(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// The process-wide runtime every PostgreSQL connection runs on (never dropped: a
/// runtime must not be dropped from async code).
fn runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("vibn-postgres")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the PostgreSQL runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Run `fut` on the PostgreSQL runtime and wait for it from this (any) thread.
fn on_runtime<T: Send + 'static>(
    fut: impl std::future::Future<Output = Result<T, String>> + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime()?.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv()
        .unwrap_or_else(|_| Err("the PostgreSQL worker stopped".into()))
}

/// A PostgreSQL connection: its client and the statements it has prepared.
pub struct PgConn {
    client: Arc<tokio_postgres::Client>,
    statements: Arc<Mutex<HashMap<String, tokio_postgres::Statement>>>,
    /// Set between `BEGIN` and `COMMIT`/`ROLLBACK`: such a connection is never pooled.
    pub(super) in_transaction: std::sync::atomic::AtomicBool,
}

/// A PostgreSQL error with its detail (the driver's `Display` omits it).
fn pg_error(e: tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

impl PgConn {
    /// Connect to `url`; errors name `redacted`, never the password.
    pub fn connect(url: &str, redacted: &str) -> Result<PgConn, String> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| format!("not a valid PostgreSQL URL: {e}"))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(BUSY_TIMEOUT);
        }
        config.application_name("vibn");
        let redacted = redacted.to_string();
        let client = on_runtime(async move {
            let (client, connection) = config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(pg_error)?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(keystore = %redacted, "PostgreSQL connection closed: {}", pg_error(e));
                }
            });
            // Waiting for a lock (the writers' advisory lock) gives up like SQLite's
            // busy timeout; a commit is durable before it returns (a revoked key never
            // comes back).
            client
                .batch_execute(&format!(
                    "SET lock_timeout = {}; SET synchronous_commit = on",
                    BUSY_TIMEOUT.as_millis()
                ))
                .await
                .map_err(pg_error)?;
            Ok(client)
        })?;
        Ok(PgConn {
            client: Arc::new(client),
            statements: Arc::default(),
            in_transaction: false.into(),
        })
    }

    /// True once the server closed this connection (it is then dropped, not pooled).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    fn run_statement<T: Send + 'static>(
        &self,
        sql: &str,
        params: &[Value],
        then: impl FnOnce(
            Arc<tokio_postgres::Client>,
            tokio_postgres::Statement,
            Vec<Value>,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T, tokio_postgres::Error>> + Send>,
        > + Send
        + 'static,
    ) -> Result<T, String> {
        let sql = dollar_placeholders(sql);
        let (client, cache, params) = (
            self.client.clone(),
            self.statements.clone(),
            params.to_vec(),
        );
        on_runtime(async move {
            let cached = cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&sql)
                .cloned();
            let statement = match cached {
                Some(s) => s,
                None => {
                    let s = client.prepare(&sql).await.map_err(pg_error)?;
                    cache
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(sql, s.clone());
                    s
                }
            };
            then(client, statement, params).await.map_err(pg_error)
        })
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, String> {
        self.run_statement(sql, params, |client, statement, params| {
            Box::pin(async move {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                client.execute(&statement, &refs).await
            })
        })
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, String> {
        let rows = self.run_statement(sql, params, |client, statement, params| {
            Box::pin(async move {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                client.query(&statement, &refs).await
            })
        })?;
        rows.iter().map(pg_row).collect()
    }

    /// Run statements without parameters.
    pub fn batch(&self, sql: &str) -> Result<(), String> {
        let (client, sql) = (self.client.clone(), sql.to_string());
        on_runtime(async move { client.batch_execute(&sql).await.map_err(pg_error) })
    }
}

fn pg_row(row: &tokio_postgres::Row) -> Result<Row, String> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let bad = |e: tokio_postgres::Error| format!("column {}: {e}", column.name());
        let value = match *column.type_() {
            Type::INT8 => row
                .try_get::<_, Option<i64>>(i)
                .map_err(bad)?
                .map(Value::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)
                .map_err(bad)?
                .map(|n| Value::Int(n.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)
                .map_err(bad)?
                .map(|n| Value::Int(n.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)
                .map_err(bad)?
                .map(Value::Bool),
            Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => row
                .try_get::<_, Option<String>>(i)
                .map_err(bad)?
                .map(Value::Text),
            Type::BYTEA => row
                .try_get::<_, Option<Vec<u8>>>(i)
                .map_err(bad)?
                .map(Value::Bytes),
            ref other => {
                return Err(format!(
                    "column {} has type {other}, which the keystore does not read",
                    column.name()
                ));
            }
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row { values })
}

/// The advisory lock every PostgreSQL write transaction takes (`b"vibnkeys"`): one
/// writer at a time across every replica, as SQLite's `BEGIN IMMEDIATE` gives.
pub const WRITE_LOCK: i64 = 0x7669_626e_6b65_7973;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_survive_redaction() {
        for (url, shown) in [
            (
                "postgres://vibn:s3cret@db:5432/ks",
                "postgres://vibn:***@db:5432/ks",
            ),
            ("postgresql://vibn@db/ks", "postgresql://vibn@db/ks"),
            (
                "postgres://u:p%40ss@h/ks?password=again&sslmode=disable",
                "postgres://u:***@h/ks?password=***&sslmode=disable",
            ),
            ("postgres://h/ks", "postgres://h/ks"),
            ("postgres://u:a@b@h/ks", "postgres://u:***@h/ks"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn only_postgres_urls_select_postgres() {
        for (value, backend) in [
            ("postgres://h/db", "postgres"),
            ("PostgreSQL://h/db", "postgres"),
            ("/var/lib/vibn/keystore.db", "sqlite"),
            ("postgres.db", "sqlite"),
            ("./postgres://x", "sqlite"),
        ] {
            assert_eq!(Location::of(Path::new(value)).backend(), backend, "{value}");
        }
    }

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            dollar_placeholders("SELECT '?1', x FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT '?1', x FROM t WHERE a = $1 AND b = $12"
        );
    }

    #[test]
    fn ddl_types_are_translated_as_whole_words() {
        let pg = Dialect::Postgres
            .ddl("id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER, b BLOB, integers_seen TEXT");
        assert_eq!(
            pg,
            "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT, b BYTEA, \
             integers_seen TEXT"
        );
    }
}

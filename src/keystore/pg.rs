//! The PostgreSQL side of the keystore's SQL layer (`db`): connections, placeholders,
//! parameter and row conversion. Every connection runs on one process-wide runtime
//! thread (`vibn-postgres`); a blocking call hands its query to that thread and waits on
//! a channel. So it is safe from any thread — the façade's blocking pool and an async
//! CLI command alike (the sync `postgres` crate's per-connection `block_on` would panic
//! inside a runtime) — and no runtime is started per connection. Each connection keeps
//! the statements it prepared.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::BytesMut;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::BUSY_TIMEOUT;
use super::db::{Row, Value};

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

    /// Run one statement; answers the rows it changed.
    pub(super) fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, String> {
        self.run_statement(sql, params, |client, statement, params| {
            Box::pin(async move {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                client.execute(&statement, &refs).await
            })
        })
    }

    /// Every row `sql` answers.
    pub(super) fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, String> {
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
    Ok(Row::new(values))
}

/// The advisory lock every PostgreSQL write transaction takes (`b"vibnkeys"`): one
/// writer at a time across every replica, as SQLite's `BEGIN IMMEDIATE` gives.
pub const WRITE_LOCK: i64 = 0x7669_626e_6b65_7973;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            dollar_placeholders("SELECT '?1', x FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT '?1', x FROM t WHERE a = $1 AND b = $12"
        );
    }
}

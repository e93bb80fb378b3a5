//! The connection pool handlers borrow from, and making the database ready to serve: connecting,
//! creating Docket's database when it is missing, applying the embedded migrations.

pub mod connection;
pub mod deadline;
pub mod query_timer;
pub mod tls;

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use diesel_async::{
    AsyncConnection, AsyncPgConnection,
    pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod, deadpool},
};
use futures_util::FutureExt;
use tokio_postgres::error::SqlState;

pub use connection::{ConnectError, ConnectOptions};
pub use deadline::checkout;

use crate::{
    config::DatabaseConfig,
    db::migrations::{self, LockWait, MigrationError},
};

/// The pool handlers borrow connections from.
pub type PgPool = deadpool::Pool<AsyncPgConnection>;

/// Why the database could not be made ready at startup.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("cannot create database {database:?}: {reason}")]
    CreateDatabase { database: String, reason: String },
    #[error(transparent)]
    Migrate(#[from] migrations::MigrationError),
    #[error("cannot build the connection pool: {0}")]
    Pool(String),
    /// `DOCKET_MIGRATE=false` and the database lacks migrations this binary needs.
    #[error(
        "the database lacks {} migration(s) this version needs ({}); waiting for `docket migrate` (DOCKET_MIGRATE=false)",
        pending.len(),
        pending.join(", ")
    )]
    SchemaBehind { pending: Vec<String> },
}

/// How a server makes the database ready: it migrates (`DOCKET_MIGRATE`, the default; waiting
/// for another instance's migration or not), or it waits for someone else to (a migration Job).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readying {
    Migrate(LockWait),
    AwaitSchema,
}

impl DatabaseConfig {
    /// Pooled connections stream page fetches may hold at once (`DOCKET_DB_STREAM_CONNECTIONS`).
    pub fn stream_connections(&self) -> usize {
        self.stream_connections
            .unwrap_or(self.pool_size / 4)
            .clamp(1, self.pool_size) as usize
    }
}

impl SetupError {
    /// Worth trying again later (see [`ConnectError::is_transient`]); anything else will fail the
    /// same way until someone changes the configuration or the database.
    pub fn is_transient(&self) -> bool {
        match self {
            SetupError::Connect(e) => e.is_transient(),
            SetupError::Migrate(MigrationError::LockHeld) | SetupError::SchemaBehind { .. } => true,
            SetupError::Migrate(MigrationError::Failed(_))
            | SetupError::CreateDatabase { .. }
            | SetupError::Pool(_) => false,
        }
    }
}

/// Makes the configured database ready to serve: connects once directly (so a bad URL or a dead
/// server is reported with PostgreSQL's own reason, at once), creates the database if the server
/// says it does not exist, and applies pending migrations. Returns the names of the migrations
/// applied.
pub async fn prepare(config: &DatabaseConfig) -> Result<Vec<String>, SetupError> {
    ready(config, Readying::Migrate(LockWait::Block)).await
}

/// Makes the database ready as `how` says; with [`Readying::AwaitSchema`] it changes nothing
/// (not even creating a missing database) and fails, transiently, while migrations are pending.
pub async fn ready(config: &DatabaseConfig, how: Readying) -> Result<Vec<String>, SetupError> {
    let options = ConnectOptions::new(config, "docket-migrate")?;
    let conn = match (options.connect().await, how) {
        (Ok(conn), _) => conn,
        (Err(e), Readying::Migrate(_)) if e.is_missing_database() => {
            create_database(&options, &config.maintenance_db).await?;
            options.connect().await?
        }
        (Err(e), Readying::AwaitSchema) if e.is_missing_database() => {
            let pending = migrations::all()?;
            return Err(SetupError::SchemaBehind { pending });
        }
        (Err(e), _) => return Err(e.into()),
    };
    match how {
        Readying::Migrate(wait) => Ok(migrations::run_pending(conn, wait).await?),
        Readying::AwaitSchema => match migrations::pending(conn).await? {
            pending if pending.is_empty() => Ok(Vec::new()),
            pending => Err(SetupError::SchemaBehind { pending }),
        },
    }
}

/// Whether [`prepare`] has succeeded since startup. `serve` starts answering before the database is
/// reachable (health says NOT_SERVING meanwhile); until then, calls that need the database are
/// refused rather than sent to a schema that may not exist yet.
#[derive(Debug, Clone, Default)]
pub struct Prepared(Arc<AtomicBool>);

impl Prepared {
    /// Already prepared (tests and tools that ran [`prepare`] themselves).
    pub fn done() -> Self {
        let prepared = Self::default();
        prepared.set();
        prepared
    }

    pub fn set(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_done(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Creates the database `options` points at, through the maintenance database of the same server.
/// Losing a race with another instance creating it is success: PostgreSQL reports it as 42P04
/// when the other creation had committed, and as a unique violation of `pg_database`'s name index
/// (23505) when both were inserting the catalog row at once.
async fn create_database(options: &ConnectOptions, maintenance_db: &str) -> Result<(), SetupError> {
    let database = options.database_name().to_owned();
    let client = options.for_database(maintenance_db).connect_raw().await?;
    let statement = format!("CREATE DATABASE {}", quote_identifier(&database));
    match client.batch_execute(&statement).await {
        Ok(()) => {
            tracing::info!(database, "created database");
            Ok(())
        }
        Err(e)
            if e.code() == Some(&SqlState::DUPLICATE_DATABASE)
                || e.code() == Some(&SqlState::UNIQUE_VIOLATION) =>
        {
            Ok(())
        }
        Err(e) => Err(SetupError::CreateDatabase {
            database,
            reason: e
                .as_db_error()
                .map_or_else(|| e.to_string(), |db| db.message().to_owned()),
        }),
    }
}

/// Quotes an SQL identifier (CREATE DATABASE cannot take a bind parameter).
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Builds the pool. Connections are opened lazily, each with the same timeouts as the first one,
/// and a borrower waits at most the connect timeout for a free one before getting UNAVAILABLE.
pub fn pool(config: &DatabaseConfig) -> Result<PgPool, SetupError> {
    let options = ConnectOptions::new(config, "docket")?;
    let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
    // No test query per checkout (a round trip on every call): a connection whose socket closed,
    // or that was left inside a transaction, is still discarded, and one that died unnoticed fails
    // its first query as UNAVAILABLE, as any query to a dead server would.
    manager_config.recycling_method = RecyclingMethod::Fast;
    manager_config.custom_setup = Box::new(move |_url| {
        let options = options.clone();
        async move {
            let mut conn = options
                .connect()
                .await
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            conn.set_instrumentation(query_timer::QueryTimer::default());
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        config.database_url.clone(),
        manager_config,
    );
    deadpool::Pool::builder(manager)
        .max_size(config.pool_size as usize)
        .wait_timeout(Some(config.connect_timeout))
        .create_timeout(Some(config.connect_timeout))
        .runtime(::deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| SetupError::Pool(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::quote_identifier;

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_identifier("docket"), "\"docket\"");
        assert_eq!(quote_identifier("we\"ird"), "\"we\"\"ird\"");
    }
}

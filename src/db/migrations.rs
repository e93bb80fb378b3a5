//! The embedded migrations and how they are applied: under a PostgreSQL advisory lock, so several
//! Docket instances starting together apply each migration exactly once.

use std::time::Duration;

use diesel::{
    QueryableByName, sql_query,
    sql_types::{BigInt, Bool, Integer, Nullable, Text},
};
use diesel_async::{AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use tokio::time::Instant;

/// Every migration under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Advisory lock key held while migrating ("docket" in ASCII).
pub const MIGRATION_LOCK_KEY: i64 = 0x646f_636b_6574;

/// How often a waiting instance tries the lock again, and how often it says it is still waiting.
const LOCK_RETRY: Duration = Duration::from_millis(500);
const LOCK_WAIT_LOG: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("cannot apply migrations: {0}")]
    Failed(String),
    /// Another session holds the migration lock and the caller asked not to wait for it.
    #[error("another session is migrating the database (it holds the migration lock)")]
    LockHeld,
}

/// Whether to wait for another session's migration lock or give up at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    Block,
    Try,
}

/// Every embedded migration's name, in order (all pending, for a database not created yet).
pub fn all() -> Result<Vec<String>, MigrationError> {
    use diesel::migration::MigrationSource;
    MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map(|all| all.iter().map(|m| m.name().to_string()).collect())
        .map_err(|e| MigrationError::Failed(format!("listing the embedded migrations: {e}")))
}

/// The embedded migrations the database has not applied yet (none if it is ahead of this
/// binary, as an older server finds it during a rollout).
pub async fn pending(mut conn: AsyncPgConnection) -> Result<Vec<String>, MigrationError> {
    // Diesel's harness creates its bookkeeping table when it is missing; a server that does not
    // migrate must change nothing, so a database without it has every migration pending.
    let Bookkeeping { exists } =
        sql_query("SELECT to_regclass('__diesel_schema_migrations') IS NOT NULL AS exists")
            .get_result(&mut conn)
            .await
            .map_err(|e| MigrationError::Failed(format!("reading the applied migrations: {e}")))?;
    if !exists {
        return all();
    }
    let mut harness = AsyncMigrationHarness::new(conn);
    harness
        .pending_migrations(MIGRATIONS)
        .map(|pending| pending.iter().map(|m| m.name().to_string()).collect())
        .map_err(|e| MigrationError::Failed(format!("reading the applied migrations: {e}")))
}

/// Applies pending migrations and returns the versions applied. Needs the multi-thread runtime:
/// diesel's migration harness is synchronous and diesel-async bridges it with `block_in_place`.
///
/// Neither the wait for the lock nor the migrations run under the statement timeout: another
/// instance may be in the middle of a long migration (an index on a large table), and cutting
/// either off would only make this instance fail to start.
pub async fn run_pending(
    mut conn: AsyncPgConnection,
    wait: LockWait,
) -> Result<Vec<String>, MigrationError> {
    conn.batch_execute("SET statement_timeout = 0")
        .await
        .map_err(|e| MigrationError::Failed(format!("setting up the migration session: {e}")))?;
    take_lock(&mut conn, wait).await?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = harness
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
        .map_err(|e| MigrationError::Failed(e.to_string()));
    let mut conn = harness.into_inner();
    // Closing the connection would release the lock too; unlocking keeps the intent explicit.
    let _ = conn
        .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
        .await;
    if let Ok(versions) = &applied {
        for version in versions {
            tracing::info!(version, "applied migration");
        }
    }
    applied
}

#[derive(QueryableByName)]
struct Bookkeeping {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Bool)]
    taken: bool,
}

/// Who holds the migration lock, for the log.
#[derive(QueryableByName, Debug)]
struct Holder {
    #[diesel(sql_type = Integer)]
    pid: i32,
    #[diesel(sql_type = Nullable<Text>)]
    application_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    client_addr: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    connected_for: Option<String>,
}

/// Takes the migration lock, saying while it waits which session holds it.
async fn take_lock(conn: &mut AsyncPgConnection, wait: LockWait) -> Result<(), MigrationError> {
    let failed = |e: diesel::result::Error| {
        MigrationError::Failed(format!("taking the migration lock: {e}"))
    };
    let mut logged: Option<Instant> = None;
    loop {
        let Taken { taken } = sql_query("SELECT pg_try_advisory_lock($1) AS taken")
            .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
            .get_result(conn)
            .await
            .map_err(failed)?;
        if taken {
            if logged.is_some() {
                tracing::info!("took the migration lock");
            }
            return Ok(());
        }
        if wait == LockWait::Try {
            return Err(MigrationError::LockHeld);
        }
        if logged.is_none_or(|at| at.elapsed() >= LOCK_WAIT_LOG) {
            let holder: Option<Holder> = sql_query(
                "SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr, \
                        date_trunc('second', now() - a.backend_start)::text AS connected_for \
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
                   AND ((l.classid::bigint << 32) | l.objid::bigint) = $1",
            )
            .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
            .get_result(conn)
            .await
            .map(Some)
            .or_else(|e| match e {
                diesel::result::Error::NotFound => Ok(None), // released since
                e => Err(failed(e)),
            })?;
            match holder {
                Some(h) => tracing::info!(
                    holder_pid = h.pid,
                    holder_application = h.application_name.as_deref().unwrap_or(""),
                    holder_address = h.client_addr.as_deref().unwrap_or("local socket"),
                    holder_connected_for = h.connected_for.as_deref().unwrap_or(""),
                    "waiting for the migration lock, held by another session (another instance migrating?)"
                ),
                None => tracing::info!("waiting for the migration lock"),
            }
            logged = Some(Instant::now());
        }
        tokio::time::sleep(LOCK_RETRY).await;
    }
}

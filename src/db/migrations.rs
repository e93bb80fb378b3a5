//! The embedded migrations and how they are applied: under a PostgreSQL advisory lock, so several
//! Docket instances starting together apply each migration exactly once.

use diesel_async::{AsyncMigrationHarness, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// Every migration under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Advisory lock key held while migrating ("docket" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x646f_636b_6574;

#[derive(Debug, thiserror::Error)]
#[error("cannot apply migrations: {0}")]
pub struct MigrationError(String);

/// Applies pending migrations and returns the versions applied. Needs the multi-thread runtime:
/// diesel's migration harness is synchronous and diesel-async bridges it with `block_in_place`.
pub async fn run_pending(mut conn: AsyncPgConnection) -> Result<Vec<String>, MigrationError> {
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
        .await
        .map_err(|e| MigrationError(format!("taking the migration lock: {e}")))?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = harness
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
        .map_err(|e| MigrationError(e.to_string()));
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

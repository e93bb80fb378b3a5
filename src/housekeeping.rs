//! The server's housekeeping: every interval, it purges what has outlived its retention (today
//! the request ids CreateTask remembers). Every replica runs it; the database lock in
//! `db::housekeeping` lets one purge at a time, so replicas starting together do the work once.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::db::{
    self, PgPool, Prepared,
    housekeeping::{PURGE_BATCH, Purged},
};

/// What housekeeping keeps and how often it looks.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// How long a CreateTask `request_id` is remembered.
    pub request_ids: Duration,
    /// Time between passes.
    pub interval: Duration,
}

/// Runs a pass every `retention.interval`, the first at once, until `stop`; passes wait until
/// the database has been prepared.
pub async fn run(pool: PgPool, prepared: Prepared, retention: Retention, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(retention.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if prepared.is_done() {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = pass(&pool, retention) => {}
            }
        }
    }
}

/// One pass, logged: what it purged, or why it did not.
pub async fn pass(pool: &PgPool, retention: Retention) -> Option<Purged> {
    let purged = async {
        let mut conn = db::checkout(pool).await?;
        let purged =
            db::housekeeping::expire_request_ids(&mut conn, retention.request_ids, PURGE_BATCH)
                .await?;
        Ok::<_, db::DbError>(purged)
    };
    match purged.await {
        Ok(Purged::Rows(0)) => {
            tracing::debug!("housekeeping: nothing to purge");
            Some(Purged::Rows(0))
        }
        Ok(Purged::Rows(rows)) => {
            tracing::info!(rows, retention = ?retention.request_ids, "housekeeping: purged expired request ids");
            Some(Purged::Rows(rows))
        }
        Ok(Purged::ElsewhereUnderway) => {
            tracing::debug!("housekeeping: another server is purging");
            Some(Purged::ElsewhereUnderway)
        }
        Err(error) => {
            tracing::warn!(%error, "housekeeping: the pass failed; the next one tries again");
            None
        }
    }
}

//! The server's housekeeping: every interval, it purges what has outlived its retention: the
//! request ids CreateTask remembers, the event log, settled timers (scheduled actions), retired
//! SLA policies no task follows, and webhook delivery logs. Every replica runs it; the database lock in
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
    /// How long events are kept.
    pub events: Duration,
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

/// One pass, logged: what it purged, or why it did not. The request ids first, then the events;
/// a pass that finds either underway elsewhere reports that.
pub async fn pass(pool: &PgPool, retention: Retention) -> Option<Purged> {
    let purged = async {
        let mut conn = db::checkout(pool).await?;
        let request_ids =
            db::housekeeping::expire_request_ids(&mut conn, retention.request_ids, PURGE_BATCH)
                .await?;
        report("request ids", request_ids, retention.request_ids);
        let events =
            db::housekeeping::expire_events(&mut conn, retention.events, PURGE_BATCH).await?;
        report("events", events, retention.events);
        // Settled timers go with the events of their age, which tell of them.
        let timers =
            db::housekeeping::expire_timers(&mut conn, retention.events, PURGE_BATCH).await?;
        report("settled timers", timers, retention.events);
        // Retired SLA policies go once no task follows them, after the events of their age.
        let policies =
            db::housekeeping::expire_sla_policies(&mut conn, retention.events, PURGE_BATCH).await?;
        report("retired SLA policies", policies, retention.events);
        let deliveries =
            db::housekeeping::expire_webhook_deliveries(&mut conn, retention.events, PURGE_BATCH)
                .await?;
        report("webhook deliveries", deliveries, retention.events);
        Ok::<_, db::DbError>(match (request_ids, events, timers, policies, deliveries) {
            (
                Purged::Rows(a),
                Purged::Rows(b),
                Purged::Rows(c),
                Purged::Rows(d),
                Purged::Rows(e),
            ) => Purged::Rows(a + b + c + d + e),
            _ => Purged::ElsewhereUnderway,
        })
    };
    match purged.await {
        Ok(purged) => Some(purged),
        Err(error) => {
            tracing::warn!(%error, "housekeeping: the pass failed; the next one tries again");
            None
        }
    }
}

fn report(what: &str, purged: Purged, retention: Duration) {
    match purged {
        Purged::Rows(0) => tracing::debug!(what, "housekeeping: nothing to purge"),
        Purged::Rows(rows) => {
            tracing::info!(what, rows, ?retention, "housekeeping: purged expired rows")
        }
        Purged::ElsewhereUnderway => {
            tracing::debug!(what, "housekeeping: another server is purging")
        }
    }
}

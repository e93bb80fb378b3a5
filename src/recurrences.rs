//! The schedule worker: every server runs one, and every poll interval it runs a pass
//! (`domain::templates::occurrences`) over each template with something to do (an occurrence
//! due to be made, or a release in after-completion mode), until none is left. Like the timer
//! worker it has no leader: servers claim templates with `FOR UPDATE SKIP LOCKED`-style locks
//! and the database's unique keys make each occurrence once, so any number of servers, killed
//! at any moment, make every occurrence exactly once.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::db::{self, DbError, PgPool, Prepared, templates};
use crate::domain::templates::occurrences;
use crate::metrics::TimerMetrics;

/// Templates one look takes up at most.
const PER_LOOK: i64 = 64;

/// Runs passes every `poll` until `stop`, once the database has been prepared.
pub async fn run(
    pool: PgPool,
    prepared: Prepared,
    poll: Duration,
    metrics: TimerMetrics,
    stop: CancellationToken,
) {
    loop {
        let jitter = 0.8 + 0.4 * f64::from(getrandom::u32().unwrap_or(0)) / f64::from(u32::MAX);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(poll.mul_f64(jitter)) => {}
        }
        if !prepared.is_done() {
            continue;
        }
        loop {
            let more = tokio::select! {
                _ = stop.cancelled() => return,
                more = look(&pool, &metrics) => more,
            };
            match more {
                Ok(true) => continue,
                Ok(false) => break,
                Err(error) => {
                    tracing::warn!(%error, "recurrences: a look for due schedules failed; the next one tries again");
                    break;
                }
            }
        }
    }
}

/// One look: a pass over each template with something to do; whether to look again at once (a
/// full look that got somewhere).
async fn look(pool: &PgPool, metrics: &TimerMetrics) -> Result<bool, DbError> {
    let mut conn = db::checkout(pool).await?;
    let due = templates::due(&mut conn, PER_LOOK).await?;
    let mut progressed = false;
    for template in &due {
        match occurrences::run_due(&mut conn, template.workspace_id, template.id).await {
            Ok(pass) => {
                progressed |= pass.made + pass.missed > 0;
                metrics
                    .occurrences
                    .with_label_values(&["made"])
                    .inc_by(pass.made as u64);
                metrics
                    .occurrences
                    .with_label_values(&["missed"])
                    .inc_by(pass.missed as u64);
            }
            Err(error) => {
                tracing::warn!(%error, template = %template.id, "recurrences: a pass failed; the next look tries again");
            }
        }
    }
    Ok(due.len() as i64 >= PER_LOOK && progressed)
}

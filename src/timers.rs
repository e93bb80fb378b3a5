//! The timer worker: every server runs one, and every poll interval it fires the timers that are
//! due (`domain::timers::fire`), until none is left, then waits for the next poll. There is no
//! leader and no distributed lock: the servers claim timers with `FOR UPDATE SKIP LOCKED`, and a
//! timer is settled in the transaction that does its action, so each action happens once however
//! many servers run, and a server killed midway leaves its timers due for the others.
//!
//! Why not a job-queue crate: the PostgreSQL queues for Rust (apalis' postgres backend, underway,
//! graphile_worker) run on sqlx, a second database driver beside diesel-async with its own pool,
//! TLS set-up and error mapping; fang is on diesel but synchronous and without a release since
//! 2023; backie (diesel-async) claims, runs and completes a job in separate steps, so a crash
//! between the action and the completion repeats the action. What a timer needs is narrower and
//! stricter than a job queue: the effect, the timer's settling and the events in one transaction
//! of Docket's own, which a table, two partial indexes and `SKIP LOCKED` give in a few hundred
//! lines (`db::timers` says how a tick stays O(due timers) and shares a backlog across
//! workspaces).

use std::time::Duration;

use futures_util::{StreamExt, stream};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::{self, DbError, Failure, PgPool, Prepared, timers};
use crate::domain::{DomainError, timers::fire};
use crate::metrics::TimerMetrics;

/// How the worker runs.
#[derive(Debug, Clone, Copy)]
pub struct TimerConfig {
    /// Time between looks for due timers (each server, with a jitter of a fifth either way).
    pub poll: Duration,
    /// Timers one transaction fires at most; also how many due timers a look reads.
    pub batch: i64,
    /// Workspaces fired at once, each on a connection of its own.
    pub concurrency: usize,
}

/// Workspaces one look shares a backlog among; more wait for the next look, in turn.
const WORKSPACES_PER_TICK: i64 = 256;
/// The fewest timers of one workspace a look fires when a backlog is shared out.
const LEAST_SHARE: i64 = 16;
/// Attempts at a timer whose action fails before it is settled FAILED.
const ATTEMPTS: i32 = 5;

/// Fires due timers every `config.poll` until `stop`, once the database has been prepared.
pub async fn run(
    pool: PgPool,
    prepared: Prepared,
    config: TimerConfig,
    metrics: TimerMetrics,
    stop: CancellationToken,
) {
    let mut after = Uuid::nil();
    loop {
        // Servers started together drift apart, rather than look at the same moments.
        let jitter = 0.8 + 0.4 * f64::from(getrandom::u32().unwrap_or(0)) / f64::from(u32::MAX);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(config.poll.mul_f64(jitter)) => {}
        }
        if !prepared.is_done() {
            continue;
        }
        // A full look means more is due: look again at once, until a look comes back short.
        loop {
            let more = tokio::select! {
                _ = stop.cancelled() => return,
                more = tick(&pool, &config, &metrics, &mut after) => more,
            };
            match more {
                Ok(true) => continue,
                Ok(false) => break,
                Err(error) => {
                    tracing::warn!(%error, "timers: a look for due timers failed; the next one tries again");
                    break;
                }
            }
        }
    }
}

/// One look: finds what is due, fires it, and says whether to look again at once: more was due
/// than one look takes, and this one got somewhere (timers whose tasks other transactions hold are
/// left for the next poll, not looked at again and again meanwhile).
async fn tick(
    pool: &PgPool,
    config: &TimerConfig,
    metrics: &TimerMetrics,
    after: &mut Uuid,
) -> Result<bool, DbError> {
    metrics.looks.inc();
    let mut conn = db::checkout(pool).await?;
    let sample = timers::due_sample(&mut conn, config.batch).await?;
    if sample.is_empty() {
        return Ok(false);
    }
    let backlog = sample.len() as i64 >= config.batch;
    let shares: Vec<(Uuid, i64)> = if backlog {
        // Shared out, so that one workspace's storm does not hold back another's timer.
        // In turn: those after the last one served, then, wrapping round, those up to it.
        let mut workspaces = timers::due_workspaces(&mut conn, *after, WORKSPACES_PER_TICK).await?;
        if (workspaces.len() as i64) < WORKSPACES_PER_TICK && *after != Uuid::nil() {
            let rest = WORKSPACES_PER_TICK - workspaces.len() as i64;
            let wrapped = timers::due_workspaces(&mut conn, Uuid::nil(), rest).await?;
            workspaces.extend(wrapped.into_iter().filter(|w| w <= after));
        }
        *after = workspaces.last().copied().unwrap_or_else(Uuid::nil);
        let share = (config.batch / workspaces.len().max(1) as i64).max(LEAST_SHARE);
        workspaces.into_iter().map(|w| (w, share)).collect()
    } else {
        let mut workspaces = sample;
        workspaces.sort();
        workspaces.dedup();
        workspaces.into_iter().map(|w| (w, config.batch)).collect()
    };
    drop(conn);
    let settled: Vec<usize> = stream::iter(shares)
        .map(|(workspace_id, share)| fire_workspace(pool, metrics, workspace_id, share))
        .buffer_unordered(config.concurrency.max(1))
        .collect()
        .await;
    Ok(backlog && settled.iter().sum::<usize>() > 0)
}

/// Fires up to `share` of the workspace's due timers in one transaction; if that fails, one at
/// a time, so that one timer whose action fails cannot hold back the others. Returns how many
/// timers it settled.
async fn fire_workspace(
    pool: &PgPool,
    metrics: &TimerMetrics,
    workspace_id: Uuid,
    share: i64,
) -> usize {
    let Ok(mut conn) = db::checkout(pool).await else {
        return 0;
    };
    let error = match fire::fire_due(&mut conn, workspace_id, share, None).await {
        Ok(fired) => return record(metrics, &fired),
        Err(error) => error,
    };
    if !is_the_timers_fault(&error) {
        tracing::debug!(%error, %workspace_id, "timers: a batch did not commit; the next look tries again");
        return 0;
    }
    tracing::warn!(%error, %workspace_id, "timers: a batch failed; firing its timers one at a time");
    let Ok(ids) = timers::due_ids(&mut conn, workspace_id, share).await else {
        return 0;
    };
    let mut settled = 0;
    for id in ids {
        match fire::fire_due(&mut conn, workspace_id, 1, Some(id)).await {
            Ok(fired) => settled += record(metrics, &fired),
            Err(error) if is_the_timers_fault(&error) => {
                let why = error.to_string();
                match timers::attempt_failed(&mut conn, workspace_id, id, &why, ATTEMPTS).await {
                    Ok(state) => {
                        tracing::warn!(%error, timer = %id, ?state, "timers: an action failed")
                    }
                    Err(error) => {
                        tracing::warn!(%error, timer = %id, "timers: cannot record a failed attempt")
                    }
                }
            }
            Err(_) => return settled,
        }
    }
    settled
}

/// Whether the failure is the timer's own (its action broke a rule or a constraint), rather than
/// the database's state (unreachable, a conflict with another transaction), which passes.
fn is_the_timers_fault(error: &DomainError) -> bool {
    match error {
        DomainError::Db(e) => e.failure() == Failure::Fault,
        _ => true,
    }
}

/// Counts what a firing settled in the metrics; returns how many.
fn record(metrics: &TimerMetrics, fired: &fire::Fired) -> usize {
    for (timer, state, lateness) in &fired.settled {
        let action = timer.action.as_str();
        metrics
            .settled
            .with_label_values(&[action, state.as_str()])
            .inc();
        metrics
            .lateness
            .with_label_values(&[action])
            .observe(*lateness);
    }
    fired.settled.len()
}

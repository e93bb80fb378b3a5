//! One server's delivery of one subscription it holds the lease of. Events are read ahead of
//! the cursor (up to a window of events and bytes) and queued by lane, one lane per task (or
//! template): a lane sends its events one at a time, in order, and up to the subscription's
//! concurrency lanes send at once, so a slow or failing task holds back only itself. A failed
//! send waits out its back-off in its lane while the others go on. The cursor moves over every
//! event delivered (or not for this subscription); the positions delivered beyond it are kept
//! beside it, so a server taking over sends no gap and, save what was in flight, no duplicate.
//! `run` holds that state; this module does the I/O.

mod run;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::{
    task::JoinSet,
    time::{Duration, Instant},
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    WebhookError, Webhooks,
    lease::{self, Claimed},
    model::Webhook,
    secrets::Secret,
    send::Message,
    store,
};
use crate::db::{self, PgPool};
use crate::domain::vocabulary::WebhookState;
use crate::events::{Position, log, watch::WatchFilter};
use run::{Run, Sent};

/// Events one read takes.
const PAGE: i64 = 256;
/// How often the cursor is written and the lease renewed.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// How often a run looks for new events once it has read all there were.
const READ_POLL: Duration = Duration::from_millis(50);

/// What a step of the delivery leads to.
enum Next {
    Go,
    /// The lease is given up, lost, or the subscription settled.
    Stop,
}

/// A subscription held under this server's lease, and its delivery's state.
struct Lease {
    hooks: Arc<Webhooks>,
    pool: PgPool,
    server: Uuid,
    webhook: Webhook,
    secrets: Vec<Secret>,
    filter: WatchFilter,
    run: Run,
    sending: JoinSet<Sent>,
    checkpointed: Instant,
    read_at: Instant,
}

/// Delivers `claimed` until it is caught up and idle, backing off for long, lost, settled, or
/// `stop`. Its lease is given up (or lost) when this returns.
pub(super) async fn deliver(
    hooks: Arc<Webhooks>,
    pool: PgPool,
    server: Uuid,
    claimed: Claimed,
    stop: CancellationToken,
) -> Result<(), WebhookError> {
    let webhook = claimed.webhook;
    let secrets = claimed
        .secrets
        .signing_at(Utc::now())
        .iter()
        .map(|sealed| hooks.keys.open(webhook.workspace_id, webhook.id, sealed))
        .collect::<Result<Vec<Secret>, _>>()?;
    let mut lease = Lease {
        filter: webhook.filter(),
        run: Run::new(&webhook),
        hooks,
        pool,
        server,
        webhook,
        secrets,
        sending: JoinSet::new(),
        checkpointed: Instant::now(),
        read_at: Instant::now(),
    };
    while let Next::Go = lease.step(&stop).await? {}
    Ok(())
}

impl Lease {
    /// Reads what is due, starts what may go, waits for an answer or a timer, and writes where
    /// it stands when that is due.
    async fn step(&mut self, stop: &CancellationToken) -> Result<Next, WebhookError> {
        if let Next::Stop = self.read().await? {
            return Ok(Next::Stop);
        }
        self.start_ready();
        if self.sending.is_empty() {
            if let Some(next) = self.run.give_up() {
                self.save(Some(next)).await?;
                return Ok(Next::Stop);
            }
        } else {
            self.run.busy_now();
        }
        // A lane that may send wakes the run only if a request may start (otherwise the next
        // answer does): waking for it would spin.
        // Likewise the next read, only if there is room to read into.
        let room = self.sending.len() < self.hooks.settings.concurrency;
        let readable = self.run.room(self.hooks.settings.inflight_bytes);
        let wake = [
            Some(self.checkpointed + CHECKPOINT_EVERY),
            Some(self.read_at + READ_POLL).filter(|_| readable),
            self.run.soonest().filter(|_| room),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(Instant::now);
        let sending = !self.sending.is_empty();
        let sent = tokio::select! {
            _ = stop.cancelled() => None,
            sent = self.sending.join_next(), if sending => sent.and_then(Result::ok),
            _ = tokio::time::sleep_until(wake) => None,
        };
        if let Some(sent) = sent {
            self.hooks.metrics.attempt(&sent.outcome);
            if let Some(at) = self.run.settle(sent) {
                self.hooks.metrics.delivered(at, Utc::now());
            }
        }
        if stop.is_cancelled() {
            self.save(Some(Utc::now())).await?;
            return Ok(Next::Stop);
        }
        let period = chrono::Duration::from_std(self.hooks.settings.retry_period)
            .unwrap_or(chrono::Duration::MAX);
        if self
            .run
            .failing_since
            .is_some_and(|since| Utc::now() - since > period)
        {
            self.fail().await?;
            return Ok(Next::Stop);
        }
        if self.checkpointed.elapsed() >= CHECKPOINT_EVERY && !self.save(None).await? {
            return Ok(Next::Stop); // Lost: another server, or a caller's change, has it now.
        }
        Ok(Next::Go)
    }

    /// Reads the next page after what was read, if it is time to and there is room; a
    /// subscription whose next events are no longer kept is settled EXPIRED.
    async fn read(&mut self) -> Result<Next, WebhookError> {
        if self.run.caught_up && self.read_at.elapsed() >= READ_POLL {
            self.run.caught_up = false;
        }
        if self.run.caught_up || !self.run.room(self.hooks.settings.inflight_bytes) {
            return Ok(Next::Go);
        }
        self.read_at = Instant::now();
        let before = self.run.read_to;
        let workspace = self.webhook.workspace_id;
        let mut conn = db::checkout(&self.pool).await?;
        let events = log::read_after(
            &mut conn,
            workspace,
            Position::new(before),
            Position::new(i64::MAX),
            PAGE,
        )
        .await?;
        // Positions have no gaps: a page that does not start right after, or a horizon past
        // what was read, means the events were purged.
        let purged = match events.first() {
            Some(first) => first.position.number() > before + 1,
            None => log::bounds(&mut conn, workspace).await?.horizon().number() > before,
        };
        drop(conn);
        if purged {
            let reason = format!(
                "events after position {} are no longer kept; replay from oldest_replay_position or later",
                Position::new(before)
            );
            self.settle(WebhookState::Expired, &reason, Value::Null)
                .await?;
            return Ok(Next::Stop);
        }
        self.run.caught_up = (events.len() as i64) < PAGE;
        let render = self.hooks.render.clone();
        self.run.take(events, &self.filter, |event| render(event));
        // A caller's change since the claim (new settings, a new secret, a pause) has dropped
        // the lease: what was just read is then sent under the new settings, by a new run.
        if self.run.read_to > before && !self.save(None).await? {
            return Ok(Next::Stop);
        }
        Ok(Next::Go)
    }

    /// Starts the head of every lane that is due and idle, up to the concurrency.
    fn start_ready(&mut self) {
        let now = Instant::now();
        let concurrency = self.hooks.settings.concurrency;
        for (lane, queue) in &self.run.lanes {
            if self.sending.len() >= concurrency {
                return;
            }
            let Some(head) = queue.front() else { continue };
            if self.run.busy.contains(lane) || head.not_before > now {
                continue;
            }
            self.run.busy.insert(*lane);
            let (hooks, url, lane) = (self.hooks.clone(), self.webhook.url.clone(), *lane);
            let (id, body, secrets) = (
                head.position.to_string(),
                head.body.clone(),
                self.secrets.clone(),
            );
            self.sending.spawn(async move {
                let started = Utc::now();
                let message = Message {
                    id: &id,
                    body,
                    secrets: secrets.iter().collect(),
                };
                let outcome = hooks.sender.send(&url, message).await;
                Sent {
                    lane,
                    started,
                    outcome,
                }
            });
        }
    }

    /// Writes the log and where the run stands, renewing the lease or, with `release`, giving
    /// it up until then; whether the lease was still this server's.
    async fn save(&mut self, release: Option<DateTime<Utc>>) -> Result<bool, WebhookError> {
        self.checkpointed = Instant::now();
        let mut conn = db::checkout(&self.pool).await?;
        let (workspace, id) = (self.webhook.workspace_id, self.webhook.id);
        store::record(&mut conn, workspace, id, &std::mem::take(&mut self.run.log)).await?;
        let progress = self.run.progress(release.unwrap_or_else(Utc::now));
        let lease_for = self.hooks.settings.lease;
        Ok(lease::checkpoint(
            &mut conn,
            &self.webhook,
            self.server,
            &progress,
            lease_for,
            release.is_some(),
        )
        .await?)
    }

    /// Writes the log and settles the subscription in `state`.
    async fn settle(
        &mut self,
        state: WebhookState,
        reason: &str,
        details: Value,
    ) -> Result<bool, WebhookError> {
        let mut conn = db::checkout(&self.pool).await?;
        let (workspace, id) = (self.webhook.workspace_id, self.webhook.id);
        store::record(&mut conn, workspace, id, &std::mem::take(&mut self.run.log)).await?;
        let progress = self.run.progress(Utc::now());
        Ok(lease::settle(
            &mut conn,
            &self.webhook,
            self.server,
            &progress,
            state,
            reason,
            details,
        )
        .await?)
    }

    /// Pauses the subscription as FAILING: its retry period passed without a success.
    async fn fail(&mut self) -> Result<(), WebhookError> {
        let last_error = self.run.last_error.clone();
        let since = self
            .run
            .failing_since
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        let attempts = self.run.attempts;
        let reason = format!(
            "no delivery succeeded since {since} ({attempts} attempts; last: {last_error}); resume to carry on from position {}",
            Position::new(self.run.cursor)
        );
        let details = serde_json::json!({
            "url": self.webhook.url, "failing_since": since, "attempts": attempts, "last_error": last_error,
        });
        if self.settle(WebhookState::Failing, &reason, details).await? {
            self.hooks.metrics.failing.inc();
            let (webhook, workspace) = (self.webhook.id, self.webhook.workspace_id);
            tracing::warn!(%webhook, %workspace, %reason, "webhooks: a subscription is FAILING and paused");
        }
        Ok(())
    }
}

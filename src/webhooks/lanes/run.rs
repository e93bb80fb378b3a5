//! Where one leased delivery stands, with no I/O: the cursor and the positions done beyond it,
//! the lanes of events waiting (one per task), and what each answer does to them.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use tokio::time::{Duration, Instant};
use uuid::Uuid;

use super::super::{
    lease::Progress,
    model::{NewDelivery, Webhook},
    retry,
    send::Outcome,
};
use crate::domain::vocabulary::DeliveryPurpose;
use crate::events::{Event, Position, watch::WatchFilter};

/// Events read ahead of the cursor at most (which bounds `delivered_ahead` too).
pub(super) const WINDOW: i64 = 2048;
/// A back-off longer than this is waited out with the lease given up.
const HOLD_BACKOFF: Duration = Duration::from_secs(5);
/// How long a caught-up run keeps its lease, looking for new events, before giving it up.
const IDLE_HOLD: Duration = Duration::from_secs(2);

/// An event waiting in its lane.
pub(super) struct Pending {
    pub position: Position,
    pub at: DateTime<Utc>,
    pub body: bytes::Bytes,
    /// The number of the next attempt at it.
    pub attempt: i32,
    pub not_before: Instant,
}

/// What one send came back with.
pub(super) struct Sent {
    pub lane: Uuid,
    pub started: DateTime<Utc>,
    pub outcome: Outcome,
}

/// A run's state: the cursor and what lies ahead of it.
pub(super) struct Run {
    pub cursor: i64,
    pub read_to: i64,
    /// Positions above the cursor delivered, or not for this subscription.
    done: BTreeSet<i64>,
    pub lanes: HashMap<Uuid, VecDeque<Pending>>,
    pub busy: HashSet<Uuid>,
    pub bytes: usize,
    pub attempts: i32,
    pub failing_since: Option<DateTime<Utc>>,
    last_success_at: Option<DateTime<Utc>>,
    /// Attempts not yet written to the delivery log.
    pub log: Vec<NewDelivery>,
    /// Whether the last read found everything there was.
    pub caught_up: bool,
    /// How the latest failed attempt went, for a FAILING subscription's reason.
    pub last_error: String,
    idle_since: Option<Instant>,
}

/// The lane an event goes in: its task, or its template, or its subscription.
fn lane_of(event: &Event) -> Uuid {
    event
        .task_id
        .or(event.template_id)
        .or(event.webhook_id)
        .unwrap_or_default()
}

impl Run {
    pub fn new(webhook: &Webhook) -> Self {
        Self {
            cursor: webhook.position().number(),
            read_to: webhook.position().number(),
            done: webhook.delivered_ahead.iter().copied().collect(),
            lanes: HashMap::new(),
            busy: HashSet::new(),
            bytes: 0,
            attempts: webhook.attempts,
            failing_since: webhook.failing_since,
            last_success_at: webhook.last_success_at,
            log: Vec::new(),
            caught_up: false,
            last_error: String::new(),
            idle_since: None,
        }
    }

    /// Where it stands, to come back at `next_attempt_at` once the lease is given up.
    pub fn progress(&self, next_attempt_at: DateTime<Utc>) -> Progress {
        Progress {
            position: self.cursor,
            delivered_ahead: self.done.iter().copied().collect(),
            attempts: self.attempts,
            failing_since: self.failing_since,
            last_success_at: self.last_success_at,
            next_attempt_at,
        }
    }

    fn advance(&mut self) {
        while self.done.remove(&(self.cursor + 1)) {
            self.cursor += 1;
        }
    }

    /// Whether more may be read ahead.
    pub fn room(&self, max_bytes: usize) -> bool {
        self.read_to - self.cursor < WINDOW && self.bytes < max_bytes
    }

    /// When the soonest lane with nothing in flight may send.
    pub fn soonest(&self) -> Option<Instant> {
        self.lanes
            .iter()
            .filter(|(lane, _)| !self.busy.contains(lane))
            .filter_map(|(_, queue)| queue.front())
            .map(|p| p.not_before)
            .min()
    }

    /// Takes a page read after `read_to` (each event's body rendered by `render`) into the
    /// lanes; events done already, or not for `filter`, are passed over.
    pub fn take(
        &mut self,
        events: Vec<Event>,
        filter: &WatchFilter,
        render: impl Fn(&Event) -> Vec<u8>,
    ) {
        for event in events {
            let position = event.position.number();
            self.read_to = position;
            if self.done.contains(&position) {
                continue;
            }
            if !filter.matches(&event) {
                self.done.insert(position);
                continue;
            }
            let body = bytes::Bytes::from(render(&event));
            self.bytes += body.len();
            self.lanes
                .entry(lane_of(&event))
                .or_default()
                .push_back(Pending {
                    position: event.position,
                    at: event.at,
                    body,
                    attempt: 1,
                    not_before: Instant::now(),
                });
        }
        self.advance();
    }

    /// When a run with nothing in flight gives up its lease, and when to come back: once caught
    /// up and idle for a while, or when every lane waits out a long back-off (a receiver that is
    /// down does not hold a server's slot meanwhile).
    pub fn give_up(&mut self) -> Option<DateTime<Utc>> {
        let now = Instant::now();
        match self.soonest() {
            Some(soonest) => {
                self.idle_since = None;
                let wait = soonest.saturating_duration_since(now);
                (wait > HOLD_BACKOFF)
                    .then(|| Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default())
            }
            None if self.caught_up => {
                let since = *self.idle_since.get_or_insert(now);
                (since.elapsed() >= IDLE_HOLD).then(Utc::now)
            }
            None => None,
        }
    }

    /// Something is in flight: the run is not idle.
    pub fn busy_now(&mut self) {
        self.idle_since = None;
    }

    /// Takes in how a send went: the lane moves on, or backs off by its event's own count of
    /// failures (another task's success says nothing of this one's). The event's commit time,
    /// for the lag, if it was delivered.
    pub fn settle(&mut self, sent: Sent) -> Option<DateTime<Utc>> {
        self.busy.remove(&sent.lane);
        let queue = self.lanes.get_mut(&sent.lane)?;
        let head = queue.front_mut()?;
        let now = Utc::now();
        let succeeded = sent.outcome.succeeded();
        let mut next_attempt_at = None;
        if succeeded {
            self.attempts = 0;
            self.failing_since = None;
            self.last_success_at = Some(now);
        } else {
            self.attempts = self.attempts.saturating_add(1);
            self.failing_since.get_or_insert(sent.started);
            let failures = u32::try_from(head.attempt).unwrap_or(u32::MAX);
            let wait = retry::wait(failures, sent.outcome.retry_after);
            head.not_before = Instant::now() + wait;
            next_attempt_at = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
            self.last_error = match sent.outcome.status {
                Some(status) => format!("HTTP {status}"),
                None => sent.outcome.error.clone(),
            };
        }
        let at = head.at;
        self.log.push(NewDelivery {
            position: Some(head.position),
            purpose: DeliveryPurpose::Event,
            attempt: head.attempt,
            at: sent.started,
            outcome: sent.outcome,
            next_attempt_at,
        });
        if !succeeded {
            head.attempt += 1;
            return None;
        }
        if let Some(done) = queue.pop_front() {
            self.bytes = self.bytes.saturating_sub(done.body.len());
            self.done.insert(done.position.number());
        }
        if queue.is_empty() {
            self.lanes.remove(&sent.lane);
        }
        self.advance();
        Some(at)
    }
}

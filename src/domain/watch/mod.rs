//! Watching tasks (WatchTasks): every event a caller may see, from a position on, in commit
//! order, with no gap and no duplicate across reconnects.
//!
//! Each server has one [`Hub`]. It listens on one connection of its own for the NOTIFY that
//! servers send when they have written events (`db::event_signal`), reads the new events of all
//! workspaces once (`db::events::read_after`, which never moves past an event still to commit),
//! and hands each to the watchers it matches, in memory. A watcher that resumes from an older
//! position reads what it missed from the database first (`stream`), then joins. Each watcher
//! has a bounded queue: one that cannot keep up is cut off, and resumes from the last position it
//! received. The hub also reads on a timer, so a lost NOTIFY or a listener reconnecting delays
//! events but never loses them.

mod stream;

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use diesel_async::AsyncPgConnection;
use futures_util::{FutureExt, StreamExt};
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use stream::{WatchItem, WatchRequest, WatchScope, watch};

use crate::{
    db::{
        ConnectOptions, DbError, PgPool, checkout, deadline,
        enums::EventKind,
        events::{self, EventRow, Position},
    },
    domain::DomainError,
};

/// Events one hub read takes at most; it reads again until it has all.
const READ_BATCH: i64 = 1_000;

/// The longest a hub read may take: a hung database must not stall the hub for good.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How the hub and its watchers are sized and paced.
#[derive(Debug, Clone, Copy)]
pub struct WatchConfig {
    /// Events a watcher may have waiting before it is cut off.
    pub queue: usize,
    /// How often an idle watcher gets a progress message; the hub also reads this often.
    pub progress_every: Duration,
}

/// Which events one watcher wants.
#[derive(Debug, Clone)]
pub struct WatchFilter {
    pub workspace_id: Uuid,
    /// `Some(key)`: only events whose audience names this actor; `None`: the whole workspace.
    pub audience: Option<String>,
    /// Only these tasks (`None`: every task).
    pub task_ids: Option<HashSet<Uuid>>,
    /// Only these kinds (`None`: every kind).
    pub kinds: Option<HashSet<EventKind>>,
}

impl WatchFilter {
    pub fn matches(&self, event: &EventRow) -> bool {
        event.workspace_id == self.workspace_id
            && self
                .audience
                .as_ref()
                .is_none_or(|key| event.audience.iter().any(|k| k == key))
            && self
                .task_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&event.task_id))
            && self
                .kinds
                .as_ref()
                .is_none_or(|kinds| kinds.contains(&event.kind))
    }
}

/// One server's watch hub: clone it freely.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
    config: WatchConfig,
}

struct Shared {
    registry: Mutex<Registry>,
    /// Every event up to here has been handed to the watchers it matches.
    line: watch::Sender<Position>,
    /// The hub has stopped (the server is shutting down).
    stopped: AtomicBool,
    pool: PgPool,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    /// Where the hub has read to (the line, under the lock that registration takes).
    read_to: Position,
    /// Whether the hub has read once: before, `read_to` means nothing.
    started: bool,
    by_workspace: HashMap<Uuid, Vec<Watcher>>,
}

struct Watcher {
    id: u64,
    filter: Arc<WatchFilter>,
    queue: mpsc::Sender<EventRow>,
    cut_off: Arc<AtomicBool>,
}

/// A watcher's place in the hub: its queue, and where the hub stood when it joined. Leaving
/// (dropping it) takes the watcher out.
struct Registration {
    id: u64,
    workspace_id: Uuid,
    queue: mpsc::Receiver<EventRow>,
    cut_off: Arc<AtomicBool>,
    joined_at: Position,
    shared: Arc<Shared>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut registry = lock(&self.shared.registry);
        if let Some(watchers) = registry.by_workspace.get_mut(&self.workspace_id) {
            watchers.retain(|w| w.id != self.id);
            if watchers.is_empty() {
                registry.by_workspace.remove(&self.workspace_id);
            }
        }
    }
}

fn lock(registry: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    // The registry holds no invariant a panic mid-update could break beyond one watcher.
    registry
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Hub {
    /// Starts the server's hub; it listens and reads until `stop`.
    pub fn start(
        pool: PgPool,
        listener: ConnectOptions,
        config: WatchConfig,
        stop: CancellationToken,
    ) -> Self {
        let (line, _) = watch::channel(Position::default());
        let shared = Arc::new(Shared {
            registry: Mutex::new(Registry::default()),
            line,
            stopped: AtomicBool::new(false),
            pool,
        });
        tokio::spawn(run(shared.clone(), listener, config, stop));
        Self { shared, config }
    }

    /// Joins the hub; `None` until the hub has read once (it reads as soon as it can reach the
    /// database).
    fn register(&self, filter: WatchFilter) -> Option<Registration> {
        let (sender, queue) = mpsc::channel(self.config.queue);
        let cut_off = Arc::new(AtomicBool::new(false));
        let mut registry = lock(&self.shared.registry);
        if !registry.started {
            return None;
        }
        registry.next_id += 1;
        let id = registry.next_id;
        let workspace_id = filter.workspace_id;
        registry
            .by_workspace
            .entry(workspace_id)
            .or_default()
            .push(Watcher {
                id,
                filter: Arc::new(filter),
                queue: sender,
                cut_off: cut_off.clone(),
            });
        Some(Registration {
            id,
            workspace_id,
            queue,
            cut_off,
            joined_at: registry.read_to,
            shared: self.shared.clone(),
        })
    }
}

async fn run(
    shared: Arc<Shared>,
    options: ConnectOptions,
    config: WatchConfig,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    while !stop.is_cancelled() {
        match listen(&shared, &options, config, &stop).await {
            Ok(()) => break,
            Err(error) => {
                tracing::warn!(%error, ?backoff, "watch hub: the listener failed; reconnecting");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
    shared.stopped.store(true, Ordering::SeqCst);
    // Watchers see their queues close and end.
    lock(&shared.registry).by_workspace.clear();
}

/// Listens on a connection of its own and reads on every NOTIFY and every tick, until `stop`
/// (`Ok`) or the connection fails (why, to log).
async fn listen(
    shared: &Shared,
    options: &ConnectOptions,
    config: WatchConfig,
    stop: &CancellationToken,
) -> Result<(), String> {
    let mut conn: AsyncPgConnection = options.connect().await.map_err(|e| e.to_string())?;
    events::listen(&mut conn).await.map_err(|e| e.to_string())?;
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    let mut ticks = tokio::time::interval(config.progress_every.min(Duration::from_secs(1)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticked = true;
    loop {
        // Read first: whatever came while (re)connecting is read now. With no watcher, only the
        // ticks move the line, and the hub reads no events.
        let idle = lock(&shared.registry).by_workspace.is_empty();
        let outcome = if idle && started(shared) {
            if ticked {
                skip_ahead(shared).await
            } else {
                Ok(())
            }
        } else {
            read_new(shared).await
        };
        if let Err(error) = outcome {
            tracing::warn!(%error, "watch hub: could not read new events; retrying");
        }
        ticked = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = ticks.tick() => true,
            note = notifications.next() => match note {
                Some(Ok(_)) => {
                    // One read serves every NOTIFY that has arrived.
                    while let Some(Some(Ok(_))) = notifications.next().now_or_never() {}
                    false
                }
                Some(Err(error)) => return Err(error.to_string()),
                None => return Err("the listening connection closed".into()),
            },
        };
    }
}

/// The position a watch from now starts at: the database's line, below which every change has
/// committed (ListTasks hands it out, taken before its first page).
pub async fn now(pool: &PgPool) -> Result<Position, DomainError> {
    let read = async {
        let mut conn = checkout(pool).await?;
        Ok::<_, DbError>(events::line(&mut conn).await?)
    };
    Ok(deadline::within(Instant::now() + READ_TIMEOUT, read)
        .await
        .map_err(DbError::from)??)
}

fn started(shared: &Shared) -> bool {
    lock(&shared.registry).started
}

/// With no watcher to hand them to, moves past the events up to the line without reading them;
/// a watcher that joins later reads what it needs from there. Were one to join meanwhile, the
/// hub reads instead, so none misses an event.
async fn skip_ahead(shared: &Shared) -> Result<(), String> {
    let line = async {
        let mut conn = checkout(&shared.pool).await?;
        Ok::<_, DbError>(events::line(&mut conn).await?)
    };
    let line = match tokio::time::timeout(READ_TIMEOUT, line).await {
        Ok(line) => line.map_err(|e| e.to_string())?,
        Err(_) => return Err(format!("no answer within {READ_TIMEOUT:?}")),
    };
    let skipped = {
        let mut registry = lock(&shared.registry);
        let idle = registry.by_workspace.is_empty();
        if idle {
            registry.read_to = registry.read_to.max(line);
        }
        idle.then_some(registry.read_to)
    };
    match skipped {
        Some(read_to) => {
            shared.line.send_replace(read_to);
            Ok(())
        }
        None => read_new(shared).await,
    }
}

/// Reads every event up to the line and hands each to its watchers.
async fn read_new(shared: &Shared) -> Result<(), String> {
    let read = async {
        let mut conn = checkout(&shared.pool).await?;
        loop {
            let (read_to, started) = {
                let registry = lock(&shared.registry);
                (registry.read_to, registry.started)
            };
            let after = if started {
                read_to
            } else {
                // The first read starts from now: older events are read by watchers that ask.
                let now = events::line(&mut conn).await?;
                let mut registry = lock(&shared.registry);
                registry.read_to = now;
                registry.started = true;
                now
            };
            let (events, next) =
                events::read_after(&mut conn, None, after, None, READ_BATCH).await?;
            let full = events.len() as i64 == READ_BATCH;
            dispatch(shared, events, next);
            if !full {
                return Ok::<_, DbError>(());
            }
        }
    };
    match tokio::time::timeout(READ_TIMEOUT, read).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {READ_TIMEOUT:?}")),
    }
}

/// Hands the events to the watchers they match; a watcher whose queue is full is cut off.
fn dispatch(shared: &Shared, events: Vec<EventRow>, next: Position) {
    let mut registry = lock(&shared.registry);
    for event in events {
        let Some(watchers) = registry.by_workspace.get_mut(&event.workspace_id) else {
            continue;
        };
        watchers.retain(|watcher| {
            if !watcher.filter.matches(&event) {
                return !watcher.queue.is_closed();
            }
            match watcher.queue.try_send(event.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    watcher.cut_off.store(true, Ordering::SeqCst);
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }
    registry.read_to = registry.read_to.max(next);
    let line = registry.read_to;
    drop(registry);
    shared.line.send_replace(line);
}

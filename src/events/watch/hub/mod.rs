//! One server's watch hub: one reader of the event log for all of the server's watchers.
//!
//! The hub follows each workspace that has a watcher on this server (a [`Feed`]): it listens on
//! a connection of its own for the NOTIFYs servers send when they have written events
//! (`events::signal`, naming the workspaces), reads the new events of those workspaces in one
//! statement, and hands each to the watchers it matches, in memory, shared (`Arc`). It also
//! reads every workspace it follows once a second, so a lost NOTIFY or a listener reconnecting
//! delays events but never loses them.
//!
//! A watcher's queue is bounded. One whose queue is full is not cut off: the hub drops it from
//! its feed and marks it lagging, and the watcher reads what it missed from the log itself, then
//! joins again (`stream`), as etcd's unsynced watchers do. A reader that keeps up costs one read
//! for all; one that falls behind costs its own reads, and holds no more than its queue.

use crate::events::signal::{self, named_workspaces};
use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use diesel_async::AsyncPgConnection;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{WatchConfig, WatchFilter};
use crate::db::{ConnectOptions, PgPool};
use crate::events::{Event, Position};

/// Events of one workspace one hub read takes at most; it reads that workspace again until it
/// has all.
mod read;

use read::{read_new, unix_now};

const READ_BATCH: i64 = 1_000;

/// The longest a hub read may take: a hung database must not stall the hub for good.
pub(super) const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the hub reads every workspace it follows, NOTIFY or not.
const READ_EVERY: Duration = Duration::from_secs(1);

/// One server's watch hub: clone it freely.
#[derive(Clone)]
pub struct Hub {
    pub(super) shared: Arc<Shared>,
    pub(super) config: WatchConfig,
}

pub(super) struct Shared {
    feeds: Mutex<Feeds>,
    /// The hub has stopped (the server is shutting down).
    stopped: AtomicBool,
    /// Asks the hub to read now: a workspace has a new feed.
    read_now: Notify,
    pub(super) pool: PgPool,
    /// When (Unix seconds) every followed feed was last read up to date: the metric an alert on
    /// watch lag reads (`docket_watch_read_timestamp_seconds`).
    read_all_at: AtomicU64,
}

#[derive(Default)]
struct Feeds {
    next_id: u64,
    by_workspace: HashMap<Uuid, Feed>,
}

/// A workspace the hub follows, while it has watchers on this server.
struct Feed {
    /// Tells this feed from one the same workspace had before or has after.
    id: u64,
    /// Every event up to here has been handed to the watchers it matches.
    read_to: Arc<AtomicI64>,
    watchers: Vec<Watcher>,
}

struct Watcher {
    id: u64,
    filter: Arc<WatchFilter>,
    queue: mpsc::Sender<Arc<Event>>,
    lagging: Arc<AtomicBool>,
}

/// A watcher's place in the hub: its queue, and where its feed stood when it joined. Leaving
/// (dropping it) takes the watcher out, and the feed with its last watcher.
pub(super) struct Registration {
    id: u64,
    workspace_id: Uuid,
    pub(super) queue: mpsc::Receiver<Arc<Event>>,
    lagging: Arc<AtomicBool>,
    read_to: Arc<AtomicI64>,
    pub(super) joined_at: Position,
    shared: Arc<Shared>,
}

impl Registration {
    /// Whether the hub dropped this watcher for a full queue: after what is queued, it must
    /// read from the log.
    pub(super) fn lagging(&self) -> bool {
        self.lagging.load(Ordering::SeqCst)
    }

    /// A position this watcher may move up to when its queue is empty: every event up to it that
    /// it matches has been queued. `None` once it lags.
    pub(super) fn settled(&self) -> Option<Position> {
        // The feed's position first, then the flag and the queue: the hub queues an event (or
        // marks the watcher lagging) before it moves the position past it.
        let read_to = Position::new(self.read_to.load(Ordering::SeqCst));
        (!self.lagging() && self.queue.is_empty()).then_some(read_to)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut feeds = lock(&self.shared.feeds);
        if let Some(feed) = feeds.by_workspace.get_mut(&self.workspace_id) {
            feed.watchers.retain(|w| w.id != self.id);
            if feed.watchers.is_empty() {
                feeds.by_workspace.remove(&self.workspace_id);
            }
        }
    }
}

fn lock(feeds: &Mutex<Feeds>) -> std::sync::MutexGuard<'_, Feeds> {
    // The feeds hold no invariant a panic mid-update could break beyond one watcher.
    feeds
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Hub {
    /// The server's hub; watchers get nothing until its task ([`Hub::following`]) runs.
    pub fn new(pool: PgPool, config: WatchConfig) -> Self {
        let shared = Arc::new(Shared {
            feeds: Mutex::default(),
            stopped: AtomicBool::new(false),
            read_now: Notify::new(),
            pool,
            read_all_at: AtomicU64::new(unix_now()),
        });
        Self { shared, config }
    }

    /// When (Unix seconds) every followed feed was last read up to date; the server's start
    /// until the first read.
    pub fn read_all_at(&self) -> u64 {
        self.shared.read_all_at.load(Ordering::Relaxed)
    }

    /// The hub's task: it listens on a connection of its own and reads new events until `stop`
    /// (the server's background owner runs it); then its watchers end.
    pub fn following(
        &self,
        listener: ConnectOptions,
        stop: CancellationToken,
    ) -> impl Future<Output = ()> + use<> {
        run(self.shared.clone(), listener, stop)
    }

    pub(super) fn stopped(&self) -> bool {
        self.shared.stopped.load(Ordering::SeqCst)
    }

    /// Joins the feed of the filter's workspace; a new feed starts at `head`, the workspace's
    /// head as the caller just read it. `lagging` is cleared now and set should the hub drop the
    /// watcher for a full queue (a watcher passes the same flag each time it joins). `None` once
    /// the hub has stopped.
    pub(super) fn register(
        &self,
        filter: &WatchFilter,
        head: Position,
        lagging: Arc<AtomicBool>,
    ) -> Option<Registration> {
        let (sender, queue) = mpsc::channel(self.config.queue);
        lagging.store(false, Ordering::SeqCst);
        let mut feeds = lock(&self.shared.feeds);
        if self.stopped() {
            return None;
        }
        feeds.next_id += 1;
        let id = feeds.next_id;
        let workspace_id = filter.workspace_id;
        let mut created = false;
        let feed = feeds.by_workspace.entry(workspace_id).or_insert_with(|| {
            created = true;
            Feed {
                id,
                read_to: Arc::new(AtomicI64::new(head.number())),
                watchers: Vec::new(),
            }
        });
        feed.watchers.push(Watcher {
            id,
            filter: Arc::new(filter.clone()),
            queue: sender,
            lagging: lagging.clone(),
        });
        let read_to = feed.read_to.clone();
        // Under the lock: the hub queues for this watcher only events past it.
        let joined_at = Position::new(read_to.load(Ordering::SeqCst));
        drop(feeds);
        if created {
            self.shared.read_now.notify_one();
        }
        Some(Registration {
            id,
            workspace_id,
            queue,
            lagging,
            joined_at,
            read_to,
            shared: self.shared.clone(),
        })
    }
}

async fn run(shared: Arc<Shared>, options: ConnectOptions, stop: CancellationToken) {
    // A read the database does not answer is dropped at once: watchers end when draining begins.
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = follow(&shared, &options, &stop) => {}
    }
    let mut feeds = lock(&shared.feeds);
    shared.stopped.store(true, Ordering::SeqCst);
    // Watchers see their queues close and end.
    feeds.by_workspace.clear();
}

/// Listens and reads, reconnecting with back-off when the listening connection fails.
async fn follow(shared: &Shared, options: &ConnectOptions, stop: &CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    while !stop.is_cancelled() {
        match listen(shared, options, stop).await {
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
}

/// Which workspaces to read.
enum Wanted {
    All,
    These(HashSet<Uuid>),
}

impl Wanted {
    fn add(&mut self, payload: &str) {
        match (named_workspaces(payload), &mut *self) {
            (Some(named), Wanted::These(set)) => set.extend(named),
            (None, _) => *self = Wanted::All,
            (Some(_), Wanted::All) => {}
        }
    }
}

/// Listens on a connection of its own and reads on every NOTIFY and every tick, until `stop`
/// (`Ok`) or the connection fails (why, to log).
async fn listen(
    shared: &Shared,
    options: &ConnectOptions,
    stop: &CancellationToken,
) -> Result<(), String> {
    let mut conn: AsyncPgConnection = options.connect().await.map_err(|e| e.to_string())?;
    signal::listen(&mut conn).await.map_err(|e| e.to_string())?;
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    let mut ticks = tokio::time::interval(READ_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Whatever came while (re)connecting is read first.
    let mut wanted = Wanted::All;
    loop {
        match read_new(shared, &wanted).await {
            Ok(()) if matches!(wanted, Wanted::All) => {
                shared.read_all_at.store(unix_now(), Ordering::Relaxed);
            }
            Ok(()) => {}
            Err(error) => {
                tracing::warn!(%error, "watch hub: could not read new events; retrying");
            }
        }
        wanted = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = ticks.tick() => Wanted::All,
            _ = shared.read_now.notified() => Wanted::All,
            note = notifications.next() => {
                let mut wanted = Wanted::These(HashSet::new());
                let mut note = note;
                // One read serves every NOTIFY that has arrived.
                loop {
                    match note {
                        Some(Ok(note)) => wanted.add(&note.payload),
                        Some(Err(error)) => return Err(error.to_string()),
                        None => return Err("the listening connection closed".into()),
                    }
                    match notifications.next().now_or_never() {
                        Some(next) => note = next,
                        None => break,
                    }
                }
                wanted
            }
        };
    }
}

//! One watcher's stream: it joins its server's hub, reads from the log what came before it
//! joined (a page at a time), then takes what the hub hands it; when it has fallen behind (its
//! queue filled and the hub dropped it), it reads from the log until it has caught up and joins
//! again. A progress message goes out whenever a progress interval passes without an event, so
//! that an idle watcher can checkpoint, and while a read from the log waits for the database.
//!
//! Every message carries the position to resume from, and positions only grow: an event at or
//! below the watcher's position is never sent (a position from another server may be ahead of
//! this one's hub). A workspace's positions have no gaps, so a read from the log that does not
//! start right after the watcher's position has found events purged: the watch is expired.
//!
//! A watcher is cut off (WATCH_TOO_SLOW) only when it is behind and its client has taken nothing
//! for the stall timeout. The server cannot end a stream whose client reads nothing at all:
//! HTTP/2 flow control stops the server from polling it. Such a watcher holds no more than its
//! queue (shared events) and is told when its client reads again.

use crate::events::log::{self, actor_key};
use std::{
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
    time::Duration,
};

use futures_util::Stream;
use tokio::time::{Instant, Interval};
use uuid::Uuid;

use super::{Hub, WatchFilter, bounds, hub::READ_TIMEOUT};
use crate::call::streams::OpenStream;
use crate::domain::vocabulary::EventKind;
use crate::events::{Event, Position};
use crate::{
    auth::Caller,
    db::{DbError, checkout},
    domain::DomainError,
};

/// Events one read from the log takes: what a watcher reading from the log holds at most.
const CATCH_UP_PAGE: i64 = 256;

/// Whose tasks a watch follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchScope {
    /// The tasks the caller takes part in: authored, or assigned (as each change leaves the task,
    /// or that it just took from them).
    Participating,
    /// Every task of the workspace (workspace:admin).
    Workspace,
}

/// A checked WatchTasks request.
#[derive(Debug, Clone)]
pub struct WatchRequest {
    /// Resume right after this position; `None`: from now.
    pub start: Option<Position>,
    pub task_ids: Vec<Uuid>,
    pub kinds: Vec<EventKind>,
    pub scope: WatchScope,
}

/// What a watch sends.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchItem {
    Event(Arc<Event>),
    /// Nothing to send up to this position.
    Progress(Position),
}

/// The caller's watch. A start position older than the events kept fails
/// WATCH_POSITION_EXPIRED, one beyond the log's head WATCH_POSITION_AHEAD.
pub async fn watch(
    hub: Hub,
    caller: &Caller,
    request: WatchRequest,
) -> Result<impl Stream<Item = Result<WatchItem, DomainError>> + Send + 'static, DomainError> {
    let start = request.start;
    let filter = filter_for(caller, request)?;
    // A watch is a stream like the listings: it counts toward the server's limit of open
    // streams (DOCKET_MAX_OPEN_STREAMS), so watchers cannot grow without bound in number either.
    let open = OpenStream::new().map_err(DbError::from)?;
    if hub.stopped() {
        return Err(DbError::Stopped.into());
    }
    let log = bounds(&hub.shared.pool, filter.workspace_id).await?;
    let started = starting_position(start, &log)?;
    let config = hub.config;
    // Whether the watcher is behind: reading from the log, or dropped by the hub (its queue is
    // full). The hub sets `lagging`; the stream, `catching_up`; the pace reads both.
    let (lagging, catching_up) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let behind = [lagging.clone(), catching_up.clone()];
    let stream = async_stream::try_stream! {
        let open = open;
        let mut position = started;
        let mut ticks = progress_ticks(config.progress_every);
        if start.is_none() {
            yield WatchItem::Progress(position);
        }
        let mut head = log.head();
        loop {
            let Some(mut joined) = hub.register(&filter, head, lagging.clone()) else {
                Err(DomainError::Db(DbError::Stopped))?;
                return;
            };
            // What came before the join, from the log.
            catching_up.store(true, Ordering::SeqCst);
            while position < joined.joined_at {
                let read = catch_up(&hub, &open, &filter, position, joined.joined_at);
                tokio::pin!(read);
                let (events, next) = loop {
                    // The database is slow to answer: the client still hears from us.
                    match waiting(&mut read, &mut ticks).await {
                        Step::Done(page) => break page?,
                        Step::Tick => yield WatchItem::Progress(position),
                    }
                };
                for event in events {
                    open.count_item();
                    yield WatchItem::Event(Arc::new(event));
                }
                position = next;
                ticks.reset();
            }
            catching_up.store(false, Ordering::SeqCst);
            // Live, from the hub, until it drops this watcher for a full queue.
            loop {
                let woke = tokio::select! {
                    event = joined.queue.recv() => Woke::Queue(event),
                    _ = ticks.tick() => Woke::Tick,
                };
                match woke {
                    Woke::Queue(Some(event)) if event.position > position => {
                        position = event.position;
                        open.count_item();
                        yield WatchItem::Event(event);
                        ticks.reset();
                    }
                    Woke::Queue(Some(_)) => {}
                    Woke::Queue(None) if joined.lagging() => break,
                    Woke::Queue(None) => Err(DomainError::Db(DbError::Stopped))?,
                    Woke::Tick => {
                        if let Some(settled) = joined.settled() {
                            position = position.max(settled);
                        }
                        yield WatchItem::Progress(position);
                    }
                }
            }
            // Behind: leave the hub (its feed may go with it), and join again at the head.
            catching_up.store(true, Ordering::SeqCst);
            drop(joined);
            let read = async {
                let _turn = open.fetch_turn().await;
                bounds(&hub.shared.pool, filter.workspace_id).await
            };
            tokio::pin!(read);
            head = loop {
                match waiting(&mut read, &mut ticks).await {
                    Step::Done(log) => break log?.head(),
                    Step::Tick => yield WatchItem::Progress(position),
                }
            };
        }
    };
    Ok(Paced::new(Box::pin(stream), behind, config.stall_timeout))
}

/// What the caller may watch, as the hub matches events: a whole workspace only for its admins.
fn filter_for(caller: &Caller, request: WatchRequest) -> Result<WatchFilter, DomainError> {
    let audience = match request.scope {
        WatchScope::Workspace if !caller.is_workspace_admin() => {
            return Err(DomainError::WatchScopeDenied);
        }
        WatchScope::Workspace => None,
        WatchScope::Participating => Some(actor_key(caller.actor.kind(), &caller.actor.id())),
    };
    Ok(WatchFilter {
        workspace_id: caller.workspace_id,
        audience,
        task_ids: (!request.task_ids.is_empty()).then(|| request.task_ids.into_iter().collect()),
        kinds: (!request.kinds.is_empty()).then(|| request.kinds.into_iter().collect()),
    })
}

/// Where a watch from `start` (`None`: from now) begins in a log with these bounds.
fn starting_position(
    start: Option<Position>,
    log: &super::Bounds,
) -> Result<Position, DomainError> {
    match start {
        Some(start) if start < log.horizon() => Err(DomainError::WatchPositionExpired),
        Some(start) if start > log.head() => {
            Err(DomainError::WatchPositionAhead(log.head().to_string()))
        }
        Some(start) => Ok(start),
        None => Ok(log.head()),
    }
}

/// How a wait for the database ended: with its answer, or a progress interval went by first.
enum Step<T> {
    Done(T),
    Tick,
}

async fn waiting<F: Future + Unpin>(read: &mut F, ticks: &mut Interval) -> Step<F::Output> {
    tokio::select! {
        done = read => Step::Done(done),
        _ = ticks.tick() => Step::Tick,
    }
}

/// What woke a live watcher.
enum Woke {
    Queue(Option<Arc<Event>>),
    Tick,
}

/// Ticks every progress interval, the first one interval from now.
fn progress_ticks(every: std::time::Duration) -> Interval {
    let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks
}

/// A watch's stream, paced by its client: once the watcher is behind (it has more to send than
/// it holds), a client that asks for nothing for `limit` while the stream could go on gets
/// WATCH_TOO_SLOW when it asks again, and the stream ends. "Could go on" is measured from a
/// message handed out, or from the stream being woken (its next message ready, its database
/// read answered), to the next request: time spent waiting for the database does not count.
struct Paced<S> {
    inner: S,
    /// Either set: behind.
    behind: [Arc<AtomicBool>; 2],
    limit: Duration,
    handed_at: Option<Instant>,
    wakes: Arc<WakeTime>,
    proxy: Waker,
    ended: bool,
}

impl<S> Paced<S> {
    fn new(inner: S, behind: [Arc<AtomicBool>; 2], limit: Duration) -> Self {
        let wakes = Arc::new(WakeTime::default());
        Self {
            inner,
            behind,
            limit,
            handed_at: None,
            proxy: Waker::from(wakes.clone()),
            wakes,
            ended: false,
        }
    }
}

/// When the stream was woken since it was last polled, and whom to wake.
#[derive(Default)]
struct WakeTime {
    woken_at: Mutex<Option<Instant>>,
    waker: Mutex<Option<Waker>>,
}

impl Wake for WakeTime {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        locked(&self.woken_at).get_or_insert_with(Instant::now);
        if let Some(waker) = locked(&self.waker).as_ref() {
            waker.wake_by_ref();
        }
    }
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A time and a waker: nothing a panic could leave half-written.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<S> Stream for Paced<S>
where
    S: Stream<Item = Result<WatchItem, DomainError>> + Unpin,
{
    type Item = Result<WatchItem, DomainError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let woken_at = locked(&self.wakes.woken_at).take();
        let waited_since = match (self.handed_at.take(), woken_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if waited_since.is_some_and(|since| since.elapsed() > self.limit)
            && self.behind.iter().any(|flag| flag.load(Ordering::SeqCst))
        {
            self.ended = true;
            return Poll::Ready(Some(Err(DomainError::WatchTooSlow)));
        }
        {
            let mut waker = locked(&self.wakes.waker);
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
        }
        let proxy = self.proxy.clone();
        let next = Pin::new(&mut self.inner).poll_next(&mut Context::from_waker(&proxy));
        match &next {
            Poll::Ready(Some(Ok(_))) => self.handed_at = Some(Instant::now()),
            Poll::Ready(_) => self.ended = true,
            Poll::Pending => {}
        }
        next
    }
}

/// One page of the watcher's workspace's events after `after`, up to `upto`: those it wants,
/// and where the page ends. A page that does not start right after `after` found events purged.
/// Reads take turns with the listings' pages (`streams`): many watchers behind at once queue for
/// the streams' share of the pool, rather than take all of it or time out waiting for it.
async fn catch_up(
    hub: &Hub,
    open: &OpenStream,
    filter: &WatchFilter,
    after: Position,
    upto: Position,
) -> Result<(Vec<Event>, Position), DomainError> {
    let _turn = open.fetch_turn().await;
    // Read after the handler has answered, outside the call's deadline: bounded on its own.
    let read = async {
        let mut conn = checkout(&hub.shared.pool).await?;
        let page =
            log::read_after(&mut conn, filter.workspace_id, after, upto, CATCH_UP_PAGE).await?;
        Ok::<_, DbError>(page)
    };
    let events = crate::call::within(Instant::now() + READ_TIMEOUT, read)
        .await
        .map_err(DbError::from)??;
    match events.first() {
        Some(first) if first.position.number() == after.number() + 1 => {}
        _ => return Err(DomainError::WatchPositionExpired),
    }
    let next = events.last().map_or(after, |event: &Event| event.position);
    let wanted = events.into_iter().filter(|e| filter.matches(e)).collect();
    Ok((wanted, next))
}

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

use std::sync::Arc;

use futures_util::Stream;
use tokio::time::{Instant, Interval};
use uuid::Uuid;

use super::{Hub, WatchFilter, bounds, hub::READ_TIMEOUT};
use crate::{
    auth::Caller,
    db::{
        DbError, checkout, deadline,
        enums::EventKind,
        events::{self, EventRow, Position, actor_key},
        streams::OpenStream,
    },
    domain::DomainError,
};

/// Events one read from the log takes.
const CATCH_UP_PAGE: i64 = 128;

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
    Event(Arc<EventRow>),
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
    let audience = match request.scope {
        WatchScope::Workspace if !caller.is_workspace_admin() => {
            return Err(DomainError::WatchScopeDenied);
        }
        WatchScope::Workspace => None,
        WatchScope::Participating => Some(actor_key(caller.actor.kind(), &caller.actor.id())),
    };
    let filter = WatchFilter {
        workspace_id: caller.workspace_id,
        audience,
        task_ids: (!request.task_ids.is_empty()).then(|| request.task_ids.into_iter().collect()),
        kinds: (!request.kinds.is_empty()).then(|| request.kinds.into_iter().collect()),
    };
    // A watch is a stream like the listings: it counts toward the server's limit of open
    // streams (DOCKET_MAX_OPEN_STREAMS), so watchers cannot grow without bound in number either.
    let open = OpenStream::new()?;
    if hub.stopped() {
        return Err(DbError::Stopped.into());
    }
    let log = bounds(&hub.shared.pool, filter.workspace_id).await?;
    let started = match request.start {
        Some(start) if start < log.horizon() => return Err(DomainError::WatchPositionExpired),
        Some(start) if start > log.head() => {
            return Err(DomainError::WatchPositionAhead(log.head().to_string()));
        }
        Some(start) => start,
        None => log.head(),
    };
    let config = hub.config;
    Ok(async_stream::try_stream! {
        let open = open;
        let mut position = started;
        let mut ticks = progress_ticks(config.progress_every);
        if request.start.is_none() {
            yield WatchItem::Progress(position);
        }
        let mut head = log.head();
        loop {
            let Some(mut joined) = hub.register(&filter, head) else {
                Err(DomainError::Db(DbError::Stopped))?;
                return;
            };
            // What came before the join, from the log.
            while position < joined.joined_at {
                let read = catch_up(&hub, &filter, position, joined.joined_at);
                tokio::pin!(read);
                let (events, next) = loop {
                    // The database is slow to answer: the client still hears from us.
                    match waiting(&mut read, &mut ticks).await {
                        Step::Done(page) => break page?,
                        Step::Tick => yield WatchItem::Progress(position),
                    }
                };
                for event in events {
                    let asked = Instant::now();
                    open.count_item();
                    yield WatchItem::Event(Arc::new(event));
                    stalled(asked, config.stall_timeout)?;
                }
                position = next;
                ticks.reset();
            }
            // Live, from the hub, until it drops this watcher for a full queue.
            loop {
                let woke = tokio::select! {
                    event = joined.queue.recv() => Woke::Queue(event),
                    _ = ticks.tick() => Woke::Tick,
                };
                match woke {
                    Woke::Queue(Some(event)) if event.position() > position => {
                        position = event.position();
                        let asked = Instant::now();
                        open.count_item();
                        yield WatchItem::Event(event);
                        if joined.lagging() {
                            stalled(asked, config.stall_timeout)?;
                        }
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
            drop(joined);
            let read = bounds(&hub.shared.pool, filter.workspace_id);
            tokio::pin!(read);
            head = loop {
                match waiting(&mut read, &mut ticks).await {
                    Step::Done(log) => break log?.head(),
                    Step::Tick => yield WatchItem::Progress(position),
                }
            };
        }
    })
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
    Queue(Option<Arc<EventRow>>),
    Tick,
}

/// Ticks every progress interval, the first one interval from now.
fn progress_ticks(every: std::time::Duration) -> Interval {
    let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks
}

/// Fails WATCH_TOO_SLOW when the client took longer than `limit` to take what was asked of it
/// at `asked` (the stream was not polled again until then).
fn stalled(asked: Instant, limit: std::time::Duration) -> Result<(), DomainError> {
    if asked.elapsed() > limit {
        return Err(DomainError::WatchTooSlow);
    }
    Ok(())
}

/// One page of the watcher's workspace's events after `after`, up to `upto`: those it wants,
/// and where the page ends. A page that does not start right after `after` found events purged.
async fn catch_up(
    hub: &Hub,
    filter: &WatchFilter,
    after: Position,
    upto: Position,
) -> Result<(Vec<EventRow>, Position), DomainError> {
    // Read after the handler has answered, outside the call's deadline: bounded on its own.
    let read = async {
        let mut conn = checkout(&hub.shared.pool).await?;
        let page =
            events::read_after(&mut conn, filter.workspace_id, after, upto, CATCH_UP_PAGE).await?;
        Ok::<_, DbError>(page)
    };
    let events = deadline::within(Instant::now() + READ_TIMEOUT, read)
        .await
        .map_err(DbError::from)??;
    match events.first() {
        Some(first) if first.position().number() == after.number() + 1 => {}
        _ => return Err(DomainError::WatchPositionExpired),
    }
    let next = events.last().map_or(after, EventRow::position);
    let wanted = events.into_iter().filter(|e| filter.matches(e)).collect();
    Ok((wanted, next))
}

//! One watcher's stream: from its position, what it missed (read from the database, a page at a
//! time), then what the hub hands it live; a progress message whenever a progress interval
//! passes without an event, so that an idle watcher can checkpoint.
//!
//! Every message carries the position to resume from, and positions only grow: an event at or
//! below the watcher's position is never sent (a position from another server may be ahead of
//! this one's hub). A progress message moves the position up to the hub's line only once every
//! event below it has been sent: the hub queues an event before it moves its line, so an empty
//! queue seen after reading the line holds nothing below it.

use std::time::Duration;

use futures_util::Stream;
use tokio::time::Instant;
use uuid::Uuid;

use super::{Hub, Registration, WatchFilter};
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

/// Events one catch-up read takes.
const CATCH_UP_PAGE: i64 = 256;

/// How long a watch waits for its server's hub to have read once (it does as soon as the
/// database answers) before it fails UNAVAILABLE.
const HUB_START_WAIT: Duration = Duration::from_secs(5);

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
    Event(EventRow),
    /// Nothing to send up to this position.
    Progress(Position),
}

/// The caller's watch. An expired start position fails the call; a watcher that falls too far
/// behind is cut off (WATCH_TOO_SLOW) and resumes from the last position it received.
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
    hub_started(&hub).await?;
    // "Now" is the database's line, not the hub's (which may not have read the latest commits):
    // a change the caller saw committed before it asked is not sent.
    let started = match request.start {
        Some(start) => {
            expired_if_below_horizon(&hub, start).await?;
            start
        }
        None => super::now(&hub.shared.pool).await?,
    };
    let progress_every = hub.config.progress_every;
    Ok(async_stream::try_stream! {
        let open = open;
        let mut position = started;
        if request.start.is_none() {
            yield WatchItem::Progress(position);
        }
        // What was missed, up to where the hub stands; then join, and read what the hub read
        // meanwhile.
        let mut line = hub.shared.line.subscribe();
        let mut checked_horizon = request.start.is_none();
        loop {
            let target = *line.borrow_and_update();
            if position >= target {
                break;
            }
            let (events, next) = catch_up(&hub, &filter, position, target).await?;
            if !checked_horizon {
                // A purge that ran before this read may have taken events after the start.
                expired_if_below_horizon(&hub, position).await?;
                checked_horizon = true;
            }
            for event in events {
                open.count_item();
                yield WatchItem::Event(event);
            }
            position = next;
        }
        let Some(mut joined) = hub.register(filter.clone()) else {
            Err(DomainError::Db(DbError::Stopped))?;
            return;
        };
        while position < joined.joined_at {
            let (events, next) = catch_up(&hub, &filter, position, joined.joined_at).await?;
            for event in events {
                open.count_item();
                yield WatchItem::Event(event);
            }
            position = next;
        }
        let mut ticks = tokio::time::interval_at(Instant::now() + progress_every, progress_every);
        let mut sent_since_tick = false;
        loop {
            let woke = tokio::select! {
                event = joined.queue.recv() => Woke::Queue(event),
                _ = ticks.tick() => Woke::Tick,
            };
            match woke {
                Woke::Queue(Some(event)) if event.position() > position => {
                    position = event.position();
                    sent_since_tick = true;
                    open.count_item();
                yield WatchItem::Event(event);
                }
                Woke::Queue(Some(_)) => {}
                Woke::Queue(None) => Err(ended(&joined))?,
                Woke::Tick => {
                    // The line first, then the queue: an event below the line is queued by now.
                    let line = *line.borrow_and_update();
                    if joined.queue.is_empty() && line > position {
                        position = line;
                    }
                    if !sent_since_tick {
                        yield WatchItem::Progress(position);
                    }
                    sent_since_tick = false;
                }
            }
        }
    })
}

/// What woke a live watcher.
enum Woke {
    Queue(Option<EventRow>),
    Tick,
}

/// Why a watcher's queue closed: cut off for falling behind, or the hub stopped.
fn ended(registration: &Registration) -> DomainError {
    if registration
        .cut_off
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        DomainError::WatchTooSlow
    } else {
        // The server is shutting down: the client resumes elsewhere.
        DomainError::Db(DbError::Stopped)
    }
}

/// Waits until the hub has read once (it does as soon as the database answers).
async fn hub_started(hub: &Hub) -> Result<(), DomainError> {
    let deadline = Instant::now() + HUB_START_WAIT;
    loop {
        if hub.shared.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(DomainError::Db(DbError::Stopped));
        }
        if super::lock(&hub.shared.registry).started {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(DomainError::Db(DbError::Stopped));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Fails WATCH_POSITION_EXPIRED when housekeeping has purged events after `position`.
async fn expired_if_below_horizon(hub: &Hub, position: Position) -> Result<(), DomainError> {
    let read = async {
        let mut conn = checkout(&hub.shared.pool).await?;
        Ok::<_, DbError>(events::horizon(&mut conn).await?)
    };
    let horizon = deadline::within(Instant::now() + super::READ_TIMEOUT, read)
        .await
        .map_err(DbError::from)??;
    if horizon > position {
        return Err(DomainError::WatchPositionExpired);
    }
    Ok(())
}

/// One page of the watcher's workspace's events after `after`, up to `upto`: those it wants,
/// and where the page ends.
async fn catch_up(
    hub: &Hub,
    filter: &WatchFilter,
    after: Position,
    upto: Position,
) -> Result<(Vec<EventRow>, Position), DomainError> {
    // Read after the handler has answered, outside the call's deadline: bounded on its own.
    let read = async {
        let mut conn = checkout(&hub.shared.pool).await?;
        let page = events::read_after(
            &mut conn,
            Some(filter.workspace_id),
            after,
            Some(upto),
            CATCH_UP_PAGE,
        )
        .await?;
        Ok::<_, DbError>(page)
    };
    let (events, next) = deadline::within(Instant::now() + super::READ_TIMEOUT, read)
        .await
        .map_err(DbError::from)??;
    let wanted = events.into_iter().filter(|e| filter.matches(e)).collect();
    Ok((wanted, next))
}

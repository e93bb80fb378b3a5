//! The hub's reading: the new events of the feeds it follows, read in batches, and each handed
//! to the watchers it concerns.

use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
};

use tokio::sync::mpsc;
use uuid::Uuid;

use super::{Feed, READ_BATCH, READ_TIMEOUT, Shared, Wanted, Watcher, lock};
use crate::db::{DbError, checkout};
use crate::events::{Event, Position, log};

pub(super) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// A feed to read: its workspace, which feed, and from where.
type Target = (Uuid, u64, Position);

fn targets(shared: &Shared, wanted: &Wanted) -> Vec<Target> {
    let feeds = lock(&shared.feeds);
    let target = |(workspace_id, feed): (&Uuid, &Feed)| {
        let read_to = Position::new(feed.read_to.load(Ordering::SeqCst));
        (*workspace_id, feed.id, read_to)
    };
    match wanted {
        Wanted::All => feeds.by_workspace.iter().map(target).collect(),
        Wanted::These(workspaces) => workspaces
            .iter()
            .filter_map(|w| feeds.by_workspace.get_key_value(w))
            .map(target)
            .collect(),
    }
}

/// Reads every new event of the wanted feeds and hands each to its watchers.
pub(super) async fn read_new(shared: &Shared, wanted: &Wanted) -> Result<(), String> {
    let mut targets = targets(shared, wanted);
    if targets.is_empty() {
        return Ok(());
    }
    let read = async {
        let mut conn = checkout(&shared.pool).await?;
        while !targets.is_empty() {
            let from: Vec<(Uuid, Position)> = targets.iter().map(|(w, _, p)| (*w, *p)).collect();
            let rows = log::read_after_each(&mut conn, &from, READ_BATCH).await?;
            targets = dispatch(shared, &targets, rows);
        }
        Ok::<_, DbError>(())
    };
    match tokio::time::timeout(READ_TIMEOUT, read).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {READ_TIMEOUT:?}")),
    }
}

/// Hands the events read for `targets` to the watchers they match, and moves each feed's
/// position past them. A watcher whose queue is full leaves the feed, lagging. Returns the
/// targets whose read was full, to read again.
fn dispatch(shared: &Shared, targets: &[Target], rows: Vec<Event>) -> Vec<Target> {
    let mut by_workspace: HashMap<Uuid, Vec<Arc<Event>>> = HashMap::new();
    for row in rows {
        by_workspace
            .entry(row.workspace_id)
            .or_default()
            .push(Arc::new(row));
    }
    let mut again = Vec::new();
    let mut feeds = lock(&shared.feeds);
    for &(workspace_id, feed_id, read_from) in targets {
        let Some(events) = by_workspace.remove(&workspace_id) else {
            continue;
        };
        let Some(feed) = feeds.by_workspace.get_mut(&workspace_id) else {
            continue;
        };
        // A feed that was replaced, or moved on, since the read began is read again next time.
        let read_to = Position::new(feed.read_to.load(Ordering::SeqCst));
        if feed.id != feed_id || read_to != read_from {
            continue;
        }
        let full = events.len() as i64 == READ_BATCH;
        let mut last = read_to;
        for event in events {
            hand_out(&mut feed.watchers, &event);
            last = event.position;
        }
        feed.read_to.store(last.number(), Ordering::SeqCst);
        if full {
            again.push((workspace_id, feed_id, last));
        }
    }
    again
}

/// Queues the event for each watcher it matches; drops the watchers gone, and those whose queue
/// is full (marked lagging, so they read the log themselves).
fn hand_out(watchers: &mut Vec<Watcher>, event: &Arc<Event>) {
    watchers.retain(|watcher| {
        if !watcher.filter.matches(event) {
            return !watcher.queue.is_closed();
        }
        match watcher.queue.try_send(event.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                watcher.lagging.store(true, Ordering::SeqCst);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    });
}

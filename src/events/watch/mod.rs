//! Watching tasks (WatchTasks): every event a caller may see, from a position on, in commit
//! order, with no gap and no duplicate across reconnects.
//!
//! Each server has one [`Hub`] that reads the event log once for all of its watchers (`hub`);
//! each watcher's stream takes from the hub what it matches, or, when it has fallen behind, reads
//! the log itself until it has caught up (`stream`).

mod hub;
mod stream;

use crate::events::log::{self, Bounds};
use std::{collections::HashSet, time::Duration};

use tokio::time::Instant;
use uuid::Uuid;

pub use hub::Hub;
pub use stream::{WatchItem, WatchRequest, WatchScope, watch};

use crate::domain::vocabulary::EventKind;
use crate::events::{Event, Position};
use crate::{
    db::{DbError, PgPool, checkout},
    domain::DomainError,
};

/// How the hub and its watchers are sized and paced.
#[derive(Debug, Clone, Copy)]
pub struct WatchConfig {
    /// Events a watcher may have waiting in memory; one that falls further behind reads from the
    /// log until it has caught up.
    pub queue: usize,
    /// How often an idle watcher gets a progress message.
    pub progress_every: Duration,
    /// How long a watcher that is behind may go without its client taking anything before it is
    /// cut off (WATCH_TOO_SLOW).
    pub stall_timeout: Duration,
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
    pub fn matches(&self, event: &Event) -> bool {
        event.workspace_id == self.workspace_id
            && self
                .audience
                .as_ref()
                .is_none_or(|key| event.audience.iter().any(|k| k == key))
            && self
                .task_ids
                .as_ref()
                .is_none_or(|ids| event.task_id.is_some_and(|id| ids.contains(&id)))
            && self
                .kinds
                .as_ref()
                .is_none_or(|kinds| kinds.contains(&event.kind))
    }
}

/// The position a watch of the workspace from now starts at: its log's head, below which every
/// change has committed (ListTasks hands it out, taken before its first page).
pub async fn now(pool: &PgPool, workspace_id: Uuid) -> Result<Position, DomainError> {
    Ok(bounds(pool, workspace_id).await?.head())
}

/// Where the workspace's log stands, read within [`hub::READ_TIMEOUT`].
async fn bounds(pool: &PgPool, workspace_id: Uuid) -> Result<Bounds, DomainError> {
    let read = async {
        let mut conn = checkout(pool).await?;
        Ok::<_, DbError>(log::bounds(&mut conn, workspace_id).await?)
    };
    Ok(
        crate::call::within(Instant::now() + hub::READ_TIMEOUT, read)
            .await
            .map_err(DbError::from)??,
    )
}

//! The records the domain hands out: plain values of what the database holds, one per entity
//! (tasks have theirs in `tasks::model`). `db` reads its rows into them, so the edges convert
//! records without knowing a column or a query.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::vocabulary::ProgressStatus;

/// One recipient's assignment to a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub workspace_id: Uuid,
    pub id: Uuid,
    pub task_id: Uuid,
    pub user_id: Uuid,
    pub progress_status: ProgressStatus,
    /// The channel the recipient was assigned through, if any.
    pub via_channel_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Counts of a task's assignments per progress status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgressCounts {
    pub new: i64,
    pub open: i64,
    pub finished: i64,
}

impl ProgressCounts {
    pub fn total(&self) -> i64 {
        self.new + self.open + self.finished
    }

    /// Counts from `(progress_status, count)` pairs.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (ProgressStatus, i64)>) -> Self {
        let mut counts = Self::default();
        for (status, count) in pairs {
            match status {
                ProgressStatus::New => counts.new += count,
                ProgressStatus::Open => counts.open += count,
                ProgressStatus::Finished => counts.finished += count,
            }
        }
        counts
    }
}

/// A user of a workspace, as the upstream directory synced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub workspace_id: Uuid,
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A channel: a named group of users a task can be assigned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub workspace_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A channel with how many members and admins it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSummary {
    pub channel: Channel,
    pub member_count: i64,
    pub admin_count: i64,
}

/// A user's membership of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub user_id: Uuid,
    pub admin: bool,
    pub created_at: DateTime<Utc>,
}

/// A workspace and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: Uuid,
    pub name: String,
    pub assignments_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The IANA time zone a due date is read in (its end is the task's due instant).
    pub time_zone: String,
}

/// A timer: what Docket does to a task by itself when `fire_at` comes (a scheduled action), and
/// where it stands. `params` are the action's arguments as stored; `domain::timers` reads them
/// into a typed action.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    pub workspace_id: Uuid,
    pub id: Uuid,
    pub task_id: Uuid,
    pub action: crate::domain::vocabulary::TimerAction,
    pub params: serde_json::Value,
    pub fire_at: DateTime<Utc>,
    pub state: crate::domain::vocabulary::TimerState,
    /// Why it was skipped or failed.
    pub outcome: Option<String>,
    /// Failed attempts so far.
    pub attempts: i32,
    pub created_by_type: crate::domain::vocabulary::ActorType,
    pub created_by_id: String,
    pub request_id: Option<String>,
    pub request_hash: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
}

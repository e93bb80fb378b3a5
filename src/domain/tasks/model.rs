//! The task's vocabulary: statuses, priorities, policies (`domain::vocabulary`, typed down
//! to the column), and how a caller sees a task.

use chrono::{DateTime, NaiveDate, Utc};

use crate::db::tasks::TaskRow;
use crate::domain::records::ProgressCounts;
pub use crate::domain::vocabulary::{CompletionPolicy, Disposition, Priority, Status};

/// How a task relates to the caller: their own (PERSONAL, or DISTRIBUTED to others) or RECEIVED
/// from someone else. Never stored: it depends on who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DistributionKind {
    Personal,
    Distributed,
    Received,
}

/// When a task is due: a day, or a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Date(NaiveDate),
    At(DateTime<Utc>),
}

/// A task as one caller may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    pub task: TaskRow,
    pub linked_records: Vec<(String, String)>,
    pub distribution_kind: DistributionKind,
    /// Only for the author.
    pub assignment_summary: Option<ProgressCounts>,
}

impl TaskView {
    pub fn due(&self) -> Option<Due> {
        match (self.task.due_date, self.task.due_at) {
            (Some(date), _) => Some(Due::Date(date)),
            (None, Some(at)) => Some(Due::At(at)),
            (None, None) => None,
        }
    }

    pub fn etag(&self) -> String {
        etag(&self.task)
    }
}

/// The task's etag: it changes whenever the task does (every change bumps its version).
pub fn etag(task: &TaskRow) -> String {
    format!("W/\"{}\"", task.version)
}

//! The task's vocabulary: statuses, priorities, policies, and how a caller sees a task.

use chrono::{DateTime, NaiveDate, Utc};

use crate::db::{assignments::ProgressCounts, tasks::TaskRow};

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The form stored in the database (and named in the contract).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

text_enum!(Priority { Urgent = "URGENT", High = "HIGH", Normal = "NORMAL", Low = "LOW" });
text_enum!(Status {
    New = "NEW",
    Open = "OPEN",
    InProgress = "IN_PROGRESS",
    InReview = "IN_REVIEW",
    Completed = "COMPLETED",
    Skipped = "SKIPPED",
    Cancelled = "CANCELLED",
});
text_enum!(CompletionPolicy { Manual = "MANUAL", Any = "ANY", All = "ALL" });
text_enum!(Disposition { Answered = "ANSWERED", VoicemailLeft = "VOICEMAIL_LEFT", NoAnswer = "NO_ANSWER" });
text_enum!(
    /// How a task relates to the caller.
    DistributionKind { Personal = "PERSONAL", Distributed = "DISTRIBUTED", Received = "RECEIVED" }
);

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

//! The closed vocabularies Docket stores: typed from the row structs down to the column. Each is a
//! text column with a CHECK constraint listing the same names (see `migrations/`), written and
//! read through Diesel as the enum itself, so no status string is spelled anywhere in the code and
//! a stored value Docket does not know is a read error, never a silent default.

use std::{fmt, str::FromStr};

use diesel::{
    deserialize::{self, FromSql},
    pg::{Pg, PgValue},
    serialize::{self, Output, ToSql},
    sql_types::Text,
};

/// An enum stored as its name in a text column (crates.io's `pg_enum!`, for text columns).
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = Text)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored name, which is also the name the contract uses.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(text: &str) -> Result<Self, UnknownName> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName { vocabulary: stringify!($name), name: text.to_owned() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        // As the stored name, so JSON (CLI output, cursor fingerprints) reads like the contract.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), &mut out.reborrow())
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
                Ok(text.parse()?)
            }
        }
    };
}

/// A stored or configured name outside its vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not a known {vocabulary}")]
pub struct UnknownName {
    pub vocabulary: &'static str,
    pub name: String,
}

text_enum!(
    /// Where a task is in its lifecycle.
    Status {
        New = "NEW",
        Open = "OPEN",
        InProgress = "IN_PROGRESS",
        InReview = "IN_REVIEW",
        Completed = "COMPLETED",
        Skipped = "SKIPPED",
        Cancelled = "CANCELLED",
    }
);

impl Status {
    /// The statuses a task leaves only by Reopen.
    pub const TERMINAL: [Status; 3] = [Status::Completed, Status::Skipped, Status::Cancelled];

    pub fn is_terminal(self) -> bool {
        Self::TERMINAL.contains(&self)
    }
}

text_enum!(
    /// How urgent a task is.
    Priority { Urgent = "URGENT", High = "HIGH", Normal = "NORMAL", Low = "LOW" }
);

impl Priority {
    /// The urgency rank PRIORITY sorts and filters by: `task_priority_rank` in the task_lists
    /// migration, which the index holds.
    pub fn rank(self) -> i16 {
        match self {
            Priority::Low => 1,
            Priority::Normal => 2,
            Priority::High => 3,
            Priority::Urgent => 4,
        }
    }
}

text_enum!(
    /// When the recipients' progress completes a task.
    CompletionPolicy { Manual = "MANUAL", Any = "ANY", All = "ALL" }
);

text_enum!(
    /// How a call went: the completion response of a call task.
    Disposition { Answered = "ANSWERED", VoicemailLeft = "VOICEMAIL_LEFT", NoAnswer = "NO_ANSWER" }
);

text_enum!(
    /// How far one recipient is with a task.
    ProgressStatus { New = "NEW", Open = "OPEN", Finished = "FINISHED" }
);

text_enum!(
    /// Who acted, as recorded in `created_by`.
    ActorType { User = "USER", ApiToken = "API_TOKEN", System = "SYSTEM" }
);

text_enum!(
    /// What an event of the event log tells (`db::events`).
    EventKind {
        TaskCreated = "TASK_CREATED",
        TaskUpdated = "TASK_UPDATED",
        TaskStarted = "TASK_STARTED",
        TaskSubmittedForReview = "TASK_SUBMITTED_FOR_REVIEW",
        TaskCompleted = "TASK_COMPLETED",
        TaskSkipped = "TASK_SKIPPED",
        TaskCancelled = "TASK_CANCELLED",
        TaskReopened = "TASK_REOPENED",
        TaskReassigned = "TASK_REASSIGNED",
        TaskDeleted = "TASK_DELETED",
        AssignmentCreated = "ASSIGNMENT_CREATED",
        AssignmentDeleted = "ASSIGNMENT_DELETED",
        AssignmentFinished = "ASSIGNMENT_FINISHED",
        AssignmentOpened = "ASSIGNMENT_OPENED",
    }
);

impl EventKind {
    /// Whether the event tells of one assignment, which concerns the task's author and that
    /// assignment's recipient only (a task's assignments are its author's to see, as
    /// ListTaskAssignments holds), rather than of the task, which concerns everyone in it.
    pub fn is_of_an_assignment(self) -> bool {
        matches!(
            self,
            EventKind::AssignmentCreated
                | EventKind::AssignmentDeleted
                | EventKind::AssignmentFinished
                | EventKind::AssignmentOpened
        )
    }
}

text_enum!(
    /// A rendition of a task body.
    BodyFormat { Plain = "PLAIN", Html = "HTML", Delta = "DELTA" }
);

text_enum!(
    /// A permission a credential carries, in the wire form JWT `scope` claims and the CLI use.
    Scope {
        TasksRead = "tasks:read",
        TasksWrite = "tasks:write",
        DirectoryRead = "directory:read",
        DirectoryWrite = "directory:write",
        WorkspaceAdmin = "workspace:admin",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(*status));
        }
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(*scope));
        }
        let unknown = "DONE".parse::<Status>().expect_err("unknown");
        assert_eq!(unknown.to_string(), "\"DONE\" is not a known Status");
        assert!("new".parse::<ProgressStatus>().is_err(), "names are exact");
    }

    #[test]
    fn ranks_order_by_urgency() {
        let mut by_rank = Priority::ALL.to_vec();
        by_rank.sort_by_key(|p| p.rank());
        assert_eq!(
            by_rank,
            [
                Priority::Low,
                Priority::Normal,
                Priority::High,
                Priority::Urgent
            ]
        );
    }
}

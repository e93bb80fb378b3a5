//! Docket's closed vocabularies: statuses, priorities, policies, event kinds, scopes... Each word
//! has one name, the contract's, which is also how it is stored (`db::enums` maps each to its text
//! column, whose CHECK constraint lists the same names), so no status string is spelled anywhere
//! else in the code, and a name outside a vocabulary is an error, never a silent default.

use std::{fmt, str::FromStr};

/// A closed vocabulary: an enum whose every value has one name.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    };
}

/// A stored or configured name outside its vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not a known {vocabulary}")]
pub struct UnknownName {
    pub vocabulary: &'static str,
    pub name: String,
}

vocabulary!(
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

vocabulary!(
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

vocabulary!(
    /// When the recipients' progress completes a task.
    CompletionPolicy { Manual = "MANUAL", Any = "ANY", All = "ALL" }
);

vocabulary!(
    /// How a call went: the completion response of a call task.
    Disposition { Answered = "ANSWERED", VoicemailLeft = "VOICEMAIL_LEFT", NoAnswer = "NO_ANSWER" }
);

vocabulary!(
    /// How far one recipient is with a task.
    ProgressStatus { New = "NEW", Open = "OPEN", Finished = "FINISHED" }
);

vocabulary!(
    /// Who acted, as recorded in `created_by`.
    ActorType { User = "USER", ApiToken = "API_TOKEN", System = "SYSTEM" }
);

vocabulary!(
    /// What an event of the event log tells.
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
        TaskActionScheduled = "TASK_ACTION_SCHEDULED",
        TaskActionCancelled = "TASK_ACTION_CANCELLED",
        ReminderDue = "REMINDER_DUE",
        TaskSnoozed = "TASK_SNOOZED",
        TaskUnsnoozed = "TASK_UNSNOOZED",
        SlaAtRisk = "SLA_AT_RISK",
        SlaBreached = "SLA_BREACHED",
        TemplateCreated = "TEMPLATE_CREATED",
        TemplateUpdated = "TEMPLATE_UPDATED",
        TemplateDeleted = "TEMPLATE_DELETED",
        SchedulePaused = "SCHEDULE_PAUSED",
        ScheduleResumed = "SCHEDULE_RESUMED",
        OccurrenceSkipped = "OCCURRENCE_SKIPPED",
        SeriesEnded = "SERIES_ENDED",
        WebhookFailing = "WEBHOOK_FAILING",
    }
);

vocabulary!(
    /// Where a webhook subscription stands.
    WebhookState {
        /// Delivering.
        Active = "ACTIVE",
        /// Paused by a caller.
        Paused = "PAUSED",
        /// Paused by Docket after failing for the whole retry period.
        Failing = "FAILING",
        /// Its cursor fell behind the events kept.
        Expired = "EXPIRED",
    }
);

vocabulary!(
    /// Why a webhook message was sent.
    DeliveryPurpose { Event = "EVENT", Test = "TEST", Redelivery = "REDELIVERY" }
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

vocabulary!(
    /// When a recurring template makes its next occurrence.
    RecurrenceMode {
        /// On the calendar, whether or not the previous one is done.
        Fixed = "FIXED",
        /// At the rule's next time after the series' latest task is closed.
        AfterCompletion = "AFTER_COMPLETION",
    }
);

vocabulary!(
    /// What a schedule makes of the occurrences it missed while no server ran.
    CatchUp {
        /// Every one.
        All = "ALL",
        /// Only the latest.
        Latest = "LATEST",
        /// None.
        None = "NONE",
    }
);

vocabulary!(
    /// Where a template's schedule stands.
    ScheduleState {
        Active = "ACTIVE",
        Paused = "PAUSED",
        /// No more occurrences: the rule ran out, or the series was ended.
        Ended = "ENDED",
    }
);

vocabulary!(
    /// What a timer (a scheduled action) does to its task when it comes due.
    TimerAction {
        Reopen = "REOPEN",
        Escalate = "ESCALATE",
        Reassign = "REASSIGN",
        Remind = "REMIND",
        /// Ends a snooze (SnoozeTask schedules it).
        Wake = "WAKE",
        /// An SLA clock's at-risk or breach moment (the slas migration's triggers schedule it).
        Sla = "SLA",
    }
);

vocabulary!(
    /// One of a task's SLA clocks.
    SlaClock {
        /// Until the task leaves NEW and OPEN.
        FirstResponse = "FIRST_RESPONSE",
        /// Until the task is closed.
        Resolution = "RESOLUTION",
    }
);

vocabulary!(
    /// A moment of an SLA clock that Docket marks with an event.
    SlaStage {
        /// Its policy's `at_risk_before` ahead of its due.
        AtRisk = "AT_RISK",
        /// Its due.
        Breached = "BREACHED",
    }
);

vocabulary!(
    /// Where a timer stands: PENDING until it is settled, once, as one of the others.
    TimerState {
        Pending = "PENDING",
        Fired = "FIRED",
        Skipped = "SKIPPED",
        Cancelled = "CANCELLED",
        Failed = "FAILED",
    }
);

vocabulary!(
    /// A rendition of a task body.
    BodyFormat { Plain = "PLAIN", Html = "HTML", Delta = "DELTA" }
);

vocabulary!(
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

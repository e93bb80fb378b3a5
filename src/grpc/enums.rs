//! Proto ↔ domain enums, in one place. Each pair is listed once and both directions are exhaustive
//! matches, so a value added on either side fails the build until it is mapped. Reading tells
//! UNSPECIFIED (`None`: the request decides what it means) from a number the proto does not define
//! (an error).

use crate::domain::vocabulary::{
    ActorType, BodyFormat, CatchUp, DeliveryPurpose, EventKind, ProgressStatus, RecurrenceMode,
    ScheduleState, TimerState, WebhookState,
};
use crate::events::watch::WatchScope;
use crate::{
    domain::assignments::list::{MyAssignmentSort, TaskAssignmentSort},
    domain::tasks::{
        CompletionPolicy, Disposition, DistributionKind, Priority, ReassignScope, Status,
        list::{SlaFilter, SnoozeFilter, TaskSort, TaskSortKey},
    },
    grpc::pb,
};

/// A domain value that a proto enum carries.
pub(crate) trait FromProto: Sized {
    type Proto: TryFrom<i32>;

    /// The domain value of a proto value; `None` for UNSPECIFIED.
    fn from_proto(proto: Self::Proto) -> Option<Self>;
}

/// An enum field's value: `None` for UNSPECIFIED; an error for a number the proto does not define.
pub(crate) fn optional<T: FromProto>(number: i32) -> Result<Option<T>, String> {
    let proto = T::Proto::try_from(number).map_err(|_| format!("{number} is not a known value"))?;
    Ok(T::from_proto(proto))
}

/// An enum value that must be set (UNSPECIFIED is refused too).
pub(crate) fn required<T: FromProto>(number: i32) -> Result<T, String> {
    optional(number)?.ok_or_else(|| format!("{number} is not one of the values this field takes"))
}

/// Pairs a domain enum with a proto enum both ways.
macro_rules! pair {
    ($domain:ident, $proto:ident { $($d:ident <=> $p:ident),+ $(,)? }) => {
        impl FromProto for $domain {
            type Proto = pb::$proto;

            fn from_proto(proto: pb::$proto) -> Option<Self> {
                match proto {
                    pb::$proto::Unspecified => None,
                    $(pb::$proto::$p => Some($domain::$d),)+
                }
            }
        }

        impl From<$domain> for pb::$proto {
            fn from(value: $domain) -> Self {
                match value { $($domain::$d => pb::$proto::$p),+ }
            }
        }
    };
}

pair!(Status, TaskStatus {
    New <=> New,
    Open <=> Open,
    InProgress <=> InProgress,
    InReview <=> InReview,
    Completed <=> Completed,
    Skipped <=> Skipped,
    Cancelled <=> Cancelled,
});
pair!(Priority, TaskPriority {
    Urgent <=> Urgent,
    High <=> High,
    Normal <=> Normal,
    Low <=> Low,
});
pair!(CompletionPolicy, CompletionPolicy {
    Manual <=> Manual,
    Any <=> Any,
    All <=> All,
});
pair!(Disposition, CallDisposition {
    Answered <=> Answered,
    VoicemailLeft <=> VoicemailLeft,
    NoAnswer <=> NoAnswer,
});
pair!(ProgressStatus, ProgressStatus {
    New <=> New,
    Open <=> Open,
    Finished <=> Finished,
});
pair!(ActorType, ActorType {
    User <=> User,
    ApiToken <=> ApiToken,
    System <=> System,
});
pair!(EventKind, TaskEventKind {
    TaskCreated <=> TaskCreated,
    TaskUpdated <=> TaskUpdated,
    TaskStarted <=> TaskStarted,
    TaskSubmittedForReview <=> TaskSubmittedForReview,
    TaskCompleted <=> TaskCompleted,
    TaskSkipped <=> TaskSkipped,
    TaskCancelled <=> TaskCancelled,
    TaskReopened <=> TaskReopened,
    TaskReassigned <=> TaskReassigned,
    TaskDeleted <=> TaskDeleted,
    AssignmentCreated <=> AssignmentCreated,
    AssignmentDeleted <=> AssignmentDeleted,
    AssignmentFinished <=> AssignmentFinished,
    AssignmentOpened <=> AssignmentOpened,
    TaskActionScheduled <=> TaskActionScheduled,
    TaskActionCancelled <=> TaskActionCancelled,
    ReminderDue <=> ReminderDue,
    TaskSnoozed <=> TaskSnoozed,
    TaskUnsnoozed <=> TaskUnsnoozed,
    SlaAtRisk <=> SlaAtRisk,
    SlaBreached <=> SlaBreached,
    TemplateCreated <=> TemplateCreated,
    TemplateUpdated <=> TemplateUpdated,
    TemplateDeleted <=> TemplateDeleted,
    SchedulePaused <=> SchedulePaused,
    ScheduleResumed <=> ScheduleResumed,
    OccurrenceSkipped <=> OccurrenceSkipped,
    SeriesEnded <=> SeriesEnded,
    WebhookFailing <=> WebhookFailing,
});
pair!(TimerState, ScheduledActionState {
    Pending <=> Pending,
    Fired <=> Fired,
    Skipped <=> Skipped,
    Cancelled <=> Cancelled,
    Failed <=> Failed,
});
pair!(WebhookState, WebhookState {
    Active <=> Active,
    Paused <=> Paused,
    Failing <=> Failing,
    Expired <=> Expired,
});
pair!(DeliveryPurpose, WebhookDeliveryPurpose {
    Event <=> Event,
    Test <=> Test,
    Redelivery <=> Redelivery,
});
pair!(WatchScope, WatchScope {
    Participating <=> Participating,
    Workspace <=> Workspace,
});
pair!(BodyFormat, BodyFormat {
    Plain <=> Plain,
    Html <=> Html,
    Delta <=> Delta,
});
pair!(DistributionKind, DistributionKind {
    Personal <=> Personal,
    Distributed <=> Distributed,
    Received <=> Received,
});
pair!(ReassignScope, ReassignScope {
    Task <=> Task,
    Sequence <=> Sequence,
});

/// Proto enums only read: sort orders and embeds.
macro_rules! read_only {
    ($domain:ty, $proto:ident { $($p:ident => $d:expr),+ $(,)? }) => {
        impl FromProto for $domain {
            type Proto = pb::$proto;

            fn from_proto(proto: pb::$proto) -> Option<Self> {
                match proto {
                    pb::$proto::Unspecified => None,
                    $(pb::$proto::$p => Some($d),)+
                }
            }
        }
    };
}

const fn task_sort(key: TaskSortKey, descending: bool) -> TaskSort {
    TaskSort { key, descending }
}

read_only!(TaskSort, TaskSort {
    CreatedAtAsc => task_sort(TaskSortKey::CreatedAt, false),
    CreatedAtDesc => task_sort(TaskSortKey::CreatedAt, true),
    UpdatedAtAsc => task_sort(TaskSortKey::UpdatedAt, false),
    UpdatedAtDesc => task_sort(TaskSortKey::UpdatedAt, true),
    DueAsc => task_sort(TaskSortKey::Due, false),
    DueDesc => task_sort(TaskSortKey::Due, true),
    NumberAsc => task_sort(TaskSortKey::Number, false),
    NumberDesc => task_sort(TaskSortKey::Number, true),
    PriorityAsc => task_sort(TaskSortKey::Priority, false),
    PriorityDesc => task_sort(TaskSortKey::Priority, true),
    FollowUpAsc => task_sort(TaskSortKey::FollowUp, false),
    FollowUpDesc => task_sort(TaskSortKey::FollowUp, true),
    SlaDueAsc => task_sort(TaskSortKey::SlaDue, false),
    SlaDueDesc => task_sort(TaskSortKey::SlaDue, true),
});
read_only!(SlaFilter, SlaFilter {
    WithSla => SlaFilter::WithSla,
    Breached => SlaFilter::Breached,
    NotBreached => SlaFilter::NotBreached,
});
read_only!(SnoozeFilter, SnoozeFilter {
    Awake => SnoozeFilter::Awake,
    Snoozed => SnoozeFilter::Snoozed,
    Any => SnoozeFilter::Any,
});
read_only!(MyAssignmentSort, MyAssignmentSort {
    CreatedAtAsc => MyAssignmentSort::CreatedAt { descending: false },
    CreatedAtDesc => MyAssignmentSort::CreatedAt { descending: true },
    UpdatedAtAsc => MyAssignmentSort::UpdatedAt { descending: false },
    UpdatedAtDesc => MyAssignmentSort::UpdatedAt { descending: true },
});
read_only!(TaskAssignmentSort, TaskAssignmentSort {
    LastnameAsc => TaskAssignmentSort::LastName { descending: false },
    LastnameDesc => TaskAssignmentSort::LastName { descending: true },
    FirstnameAsc => TaskAssignmentSort::FirstName { descending: false },
    FirstnameDesc => TaskAssignmentSort::FirstName { descending: true },
    CreatedAtAsc => TaskAssignmentSort::CreatedAt { descending: false },
    CreatedAtDesc => TaskAssignmentSort::CreatedAt { descending: true },
});

/// What ListTaskAssignments can embed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Embed {
    User,
}

read_only!(Embed, AssignmentEmbed { User => Embed::User });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_and_unknown_numbers_are_told_apart() {
        assert_eq!(optional::<Priority>(0), Ok(None));
        assert_eq!(optional::<Priority>(1), Ok(Some(Priority::Urgent)));
        assert!(optional::<Priority>(99).is_err());
        assert!(required::<Status>(0).is_err());
        assert_eq!(required::<Status>(5), Ok(Status::Completed));
        assert_eq!(pb::TaskStatus::from(Status::Cancelled) as i32, 7);
    }

    #[test]
    fn every_stored_value_has_a_proto_value() {
        for status in Status::ALL {
            let number = pb::TaskStatus::from(*status) as i32;
            assert_eq!(optional::<Status>(number), Ok(Some(*status)));
        }
        for actor in ActorType::ALL {
            let number = pb::ActorType::from(*actor) as i32;
            assert_eq!(optional::<ActorType>(number), Ok(Some(*actor)));
        }
    }
}
pair!(RecurrenceMode, RecurrenceMode {
    Fixed <=> Fixed,
    AfterCompletion <=> AfterCompletion,
});
pair!(CatchUp, CatchUpPolicy {
    All <=> All,
    Latest <=> Latest,
    None <=> None,
});
pair!(ScheduleState, ScheduleState {
    Active <=> Active,
    Paused <=> Paused,
    Ended <=> Ended,
});

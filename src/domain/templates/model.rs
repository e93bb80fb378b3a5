//! What a task template is made of, in the domain's words: the fields of the tasks made from it
//! (CreateTask's, with the due and reminders relative to when a task is made), and, for a
//! recurring template, its schedule and where the schedule stands.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use uuid::Uuid;

use crate::domain::{
    body::Body,
    input::{Text, TextKind},
    recurrence::{Recurrence, RecurrenceError},
    tasks::{
        CompletionPolicy, Due, ExternalKey, LinkedRecord, NewTask, Priority, Tag, TaskDraft,
        TaskKind, Title, reminders::Reminder,
    },
    vocabulary::{ActorType, CatchUp, RecurrenceMode, ScheduleState},
};

/// Templates one workspace may hold.
pub const MAX_TEMPLATES: i64 = 10_000;

/// The longest lead time and due offset.
pub const MAX_OFFSET: Duration = Duration::from_secs(366 * 86_400);

/// A template's name.
#[derive(Debug)]
pub enum TemplateName {}
impl TextKind for TemplateName {
    const MAX_CHARS: usize = 200;
    const REQUIRED: bool = true;
}

/// The fields of every task made from a template, checked as CreateTask checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFields {
    pub title: Text<Title>,
    pub body: Body,
    pub kind: TaskKind,
    pub priority: Priority,
    pub tags: Vec<Text<Tag>>,
    pub linked_records: Vec<LinkedRecord>,
    pub correlation_id: Option<Text<ExternalKey>>,
    /// None: as CreateTask's default (ALL when distributed, ANY when personal).
    pub completion_policy: Option<CompletionPolicy>,
    pub recipient_user_ids: Vec<Uuid>,
    pub recipient_channel_ids: Vec<Uuid>,
    /// Due this long after the occurrence's scheduled time (or the task's making); None: no due.
    pub due_after: Option<Duration>,
    /// Reminders before the due, each `ReminderTime::BeforeDue`.
    pub reminders: Vec<Reminder>,
}

impl TemplateFields {
    /// The task these fields make, due at `due` (a moment) if given.
    pub fn task(&self, due: Option<DateTime<Utc>>) -> NewTask {
        NewTask::from(TaskDraft {
            title: self.title.clone(),
            body: self.body.clone(),
            kind: self.kind.clone(),
            priority: self.priority,
            due: due.map(Due::At),
            tags: self.tags.clone(),
            linked_records: self.linked_records.clone(),
            external_id: None,
            correlation_id: self.correlation_id.clone(),
            sequence_id: None,
            completion_policy: self.completion_policy,
            recipient_user_ids: self.recipient_user_ids.clone(),
            recipient_channel_ids: self.recipient_channel_ids.clone(),
            follow_up_at: None,
            reminders: self.reminders.clone(),
            source_occurred_at: None,
        })
    }
}

/// A recurring template's schedule as its author sets it.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The RRULE's value, e.g. `FREQ=WEEKLY;BYDAY=MO`.
    pub rule: String,
    /// An IANA zone; occurrences keep their local time in it across clock changes.
    pub zone: String,
    /// The first occurrence's local date and time (the rule's DTSTART).
    pub starts: NaiveDateTime,
    /// Local dates without an occurrence (EXDATE).
    pub skipped: Vec<NaiveDate>,
    pub mode: RecurrenceMode,
    pub catch_up: CatchUp,
    /// Occurrences are made this long before their scheduled time.
    pub lead: Duration,
    /// Due at this local time on the occurrence's date (the next day's, if that is before the
    /// occurrence), instead of the fields' `due_after`.
    pub due_time: Option<NaiveTime>,
    recurrence: Recurrence,
}

impl Schedule {
    /// A schedule whose rule expands: readable, daily or coarser, a zone this server knows, a
    /// first occurrence that exists in it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rule: String,
        zone: String,
        starts: NaiveDateTime,
        skipped: Vec<NaiveDate>,
        mode: RecurrenceMode,
        catch_up: CatchUp,
        lead: Duration,
        due_time: Option<NaiveTime>,
    ) -> Result<Self, RecurrenceError> {
        let recurrence = Recurrence::parse(&rule, &zone, starts, &skipped)?;
        Ok(Self {
            rule,
            zone,
            starts,
            skipped,
            mode,
            catch_up,
            lead,
            due_time,
            recurrence,
        })
    }

    pub fn recurrence(&self) -> &Recurrence {
        &self.recurrence
    }

    /// The due of an occurrence scheduled for `at`: at `due_time` on its local date (the next
    /// day's if that comes first), else `due_after` later, else none.
    pub fn due_of(&self, at: DateTime<Utc>, due_after: Option<Duration>) -> Option<DateTime<Utc>> {
        match self.due_time {
            Some(time) => self.recurrence.local_time_on_or_after(at, time),
            None => {
                due_after.and_then(|after| chrono::Duration::from_std(after).ok().map(|d| at + d))
            }
        }
    }
}

/// Where a recurring template's schedule stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleStatus {
    pub state: ScheduleState,
    /// Why it was paused or ended, when Docket did it or the caller said.
    pub reason: Option<String>,
    /// The next occurrence not made yet: its scheduled time and index.
    pub next_at: Option<DateTime<Utc>>,
    /// The series' latest task made by the schedule, and its index (the number made).
    pub last_task_id: Option<Uuid>,
    pub last_index: i32,
}

/// A template as it is kept.
#[derive(Debug, Clone)]
pub struct TemplateView {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: Text<TemplateName>,
    pub fields: TemplateFields,
    pub schedule: Option<(Schedule, ScheduleStatus)>,
    pub created_by: (ActorType, String),
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl TemplateView {
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }
}

//! UpdateTask's input as the domain accepts it: the fields an update mask may name, and the
//! checked changes to them (the free text and keys are `input`'s kinds).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::input::{ExternalKey, LinkedRecord, Tag, TaskKind, Title};
use super::model::{CompletionPolicy, Due, Priority};
use super::reminders::Reminder;
use crate::domain::{
    body::Body,
    input::{Text, Violations, quoted},
};

/// A field of a task that UpdateTask may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskField {
    Title,
    Body,
    Kind,
    Priority,
    Due,
    Tags,
    LinkedRecords,
    ExternalId,
    CorrelationId,
    SequenceId,
    CompletionPolicy,
    FollowUpAt,
    Reminders,
}

impl TaskField {
    pub const ALL: [TaskField; 13] = [
        TaskField::Title,
        TaskField::Body,
        TaskField::Kind,
        TaskField::Priority,
        TaskField::Due,
        TaskField::Tags,
        TaskField::LinkedRecords,
        TaskField::ExternalId,
        TaskField::CorrelationId,
        TaskField::SequenceId,
        TaskField::CompletionPolicy,
        TaskField::FollowUpAt,
        TaskField::Reminders,
    ];

    /// The field's name in update masks (and in field violations).
    pub fn path(self) -> &'static str {
        match self {
            TaskField::Title => "title",
            TaskField::Body => "body",
            TaskField::Kind => "kind",
            TaskField::Priority => "priority",
            TaskField::Due => "due",
            TaskField::Tags => "tags",
            TaskField::LinkedRecords => "linked_records",
            TaskField::ExternalId => "external_id",
            TaskField::CorrelationId => "correlation_id",
            TaskField::SequenceId => "sequence_id",
            TaskField::CompletionPolicy => "completion_policy",
            TaskField::FollowUpAt => "follow_up_at",
            TaskField::Reminders => "reminders",
        }
    }

    /// The fields an update mask names: at least one, each a field of TaskPatch, each once.
    /// Only these fields of the patch are read (and need be valid).
    pub fn of_mask(paths: &[String], violations: &mut Violations) -> Vec<TaskField> {
        if paths.is_empty() {
            violations.add("update_mask", "name the fields to change, e.g. title");
        }
        let mut fields = violations.each("update_mask.paths", paths, Self::ALL.len(), |path| {
            Self::ALL
                .into_iter()
                .find(|field| field.path() == path)
                .ok_or_else(|| format!("{} is not a field of TaskPatch", quoted(path)))
        });
        let mut seen = HashSet::new();
        fields.retain(|field| seen.insert(*field));
        fields
    }
}

/// Checked changes to a task: `None` leaves a field alone; for optional fields `Some(None)` clears.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskChanges {
    pub title: Option<Text<Title>>,
    pub body: Option<Body>,
    pub kind: Option<TaskKind>,
    pub priority: Option<Priority>,
    pub due: Option<Option<Due>>,
    pub tags: Option<Vec<Text<Tag>>>,
    pub linked_records: Option<Vec<LinkedRecord>>,
    pub external_id: Option<Option<Text<ExternalKey>>>,
    pub correlation_id: Option<Option<Text<ExternalKey>>>,
    pub sequence_id: Option<Option<Uuid>>,
    /// `Some(None)`: back to the default for the task's distribution.
    pub completion_policy: Option<Option<CompletionPolicy>>,
    pub follow_up_at: Option<Option<DateTime<Utc>>>,
    /// Replaces the task's pending reminders.
    pub reminders: Option<Vec<Reminder>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::input::described;

    #[test]
    fn masks_name_known_fields_each_once() {
        let mut violations = Violations::default();
        let paths = ["title", "tags", "title"].map(String::from);
        assert_eq!(
            TaskField::of_mask(&paths, &mut violations),
            [TaskField::Title, TaskField::Tags]
        );
        assert!(violations.is_empty());

        let mut violations = Violations::default();
        TaskField::of_mask(&["colour".to_owned()], &mut violations);
        TaskField::of_mask(&[], &mut violations);
        let too_many = TaskField::ALL.len() + 1;
        TaskField::of_mask(&vec!["x".to_owned(); too_many], &mut violations);
        let invalid = violations.finish(()).expect_err("invalid");
        assert_eq!(
            described(&invalid),
            [
                (
                    "update_mask.paths[0]",
                    "\"colour\" is not a field of TaskPatch"
                ),
                ("update_mask", "name the fields to change, e.g. title"),
                (
                    "update_mask.paths",
                    &*format!("at most {} values, not {too_many}", too_many - 1)
                ),
            ]
        );
    }
}

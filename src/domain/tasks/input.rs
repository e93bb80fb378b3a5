//! A new task as the domain accepts it: every field checked, so a `NewTask` cannot hold anything
//! the database would refuse.

use std::collections::HashSet;

use uuid::Uuid;

use super::model::{CompletionPolicy, Due, Priority};
use crate::{
    domain::body::{Body, BodyError, BodyInput},
    error::FieldViolation,
};

pub const MAX_TITLE_CHARS: usize = 500;
pub const MAX_TAGS: usize = 32;
pub const MAX_TAG_CHARS: usize = 64;
pub const MAX_LINKED_RECORDS: usize = 50;
pub const MAX_RECIPIENTS: usize = 1000;
const MAX_ID_CHARS: usize = 200;
const DEFAULT_KIND: &str = "GENERAL";

/// What a caller asks for, fields still unchecked (ids already parsed by the edge).
#[derive(Debug, Clone, Default)]
pub struct TaskDraft<'a> {
    pub title: &'a str,
    pub body: Option<BodyInput<'a>>,
    pub kind: &'a str,
    pub priority: Option<Priority>,
    pub due: Option<Due>,
    pub tags: &'a [String],
    pub linked_records: Vec<(&'a str, &'a str)>,
    pub external_id: &'a str,
    pub correlation_id: &'a str,
    pub sequence_id: Option<Uuid>,
    pub completion_policy: Option<CompletionPolicy>,
    pub recipient_user_ids: Vec<Uuid>,
    pub recipient_channel_ids: Vec<Uuid>,
}

/// A checked new task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub title: String,
    pub body: Body,
    pub kind: String,
    pub priority: Priority,
    pub due: Option<Due>,
    pub tags: Vec<String>,
    pub linked_records: Vec<(String, String)>,
    pub external_id: Option<String>,
    pub correlation_id: Option<String>,
    pub sequence_id: Option<Uuid>,
    pub completion_policy: CompletionPolicy,
    pub recipient_user_ids: Vec<Uuid>,
    pub recipient_channel_ids: Vec<Uuid>,
}

impl NewTask {
    pub fn is_distributed(&self) -> bool {
        !self.recipient_user_ids.is_empty() || !self.recipient_channel_ids.is_empty()
    }

    pub fn check(draft: TaskDraft<'_>) -> Result<Self, Vec<FieldViolation>> {
        let mut checks = FieldChecks::default();
        let title = checks.title(draft.title);
        let body = checks.body(draft.body);
        let kind = checks.kind(draft.kind);
        let tags = checks.tags(draft.tags);
        let linked_records = checks.linked_records(&draft.linked_records);
        let external_id = checks.optional_id("external_id", draft.external_id);
        let correlation_id = checks.optional_id("correlation_id", draft.correlation_id);
        let recipients = draft.recipient_user_ids.len() + draft.recipient_channel_ids.len();
        if recipients > MAX_RECIPIENTS {
            checks.bad(
                "recipient_user_ids",
                format!("at most {MAX_RECIPIENTS} recipients"),
            );
        }
        let distributed = recipients > 0;
        checks.finish()?;
        Ok(Self {
            title,
            body,
            kind,
            priority: draft.priority.unwrap_or(Priority::Normal),
            due: draft.due,
            tags,
            linked_records,
            external_id,
            correlation_id,
            sequence_id: draft.sequence_id,
            completion_policy: draft.completion_policy.unwrap_or(if distributed {
                CompletionPolicy::All
            } else {
                CompletionPolicy::Any
            }),
            recipient_user_ids: dedup(draft.recipient_user_ids),
            recipient_channel_ids: dedup(draft.recipient_channel_ids),
        })
    }
}

/// The checks of single task fields, shared by create and update; collects every violation.
#[derive(Debug, Default)]
pub struct FieldChecks {
    violations: Vec<FieldViolation>,
}

impl FieldChecks {
    pub fn bad(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.violations
            .push(FieldViolation::new(field, description));
    }

    /// `Ok` when every check passed, else all the violations.
    pub fn finish(self) -> Result<(), Vec<FieldViolation>> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(self.violations)
        }
    }

    pub fn title(&mut self, title: &str) -> String {
        let title = title.trim();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            self.bad(
                "title",
                format!("must be 1 to {MAX_TITLE_CHARS} characters"),
            );
        }
        title.to_owned()
    }

    pub fn body(&mut self, body: Option<BodyInput<'_>>) -> Body {
        match body.map(Body::from_input).transpose() {
            Ok(body) => body.unwrap_or_else(Body::empty),
            Err(e @ (BodyError::TooLarge | BodyError::InvalidDelta(_))) => {
                self.bad("body", e.to_string());
                Body::empty()
            }
        }
    }

    pub fn kind(&mut self, kind: &str) -> String {
        let kind = if kind.is_empty() { DEFAULT_KIND } else { kind };
        if !valid_kind(kind) {
            self.bad(
                "kind",
                "an upper-case key of letters, digits and _ (up to 64), e.g. CALL",
            );
        }
        kind.to_owned()
    }

    /// Trimmed, without duplicates.
    pub fn tags(&mut self, raw: &[String]) -> Vec<String> {
        let mut tags: Vec<String> = Vec::new();
        for (index, tag) in raw.iter().enumerate() {
            let tag = tag.trim();
            if tag.is_empty() || tag.chars().count() > MAX_TAG_CHARS {
                self.bad(
                    format!("tags[{index}]"),
                    format!("must be 1 to {MAX_TAG_CHARS} characters"),
                );
            } else if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        if tags.len() > MAX_TAGS {
            self.bad("tags", format!("at most {MAX_TAGS} tags"));
        }
        tags
    }

    pub fn linked_records(&mut self, records: &[(&str, &str)]) -> Vec<(String, String)> {
        if records.len() > MAX_LINKED_RECORDS {
            self.bad(
                "linked_records",
                format!("at most {MAX_LINKED_RECORDS} records"),
            );
        }
        let mut checked = Vec::new();
        for (index, (object, record_id)) in records.iter().enumerate() {
            if !valid_object(object) {
                self.bad(
                    format!("linked_records[{index}].object"),
                    "a lowercase key such as people or companies",
                );
            }
            if record_id.trim().is_empty() || record_id.chars().count() > MAX_ID_CHARS {
                self.bad(
                    format!("linked_records[{index}].record_id"),
                    format!("must be 1 to {MAX_ID_CHARS} characters"),
                );
            }
            checked.push((object.to_string(), record_id.trim().to_owned()));
        }
        checked
    }

    /// An optional external key; empty means none.
    pub fn optional_id(&mut self, field: &str, value: &str) -> Option<String> {
        let value = value.trim();
        if value.chars().count() > MAX_ID_CHARS {
            self.bad(field, format!("at most {MAX_ID_CHARS} characters"));
        }
        (!value.is_empty()).then(|| value.to_owned())
    }
}

/// A field of a task that UpdateTask may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl TaskField {
    pub const ALL: [TaskField; 11] = [
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
        }
    }

    pub fn parse(path: &str) -> Option<Self> {
        TaskField::ALL
            .into_iter()
            .find(|field| field.path() == path)
    }
}

/// Checked changes to a task: `None` leaves a field alone; for optional fields `Some(None)` clears.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskChanges {
    pub title: Option<String>,
    pub body: Option<Body>,
    pub kind: Option<String>,
    pub priority: Option<Priority>,
    pub due: Option<Option<Due>>,
    pub tags: Option<Vec<String>>,
    pub linked_records: Option<Vec<(String, String)>>,
    pub external_id: Option<Option<String>>,
    pub correlation_id: Option<Option<String>>,
    pub sequence_id: Option<Option<Uuid>>,
    /// `Some(None)`: back to the default for the task's distribution.
    pub completion_policy: Option<Option<CompletionPolicy>>,
}

impl TaskChanges {
    /// The changes to the `fields` a draft carries, each checked as on create.
    pub fn check(draft: TaskDraft<'_>, fields: &[TaskField]) -> Result<Self, Vec<FieldViolation>> {
        let mut checks = FieldChecks::default();
        let mut changes = TaskChanges::default();
        for field in fields {
            match field {
                TaskField::Title => changes.title = Some(checks.title(draft.title)),
                TaskField::Body => changes.body = Some(checks.body(draft.body)),
                TaskField::Kind => changes.kind = Some(checks.kind(draft.kind)),
                TaskField::Priority => {
                    changes.priority = Some(draft.priority.unwrap_or(Priority::Normal))
                }
                TaskField::Due => changes.due = Some(draft.due),
                TaskField::Tags => changes.tags = Some(checks.tags(draft.tags)),
                TaskField::LinkedRecords => {
                    changes.linked_records = Some(checks.linked_records(&draft.linked_records))
                }
                TaskField::ExternalId => {
                    changes.external_id = Some(checks.optional_id("external_id", draft.external_id))
                }
                TaskField::CorrelationId => {
                    changes.correlation_id =
                        Some(checks.optional_id("correlation_id", draft.correlation_id))
                }
                TaskField::SequenceId => changes.sequence_id = Some(draft.sequence_id),
                TaskField::CompletionPolicy => {
                    changes.completion_policy = Some(draft.completion_policy)
                }
            }
        }
        checks.finish()?;
        Ok(changes)
    }
}

fn dedup(ids: Vec<Uuid>) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    ids.into_iter().filter(|id| seen.insert(*id)).collect()
}

pub(super) fn valid_kind(kind: &str) -> bool {
    let mut chars = kind.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && kind.len() <= 64
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

pub(super) fn valid_object(object: &str) -> bool {
    let mut chars = object.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && object.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(draft: TaskDraft<'_>) -> Vec<String> {
        NewTask::check(draft)
            .expect_err("invalid")
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn defaults_follow_the_contract() {
        let personal = NewTask::check(TaskDraft {
            title: " Call Ada ",
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(personal.title, "Call Ada");
        assert_eq!(personal.kind, "GENERAL");
        assert_eq!(personal.priority, Priority::Normal);
        assert_eq!(personal.completion_policy, CompletionPolicy::Any);
        let user = Uuid::new_v4();
        let distributed = NewTask::check(TaskDraft {
            title: "x",
            recipient_user_ids: vec![user, user],
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(distributed.completion_policy, CompletionPolicy::All);
        assert_eq!(distributed.recipient_user_ids, [user], "duplicates dropped");
    }

    #[test]
    fn every_bad_field_is_named() {
        let long_title = "x".repeat(501);
        let tags: Vec<String> = (0..33).map(|i| format!("t{i}")).collect();
        assert_eq!(
            fields(TaskDraft {
                title: &long_title,
                ..Default::default()
            }),
            ["title"]
        );
        assert_eq!(
            fields(TaskDraft {
                title: "x",
                tags: &tags,
                ..Default::default()
            }),
            ["tags"]
        );
        let long_tag = ["y".repeat(65)];
        assert_eq!(
            fields(TaskDraft {
                title: "x",
                tags: &long_tag,
                ..Default::default()
            }),
            ["tags[0]"]
        );
        assert_eq!(
            fields(TaskDraft {
                title: "x",
                kind: "call",
                ..Default::default()
            }),
            ["kind"]
        );
        assert_eq!(
            fields(TaskDraft {
                title: "x",
                linked_records: vec![("People", "")],
                ..Default::default()
            }),
            ["linked_records[0].object", "linked_records[0].record_id"]
        );
        assert_eq!(
            fields(TaskDraft {
                title: "",
                body: Some(BodyInput::Delta("nope")),
                ..Default::default()
            }),
            ["title", "body"]
        );
    }
}

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
        let mut violations = Vec::new();
        let mut bad = |field: String, description: String| {
            violations.push(FieldViolation::new(field, description))
        };

        let title = draft.title.trim();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            bad(
                "title".into(),
                format!("must be 1 to {MAX_TITLE_CHARS} characters"),
            );
        }
        let body = match draft.body.map(Body::from_input).transpose() {
            Ok(body) => body.unwrap_or_else(Body::empty),
            Err(e @ BodyError::TooLarge) | Err(e @ BodyError::InvalidDelta(_)) => {
                bad("body".into(), e.to_string());
                Body::empty()
            }
        };
        let kind = if draft.kind.is_empty() {
            DEFAULT_KIND
        } else {
            draft.kind
        };
        if !valid_kind(kind) {
            bad(
                "kind".into(),
                "an upper-case key of letters, digits and _ (up to 64), e.g. CALL".into(),
            );
        }
        let mut tags: Vec<String> = Vec::new();
        for (index, tag) in draft.tags.iter().enumerate() {
            let tag = tag.trim();
            if tag.is_empty() || tag.chars().count() > MAX_TAG_CHARS {
                bad(
                    format!("tags[{index}]"),
                    format!("must be 1 to {MAX_TAG_CHARS} characters"),
                );
            } else if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        if tags.len() > MAX_TAGS {
            bad("tags".into(), format!("at most {MAX_TAGS} tags"));
        }
        if draft.linked_records.len() > MAX_LINKED_RECORDS {
            bad(
                "linked_records".into(),
                format!("at most {MAX_LINKED_RECORDS} records"),
            );
        }
        let mut linked_records = Vec::new();
        for (index, (object, record_id)) in draft.linked_records.iter().enumerate() {
            if !valid_object(object) {
                bad(
                    format!("linked_records[{index}].object"),
                    "a lowercase key such as people or companies".into(),
                );
            }
            if record_id.trim().is_empty() || record_id.chars().count() > MAX_ID_CHARS {
                bad(
                    format!("linked_records[{index}].record_id"),
                    format!("must be 1 to {MAX_ID_CHARS} characters"),
                );
            }
            linked_records.push((object.to_string(), record_id.trim().to_owned()));
        }
        let optional_id = |field: &str, value: &str, bad: &mut dyn FnMut(String, String)| {
            let value = value.trim();
            if value.chars().count() > MAX_ID_CHARS {
                bad(field.into(), format!("at most {MAX_ID_CHARS} characters"));
            }
            (!value.is_empty()).then(|| value.to_owned())
        };
        let external_id = optional_id("external_id", draft.external_id, &mut bad);
        let correlation_id = optional_id("correlation_id", draft.correlation_id, &mut bad);
        let recipients = draft.recipient_user_ids.len() + draft.recipient_channel_ids.len();
        if recipients > MAX_RECIPIENTS {
            bad(
                "recipient_user_ids".into(),
                format!("at most {MAX_RECIPIENTS} recipients"),
            );
        }
        let distributed = recipients > 0;
        if !violations.is_empty() {
            return Err(violations);
        }
        Ok(Self {
            title: title.to_owned(),
            body,
            kind: kind.to_owned(),
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

fn dedup(ids: Vec<Uuid>) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    ids.into_iter().filter(|id| seen.insert(*id)).collect()
}

fn valid_kind(kind: &str) -> bool {
    let mut chars = kind.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && kind.len() <= 64
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn valid_object(object: &str) -> bool {
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

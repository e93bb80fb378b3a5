//! What a task is made of as the domain accepts it: every field a checked value, so a `NewTask`
//! or `TaskChanges` (`patch`, with the rules of update masks) cannot hold anything the database
//! would refuse. The kinds of free text a task has and their limits live here; `grpc::tasks` reads
//! requests into these types.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use uuid::Uuid;

use super::model::{CompletionPolicy, Due, Priority};
pub use super::patch::{TaskChanges, TaskField};
use super::reminders::Reminder;
use crate::domain::{
    body::Body,
    input::{Text, TextKind},
};

/// Most tags a task (or a tag filter) has, linked records a task has, and recipients a create
/// names.
pub const MAX_TAGS: usize = 32;
pub const MAX_LINKED_RECORDS: usize = 50;
pub const MAX_RECIPIENTS: usize = 1000;

macro_rules! text_kind {
    ($(#[$meta:meta])* $name:ident: $max:expr, $required:expr $(, multiline = $multi:expr)?) => {
        $(#[$meta])*
        #[derive(Debug)]
        pub enum $name {}
        impl TextKind for $name {
            const MAX_CHARS: usize = $max;
            const REQUIRED: bool = $required;
            $(const MULTILINE: bool = $multi;)?
        }
    };
}

text_kind!(
    /// A task's title.
    Title: 500, true
);
text_kind!(
    /// One tag.
    Tag: 64, true
);
text_kind!(
    /// A linked record's id in its own system (not always a UUID).
    RecordId: 200, true
);
text_kind!(
    /// `external_id` and `correlation_id`: keys from other systems; empty means none.
    ExternalKey: 200, false
);
text_kind!(
    /// A create's `request_id`; empty means none.
    RequestKey: 200, false
);
text_kind!(
    /// The note of a completion response.
    Note: 10_000, false, multiline = true
);
text_kind!(
    /// Why a task was reopened.
    Reason: 1_000, false, multiline = true
);
text_kind!(
    /// ListTasks' `query`: words of the title, or a task number.
    SearchQuery: 200, false
);

/// A task's kind: a short upper-case key such as CALL or NEW_LEAD_REVIEW.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct TaskKind(String);

/// Whether `raw` is a key: 1 to 64 ASCII characters, the first a letter of `letter`'s case, the
/// rest such letters, digits or one of `marks` (the database's CHECK constraints say the same).
fn is_key(raw: &str, letter: fn(&char) -> bool, marks: &[char]) -> bool {
    let mut chars = raw.chars();
    chars.next().is_some_and(|c| letter(&c))
        && raw.len() <= 64
        && chars.all(|c| letter(&c) || c.is_ascii_digit() || marks.contains(&c))
}

impl TaskKind {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if is_key(raw, char::is_ascii_uppercase, &['_']) {
            Ok(Self(raw.to_owned()))
        } else {
            Err("an upper-case key of letters, digits and _ (up to 64), e.g. CALL")
        }
    }

    /// The kind a task written without one gets.
    pub fn general() -> Self {
        Self("GENERAL".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What kind of record a linked record is: a lower-case key such as people or invoices.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if is_key(raw, char::is_ascii_lowercase, &['_', '-']) {
            Ok(Self(raw.to_owned()))
        } else {
            Err("a lowercase key such as people or companies")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A record in another system that a task is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinkedRecord {
    pub object: ObjectKey,
    pub record_id: Text<RecordId>,
}

impl LinkedRecord {
    pub fn pair(&self) -> (String, String) {
        (
            self.object.as_str().to_owned(),
            self.record_id.as_str().to_owned(),
        )
    }
}

/// A new task's fields as read from a request, each already checked; what is unset gets its
/// default when this becomes a [`NewTask`].
#[derive(Debug, Clone)]
pub struct TaskDraft {
    pub title: Text<Title>,
    pub body: Body,
    pub kind: TaskKind,
    pub priority: Priority,
    pub due: Option<Due>,
    pub tags: Vec<Text<Tag>>,
    pub linked_records: Vec<LinkedRecord>,
    pub external_id: Option<Text<ExternalKey>>,
    pub correlation_id: Option<Text<ExternalKey>>,
    pub sequence_id: Option<Uuid>,
    pub completion_policy: Option<CompletionPolicy>,
    pub recipient_user_ids: Vec<Uuid>,
    pub recipient_channel_ids: Vec<Uuid>,
    pub follow_up_at: Option<DateTime<Utc>>,
    pub reminders: Vec<Reminder>,
    /// When what the task reacts to happened (not after now; never changed).
    pub source_occurred_at: Option<DateTime<Utc>>,
}

/// A checked new task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub title: Text<Title>,
    pub body: Body,
    pub kind: TaskKind,
    pub priority: Priority,
    pub due: Option<Due>,
    pub tags: Vec<Text<Tag>>,
    pub linked_records: Vec<LinkedRecord>,
    pub external_id: Option<Text<ExternalKey>>,
    pub correlation_id: Option<Text<ExternalKey>>,
    pub sequence_id: Option<Uuid>,
    pub completion_policy: CompletionPolicy,
    pub recipient_user_ids: Vec<Uuid>,
    pub recipient_channel_ids: Vec<Uuid>,
    pub follow_up_at: Option<DateTime<Utc>>,
    pub reminders: Vec<Reminder>,
    /// When what the task reacts to happened (not after now; never changed).
    pub source_occurred_at: Option<DateTime<Utc>>,
}

impl NewTask {
    pub fn is_distributed(&self) -> bool {
        !self.recipient_user_ids.is_empty() || !self.recipient_channel_ids.is_empty()
    }
}

impl From<TaskDraft> for NewTask {
    /// Duplicates dropped; the completion policy defaults to ALL for a distributed task and ANY
    /// for a personal one.
    fn from(draft: TaskDraft) -> Self {
        let distributed =
            !draft.recipient_user_ids.is_empty() || !draft.recipient_channel_ids.is_empty();
        let default_policy = if distributed {
            CompletionPolicy::All
        } else {
            CompletionPolicy::Any
        };
        Self {
            title: draft.title,
            body: draft.body,
            kind: draft.kind,
            priority: draft.priority,
            due: draft.due,
            tags: unique(draft.tags),
            linked_records: unique(draft.linked_records),
            external_id: draft.external_id,
            correlation_id: draft.correlation_id,
            sequence_id: draft.sequence_id,
            completion_policy: draft.completion_policy.unwrap_or(default_policy),
            recipient_user_ids: unique(draft.recipient_user_ids),
            recipient_channel_ids: unique(draft.recipient_channel_ids),
            follow_up_at: draft.follow_up_at,
            reminders: draft.reminders,
            source_occurred_at: draft.source_occurred_at,
        }
    }
}

/// The values in order, each once.
pub(crate) fn unique<T: Clone + Eq + std::hash::Hash>(values: Vec<T>) -> Vec<T> {
    let mut seen = HashSet::new();
    values
        .into_iter()
        .filter(|v| seen.insert(v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_database_checks() {
        for ok in ["CALL", "NEW_LEAD_REVIEW", "X1"] {
            assert!(TaskKind::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "call", "1CALL", "CALL-ME", &"A".repeat(65), "CALL\u{0}"] {
            assert!(TaskKind::parse(bad).is_err(), "{bad:?}");
        }
        for ok in ["people", "sales-orders", "a_1"] {
            assert!(ObjectKey::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "People", "-x", &"a".repeat(65)] {
            assert!(ObjectKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn defaults_follow_the_contract() {
        let title = Text::parse("Call Ada").expect("title");
        let draft = TaskDraft {
            title,
            body: Body::empty(),
            kind: TaskKind::general(),
            priority: Priority::Normal,
            due: None,
            tags: Vec::new(),
            linked_records: Vec::new(),
            external_id: None,
            correlation_id: None,
            sequence_id: None,
            completion_policy: None,
            recipient_user_ids: Vec::new(),
            recipient_channel_ids: Vec::new(),
            follow_up_at: None,
            reminders: Vec::new(),
            source_occurred_at: None,
        };
        assert_eq!(
            NewTask::from(draft.clone()).completion_policy,
            CompletionPolicy::Any
        );
        let user = Uuid::new_v4();
        let distributed = NewTask::from(TaskDraft {
            recipient_user_ids: vec![user, user],
            ..draft
        });
        assert_eq!(distributed.completion_policy, CompletionPolicy::All);
        assert_eq!(distributed.recipient_user_ids, [user], "duplicates dropped");
    }
}

//! What an event records of a change to a task: each field that changed with its old and new
//! value (TASK_UPDATED), and what a lifecycle move recorded besides the status.
//!
//! A body is not copied into the log (bodies run to hundreds of kilobytes, and the task holds
//! the current one): its change records the format written and the length of the plain text.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::db::tasks::{StatusChange, TaskRow};

/// `{"old": old, "new": new}`.
pub(crate) fn change<T: Serialize + ?Sized>(old: &T, new: &T) -> Value {
    json!({ "old": old, "new": new })
}

/// The fields `new` holds other values of than `old` did, each with both values.
pub(crate) fn changed_fields(old: &TaskRow, new: &TaskRow) -> Map<String, Value> {
    let mut fields = Map::new();
    let mut compare = |name: &str, old: Value, new: Value| {
        if old != new {
            fields.insert(name.to_owned(), json!({ "old": old, "new": new }));
        }
    };
    compare("title", json!(old.title), json!(new.title));
    compare("body", body(old), body(new));
    compare("kind", json!(old.kind), json!(new.kind));
    compare(
        "priority",
        json!(old.priority.as_str()),
        json!(new.priority.as_str()),
    );
    compare("due", due(old), due(new));
    compare("tags", json!(old.tags), json!(new.tags));
    compare(
        "external_id",
        json!(old.external_id),
        json!(new.external_id),
    );
    compare(
        "correlation_id",
        json!(old.correlation_id),
        json!(new.correlation_id),
    );
    compare(
        "sequence_id",
        json!(old.sequence_id),
        json!(new.sequence_id),
    );
    compare(
        "follow_up_at",
        json!(old.follow_up_at),
        json!(new.follow_up_at),
    );
    compare(
        "completion_policy",
        json!(old.completion_policy.as_str()),
        json!(new.completion_policy.as_str()),
    );
    fields
}

/// Every task has a body (one created without is an empty PLAIN one), so this is never null.
fn body(task: &TaskRow) -> Value {
    // Two bodies of the same format and length differ in their text: the log still tells.
    json!({
        "format": task.body_format.as_str(),
        "plain_chars": task.body_plain.chars().count(),
        "digest": digest(&task.body_plain, &task.body_html, &task.body_delta),
    })
}

/// A short fingerprint of a body, so that an edit that keeps its length still shows.
fn digest(plain: &str, html: &str, delta: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in [plain, html, delta] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn due(task: &TaskRow) -> Value {
    match (task.due_date, task.due_at) {
        (Some(date), _) => json!({ "date": date.to_string() }),
        (None, Some(at)) => {
            json!({ "at": at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true) })
        }
        (None, None) => Value::Null,
    }
}

/// What a lifecycle move records besides its statuses: the completion response, or why a task
/// was reopened.
pub(crate) fn move_details(change: &StatusChange<'_>) -> Value {
    let mut details = Map::new();
    if let Some((disposition, note)) = change.outcome {
        details.insert("disposition".into(), json!(disposition.map(|d| d.as_str())));
        details.insert("note".into(), json!(note));
    }
    if let Some(reason) = change.reopen_reason {
        details.insert("reason".into(), json!(reason));
    }
    Value::Object(details)
}

//! Changing a task's fields: an author's changes by mask, only if the task still has the etag
//! they read, recorded as one TASK_UPDATED with the old and new values.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{
    CompletionPolicy, Due, ExternalKey, LinkedRecord, TaskChanges, TaskKind, TaskView,
    changes::{change, changed_fields},
    is_author, model, settle, view,
};
use crate::{
    auth::Caller,
    db::tasks::{self, TaskChangeset},
    domain::{DomainError, input::Text, vocabulary::EventKind},
    events::Recorder,
};

/// Applies an author's changes, if the task still has `expected_etag` (when given).
pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
    changes: TaskChanges,
    expected_etag: Option<&str>,
) -> Result<TaskView, DomainError> {
    conn.transaction(async |conn| {
        let row = tasks::lock(conn, caller.workspace_id, task_id)
            .await?
            .ok_or(DomainError::TaskNotFound)?;
        if !is_author(caller, &row) {
            return Err(DomainError::TaskNotFound);
        }
        if expected_etag.is_some_and(|etag| etag != model::etag(&row)) {
            return Err(DomainError::TaskChangeConflict);
        }
        let default_policy = if row.distributed {
            CompletionPolicy::All
        } else {
            CompletionPolicy::Any
        };
        let tags: Option<Vec<String>> = changes
            .tags
            .as_ref()
            .map(|tags| tags.iter().map(|t| t.as_str().to_owned()).collect());
        let changeset = changeset(&changes, tags.as_deref(), default_policy);
        let old = row;
        let mut row = tasks::update(conn, caller.workspace_id, task_id, changeset).await?;
        let mut fields = changed_fields(&old, &row);
        if let Some(records) = &changes.linked_records {
            let mut links: Vec<(String, String)> = records.iter().map(LinkedRecord::pair).collect();
            let was =
                tasks::linked_records::replace(conn, caller.workspace_id, task_id, &links).await?;
            links.sort();
            links.dedup();
            if was != links {
                fields.insert("linked_records".into(), change(&was, &links));
            }
        }
        if let Some(reminders) = &changes.reminders {
            let (was, now) = super::reminders::replace(conn, caller, &row, reminders).await?;
            if was != now {
                fields.insert("reminders".into(), change(&was, &now));
            }
        }
        let mut recorder = Recorder::new(caller);
        let details = serde_json::json!({ "fields": fields });
        recorder.task(&row, EventKind::TaskUpdated, details, Vec::new());
        if changes.completion_policy.is_some() {
            // Another policy may hold, or stop holding, over the same assignments.
            row = settle(conn, row, &mut recorder).await?.0;
        }
        let view = view::view(conn, caller, row, false).await?;
        // Last: it holds the workspace's event log until the transaction commits.
        recorder.write(conn).await?;
        Ok(view)
    })
    .await
}

/// The columns `changes` sets (`tags` as the column holds them); a policy set back to the default
/// is the task's default policy.
fn changeset<'a>(
    changes: &'a TaskChanges,
    tags: Option<&'a [String]>,
    default_policy: CompletionPolicy,
) -> TaskChangeset<'a> {
    fn optional(text: &Option<Option<Text<ExternalKey>>>) -> Option<Option<&str>> {
        text.as_ref().map(|text| text.as_ref().map(Text::as_str))
    }
    let (due_date, due_at) = match changes.due {
        None => (None, None),
        Some(None) => (Some(None), Some(None)),
        Some(Some(Due::Date(date))) => (Some(Some(date)), Some(None)),
        Some(Some(Due::At(at))) => (Some(None), Some(Some(at))),
    };
    let body = changes.body.as_ref();
    TaskChangeset {
        title: changes.title.as_ref().map(Text::as_str),
        body_format: body.map(|b| b.written_as),
        body_plain: body.map(|b| b.plain.as_str()),
        body_html: body.map(|b| b.html.as_str()),
        body_delta: body.map(|b| b.delta.as_str()),
        kind: changes.kind.as_ref().map(TaskKind::as_str),
        priority: changes.priority,
        due_date,
        due_at,
        tags,
        external_id: optional(&changes.external_id),
        correlation_id: optional(&changes.correlation_id),
        sequence_id: changes.sequence_id,
        completion_policy: changes
            .completion_policy
            .map(|p| p.unwrap_or(default_policy)),
        distributed: None,
        follow_up_at: changes.follow_up_at,
        ..TaskChangeset::default()
    }
}

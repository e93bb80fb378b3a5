//! Reassigning: making one user the only recipient of a task, or of every open task of its
//! sequence (Topo's reassign), in one transaction that locks the tasks in id order.

use crate::events::{Recorder, record};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{Received, TaskView, is_author, lock_for_change, settle, views};
use crate::{
    auth::Caller,
    db::{
        assignments,
        directory::users,
        tasks::{self, TaskChangeset, TaskRow},
    },
    domain::{DomainError, vocabulary::EventKind},
};

/// Which tasks a reassignment changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReassignScope {
    Task,
    Sequence,
}

/// Makes `assignee` the only recipient of the task, or of every open task of its sequence.
pub async fn reassign(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
    assignee: Uuid,
    scope: ReassignScope,
) -> Result<Vec<TaskView>, DomainError> {
    let workspace_id = caller.workspace_id;
    conn.transaction(async |conn| {
        let row = lock_for_change(conn, workspace_id, task_id).await?;
        if !is_author(caller, &row) && !caller.is_workspace_admin() {
            return Err(DomainError::TaskNotFound);
        }
        if users::existing_ids(conn, workspace_id, &[assignee], true)
            .await?
            .is_empty()
        {
            return Err(DomainError::UnknownUser(assignee));
        }
        let targets = match scope {
            ReassignScope::Task => vec![row],
            ReassignScope::Sequence => {
                let sequence = row.sequence_id.ok_or_else(|| {
                    DomainError::invalid(
                        "scope",
                        "SEQUENCE needs a task that belongs to a sequence",
                    )
                })?;
                // Admins reassign the whole sequence; an author, the tasks they wrote.
                let actor_id = caller.actor.id();
                let author = (!caller.is_workspace_admin())
                    .then_some((caller.actor.kind(), actor_id.as_str()));
                tasks::lock_open_sequence(conn, workspace_id, sequence, author).await?
            }
        };
        let mut changed = Vec::with_capacity(targets.len());
        let mut recorder = Recorder::new(caller);
        for task in targets {
            let details = serde_json::json!({});
            changed.push(reassign_one(conn, &task, assignee, details, &mut recorder).await?);
        }
        // The caller is the author or an admin; one batch of reads for the whole sequence.
        let views = views(conn, caller, changed, Received::LookUp).await?;
        // Last: it holds the workspace's event log until the transaction commits.
        recorder.write(conn).await?;
        Ok(views)
    })
    .await
}

/// Makes `assignee` the task's only recipient (the task locked by the caller), recording
/// TASK_REASSIGNED with `details` besides the assignee and the users removed; returns the task as
/// it now is.
pub(crate) async fn reassign_one(
    conn: &mut AsyncPgConnection,
    task: &TaskRow,
    assignee: Uuid,
    details: serde_json::Value,
    recorder: &mut Recorder,
) -> Result<TaskRow, DomainError> {
    let workspace_id = task.workspace_id;
    let removed = assignments::replace_with(conn, workspace_id, task.id, assignee).await?;
    // New recipients make a new version of the task (and etag), whatever else follows.
    let task = tasks::update(conn, workspace_id, task.id, TaskChangeset::default()).await?;
    let mut details = details;
    if let serde_json::Value::Object(fields) = &mut details {
        fields.insert("assignee".into(), serde_json::json!(assignee));
        fields.insert("removed".into(), serde_json::json!(removed));
    }
    let left = removed.iter().map(|user| record::user_key(*user)).collect();
    recorder.task(&task, EventKind::TaskReassigned, details, left);
    // Assigned to its author alone, a task is personal again; to anyone else, distributed.
    Ok(settle(conn, task, recorder).await?.0)
}

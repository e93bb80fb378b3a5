//! Snoozing: a task left out of the default listings until a time (SnoozeTask), when a WAKE
//! timer brings it back by itself, or until a participant wakes it (UnsnoozeTask). The author or
//! a recipient may do either, as with a lifecycle move; a closed task cannot be snoozed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use uuid::Uuid;

use super::{TaskAction, fire::unsnoozed, new_timer};
use crate::auth::Caller;
use crate::db::{
    tasks::{self, TaskChangeset, TaskRow},
    timers,
};
use crate::domain::{
    DomainError,
    input::Text,
    tasks::{Reason, Relation, TaskView, relation, view},
    vocabulary::{EventKind, TimerAction},
};
use crate::events::Recorder;

/// Until when: a moment, or a while from now (the database's now).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SnoozeUntil {
    At(DateTime<Utc>),
    For(Duration),
}

/// Snoozes the task until `until` (again, if it was: the new time replaces the old).
pub async fn snooze(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
    until: SnoozeUntil,
    reason: Option<Text<Reason>>,
) -> Result<TaskView, DomainError> {
    conn.transaction(async |conn| {
        let task = participants_task(conn, caller, task_id).await?;
        if task.status.is_terminal() {
            return Err(DomainError::InvalidTransition {
                action: "snooze",
                status: task.status,
            });
        }
        let now = timers::database_now(conn).await?;
        let until = match until {
            SnoozeUntil::At(at) => at,
            SnoozeUntil::For(after) => now + after,
        };
        if until <= now {
            return Err(DomainError::invalid("until", "must be in the future"));
        }
        if until > now + super::MAX_AHEAD {
            return Err(DomainError::invalid(
                "until",
                "must be at most 10 years ahead",
            ));
        }
        timers::cancel_pending(conn, caller.workspace_id, task_id, TimerAction::Wake).await?;
        let reason = reason.as_ref().map(Text::as_str);
        let changes = TaskChangeset {
            snoozed_until: Some(Some(until)),
            snooze_reason: Some(reason),
            ..TaskChangeset::default()
        };
        let row = tasks::update(conn, caller.workspace_id, task_id, changes).await?;
        // The timer holds the time as the row does (PostgreSQL's microseconds), for the match
        // that tells a wake from a stale one.
        let until = row.snoozed_until.unwrap_or(until);
        new_timer(conn, caller, &row, &TaskAction::Wake, until, None).await?;
        let mut recorder = Recorder::new(caller);
        let details = json!({ "until": until, "reason": reason });
        recorder.task(&row, EventKind::TaskSnoozed, details, Vec::new());
        finish(conn, caller, row, recorder).await
    })
    .await
}

/// Ends the task's snooze now; a task that is not snoozed is answered as it is.
pub async fn unsnooze(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
) -> Result<TaskView, DomainError> {
    conn.transaction(async |conn| {
        let task = participants_task(conn, caller, task_id).await?;
        if task.snoozed_until.is_none() {
            return Ok(view(conn, caller, task, false).await?);
        }
        timers::cancel_pending(conn, caller.workspace_id, task_id, TimerAction::Wake).await?;
        let row = tasks::update(conn, caller.workspace_id, task_id, unsnoozed()).await?;
        let mut recorder = Recorder::new(caller);
        recorder.task(&row, EventKind::TaskUnsnoozed, json!({}), Vec::new());
        finish(conn, caller, row, recorder).await
    })
    .await
}

/// The task, locked, if the caller is its author or a recipient.
async fn participants_task(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
) -> Result<TaskRow, DomainError> {
    let task = tasks::lock(conn, caller.workspace_id, task_id)
        .await?
        .ok_or(DomainError::TaskNotFound)?;
    match relation(conn, caller, &task).await? {
        Relation::Author | Relation::Recipient => Ok(task),
        Relation::Admin => Err(DomainError::NotTaskParticipant),
        Relation::Stranger => Err(DomainError::TaskNotFound),
    }
}

/// The caller's view of the changed task; the events are written last.
async fn finish(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    row: TaskRow,
    recorder: Recorder,
) -> Result<TaskView, DomainError> {
    let view = view(conn, caller, row, false).await?;
    recorder.write(conn).await?;
    Ok(view)
}

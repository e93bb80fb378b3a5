//! A task's reminders: REMIND timers the task carries, set when it is created and replaced as a
//! whole by UpdateTask (mask `reminders`), each at a moment or some time before the task's due.
//! When one comes due, a REMINDER_DUE event names whom it is for (`domain::timers::fire`).
//! A relative reminder moves when the due does, and a closed task's pending reminders are
//! cancelled: the database does both, in the statement that changes the task (the reminders
//! migration's trigger), so no path that changes a due or closes a task can forget them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Caller;
use crate::db::{
    directory::users,
    tasks::TaskRow,
    timers::{self, NewTimer},
};
use crate::domain::{
    DomainError,
    records::Timer,
    timers::action::{Reminded, TaskAction},
};

/// Reminders one task may carry.
pub const MAX_REMINDERS: usize = 10;

/// The longest a reminder may come before the due.
pub const MAX_BEFORE_DUE: Duration = Duration::from_secs(366 * 24 * 3600);

/// When a reminder is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderTime {
    At(DateTime<Utc>),
    /// This long before the task's due (a due date counts as the end of that day).
    BeforeDue(Duration),
}

/// A reminder as a caller sets it: when, and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub when: ReminderTime,
    pub reminded: Reminded,
}

/// Writes the task's reminders as timers, in the caller's transaction; returns what each is, as
/// its event records it.
pub(crate) async fn write(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task: &TaskRow,
    reminders: &[Reminder],
) -> Result<Vec<Value>, DomainError> {
    let named: Vec<Uuid> = reminders
        .iter()
        .flat_map(|r| r.reminded.user_ids.iter().copied())
        .collect();
    let active = users::existing_ids(conn, task.workspace_id, &named, true).await?;
    if let Some(unknown) = named.into_iter().find(|user| !active.contains(user)) {
        return Err(DomainError::UnknownUser(unknown));
    }
    let due = task.due_key;
    let actor_id = caller.actor.id();
    let mut written = Vec::with_capacity(reminders.len());
    for (index, reminder) in reminders.iter().enumerate() {
        let (fire_at, before_due) = match reminder.when {
            ReminderTime::At(at) => (at, None),
            ReminderTime::BeforeDue(before) => {
                let due = due.ok_or_else(|| {
                    DomainError::invalid(
                        &format!("reminders[{index}].before_due"),
                        "the task has no due to count from",
                    )
                })?;
                (due - before, Some(before))
            }
        };
        let action = TaskAction::Remind(Reminded {
            of_task: true,
            before_due,
            ..reminder.reminded.clone()
        });
        let params = action.params();
        let new = NewTimer {
            workspace_id: task.workspace_id,
            id: Uuid::now_v7(),
            task_id: task.id,
            action: action.kind(),
            params: &params,
            fire_at,
            created_by_type: caller.actor.kind(),
            created_by_id: &actor_id,
            request_id: None,
            request_hash: None,
        };
        if let Some(timer) = timers::insert(conn, &new).await? {
            written.push(described(&timer));
        }
    }
    Ok(written)
}

/// Replaces the task's pending reminders with `reminders`; returns what they were and are.
pub(crate) async fn replace(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task: &TaskRow,
    reminders: &[Reminder],
) -> Result<(Vec<Value>, Vec<Value>), DomainError> {
    let old = timers::cancel_reminders(conn, task.workspace_id, task.id).await?;
    let new = write(conn, caller, task, reminders).await?;
    Ok((old.iter().map(described).collect(), new))
}

/// A reminder as events record it: its arguments and when it is due.
fn described(timer: &Timer) -> Value {
    let mut details = timer.params.clone();
    if let Value::Object(fields) = &mut details {
        fields.remove("reminder");
        fields.insert("remind_at".into(), json!(timer.fire_at));
    }
    details
}

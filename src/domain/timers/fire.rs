//! Firing due timers: each action done, its timer settled and its events appended in one
//! transaction, so that an action happens exactly once whatever the servers do (a server killed
//! before its commit has done nothing, and the timers it held are due again for the others).
//!
//! An action first checks, on the task as it is now and locked, that it still applies: a reopen
//! fires only for a task still closed as it was when the reopen was scheduled, an escalation only
//! makes a task more urgent, a reassignment or reminder only touches an open task. One that no
//! longer applies is settled SKIPPED with the reason, and changes nothing.

use std::collections::HashMap;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    action::{Reminded, TaskAction, more_urgent},
    sla,
};
use crate::db::{
    DbError, assignments,
    directory::users,
    tasks::{self, StatusChange, TaskChangeset, TaskRow},
    timers::{self, Settled},
};
use crate::domain::{
    DomainError,
    input::Text,
    records::Timer,
    tasks::Reason,
    tasks::{change, lifecycle, move_details, reassign_one},
    vocabulary::{EventKind, Status, TimerState},
};
use crate::events::{
    Recorder,
    log::actor_key,
    record::{system_cause, user_key},
};

/// What one firing transaction did.
#[derive(Debug, Default)]
pub struct Fired {
    /// The timers settled, each with its action, its state and its lateness in seconds.
    pub settled: Vec<(Timer, TimerState, f64)>,
    /// Tasks whose timers were left for the next look: another transaction held them.
    pub busy: usize,
}

/// Fires up to `limit` of the workspace's due timers (only `only`, if given) in one transaction.
pub async fn fire_due(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    limit: i64,
    only: Option<Uuid>,
) -> Result<Fired, DomainError> {
    conn.transaction(async |conn| {
        // The tasks first, then their timers (the order every writer of timers keeps, see
        // `db::timers`): a task a caller is changing is passed over, not waited for, and its
        // timers are left for the next look.
        let due = timers::due_tasks(conn, workspace_id, limit, only).await?;
        if due.is_empty() {
            return Ok(Fired::default());
        }
        let locked = tasks::lock_available(conn, workspace_id, &due).await?;
        let busy_tasks = due.len() - locked.len();
        let task_ids: Vec<Uuid> = locked.iter().map(|task| task.id).collect();
        let mut tasks: HashMap<Uuid, TaskRow> =
            locked.into_iter().map(|task| (task.id, task)).collect();
        let mut claimed = timers::claim_due(conn, workspace_id, &task_ids, limit, only).await?;
        // Tasks in id order, and each task's timers in the order they came due.
        claimed.sort_by_key(|t| (t.task_id, t.fire_at, t.id));
        let mut recorder = Recorder::with_cause(system_cause());
        let mut settled = Vec::with_capacity(claimed.len());
        for timer in claimed {
            let Some(task) = tasks.remove(&timer.task_id) else {
                continue;
            };
            let (task, state, outcome) = match TaskAction::from_stored(timer.action, &timer.params)
            {
                Ok(action) => match perform(conn, task, &timer, action, &mut recorder).await? {
                    (task, None) => (task, TimerState::Fired, None),
                    (task, Some(why)) => (task, TimerState::Skipped, Some(why)),
                },
                Err(unreadable) => (task, TimerState::Failed, Some(unreadable.to_string())),
            };
            tasks.insert(task.id, task);
            settled.push((timer, state, outcome));
        }
        let rows: Vec<Settled> = settled
            .iter()
            .map(|(timer, state, outcome)| Settled {
                id: timer.id,
                state: *state,
                outcome: outcome.clone(),
            })
            .collect();
        let lateness = timers::settle(conn, workspace_id, &rows).await?;
        // Last: it holds the workspace's event log until the transaction commits.
        recorder.write(conn).await?;
        let settled = settled
            .into_iter()
            .zip(lateness.into_iter().chain(std::iter::repeat(0.0)))
            .map(|((timer, state, _), late)| (timer, state, late))
            .collect();
        Ok(Fired {
            settled,
            busy: busy_tasks,
        })
    })
    .await
}

/// Does the timer's action to the task if it still applies: the task as it now is, and why the
/// action was skipped if it was.
async fn perform(
    conn: &mut AsyncPgConnection,
    task: TaskRow,
    timer: &Timer,
    action: TaskAction,
    recorder: &mut Recorder,
) -> Result<(TaskRow, Option<String>), DomainError> {
    let tag = json!({ "scheduled_action_id": timer.id });
    let closed = task.status.is_terminal();
    match action {
        // A snooze ends at its time whatever the task's status.
        TaskAction::Wake => {
            if task.snoozed_until != Some(timer.fire_at) {
                return Ok(skip(task, "the task was woken, or snoozed again, since"));
            }
            let awake = tasks::update(conn, task.workspace_id, task.id, unsnoozed()).await?;
            let details = with(json!({ "woke": true }), &tag);
            recorder.task(&awake, EventKind::TaskUnsnoozed, details, Vec::new());
            Ok((awake, None))
        }
        TaskAction::Reopen { reason } => reopen(conn, task, timer, &reason, &tag, recorder).await,
        // A met resolution clock no longer runs; a first response may be late on a closed task.
        TaskAction::Sla { clock, stage } => {
            sla::mark(conn, task, timer, (clock, stage), &tag, recorder).await
        }
        _ if closed => Ok(skip(task, "the task is closed")),
        TaskAction::Escalate { to } => {
            let target = to.or_else(|| more_urgent(task.priority));
            let Some(target) = target.filter(|t| t.rank() > task.priority.rank()) else {
                let why = format!("the task is already {}", task.priority);
                return Ok(skip(task, &why));
            };
            let changes = TaskChangeset {
                priority: Some(target),
                ..TaskChangeset::default()
            };
            let new = tasks::update(conn, task.workspace_id, task.id, changes).await?;
            let fields = json!({ "priority": change(task.priority.as_str(), target.as_str()) });
            let details = with(json!({ "fields": fields }), &tag);
            recorder.task(&new, EventKind::TaskUpdated, details, Vec::new());
            Ok((new, None))
        }
        TaskAction::Reassign { assignee } => {
            let active = users::existing_ids(conn, task.workspace_id, &[assignee], true).await?;
            if active.is_empty() {
                let why = format!("user {assignee} is not an active user of the workspace");
                return Ok(skip(task, &why));
            }
            let new = reassign_one(conn, &task, assignee, tag, recorder).await?;
            Ok((new, None))
        }
        TaskAction::Remind(reminded) => {
            let keys = reminded_keys(conn, &task, &reminded).await?;
            if keys.is_empty() {
                return Ok(skip(task, "nobody to remind: the task has no recipients"));
            }
            let note = reminded.note.as_ref().map(|n| n.as_str());
            let details = with(json!({ "for": keys, "note": note }), &tag);
            // Those it is for learn of it even if they take no other part in the task.
            recorder.task(&task, EventKind::ReminderDue, details, keys);
            Ok((task, None))
        }
    }
}

/// Reopens the task if it is still closed as it was when the reopen was scheduled.
async fn reopen(
    conn: &mut AsyncPgConnection,
    task: TaskRow,
    timer: &Timer,
    reason: &Text<Reason>,
    tag: &Value,
    recorder: &mut Recorder,
) -> Result<(TaskRow, Option<String>), DomainError> {
    if !task.status.is_terminal() {
        return Ok(skip(task, "the task is open again"));
    }
    let closed_at = task.completed_at.or(task.skipped_at).or(task.cancelled_at);
    if closed_at.is_some_and(|at| at > timer.created_at) {
        let why = "the task was closed again after the reopen was scheduled";
        return Ok(skip(task, why));
    }
    let change = StatusChange {
        to: Status::Open,
        work_begins_from: lifecycle::work_begins_from(Status::Open),
        outcome: None,
        reopen_reason: Some(reason.as_str()),
        by_policy: false,
    };
    let from = task.status;
    let moved = tasks::change_status(conn, task.workspace_id, task.id, &change).await?;
    let mut details = with(move_details(&change), tag);
    details["from"] = json!(from.as_str());
    details["to"] = json!(Status::Open.as_str());
    recorder.task(&moved, EventKind::TaskReopened, details, Vec::new());
    Ok((moved, None))
}

/// The change that ends a snooze.
pub(crate) fn unsnoozed() -> TaskChangeset<'static> {
    TaskChangeset {
        snoozed_until: Some(None),
        snooze_reason: Some(None),
        ..TaskChangeset::default()
    }
}

pub(super) fn skip(task: TaskRow, why: &str) -> (TaskRow, Option<String>) {
    (task, Some(why.to_owned()))
}

/// `details` with the fields of `more` added.
pub(super) fn with(details: Value, more: &Value) -> Value {
    let mut details = details;
    if let (Value::Object(fields), Value::Object(extra)) = (&mut details, more) {
        fields.extend(extra.clone());
    }
    details
}

/// Whom a reminder is for, as actor keys, each once.
async fn reminded_keys(
    conn: &mut AsyncPgConnection,
    task: &TaskRow,
    reminded: &Reminded,
) -> Result<Vec<String>, DbError> {
    let mut keys = Vec::new();
    if reminded.assignees {
        let users = assignments::user_ids_of_task(conn, task.workspace_id, task.id).await?;
        keys.extend(users.into_iter().map(user_key));
    }
    if reminded.author {
        keys.push(actor_key(task.created_by_type, &task.created_by_id));
    }
    keys.extend(reminded.user_ids.iter().map(|u| user_key(*u)));
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    Ok(keys)
}

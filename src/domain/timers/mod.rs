//! Scheduled actions: what a caller asks Docket to do to a task at a time (reopen it, escalate its
//! priority, reassign it, remind people of it), kept as timers (`db::timers`) that every server's
//! worker fires (`fire`, driven by `crate::timers`). Who may schedule an action is who may do it
//! now: a reopen, the task's author or a recipient (as ReopenTask); an escalation, its author (as
//! UpdateTask); a reassignment, its author or a workspace admin (as ReassignTask); a reminder,
//! anyone who sees the task. Cancelling takes the same right as scheduling.
//!
//! Each scheduled action is an event of its task (TASK_ACTION_SCHEDULED, TASK_ACTION_CANCELLED),
//! and what it does when it fires is recorded as Docket's own change (actor SYSTEM).

pub mod action;
pub mod fire;
mod sla;
pub mod snooze;

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use uuid::Uuid;

pub use action::{REMINDER_RULE, Reminded, TaskAction};

use crate::auth::Caller;
use crate::db::{
    directory::users,
    tasks::{self, TaskRow},
    timers::{self, NewTimer},
};
use crate::domain::{
    DomainError,
    records::Timer,
    tasks::{CreateRequest, Relation, is_author, relation},
    vocabulary::{EventKind, TimerAction, TimerState},
};
use crate::events::Recorder;

/// Pending actions a task may hold at once.
pub const MAX_PENDING_PER_TASK: i64 = 100;

/// The longest time ahead an action may be scheduled.
pub const MAX_AHEAD: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// When an action is to run: at a moment, or after a time from now (the database's now).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    At(DateTime<Utc>),
    After(Duration),
}

/// A caller's request to schedule an action.
pub struct Schedule {
    pub task_id: Uuid,
    pub action: TaskAction,
    pub when: When,
    /// Makes a retry safe, as CreateTask's does.
    pub request: Option<CreateRequest>,
}

/// Schedules the action on the task; with a request id already used by the caller for the same
/// request, returns the action that request scheduled.
pub async fn schedule(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    schedule: Schedule,
) -> Result<Timer, DomainError> {
    conn.transaction(async |conn| {
        let task = tasks::lock(conn, caller.workspace_id, schedule.task_id)
            .await?
            .ok_or(DomainError::TaskNotFound)?;
        may_act(conn, caller, &task, schedule.action.kind()).await?;
        if let Some(request) = &schedule.request
            && let Some(earlier) = earlier_request(conn, caller, request).await?
        {
            return Ok(earlier);
        }
        applies_to(conn, &task, &schedule.action).await?;
        let fire_at = match schedule.when {
            When::At(at) => at,
            When::After(after) => timers::database_now(conn).await? + after,
        };
        insert(
            conn,
            caller,
            &task,
            &schedule.action,
            fire_at,
            schedule.request.as_ref(),
        )
        .await
    })
    .await
}

/// Inserts the timer and records TASK_ACTION_SCHEDULED, in the caller's transaction, with the
/// task locked. The head of the event log is taken last.
pub(crate) async fn insert(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task: &TaskRow,
    action: &TaskAction,
    fire_at: DateTime<Utc>,
    request: Option<&CreateRequest>,
) -> Result<Timer, DomainError> {
    if timers::pending_of_task(conn, task.workspace_id, task.id).await? >= MAX_PENDING_PER_TASK {
        return Err(DomainError::TooManyScheduledActions(MAX_PENDING_PER_TASK));
    }
    let timer = new_timer(conn, caller, task, action, fire_at, request).await?;
    let mut recorder = Recorder::new(caller);
    let details = json!({
        "scheduled_action_id": timer.id,
        "action": timer.action.as_str(),
        "run_at": timer.fire_at,
        "params": timer.params,
    });
    recorder.task(task, EventKind::TaskActionScheduled, details, Vec::new());
    recorder.write(conn).await?;
    Ok(timer)
}

/// Inserts the timer (no event: the caller records what it is for).
async fn new_timer(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task: &TaskRow,
    action: &TaskAction,
    fire_at: DateTime<Utc>,
    request: Option<&CreateRequest>,
) -> Result<Timer, DomainError> {
    let params = action.params();
    let actor_id = caller.actor.id();
    let new = NewTimer {
        workspace_id: task.workspace_id,
        id: Uuid::now_v7(),
        task_id: task.id,
        action: action.kind(),
        params: &params,
        fire_at,
        created_by_type: caller.actor.kind(),
        created_by_id: &actor_id,
        request_id: request.map(|r| r.request_id.as_str()),
        request_hash: request.map(|r| r.payload_hash.as_slice()),
    };
    match timers::insert(conn, &new).await? {
        Some(timer) => Ok(timer),
        // A concurrent retry with the same request id won the insert.
        None => match request {
            Some(request) => earlier_request(conn, caller, request)
                .await?
                .ok_or(DomainError::RequestIdReused),
            None => Err(DomainError::RequestIdReused),
        },
    }
}

/// The action the caller's earlier request with this id scheduled, if it was the same request.
async fn earlier_request(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    request: &CreateRequest,
) -> Result<Option<Timer>, DomainError> {
    let actor_id = caller.actor.id();
    let actor = (caller.actor.kind(), actor_id.as_str());
    let request_id = request.request_id.as_str();
    match timers::by_request(conn, caller.workspace_id, actor, request_id).await? {
        Some(timer) if timer.request_hash.as_deref() == Some(&request.payload_hash[..]) => {
            Ok(Some(timer))
        }
        Some(_) => Err(DomainError::RequestIdReused),
        None => Ok(None),
    }
}

/// Whether the caller may schedule (or cancel) this kind of action on the task: as the RPC that
/// does it now would allow.
async fn may_act(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task: &TaskRow,
    kind: TimerAction,
) -> Result<(), DomainError> {
    let relation = relation(conn, caller, task).await?;
    match (kind, relation) {
        (_, Relation::Stranger) => Err(DomainError::TaskNotFound),
        (TimerAction::Sla, _) => Err(DomainError::invalid(
            "scheduled_action_id",
            "an SLA moment follows the task's SLA clocks: it is cancelled when its clock is met",
        )),
        (TimerAction::Reopen, Relation::Admin) => Err(DomainError::NotTaskParticipant),
        (TimerAction::Escalate, _) if !is_author(caller, task) => Err(DomainError::TaskNotFound),
        (TimerAction::Reassign, _) if !is_author(caller, task) && !caller.is_workspace_admin() => {
            Err(DomainError::TaskNotFound)
        }
        _ => Ok(()),
    }
}

/// Whether the action can apply to the task as it is: a reopen to a closed task, anything else
/// to an open one; a reassignment or reminder names active users.
async fn applies_to(
    conn: &mut AsyncPgConnection,
    task: &TaskRow,
    action: &TaskAction,
) -> Result<(), DomainError> {
    let reopen = matches!(action, TaskAction::Reopen { .. });
    if reopen != task.status.is_terminal() {
        return Err(DomainError::InvalidTransition {
            action: match action {
                TaskAction::Reopen { .. } => "schedule a reopen of",
                TaskAction::Escalate { .. } => "schedule an escalation of",
                TaskAction::Reassign { .. } => "schedule a reassignment of",
                TaskAction::Remind(_) => "schedule a reminder of",
                TaskAction::Wake => "schedule a wake of",
                TaskAction::Sla { .. } => "schedule an SLA moment of",
            },
            status: task.status,
        });
    }
    let named = match action {
        TaskAction::Reassign { assignee } => vec![*assignee],
        TaskAction::Remind(reminded) => reminded.user_ids.clone(),
        TaskAction::Reopen { .. }
        | TaskAction::Escalate { .. }
        | TaskAction::Wake
        | TaskAction::Sla { .. } => Vec::new(),
    };
    let active = users::existing_ids(conn, task.workspace_id, &named, true).await?;
    match named.into_iter().find(|user| !active.contains(user)) {
        Some(unknown) => Err(DomainError::UnknownUser(unknown)),
        None => Ok(()),
    }
}

/// The task's scheduled actions, pending and settled, by when they run; for whoever sees it.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
) -> Result<Vec<Timer>, DomainError> {
    let task = tasks::find(conn, caller.workspace_id, task_id)
        .await?
        .ok_or(DomainError::TaskNotFound)?;
    if relation(conn, caller, &task).await? == Relation::Stranger {
        return Err(DomainError::TaskNotFound);
    }
    Ok(timers::of_task(conn, caller.workspace_id, task_id).await?)
}

/// Cancels a pending action. Cancelling one already cancelled answers it as it is; one that has
/// fired, been skipped or failed cannot be cancelled (SCHEDULED_ACTION_SETTLED).
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    action_id: Uuid,
) -> Result<Timer, DomainError> {
    let workspace_id = caller.workspace_id;
    conn.transaction(async |conn| {
        let timer = timers::find(conn, workspace_id, action_id)
            .await?
            .ok_or(DomainError::ScheduledActionNotFound)?;
        // The task first, then the timer (the order every writer of timers keeps: db::timers).
        let task = tasks::lock(conn, workspace_id, timer.task_id)
            .await?
            .ok_or(DomainError::ScheduledActionNotFound)?;
        match may_act(conn, caller, &task, timer.action).await {
            Err(DomainError::TaskNotFound) => return Err(DomainError::ScheduledActionNotFound),
            other => other?,
        }
        let Some(cancelled) = timers::cancel(conn, workspace_id, action_id).await? else {
            // Settled meanwhile (a worker held it until it had fired), or cancelled before.
            let now = timers::find(conn, workspace_id, action_id)
                .await?
                .ok_or(DomainError::ScheduledActionNotFound)?;
            return match now.state {
                TimerState::Cancelled => Ok(now),
                state => Err(DomainError::ScheduledActionSettled(state)),
            };
        };
        let mut recorder = Recorder::new(caller);
        let details = json!({
            "scheduled_action_id": cancelled.id,
            "action": cancelled.action.as_str(),
        });
        recorder.task(&task, EventKind::TaskActionCancelled, details, Vec::new());
        recorder.write(conn).await?;
        Ok(cancelled)
    })
    .await
}

/// A reopen to schedule with a completion: CompleteTask's `reopen_after`.
pub struct ReopenAfter {
    pub after: Duration,
    pub reason: crate::domain::input::Text<crate::domain::tasks::Reason>,
}

/// Completes the task and schedules its reopen `reopen.after` from the completion, in one
/// transaction (Topo's "no answer: try again in two days" in one call).
pub async fn complete_then_reopen(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
    details: crate::domain::tasks::MoveDetails,
    reopen: ReopenAfter,
) -> Result<(crate::domain::tasks::TaskView, Timer), DomainError> {
    use crate::domain::tasks::{Move, transition};
    conn.transaction(async |conn| {
        let view = transition(conn, caller, task_id, Move::Complete, details).await?;
        let completed_at = match view.task.completed_at {
            Some(at) => at,
            None => timers::database_now(conn).await?,
        };
        let action = TaskAction::Reopen {
            reason: reopen.reason,
        };
        let fire_at = completed_at + reopen.after;
        let timer = insert(conn, caller, &view.task, &action, fire_at, None).await?;
        Ok((view, timer))
    })
    .await
}

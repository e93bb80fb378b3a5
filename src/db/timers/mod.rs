//! Timers (`task_timers`): what Docket does to a task by itself at a time, one row each. Callers'
//! statements (schedule, list, cancel) here; the worker's (find what is due, claim it, settle it)
//! in `worker`.
//!
//! Every transaction that changes a pending timer holds its task first, then the timer, then (last,
//! as always) its workspace's event log head: the worker (`due_tasks`, then the tasks locked,
//! then `claim_due` of those tasks only), a cancel, a snooze, and the triggers that cancel or
//! move a task's reminders when it is closed or its due changes (the reminders migration), which
//! run at the end of the task's own UPDATE. One order for all, so no two of them can wait for
//! each other.

use chrono::{DateTime, Utc};
use diesel::{
    OptionalExtension, QueryResult, QueryableByName,
    prelude::*,
    sql_query,
    sql_types::{Bytea, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

mod worker;

pub use worker::{
    Settled, attempt_failed, claim_due, due_ids, due_sample, due_tasks, due_workspaces, settle,
};

use crate::db::{rows::read_as, schema::task_timers};
use crate::domain::records::Timer;
use crate::domain::vocabulary::{ActorType, TimerAction, TimerState};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = task_timers, check_for_backend(diesel::pg::Pg))]
pub struct TimerRow {
    workspace_id: Uuid,
    id: Uuid,
    task_id: Uuid,
    action: TimerAction,
    params: serde_json::Value,
    fire_at: DateTime<Utc>,
    state: TimerState,
    outcome: Option<String>,
    attempts: i32,
    created_by_type: ActorType,
    created_by_id: String,
    request_id: Option<String>,
    request_hash: Option<Vec<u8>>,
    created_at: DateTime<Utc>,
    settled_at: Option<DateTime<Utc>>,
}

impl From<TimerRow> for Timer {
    fn from(row: TimerRow) -> Self {
        Timer {
            workspace_id: row.workspace_id,
            id: row.id,
            task_id: row.task_id,
            action: row.action,
            params: row.params,
            fire_at: row.fire_at,
            state: row.state,
            outcome: row.outcome,
            attempts: row.attempts,
            created_by_type: row.created_by_type,
            created_by_id: row.created_by_id,
            request_id: row.request_id,
            request_hash: row.request_hash,
            created_at: row.created_at,
            settled_at: row.settled_at,
        }
    }
}

read_as!(Timer, TimerRow);

/// A timer to insert.
#[derive(Debug)]
pub struct NewTimer<'a> {
    pub workspace_id: Uuid,
    pub id: Uuid,
    pub task_id: Uuid,
    pub action: TimerAction,
    pub params: &'a serde_json::Value,
    pub fire_at: DateTime<Utc>,
    pub created_by_type: ActorType,
    pub created_by_id: &'a str,
    pub request_id: Option<&'a str>,
    pub request_hash: Option<&'a [u8]>,
}

/// Inserts the timer; `None` if its request id is already taken (then [`by_request`] finds the
/// timer that holds it).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    timer: &NewTimer<'_>,
) -> QueryResult<Option<Timer>> {
    sql_query(
        "INSERT INTO task_timers (workspace_id, id, task_id, action, params, fire_at, \
         created_by_type, created_by_id, request_id, request_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING *",
    )
    .bind::<SqlUuid, _>(timer.workspace_id)
    .bind::<SqlUuid, _>(timer.id)
    .bind::<SqlUuid, _>(timer.task_id)
    .bind::<Text, _>(timer.action)
    .bind::<Jsonb, _>(timer.params)
    .bind::<Timestamptz, _>(timer.fire_at)
    .bind::<Text, _>(timer.created_by_type)
    .bind::<Text, _>(timer.created_by_id)
    .bind::<Nullable<Text>, _>(timer.request_id)
    .bind::<Nullable<Bytea>, _>(timer.request_hash)
    .get_result(conn)
    .await
    .optional()
}

/// The timer that a caller's request id made.
pub async fn by_request(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    actor: (ActorType, &str),
    request_id: &str,
) -> QueryResult<Option<Timer>> {
    task_timers::table
        .filter(task_timers::workspace_id.eq(workspace_id))
        .filter(task_timers::created_by_type.eq(actor.0))
        .filter(task_timers::created_by_id.eq(actor.1))
        .filter(task_timers::request_id.eq(request_id))
        .select(Timer::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<Timer>> {
    task_timers::table
        .find((workspace_id, id))
        .select(Timer::as_select())
        .first(conn)
        .await
        .optional()
}

/// The task's timers, by due time (settled ones too, until housekeeping purges them).
pub async fn of_task(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
) -> QueryResult<Vec<Timer>> {
    task_timers::table
        .filter(task_timers::workspace_id.eq(workspace_id))
        .filter(task_timers::task_id.eq(task_id))
        .order((task_timers::fire_at, task_timers::id))
        .select(Timer::as_select())
        .load(conn)
        .await
}

/// How many of the task's timers are pending.
pub async fn pending_of_task(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
) -> QueryResult<i64> {
    task_timers::table
        .filter(task_timers::workspace_id.eq(workspace_id))
        .filter(task_timers::task_id.eq(task_id))
        .filter(task_timers::state.eq(TimerState::Pending))
        .count()
        .get_result(conn)
        .await
}

/// Cancels the timer if it is still pending, and returns it so; `None` if it is not pending
/// (fired, skipped, cancelled or failed already) or not there. A worker that holds the timer is
/// waited for, so a cancel and a firing settle it once, as one or the other.
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<Timer>> {
    diesel::update(task_timers::table.find((workspace_id, id)))
        .filter(task_timers::state.eq(TimerState::Pending))
        .set((
            task_timers::state.eq(TimerState::Cancelled),
            task_timers::settled_at.eq(diesel::dsl::now),
        ))
        .returning(Timer::as_returning())
        .get_result(conn)
        .await
        .optional()
}

#[derive(QueryableByName)]
struct Now {
    #[diesel(sql_type = Timestamptz)]
    now: DateTime<Utc>,
}

/// The database's clock, as the transaction sees it (`now()`): what timers are due by.
pub async fn database_now(conn: &mut AsyncPgConnection) -> QueryResult<DateTime<Utc>> {
    let Now { now } = sql_query("SELECT now() AS now").get_result(conn).await?;
    Ok(now)
}

/// Cancels the task's pending timers of `action` (a snooze's wake, when it is replaced or ended).
pub async fn cancel_pending(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    action: TimerAction,
) -> QueryResult<usize> {
    diesel::update(task_timers::table)
        .filter(task_timers::workspace_id.eq(workspace_id))
        .filter(task_timers::task_id.eq(task_id))
        .filter(task_timers::action.eq(action))
        .filter(task_timers::state.eq(TimerState::Pending))
        .set((
            task_timers::state.eq(TimerState::Cancelled),
            task_timers::settled_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
}

/// Cancels the task's pending reminders (its own, which UpdateTask replaces, not the actions
/// callers scheduled); returns them as they were.
pub async fn cancel_reminders(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
) -> QueryResult<Vec<Timer>> {
    sql_query(
        "UPDATE task_timers SET state = 'CANCELLED', settled_at = now(), \
         outcome = 'replaced by an update of the task''s reminders' \
         WHERE workspace_id = $1 AND task_id = $2 AND state = 'PENDING' AND action = 'REMIND' \
         AND params @> '{\"reminder\": true}' RETURNING *",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<SqlUuid, _>(task_id)
    .load(conn)
    .await
}

//! Timers (`task_timers`): what Docket does to a task by itself at a time, one row each. Callers'
//! statements (schedule, list, cancel) and the worker's (find what is due, claim it, settle it).
//!
//! How a tick finds its work, at a cost that follows the due timers, never the pending ones:
//! [`due_sample`] reads the oldest due timers through the partial index on `fire_at` (an index
//! range that starts at the oldest pending timer and stops at `now()`, however many are pending
//! later). When it comes back short of its limit, every due timer is in hand. When it comes back
//! full, there is a backlog (a storm of timers due at once, or an outage to catch up on), and
//! taking the oldest first would make one workspace's hundred thousand hold back another's
//! single timer: [`due_workspaces`] then lists the workspaces with due timers (a loose index
//! scan, two probes per workspace with pending timers) and the worker gives each a share.
//! [`claim_due`] takes a workspace's share with `FOR UPDATE SKIP LOCKED`, so replicas working at
//! once take disjoint timers, and a timer is settled in the transaction that claimed it.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::{
    OptionalExtension, QueryResult, QueryableByName,
    prelude::*,
    sql_query,
    sql_types::{
        Array, BigInt, Bytea, Double, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
    },
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

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
struct WorkspaceId {
    #[diesel(sql_type = SqlUuid)]
    workspace_id: Uuid,
}

/// The workspaces of the oldest due timers, one entry per timer, at most `limit`.
pub async fn due_sample(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<WorkspaceId> = sql_query(
        "SELECT workspace_id FROM task_timers WHERE state = 'PENDING' AND fire_at <= now() \
         ORDER BY fire_at LIMIT $1",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.workspace_id).collect())
}

static DUE_WORKSPACES: LazyLock<String> = LazyLock::new(|| {
    include_str!("due_workspaces.sql")
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
});

/// At most `limit` workspaces with due timers, in workspace order after `after`.
pub async fn due_workspaces(
    conn: &mut AsyncPgConnection,
    after: Uuid,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<WorkspaceId> = sql_query(DUE_WORKSPACES.as_str())
        .bind::<SqlUuid, _>(after)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.workspace_id).collect())
}

/// Up to `limit` of the workspace's due timers, oldest first, locked until the transaction ends;
/// timers another transaction holds (another worker's, or a cancel's) are passed over.
/// With `only`, that timer alone, if it is due.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    limit: i64,
    only: Option<Uuid>,
) -> QueryResult<Vec<Timer>> {
    sql_query(
        "SELECT * FROM task_timers WHERE workspace_id = $1 AND state = 'PENDING' \
         AND fire_at <= now() AND ($3::uuid IS NULL OR id = $3) \
         ORDER BY fire_at LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<BigInt, _>(limit)
    .bind::<Nullable<SqlUuid>, _>(only)
    .load(conn)
    .await
}

#[derive(QueryableByName)]
struct TimerId {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// The ids of up to `limit` of the workspace's due timers, oldest first, without locking them:
/// what a worker fires one at a time after a batch of them failed.
pub async fn due_ids(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<TimerId> = sql_query(
        "SELECT id FROM task_timers WHERE workspace_id = $1 AND state = 'PENDING' \
         AND fire_at <= now() ORDER BY fire_at LIMIT $2",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// How one timer was settled.
pub struct Settled {
    pub id: Uuid,
    pub state: TimerState,
    pub outcome: Option<String>,
}

#[derive(QueryableByName)]
struct Lateness {
    #[diesel(sql_type = Double)]
    seconds: f64,
}

/// Settles the workspace's timers as `settled` says, stamped with the clock (not the
/// transaction's start, so that the time tells when the effect was made); returns each one's
/// lateness, from its `fire_at` to now, in seconds.
pub async fn settle(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    settled: &[Settled],
) -> QueryResult<Vec<f64>> {
    let rows: Vec<Lateness> = sql_query(
        "UPDATE task_timers t SET state = s.state, outcome = s.outcome, \
         settled_at = clock_timestamp() FROM unnest($2::uuid[], $3::text[], $4::text[]) \
         AS s (id, state, outcome) WHERE t.workspace_id = $1 AND t.id = s.id \
         AND t.state = 'PENDING' \
         RETURNING extract(epoch FROM clock_timestamp() - t.fire_at)::float8 AS seconds",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<Array<SqlUuid>, _>(settled.iter().map(|s| s.id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(settled.iter().map(|s| s.state).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        settled
            .iter()
            .map(|s| s.outcome.clone())
            .collect::<Vec<_>>(),
    )
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.seconds).collect())
}

/// Records a failed attempt at the timer: due again after a wait that doubles with each failure
/// (10 s, 20 s, ... up to an hour), or FAILED with `outcome` once it has failed `give_up_after`
/// times. Returns the state it is left in (`None`: it was not pending any more).
pub async fn attempt_failed(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    outcome: &str,
    give_up_after: i32,
) -> QueryResult<Option<TimerState>> {
    #[derive(QueryableByName)]
    struct Left {
        #[diesel(sql_type = Text)]
        state: TimerState,
    }
    let left: Option<Left> = sql_query(
        "UPDATE task_timers SET attempts = attempts + 1, outcome = left($3, 1000), \
         state = CASE WHEN attempts + 1 >= $4 THEN 'FAILED' ELSE 'PENDING' END, \
         settled_at = CASE WHEN attempts + 1 >= $4 THEN clock_timestamp() END, \
         fire_at = CASE WHEN attempts + 1 >= $4 THEN fire_at \
         ELSE clock_timestamp() + make_interval(secs => least(3600, 10 * power(2, attempts))) \
         END WHERE workspace_id = $1 AND id = $2 AND state = 'PENDING' RETURNING state",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(outcome)
    .bind::<Integer, _>(give_up_after)
    .get_result(conn)
    .await
    .optional()?;
    Ok(left.map(|l| l.state))
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

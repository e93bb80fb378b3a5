//! The timer worker's statements (`crate::timers` drives them, `domain::timers::fire` fires what
//! they claim).
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

use diesel::{
    OptionalExtension, QueryResult, QueryableByName, sql_query,
    sql_types::{Array, BigInt, Double, Integer, Nullable, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::domain::records::Timer;
use crate::domain::vocabulary::TimerState;

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

#[derive(QueryableByName)]
struct TaskId {
    #[diesel(sql_type = SqlUuid)]
    task_id: Uuid,
}

/// The tasks of up to `limit` of the workspace's due timers, oldest first, each once (with
/// `only`, that timer's task, if it is due), without locking anything: what the worker locks
/// first.
pub async fn due_tasks(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    limit: i64,
    only: Option<Uuid>,
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<TaskId> = sql_query(
        "SELECT DISTINCT task_id FROM (SELECT task_id FROM task_timers WHERE workspace_id = $1 \
         AND state = 'PENDING' AND fire_at <= now() AND ($3::uuid IS NULL OR id = $3) \
         ORDER BY fire_at LIMIT $2) due",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<BigInt, _>(limit)
    .bind::<Nullable<SqlUuid>, _>(only)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.task_id).collect())
}

/// Up to `limit` due timers of these tasks (which the transaction holds), oldest first, locked
/// until the transaction ends; timers another transaction holds are passed over. With `only`,
/// that timer alone, if it is due.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_ids: &[Uuid],
    limit: i64,
    only: Option<Uuid>,
) -> QueryResult<Vec<Timer>> {
    sql_query(
        "SELECT * FROM task_timers WHERE workspace_id = $1 AND task_id = ANY($4) \
         AND state = 'PENDING' AND fire_at <= now() AND ($3::uuid IS NULL OR id = $3) \
         ORDER BY fire_at LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<BigInt, _>(limit)
    .bind::<Nullable<SqlUuid>, _>(only)
    .bind::<Array<SqlUuid>, _>(task_ids)
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

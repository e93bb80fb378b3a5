//! Purges of what the database need not keep forever, run by one server at a time: each batch
//! runs in a transaction that first takes a transaction-scoped advisory lock without waiting, so
//! when several replicas start a pass together, one purges and the others find the lock taken
//! and leave it to that one.

use std::time::Duration;

use diesel::{
    QueryResult, QueryableByName, sql_query,
    sql_types::{BigInt, Bool, Interval},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// The advisory lock key of housekeeping ("dockhk"), apart from the migrations' key.
pub const HOUSEKEEPING_LOCK_KEY: i64 = 0x646f_636b_686b;

/// Rows one statement deletes at most, so no single transaction runs long or locks much.
pub const PURGE_BATCH: i64 = 10_000;

/// What a purge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purged {
    /// This server purged that many rows.
    Rows(u64),
    /// Another server held the lock: it is purging.
    ElsewhereUnderway,
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Bool)]
    taken: bool,
}

/// Deletes the request ids (CreateTask's `request_id`) recorded more than `retention` ago, in
/// batches of at most `batch` rows, each in a transaction of its own under the lock.
pub async fn expire_request_ids(
    conn: &mut AsyncPgConnection,
    retention: Duration,
    batch: i64,
) -> QueryResult<Purged> {
    purge_in_batches(
        conn,
        "WITH gone AS (DELETE FROM task_create_requests WHERE ctid = ANY (ARRAY(\
         SELECT ctid FROM task_create_requests WHERE created_at < now() - $1 \
         ORDER BY created_at LIMIT $2)) RETURNING 1) SELECT count(*) AS deleted FROM gone",
        retention,
        batch,
    )
    .await
}

/// Deletes the events recorded more than `retention` ago, like [`expire_request_ids`], and
/// moves each workspace's horizon (`task_event_horizons`) up to the last of its events deleted:
/// a watcher whose position is below it may have missed events, and is told so
/// (`events::watch`).
pub async fn expire_events(
    conn: &mut AsyncPgConnection,
    retention: Duration,
    batch: i64,
) -> QueryResult<Purged> {
    // By age, through the BRIN index on `at`. Within a workspace an event can be a little older
    // than one before it (`at` is when its transaction began, the position when it committed):
    // the horizon is the highest position deleted, so every event above it is still there.
    purge_in_batches(
        conn,
        "WITH gone AS (DELETE FROM task_events WHERE ctid = ANY (ARRAY(\
         SELECT ctid FROM task_events WHERE at < now() - $1 LIMIT $2)) \
         RETURNING workspace_id, position), \
         last AS (SELECT workspace_id, max(position) AS position FROM gone \
         GROUP BY workspace_id), \
         moved AS (INSERT INTO task_event_horizons AS z (workspace_id, position) \
         SELECT workspace_id, position FROM last ON CONFLICT (workspace_id) \
         DO UPDATE SET position = excluded.position WHERE excluded.position > z.position) \
         SELECT count(*) AS deleted FROM gone",
        retention,
        batch,
    )
    .await
}

/// Deletes the timers settled (fired, skipped, cancelled, failed) more than `retention` ago,
/// like [`expire_request_ids`]: kept as long as the events that tell of them.
pub async fn expire_timers(
    conn: &mut AsyncPgConnection,
    retention: Duration,
    batch: i64,
) -> QueryResult<Purged> {
    purge_in_batches(
        conn,
        "WITH gone AS (DELETE FROM task_timers WHERE ctid = ANY (ARRAY(\
         SELECT ctid FROM task_timers WHERE settled_at < now() - $1 LIMIT $2)) \
         RETURNING 1) SELECT count(*) AS deleted FROM gone",
        retention,
        batch,
    )
    .await
}

/// Deletes the webhook delivery log's attempts made more than `retention` ago, like
/// [`expire_request_ids`]: kept as long as the events they delivered.
pub async fn expire_webhook_deliveries(
    conn: &mut AsyncPgConnection,
    retention: Duration,
    batch: i64,
) -> QueryResult<Purged> {
    purge_in_batches(
        conn,
        "WITH gone AS (DELETE FROM webhook_deliveries WHERE ctid = ANY (ARRAY(\
         SELECT ctid FROM webhook_deliveries WHERE at < now() - $1 LIMIT $2)) \
         RETURNING 1) SELECT count(*) AS deleted FROM gone",
        retention,
        batch,
    )
    .await
}

/// Deletes the SLA policies retired more than `retention` ago that no task follows any more, like
/// [`expire_request_ids`] (a retired policy applies to no new task).
pub async fn expire_sla_policies(
    conn: &mut AsyncPgConnection,
    retention: Duration,
    batch: i64,
) -> QueryResult<Purged> {
    purge_in_batches(
        conn,
        "WITH gone AS (DELETE FROM sla_policies WHERE ctid = ANY (ARRAY(\
         SELECT p.ctid FROM sla_policies p WHERE p.retired_at < now() - $1 \
         AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.workspace_id = p.workspace_id \
         AND t.sla_policy_id = p.id) LIMIT $2)) \
         RETURNING 1) SELECT count(*) AS deleted FROM gone",
        retention,
        batch,
    )
    .await
}

#[derive(QueryableByName)]
struct Deleted {
    #[diesel(sql_type = BigInt)]
    deleted: i64,
}

/// Runs `delete` (binding the retention and the batch size, answering `deleted`) until a batch
/// deletes fewer than `batch` rows, each batch in a transaction of its own under the lock.
async fn purge_in_batches(
    conn: &mut AsyncPgConnection,
    delete: &'static str,
    retention: Duration,
    batch: i64,
) -> QueryResult<Purged> {
    let retention = diesel::data_types::PgInterval::from_microseconds(
        i64::try_from(retention.as_micros()).unwrap_or(i64::MAX),
    );
    let mut purged = 0;
    loop {
        let deleted = conn
            .transaction(async |conn| {
                let Taken { taken } = sql_query("SELECT pg_try_advisory_xact_lock($1) AS taken")
                    .bind::<BigInt, _>(HOUSEKEEPING_LOCK_KEY)
                    .get_result(conn)
                    .await?;
                if !taken {
                    return Ok(None);
                }
                let Deleted { deleted } = sql_query(delete)
                    .bind::<Interval, _>(retention)
                    .bind::<BigInt, _>(batch)
                    .get_result(conn)
                    .await?;
                Ok::<_, diesel::result::Error>(Some(deleted as u64))
            })
            .await?;
        match deleted {
            None if purged == 0 => return Ok(Purged::ElsewhereUnderway),
            None => return Ok(Purged::Rows(purged)),
            Some(rows) => {
                purged += rows;
                if (rows as i64) < batch {
                    return Ok(Purged::Rows(purged));
                }
            }
        }
    }
}

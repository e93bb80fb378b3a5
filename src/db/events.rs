//! The event log: every change to a task or an assignment appends one event in the transaction
//! of the change, and readers (the audit trail, watchers) take the events of a workspace in one
//! order, resuming from a position with no gap and no duplicate.
//!
//! The trap is the order. An id drawn from a sequence is taken when the row is inserted, not when
//! its transaction commits: transaction A may draw 10 and commit after B has drawn 11 and
//! committed, so a reader that saw 11 and moved past it would never see 10. As PgQ does, each
//! event carries its transaction's id (`txid`, an `xid8`, with `seq` ordering the events of one
//! transaction), and a reader takes only the events of transactions older than the oldest one
//! still running: `txid < pg_snapshot_xmin(pg_current_snapshot())`. Every transaction below that
//! line has ended, so no event below it can appear later; a reader that has taken everything
//! below it may move its position up to it. The price: a long transaction anywhere in the cluster
//! holds the line, and delivery waits for it.

use chrono::{DateTime, Utc};
use diesel::{
    QueryResult, QueryableByName, sql_query,
    sql_types::{BigInt, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::enums::{ActorType, EventKind};

/// Where a reader stands: every event at or before it has been read. Ordered as events are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    /// The transaction id (`xid8`, which fits an `i64` for as long as PostgreSQL runs).
    pub txid: i64,
    pub seq: i64,
}

/// A change to record.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub workspace_id: Uuid,
    pub task_id: Uuid,
    pub assignment_id: Option<Uuid>,
    pub kind: EventKind,
    pub actor_type: ActorType,
    pub actor_id: &'a str,
    pub request_id: Option<&'a str>,
    pub details: serde_json::Value,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct EventRow {
    #[diesel(sql_type = BigInt)]
    pub txid: i64,
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = SqlUuid)]
    pub workspace_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub task_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub assignment_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub kind: EventKind,
    #[diesel(sql_type = Text)]
    pub actor_type: ActorType,
    #[diesel(sql_type = Text)]
    pub actor_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub request_id: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
    #[diesel(sql_type = Jsonb)]
    pub details: serde_json::Value,
}

impl EventRow {
    pub fn position(&self) -> Position {
        Position {
            txid: self.txid,
            seq: self.seq,
        }
    }
}

/// Appends `event` in the connection's current transaction.
pub async fn append(conn: &mut AsyncPgConnection, event: &NewEvent<'_>) -> QueryResult<()> {
    sql_query(
        "INSERT INTO task_events (workspace_id, task_id, assignment_id, kind, actor_type, \
         actor_id, request_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind::<SqlUuid, _>(event.workspace_id)
    .bind::<SqlUuid, _>(event.task_id)
    .bind::<Nullable<SqlUuid>, _>(event.assignment_id)
    .bind::<Text, _>(event.kind)
    .bind::<Text, _>(event.actor_type)
    .bind::<Text, _>(event.actor_id)
    .bind::<Nullable<Text>, _>(event.request_id)
    .bind::<Jsonb, _>(&event.details)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = BigInt)]
    xmin: i64,
}

/// Up to `limit` events of the workspace after `after`, in order, that no event can come before
/// any more; and the position to read on from: past the last one, or, when fewer than `limit`
/// were there, up to the line below which every transaction has ended.
pub async fn read_after(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    after: Position,
    limit: i64,
) -> QueryResult<(Vec<EventRow>, Position)> {
    // Taken first: every transaction below the line has ended by now, so a later snapshot (the
    // next statement's) sees all of their events.
    let Line { xmin } =
        sql_query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin")
            .get_result(conn)
            .await?;
    let events: Vec<EventRow> = sql_query(
        "SELECT txid::text::bigint AS txid, seq, workspace_id, task_id, assignment_id, kind, \
         actor_type, actor_id, request_id, at, details FROM task_events \
         WHERE workspace_id = $1 AND (txid, seq) > ($2::text::xid8, $3) \
         AND txid < $4::text::xid8 ORDER BY txid, seq LIMIT $5",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<Text, _>(after.txid.to_string())
    .bind::<BigInt, _>(after.seq)
    .bind::<Text, _>(xmin.to_string())
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    let last = events.last().map_or(after, EventRow::position);
    let next = if (events.len() as i64) < limit {
        // Nothing more below the line: a later event has a transaction id at or above it.
        last.max(Position {
            txid: xmin - 1,
            seq: i64::MAX,
        })
    } else {
        last
    };
    Ok((events, next))
}

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
    sql_types::{Array, BigInt, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    enums::{ActorType, EventKind},
    sql::Sql,
};

/// Where a reader stands: every event at or before it has been read. Ordered as events are.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Position {
    /// The transaction id (`xid8`, which fits an `i64` for as long as PostgreSQL runs).
    pub txid: i64,
    pub seq: i64,
}

/// Who caused a change: the actor of the call and the call's request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub actor_type: ActorType,
    pub actor_id: String,
    pub request_id: Option<String>,
}

/// A position as clients see it: 32 hex digits, the transaction id's and the sequence number's,
/// so that positions compare as text in the order they do as numbers.
impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}{:016x}", self.txid, self.seq)
    }
}

impl std::str::FromStr for Position {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let invalid = || format!("{text:?} is not a position (32 hex digits)");
        if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        let (txid, seq) = text.split_at(16);
        let number = |part: &str| i64::from_str_radix(part, 16).map_err(|_| invalid());
        Ok(Self {
            txid: number(txid)?,
            seq: number(seq)?,
        })
    }
}

/// A change to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub workspace_id: Uuid,
    pub task_id: Uuid,
    pub assignment_id: Option<Uuid>,
    pub kind: EventKind,
    pub details: serde_json::Value,
    /// Who takes part in the task as the change leaves it, and who it just left: actor keys
    /// (`USER:<id>`, `API_TOKEN:<service>`, see [`actor_key`]). Watchers of "tasks I take part
    /// in" receive the events whose audience names them.
    pub audience: Vec<String>,
}

/// SQL for who takes part in the task that `workspace_id` and `task_id` (SQL expressions) name,
/// as the statement's snapshot holds it: its author and its recipients, as actor keys (a set:
/// an author assigned to their own task is named twice). Written out in each statement rather
/// than called as a SQL function, which PostgreSQL would plan afresh on every call.
pub fn audience_sql(workspace_id: &str, task_id: &str) -> String {
    // Aliases of their own, so that they cannot shadow the statement's.
    format!(
        "ARRAY(SELECT audience_task.created_by_type || ':' || audience_task.created_by_id \
         FROM tasks audience_task WHERE audience_task.workspace_id = {workspace_id} \
         AND audience_task.id = {task_id} UNION ALL SELECT 'USER:' || audience_of.user_id \
         FROM assignments audience_of WHERE audience_of.workspace_id = {workspace_id} \
         AND audience_of.task_id = {task_id})"
    )
}

/// The values `kind, actor_type, actor_id, request_id` of an event a statement writes in a CTE
/// of its own (`INSERT INTO task_events (..., kind, actor_type, actor_id, request_id, ...)
/// SELECT ..., <these>, ...`).
pub(crate) fn kind_and_cause(kind: EventKind, cause: &Cause) -> Sql {
    Sql::new("")
        .with::<Text, _>(kind)
        .text(", ")
        .with::<Text, _>(cause.actor_type)
        .text(", ")
        .with::<Text, _>(cause.actor_id.clone())
        .text(", ")
        .with::<Nullable<Text>, _>(cause.request_id.clone())
}

/// How an actor is named in an event's audience: `TYPE:id`, as `auth::Actor` displays.
pub fn actor_key(actor_type: ActorType, actor_id: &str) -> String {
    format!("{actor_type}:{actor_id}")
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
    #[diesel(sql_type = Array<Text>)]
    pub audience: Vec<String>,
}

impl EventRow {
    pub fn position(&self) -> Position {
        Position {
            txid: self.txid,
            seq: self.seq,
        }
    }
}

/// The columns an event is read as.
const EVENT_COLUMNS: &str = "txid::text::bigint AS txid, seq, workspace_id, task_id, \
     assignment_id, kind, actor_type, actor_id, request_id, at, details, audience";

/// Appends `events`, in order, all caused by `cause`, in the connection's current transaction:
/// one statement however many. Each audience gets the task's author and current recipients.
pub async fn append(
    conn: &mut AsyncPgConnection,
    cause: &Cause,
    events: &[NewEvent],
) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    // Audiences are lists of different lengths, which arrays cannot nest: each is one text,
    // joined by a character no actor key holds.
    let audiences: Vec<String> = events.iter().map(|e| e.audience.join(" ")).collect();
    let audience = audience_sql("e.workspace_id", "e.task_id");
    sql_query(format!(
        "INSERT INTO task_events (workspace_id, task_id, assignment_id, kind, actor_type, \
         actor_id, request_id, details, audience) SELECT e.workspace_id, e.task_id, \
         e.assignment_id, e.kind, $5, $6, $7, e.details, \
         string_to_array(e.audience, ' ') || {audience} \
         FROM unnest($1, $2, $3, $4, $8, $9) WITH ORDINALITY \
         AS e (workspace_id, task_id, assignment_id, kind, details, audience, ord) ORDER BY ord"
    ))
    .bind::<Array<SqlUuid>, _>(events.iter().map(|e| e.workspace_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(events.iter().map(|e| e.task_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<SqlUuid>>, _>(events.iter().map(|e| e.assignment_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(events.iter().map(|e| e.kind).collect::<Vec<_>>())
    .bind::<Text, _>(cause.actor_type)
    .bind::<Text, _>(&cause.actor_id)
    .bind::<Nullable<Text>, _>(cause.request_id.as_deref())
    .bind::<Array<Jsonb>, _>(events.iter().map(|e| &e.details).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(audiences)
    .execute(conn)
    .await?;
    super::event_signal::mark_written();
    Ok(())
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = BigInt)]
    xmin: i64,
}

/// The line below which every transaction has ended, as a position: every event at or below it
/// that will ever be read can be read now.
pub async fn line(conn: &mut AsyncPgConnection) -> QueryResult<Position> {
    let Line { xmin } =
        sql_query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin")
            .get_result(conn)
            .await?;
    Ok(Position {
        txid: xmin - 1,
        seq: i64::MAX,
    })
}

/// Up to `limit` events after `after` (of one workspace, or of all), in order, that no event can
/// come before any more, and none beyond `upto`; and the position to read on from: past the
/// last one, or, when fewer than `limit` were there, up to the line (or `upto`, if lower).
pub async fn read_after(
    conn: &mut AsyncPgConnection,
    workspace_id: Option<Uuid>,
    after: Position,
    upto: Option<Position>,
    limit: i64,
) -> QueryResult<(Vec<EventRow>, Position)> {
    // Taken first: every transaction below the line has ended by now, so a later snapshot (the
    // next statement's) sees all of their events.
    let line = line(conn).await?;
    let bound = upto.map_or(line, |upto| upto.min(line));
    if bound <= after {
        return Ok((Vec::new(), after));
    }
    let events: Vec<EventRow> = sql_query(format!(
        "SELECT {EVENT_COLUMNS} FROM task_events \
         WHERE ($1::uuid IS NULL OR workspace_id = $1) AND (txid, seq) > ($2::text::xid8, $3) \
         AND (txid, seq) <= ($4::text::xid8, $5) ORDER BY txid, seq LIMIT $6"
    ))
    .bind::<Nullable<SqlUuid>, _>(workspace_id)
    .bind::<Text, _>(after.txid.to_string())
    .bind::<BigInt, _>(after.seq)
    .bind::<Text, _>(bound.txid.to_string())
    .bind::<BigInt, _>(bound.seq)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    let last = events.last().map_or(after, EventRow::position);
    // Fewer than asked: nothing more up to the bound.
    let next = if (events.len() as i64) < limit {
        bound
    } else {
        last
    };
    Ok((events, next))
}

#[derive(QueryableByName)]
struct Horizon {
    #[diesel(sql_type = BigInt)]
    txid: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

/// The position of the last event housekeeping purged: a reader below it may have missed
/// events that are gone.
pub async fn horizon(conn: &mut AsyncPgConnection) -> QueryResult<Position> {
    let Horizon { txid, seq } =
        sql_query("SELECT txid::text::bigint AS txid, seq FROM task_event_horizon")
            .get_result(conn)
            .await?;
    Ok(Position { txid, seq })
}

/// Wakes every server's watchers (`domain::watch`): their listeners read the new events.
pub async fn notify(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    sql_query(format!("NOTIFY {CHANNEL}")).execute(conn).await?;
    Ok(())
}

/// Starts listening for [`notify`] on a connection of its own.
pub async fn listen(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    sql_query(format!("LISTEN {CHANNEL}")).execute(conn).await?;
    Ok(())
}

/// The channel servers NOTIFY when they have written events.
const CHANNEL: &str = "docket_events";

/// Up to `limit` events of one task after `after`, in order, below the line of transactions
/// still running (as [`read_after`], in one statement: every transaction below its own
/// snapshot's xmin has ended, so the statement sees all of their events).
pub async fn of_task(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    after: Option<Position>,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let after = after.unwrap_or_default();
    sql_query(format!(
        "SELECT {EVENT_COLUMNS} FROM task_events \
         WHERE workspace_id = $1 AND task_id = $2 AND (txid, seq) > ($3::text::xid8, $4) \
         AND txid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY txid, seq LIMIT $5"
    ))
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<SqlUuid, _>(task_id)
    .bind::<Text, _>(after.txid.to_string())
    .bind::<BigInt, _>(after.seq)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_compare_as_text_as_they_do_as_numbers() {
        let positions = [
            Position { txid: 9, seq: 300 },
            Position { txid: 10, seq: 2 },
            Position { txid: 10, seq: 11 },
            Position {
                txid: 0x1_0000_0000,
                seq: 1,
            },
        ];
        for pair in positions.windows(2) {
            assert!(pair[0] < pair[1]);
            assert!(pair[0].to_string() < pair[1].to_string());
        }
        for position in positions {
            assert_eq!(position.to_string().parse::<Position>(), Ok(position));
        }
        assert!("12".parse::<Position>().is_err());
        assert!("zz".repeat(16).parse::<Position>().is_err());
        assert!("8".repeat(32).parse::<Position>().is_err(), "beyond i64");
    }
}

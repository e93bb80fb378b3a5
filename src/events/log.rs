//! The event log: every change to a task or an assignment appends one event in the transaction
//! of the change, and readers (the audit trail, watchers) take the events of a workspace in one
//! order, resuming from a position with no gap and no duplicate.
//!
//! The order is commit order. A workspace numbers its events 1, 2, 3, ... in its row of
//! `task_event_heads`, and a transaction takes its numbers (positions) in its last statement, by
//! an UPDATE that keeps the row locked until the transaction commits: the next writer of the
//! workspace takes its positions only once that commit is done, so positions follow commits.
//! PostgreSQL makes a commit visible before it releases the transaction's locks, so a reader that
//! sees position n sees every position below it: readers need no horizon, and nothing outside the
//! workspace holds them back. A rollback gives its positions back with the head, so a
//! workspace's positions have no gaps (housekeeping's purge aside).
//!
//! Why not the alternatives (docs/architecture.md has the measurements): the transaction id
//! (what this log used before) is fixed at a transaction's first write, not at its commit, and
//! makes readers wait for the oldest transaction of the whole cluster; commit LSNs from logical
//! decoding need `wal_level=logical` and a replication slot, which retains WAL without bound
//! when its reader stops; a sequencer that numbers committed events afterwards writes every
//! event twice.
//!
//! Two rules keep the head's lock short and free of deadlocks: the head is the last row a
//! transaction locks (events are written by its last statement, or, in a one-statement change,
//! after the rows it changes), and a statement that writes events of several workspaces locks
//! their heads in workspace order.

use chrono::{DateTime, Utc};
use diesel::{
    OptionalExtension, QueryResult, QueryableByName, sql_query,
    sql_types::{Array, BigInt, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::query::sql::Sql;
use crate::domain::vocabulary::{ActorType, EventKind};
use crate::events::{Event, Position};

/// Who caused a change: the actor of the call and the call's request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub actor_type: ActorType,
    pub actor_id: String,
    pub request_id: Option<String>,
}

/// A change to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub workspace_id: Uuid,
    /// None for an event of a template.
    pub task_id: Option<Uuid>,
    pub template_id: Option<Uuid>,
    /// The webhook subscription it is of (WEBHOOK_FAILING).
    pub webhook_id: Option<Uuid>,
    pub assignment_id: Option<Uuid>,
    pub kind: EventKind,
    pub details: serde_json::Value,
    /// Whom the change concerns besides those the log adds (the task's author and, for a change
    /// to the task rather than to one assignment, its current recipients): the recipient of an
    /// assignment, or whom a change just took the task from. Actor keys (`USER:<id>`,
    /// `API_TOKEN:<service>`, see [`actor_key`]). Watchers of "tasks I take part in" receive
    /// the events whose audience names them.
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

/// SQL for the author of the task that `workspace_id` and `task_id` (SQL expressions) name, as an
/// actor key in an array: the audience an assignment's event adds to its recipient.
pub fn author_sql(workspace_id: &str, task_id: &str) -> String {
    format!(
        "ARRAY(SELECT author_task.created_by_type || ':' || author_task.created_by_id \
         FROM tasks author_task WHERE author_task.workspace_id = {workspace_id} \
         AND author_task.id = {task_id})"
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

/// The CTE `head AS (...)` that takes one position in `workspace_id`'s log, if the CTE named
/// `changed` (of a statement that changes at most one row, and records one event for it) has a
/// row; the event's position is then `(SELECT position FROM head)`, and NULL (which the column
/// refuses) should the workspace have no head. `EXISTS` runs `changed` first, so the head is
/// locked after the row the statement changes, as the module's rules want.
pub(crate) fn one_position(workspace_id: Uuid, changed: &str) -> Sql {
    Sql::new("head AS (UPDATE task_event_heads SET position = position + 1 WHERE workspace_id = ")
        .with::<SqlUuid, _>(workspace_id)
        .text(&format!(
            " AND EXISTS (SELECT FROM {changed}) RETURNING position), "
        ))
}

/// How an actor is named in an event's audience: `TYPE:id`, as `auth::Actor` displays.
pub fn actor_key(actor_type: ActorType, actor_id: &str) -> String {
    format!("{actor_type}:{actor_id}")
}

/// A recorded event as the log's columns hold it; read as the domain's [`Event`].
#[derive(QueryableByName)]
struct EventRow {
    #[diesel(sql_type = BigInt)]
    position: i64,
    #[diesel(sql_type = SqlUuid)]
    workspace_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    task_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    template_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    webhook_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    assignment_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    kind: EventKind,
    #[diesel(sql_type = Text)]
    actor_type: ActorType,
    #[diesel(sql_type = Text)]
    actor_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    request_id: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    at: DateTime<Utc>,
    #[diesel(sql_type = Jsonb)]
    details: serde_json::Value,
    #[diesel(sql_type = Array<Text>)]
    audience: Vec<String>,
}

impl From<EventRow> for Event {
    fn from(row: EventRow) -> Self {
        Event {
            position: Position::new(row.position),
            workspace_id: row.workspace_id,
            task_id: row.task_id,
            template_id: row.template_id,
            webhook_id: row.webhook_id,
            assignment_id: row.assignment_id,
            kind: row.kind,
            actor_type: row.actor_type,
            actor_id: row.actor_id,
            request_id: row.request_id,
            at: row.at,
            details: row.details,
            audience: row.audience,
        }
    }
}

fn events(rows: Vec<EventRow>) -> Vec<Event> {
    rows.into_iter().map(Event::from).collect()
}

/// The columns an event is read as.
const EVENT_COLUMNS: &str = "position, workspace_id, task_id, template_id, webhook_id, assignment_id, kind, \
     actor_type, actor_id, request_id, at, details, audience";

/// Appends `events` (of one workspace), in order, all caused by `cause`, in the connection's
/// current transaction: one statement however many. Each audience gets the task's author, and,
/// for a change to the task, its current recipients. It takes the workspace's head until the
/// transaction ends: call it last, once every other row the transaction changes is locked.
pub async fn append(
    conn: &mut AsyncPgConnection,
    cause: &Cause,
    events: &[NewEvent],
) -> QueryResult<()> {
    let Some(first) = events.first() else {
        return Ok(());
    };
    let workspace_id = first.workspace_id;
    if events.iter().any(|e| e.workspace_id != workspace_id) {
        return Err(diesel::result::Error::QueryBuilderError(
            "events appended together must be of one workspace".into(),
        ));
    }
    // Audiences are lists of different lengths, which arrays cannot nest: each is one text,
    // joined by a character no actor key holds.
    let audiences: Vec<String> = events.iter().map(|e| e.audience.join(" ")).collect();
    let whole_task: Vec<bool> = events
        .iter()
        .map(|e| !e.kind.is_of_an_assignment())
        .collect();
    let participants = audience_sql("$1", "e.task_id");
    let author = author_sql("$1", "e.task_id");
    sql_query(format!(
        "WITH head AS (UPDATE task_event_heads SET position = position + $9 \
         WHERE workspace_id = $1 RETURNING position - $9 AS base) \
         INSERT INTO task_events (workspace_id, position, task_id, template_id, webhook_id, \
         assignment_id, kind, actor_type, actor_id, request_id, details, audience) SELECT $1, \
         (SELECT base FROM head) + e.ord, e.task_id, e.template_id, e.webhook_id, \
         e.assignment_id, e.kind, \
         $5, $6, $7, e.details, string_to_array(e.audience, ' ') \
         || CASE WHEN e.whole_task THEN {participants} ELSE {author} END \
         FROM unnest($2, $3, $4, $8, $10, $11, $12, $13) WITH ORDINALITY \
         AS e (task_id, assignment_id, kind, details, audience, whole_task, template_id, \
         webhook_id, ord)"
    ))
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<Array<Nullable<SqlUuid>>, _>(events.iter().map(|e| e.task_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<SqlUuid>>, _>(events.iter().map(|e| e.assignment_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(events.iter().map(|e| e.kind).collect::<Vec<_>>())
    .bind::<Text, _>(cause.actor_type)
    .bind::<Text, _>(&cause.actor_id)
    .bind::<Nullable<Text>, _>(cause.request_id.as_deref())
    .bind::<Array<Jsonb>, _>(events.iter().map(|e| &e.details).collect::<Vec<_>>())
    .bind::<BigInt, _>(events.len() as i64)
    .bind::<Array<Text>, _>(audiences)
    .bind::<Array<diesel::sql_types::Bool>, _>(whole_task)
    .bind::<Array<Nullable<SqlUuid>>, _>(events.iter().map(|e| e.template_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<SqlUuid>>, _>(events.iter().map(|e| e.webhook_id).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    crate::call::mark_written(workspace_id);
    Ok(())
}

/// Where a workspace's log stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Bounds {
    /// The last position taken: every event up to it has committed.
    #[diesel(sql_type = BigInt)]
    head: i64,
    /// The last position housekeeping may have purged: every event after it is kept.
    #[diesel(sql_type = BigInt)]
    horizon: i64,
}

impl Bounds {
    pub fn head(&self) -> Position {
        Position::new(self.head)
    }

    pub fn horizon(&self) -> Position {
        Position::new(self.horizon)
    }
}

/// The workspace's log's bounds (nothing yet, for a workspace that has no head).
pub async fn bounds(conn: &mut AsyncPgConnection, workspace_id: Uuid) -> QueryResult<Bounds> {
    let found = sql_query(
        "SELECT h.position AS head, coalesce(z.position, 0) AS horizon \
         FROM task_event_heads h LEFT JOIN task_event_horizons z USING (workspace_id) \
         WHERE h.workspace_id = $1",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .get_result(conn)
    .await
    .optional()?;
    Ok(found.unwrap_or(Bounds {
        head: 0,
        horizon: 0,
    }))
}

/// Up to `limit` events of the workspace after `after` and up to `upto`, in order.
pub async fn read_after(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    after: Position,
    upto: Position,
    limit: i64,
) -> QueryResult<Vec<Event>> {
    let rows: Vec<EventRow> = sql_query(format!(
        "SELECT {EVENT_COLUMNS} FROM task_events WHERE workspace_id = $1 \
         AND position > $2 AND position <= $3 ORDER BY position LIMIT $4"
    ))
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<BigInt, _>(after.number())
    .bind::<BigInt, _>(upto.number())
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(events(rows))
}

/// For each workspace, up to `limit` of its events after its position, in order: what a watch
/// hub reads for all the workspaces it follows, in one statement.
pub async fn read_after_each(
    conn: &mut AsyncPgConnection,
    from: &[(Uuid, Position)],
    limit: i64,
) -> QueryResult<Vec<Event>> {
    let rows: Vec<EventRow> = sql_query(format!(
        "SELECT e.* FROM unnest($1::uuid[], $2::bigint[]) AS f (workspace_id, after) \
         CROSS JOIN LATERAL (SELECT {EVENT_COLUMNS} FROM task_events \
         WHERE task_events.workspace_id = f.workspace_id AND position > f.after \
         ORDER BY position LIMIT $3) e"
    ))
    .bind::<Array<SqlUuid>, _>(from.iter().map(|(w, _)| *w).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(from.iter().map(|(_, p)| p.number()).collect::<Vec<_>>())
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(events(rows))
}

/// Up to `limit` events of one task after `after`, in order; with `only_own`, of its
/// assignments' events only those whose audience names that actor key (a recipient's own).
pub async fn of_task(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    after: Option<Position>,
    limit: i64,
    only_own: Option<&str>,
) -> QueryResult<Vec<Event>> {
    let rows: Vec<EventRow> = sql_query(format!(
        "SELECT {EVENT_COLUMNS} FROM task_events WHERE workspace_id = $1 AND task_id = $2 \
         AND position > $3 AND ($5::text IS NULL OR assignment_id IS NULL \
         OR $5 = ANY (audience)) ORDER BY position LIMIT $4"
    ))
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<SqlUuid, _>(task_id)
    .bind::<BigInt, _>(after.unwrap_or_default().number())
    .bind::<BigInt, _>(limit)
    .bind::<Nullable<Text>, _>(only_own)
    .load(conn)
    .await?;
    Ok(events(rows))
}

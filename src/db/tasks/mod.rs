//! Tasks: single-row queries on `tasks`, `task_linked_records` and `task_create_requests` here;
//! the batched create and read (`trips`), listings and counts (`list`, `filters`) and the column
//! lists a listing selects (`columns`) beside.

pub mod columns;
pub mod create;
pub mod create_requests;
pub mod filters;
pub mod linked_records;
pub mod list;
pub mod provenance;
mod sla;
pub mod trips;

pub use provenance::{NewProvenance, ProvenanceColumns};
pub use sla::{SlaColumns, mark_sla_breached};

use crate::events::log::{Cause, audience_sql, kind_and_cause, one_position};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{dsl::now, prelude::*, sql_types};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::{query::sql::Sql, schema::tasks};
use crate::domain::vocabulary::{
    ActorType, BodyFormat, CompletionPolicy, Disposition, EventKind, Priority, Status,
};

/// The unique index behind "external_id is unique per workspace".
pub const EXTERNAL_ID_KEY: &str = "tasks_external_id_key";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = tasks, check_for_backend(diesel::pg::Pg))]
pub struct TaskRow {
    pub workspace_id: Uuid,
    pub id: Uuid,
    pub number: i64,
    pub title: String,
    pub body_format: BodyFormat,
    pub body_plain: String,
    pub body_html: String,
    pub body_delta: String,
    pub kind: String,
    pub priority: Priority,
    pub status: Status,
    pub due_date: Option<NaiveDate>,
    pub due_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
    pub external_id: Option<String>,
    pub correlation_id: Option<String>,
    pub sequence_id: Option<Uuid>,
    pub completion_policy: CompletionPolicy,
    pub distributed: bool,
    pub created_by_type: ActorType,
    pub created_by_id: String,
    pub outcome_disposition: Option<Disposition>,
    pub outcome_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub first_started_at: Option<DateTime<Utc>>,
    pub first_terminated_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub skipped_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub reopened_at: Option<DateTime<Utc>>,
    pub reopen_reason: Option<String>,
    pub version: i64,
    pub completed_by_policy: bool,
    /// Out of the default listings until then (SnoozeTask); a WAKE timer ends it.
    pub snoozed_until: Option<DateTime<Utc>>,
    pub snooze_reason: Option<String>,
    pub follow_up_at: Option<DateTime<Utc>>,
    /// The instant the task is due: its due time, or the end of its due date in its workspace's
    /// time zone (kept by a trigger, the time_zones migration).
    pub due_key: Option<DateTime<Utc>>,
    pub source_occurred_at: Option<DateTime<Utc>>,
    /// The SLA clocks, kept by triggers (the slas migration).
    #[diesel(embed)]
    pub sla: SlaColumns,
    /// Set when a template made the task.
    #[diesel(embed)]
    pub provenance: ProvenanceColumns,
}

/// A task to insert (`create::create_many`); its number is drawn from the workspace's sequence.
#[derive(Debug)]
pub struct NewTaskRow {
    pub workspace_id: Uuid,
    pub id: Uuid,
    pub title: String,
    pub body_format: BodyFormat,
    pub body_plain: String,
    pub body_html: String,
    pub body_delta: String,
    pub kind: String,
    pub priority: Priority,
    pub due_date: Option<NaiveDate>,
    pub due_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
    pub external_id: Option<String>,
    pub correlation_id: Option<String>,
    pub sequence_id: Option<Uuid>,
    pub completion_policy: CompletionPolicy,
    pub distributed: bool,
    pub created_by_type: ActorType,
    pub created_by_id: String,
    pub follow_up_at: Option<DateTime<Utc>>,
    pub source_occurred_at: Option<DateTime<Utc>>,
    pub provenance: Option<NewProvenance>,
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<TaskRow>> {
    tasks::table
        .find((workspace_id, id))
        .select(TaskRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Field changes of an update; `None` leaves a column as it is (`Some(None)` sets NULL).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = tasks)]
pub struct TaskChangeset<'a> {
    pub title: Option<&'a str>,
    pub body_format: Option<BodyFormat>,
    pub body_plain: Option<&'a str>,
    pub body_html: Option<&'a str>,
    pub body_delta: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub priority: Option<Priority>,
    pub due_date: Option<Option<NaiveDate>>,
    pub due_at: Option<Option<DateTime<Utc>>>,
    pub tags: Option<&'a [String]>,
    pub external_id: Option<Option<&'a str>>,
    pub correlation_id: Option<Option<&'a str>>,
    pub sequence_id: Option<Option<Uuid>>,
    pub completion_policy: Option<CompletionPolicy>,
    pub distributed: Option<bool>,
    pub snoozed_until: Option<Option<DateTime<Utc>>>,
    pub snooze_reason: Option<Option<&'a str>>,
    pub follow_up_at: Option<Option<DateTime<Utc>>>,
}

/// Applies the changes; bumps version and updated_at.
pub async fn update(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    changes: TaskChangeset<'_>,
) -> QueryResult<TaskRow> {
    diesel::update(tasks::table.find((workspace_id, id)))
        .set((
            changes,
            tasks::version.eq(tasks::version + 1),
            tasks::updated_at.eq(now),
        ))
        .returning(TaskRow::as_returning())
        .get_result(conn)
        .await
}

/// The task, locked until the transaction ends so a read-check-write cannot race another.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<TaskRow>> {
    tasks::table
        .find((workspace_id, id))
        .select(TaskRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The workspace's tasks among `ids` that no other transaction holds, locked until this one ends,
/// in id order; a task another transaction holds is passed over, not waited for (the timer
/// worker, which holds timers already, so never waits behind a caller's change).
pub async fn lock_available(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<TaskRow>> {
    tasks::table
        .filter(tasks::workspace_id.eq(workspace_id))
        .filter(tasks::id.eq_any(ids))
        .order(tasks::id)
        .select(TaskRow::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

/// The task, locked for a change to it or its assignments until the transaction ends, waiting at
/// most `wait` for a change in progress. A wait that runs out (or a deadlock) fails with a
/// serialisation failure, which `DbError::failure` reports as a conflict: see the
/// task_change_lock migration for why the lock goes through a function.
pub async fn lock_for_change(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    wait: std::time::Duration,
) -> QueryResult<Option<TaskRow>> {
    diesel::sql_query("SELECT * FROM lock_task_for_change($1, $2, $3)")
        .bind::<sql_types::Uuid, _>(workspace_id)
        .bind::<sql_types::Uuid, _>(id)
        .bind::<sql_types::Text, _>(format!("{}ms", wait.as_millis()))
        .get_result(conn)
        .await
        .optional()
}

/// A status change and what it records besides.
pub struct StatusChange<'a> {
    pub to: Status,
    /// The statuses from which this change begins work, setting `first_started_at` if it never
    /// was (see `domain::tasks::lifecycle::work_begins_from`).
    pub work_begins_from: &'a [Status],
    /// For COMPLETED: the completion response (disposition, note).
    pub outcome: Option<(Option<Disposition>, Option<&'a str>)>,
    /// For a reopen (to OPEN): why.
    pub reopen_reason: Option<&'a str>,
    /// The task's completion policy makes the change (not a lifecycle call).
    pub by_policy: bool,
}

/// `UPDATE tasks SET ...` for a status change, with timestamps from the database clock; bumps
/// version and updated_at. Completing stamps `completed_at` (and `first_terminated_at` once) and
/// records the outcome; skipping and cancelling stamp their times; reopening (the only way back
/// to OPEN) clears those two and records when and why. The caller adds the WHERE clause.
pub(crate) fn status_update(change: &StatusChange<'_>) -> Sql {
    let (disposition, note) = change.outcome.unwrap_or_default();
    let completing = change.to == Status::Completed;
    let reopening = change.to == Status::Open;
    Sql::new("UPDATE tasks SET status = ")
        .with::<sql_types::Text, _>(change.to)
        .text(
            ", version = version + 1, updated_at = now(), \
             first_started_at = CASE WHEN status = ANY(",
        )
        .with::<sql_types::Array<sql_types::Text>, _>(change.work_begins_from.to_vec())
        .text(") THEN coalesce(first_started_at, now()) ELSE first_started_at END, first_terminated_at = CASE WHEN ")
        .with::<sql_types::Bool, _>(completing)
        .text(" THEN coalesce(first_terminated_at, now()) ELSE first_terminated_at END, completed_at = CASE WHEN ")
        .with::<sql_types::Bool, _>(completing)
        .text(" THEN now() END, skipped_at = CASE WHEN ")
        .with::<sql_types::Bool, _>(change.to == Status::Skipped)
        .text(" THEN now() WHEN ")
        .with::<sql_types::Bool, _>(reopening)
        .text(" THEN NULL ELSE skipped_at END, cancelled_at = CASE WHEN ")
        .with::<sql_types::Bool, _>(change.to == Status::Cancelled)
        .text(" THEN now() WHEN ")
        .with::<sql_types::Bool, _>(reopening)
        .text(" THEN NULL ELSE cancelled_at END, reopened_at = CASE WHEN ")
        .with::<sql_types::Bool, _>(reopening)
        .text(" THEN now() ELSE reopened_at END, reopen_reason = CASE WHEN ")
        .with::<sql_types::Bool, _>(reopening)
        .text(" THEN ")
        .with::<sql_types::Nullable<sql_types::Text>, _>(change.reopen_reason.map(str::to_owned))
        .text(" ELSE reopen_reason END, outcome_disposition = CASE WHEN ")
        .with::<sql_types::Bool, _>(completing)
        .text(" THEN ")
        .with::<sql_types::Nullable<sql_types::Text>, _>(disposition)
        .text(" ELSE outcome_disposition END, outcome_note = CASE WHEN ")
        .with::<sql_types::Bool, _>(completing)
        .text(" THEN ")
        .with::<sql_types::Nullable<sql_types::Text>, _>(note.map(str::to_owned))
        .text(" ELSE outcome_note END, completed_by_policy = ")
        .with::<sql_types::Bool, _>(completing && change.by_policy)
}

/// Applies a status change (see [`status_update`]) to the task.
pub async fn change_status(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    change: &StatusChange<'_>,
) -> QueryResult<TaskRow> {
    status_update(change)
        .text(" WHERE workspace_id = ")
        .with::<sql_types::Uuid, _>(workspace_id)
        .text(" AND id = ")
        .with::<sql_types::Uuid, _>(id)
        .text(" RETURNING *")
        .prepared()
        .get_result(conn)
        .await
}

/// The non-terminal tasks of a sequence, optionally only one author's, locked in id order (a
/// fixed order, so concurrent sequence reassignments cannot deadlock).
pub async fn lock_open_sequence(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    sequence_id: Uuid,
    author: Option<(ActorType, &str)>,
) -> QueryResult<Vec<TaskRow>> {
    let open = tasks::table
        .filter(tasks::workspace_id.eq(workspace_id))
        .filter(tasks::sequence_id.eq(sequence_id))
        .filter(tasks::status.ne_all(Status::TERMINAL))
        .select(TaskRow::as_select())
        .order(tasks::id)
        .for_update();
    match author {
        Some((actor_type, actor_id)) => {
            open.filter(tasks::created_by_type.eq(actor_type))
                .filter(tasks::created_by_id.eq(actor_id))
                .load(conn)
                .await
        }
        None => open.load(conn).await,
    }
}

#[derive(QueryableByName)]
struct Deleted {
    #[diesel(sql_type = sql_types::BigInt)]
    deleted: i64,
}

/// Deletes the task (assignments and links go with it) and records TASK_DELETED, in one
/// statement; whether it existed.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    cause: &Cause,
) -> QueryResult<bool> {
    // The statement's snapshot still holds the task and its assignments: the audience is who
    // took part in it.
    let Deleted { deleted } = Sql::new("WITH gone AS (DELETE FROM tasks WHERE workspace_id = ")
        .with::<sql_types::Uuid, _>(workspace_id)
        .text(" AND id = ")
        .with::<sql_types::Uuid, _>(id)
        .text(" RETURNING workspace_id, id), ")
        .then(one_position(workspace_id, "gone"))
        .text(
            "recorded AS (INSERT INTO task_events (workspace_id, position, task_id, kind, \
             actor_type, actor_id, request_id, audience) SELECT gone.workspace_id, \
             (SELECT position FROM head), gone.id, ",
        )
        .then(kind_and_cause(EventKind::TaskDeleted, cause))
        .text(", ")
        .text(&audience_sql("gone.workspace_id", "gone.id"))
        .text(" FROM gone) SELECT count(*) AS deleted FROM gone")
        .prepared()
        .get_result(conn)
        .await?;
    if deleted > 0 {
        crate::call::mark_written(workspace_id);
    }
    Ok(deleted > 0)
}

/// The workspace's tasks among `ids`.
pub async fn of_ids(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<TaskRow>> {
    tasks::table
        .filter(tasks::workspace_id.eq(workspace_id))
        .filter(tasks::id.eq_any(ids))
        .select(TaskRow::as_select())
        .load(conn)
        .await
}

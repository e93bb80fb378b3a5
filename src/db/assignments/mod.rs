//! Queries on `assignments`; listings of them in `list`.

pub mod list;

use crate::events::log::{Cause, author_sql, kind_and_cause, one_position};
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::{dsl::now, prelude::*, sql_types};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::rows::read_as;
use crate::db::{query::sql::Sql, schema::assignments};
use crate::domain::{
    records::{Assignment, ProgressCounts},
    vocabulary::{EventKind, ProgressStatus},
};

/// The constraint trigger behind "a task that has assignments keeps at least one".
pub const LOWER_LIMIT: &str = "assignments_lower_limit";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = assignments, check_for_backend(diesel::pg::Pg))]
pub struct AssignmentRow {
    workspace_id: Uuid,
    id: Uuid,
    task_id: Uuid,
    user_id: Uuid,
    progress_status: ProgressStatus,
    via_channel_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<AssignmentRow> for Assignment {
    fn from(row: AssignmentRow) -> Self {
        Assignment {
            workspace_id: row.workspace_id,
            id: row.id,
            task_id: row.task_id,
            user_id: row.user_id,
            progress_status: row.progress_status,
            via_channel_id: row.via_channel_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            finished_at: row.finished_at,
        }
    }
}

read_as!(Assignment, AssignmentRow);

/// One recipient to assign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: Uuid,
    pub via_channel_id: Option<Uuid>,
}

/// Assigns the task to each recipient not yet assigned, with this progress; returns the
/// assignments created.
pub async fn insert_many(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    recipients: &[Recipient],
    progress_status: ProgressStatus,
) -> QueryResult<Vec<Assignment>> {
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<_> = recipients
        .iter()
        .map(|recipient| {
            (
                assignments::workspace_id.eq(workspace_id),
                assignments::id.eq(Uuid::now_v7()),
                assignments::task_id.eq(task_id),
                assignments::user_id.eq(recipient.user_id),
                assignments::via_channel_id.eq(recipient.via_channel_id),
                assignments::progress_status.eq(progress_status),
            )
        })
        .collect();
    diesel::insert_into(assignments::table)
        .values(rows)
        .on_conflict((
            assignments::workspace_id,
            assignments::task_id,
            assignments::user_id,
        ))
        .do_nothing()
        .returning(Assignment::as_returning())
        .get_results(conn)
        .await
}

pub async fn counts(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
) -> QueryResult<ProgressCounts> {
    Ok(counts_of(conn, workspace_id, &[task_id])
        .await?
        .remove(&task_id)
        .unwrap_or_default())
}

/// Progress counts of several tasks; a task without assignments is absent.
pub async fn counts_of(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, ProgressCounts>> {
    let rows: Vec<(Uuid, ProgressStatus, i64)> = assignments::table
        .filter(assignments::workspace_id.eq(workspace_id))
        .filter(assignments::task_id.eq_any(task_ids))
        .group_by((assignments::task_id, assignments::progress_status))
        .select((
            assignments::task_id,
            assignments::progress_status,
            diesel::dsl::count_star(),
        ))
        .load(conn)
        .await?;
    let mut pairs: HashMap<Uuid, Vec<(ProgressStatus, i64)>> = HashMap::new();
    for (task_id, status, count) in rows {
        pairs.entry(task_id).or_default().push((status, count));
    }
    Ok(pairs
        .into_iter()
        .map(|(task_id, pairs)| (task_id, ProgressCounts::from_pairs(pairs)))
        .collect())
}

/// Which of `task_ids` are assigned to the user.
pub async fn assigned_among(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    user_id: Uuid,
    task_ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    assignments::table
        .filter(assignments::workspace_id.eq(workspace_id))
        .filter(assignments::user_id.eq(user_id))
        .filter(assignments::task_id.eq_any(task_ids))
        .select(assignments::task_id)
        .load(conn)
        .await
}

/// The user's assignment to the task, if any.
pub async fn for_user(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Option<Assignment>> {
    assignments::table
        .filter(assignments::workspace_id.eq(workspace_id))
        .filter(assignments::task_id.eq(task_id))
        .filter(assignments::user_id.eq(user_id))
        .select(Assignment::as_select())
        .first(conn)
        .await
        .optional()
}

#[derive(QueryableByName)]
struct Seen {
    #[diesel(sql_type = sql_types::BigInt)]
    seen: i64,
}

/// Marks the user's assignment seen (NEW → OPEN) and records ASSIGNMENT_OPENED, in one
/// statement; whether it changed.
pub async fn mark_seen(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    user_id: Uuid,
    cause: &Cause,
) -> QueryResult<bool> {
    let Seen { seen } = Sql::new("WITH seen AS (UPDATE assignments SET progress_status = ")
        .with::<sql_types::Text, _>(ProgressStatus::Open)
        .text(", updated_at = now() WHERE workspace_id = ")
        .with::<sql_types::Uuid, _>(workspace_id)
        .text(" AND task_id = ")
        .with::<sql_types::Uuid, _>(task_id)
        .text(" AND user_id = ")
        .with::<sql_types::Uuid, _>(user_id)
        .text(" AND progress_status = ")
        .with::<sql_types::Text, _>(ProgressStatus::New)
        .text(" RETURNING workspace_id, id, task_id, user_id), ")
        .then(one_position(workspace_id, "seen"))
        .text(
            "recorded AS (INSERT INTO task_events (workspace_id, position, task_id, \
             assignment_id, kind, actor_type, actor_id, request_id, details, audience) \
             SELECT seen.workspace_id, (SELECT position FROM head), seen.task_id, seen.id, ",
        )
        .then(kind_and_cause(EventKind::AssignmentOpened, cause))
        .text(", jsonb_build_object('from', ")
        .with::<sql_types::Text, _>(ProgressStatus::New)
        .text(", 'user_id', seen.user_id), ARRAY['USER:' || seen.user_id] || ")
        .text(&author_sql("seen.workspace_id", "seen.task_id"))
        .text(" FROM seen) SELECT count(*) AS seen FROM seen")
        .prepared()
        .get_result(conn)
        .await?;
    if seen > 0 {
        crate::call::mark_written(workspace_id);
    }
    Ok(seen > 0)
}

/// Makes `user_id` the task's only recipient, keeping their assignment (and progress) if they
/// had one; returns the users whose assignments it removed.
pub async fn replace_with(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    let mut removed: Vec<Uuid> = diesel::delete(
        assignments::table
            .filter(assignments::workspace_id.eq(workspace_id))
            .filter(assignments::task_id.eq(task_id))
            .filter(assignments::user_id.ne(user_id)),
    )
    .returning(assignments::user_id)
    .get_results(conn)
    .await?;
    removed.sort();
    let only = [Recipient {
        user_id,
        via_channel_id: None,
    }];
    insert_many(conn, workspace_id, task_id, &only, ProgressStatus::New).await?;
    Ok(removed)
}

/// The assignment, if it is one of the workspace's.
pub async fn find(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<Assignment>> {
    assignments::table
        .find((workspace_id, id))
        .select(Assignment::as_select())
        .first(conn)
        .await
        .optional()
}

/// The task's assignments to these users.
pub async fn of_users(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    user_ids: &[Uuid],
) -> QueryResult<Vec<Assignment>> {
    assignments::table
        .filter(assignments::workspace_id.eq(workspace_id))
        .filter(assignments::task_id.eq(task_id))
        .filter(assignments::user_id.eq_any(user_ids))
        .order(assignments::id)
        .select(Assignment::as_select())
        .load(conn)
        .await
}

/// Which of `ids` are assignments of the task.
pub async fn ids_of_task(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    assignments::table
        .filter(assignments::workspace_id.eq(workspace_id))
        .filter(assignments::task_id.eq(task_id))
        .filter(assignments::id.eq_any(ids))
        .select(assignments::id)
        .load(conn)
        .await
}

/// Deletes these assignments of the task; returns the ones deleted.
pub async fn delete_ids(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<Assignment>> {
    diesel::delete(
        assignments::table
            .filter(assignments::workspace_id.eq(workspace_id))
            .filter(assignments::task_id.eq(task_id))
            .filter(assignments::id.eq_any(ids)),
    )
    .returning(Assignment::as_returning())
    .get_results(conn)
    .await
}

/// Sets the assignment's progress: FINISHED stamps `finished_at` from the database clock,
/// anything else clears it.
pub async fn set_progress(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    progress_status: ProgressStatus,
) -> QueryResult<Assignment> {
    let target = diesel::update(assignments::table.find((workspace_id, id)));
    let changed = (
        assignments::progress_status.eq(progress_status),
        assignments::updated_at.eq(now),
    );
    match progress_status {
        ProgressStatus::Finished => {
            target
                .set((changed, assignments::finished_at.eq(now)))
                .returning(Assignment::as_returning())
                .get_result(conn)
                .await
        }
        ProgressStatus::New | ProgressStatus::Open => {
            target
                .set((changed, assignments::finished_at.eq(None::<DateTime<Utc>>)))
                .returning(Assignment::as_returning())
                .get_result(conn)
                .await
        }
    }
}

/// The users the task is assigned to.
pub async fn user_ids_of_task(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    assignments::table
        .filter(assignments::workspace_id.eq(workspace_id))
        .filter(assignments::task_id.eq(task_id))
        .order(assignments::user_id)
        .select(assignments::user_id)
        .load(conn)
        .await
}

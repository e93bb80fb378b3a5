//! Queries on `assignments`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::{dsl::now, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::assignments;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = assignments, check_for_backend(diesel::pg::Pg))]
pub struct AssignmentRow {
    pub workspace_id: Uuid,
    pub id: Uuid,
    pub task_id: Uuid,
    pub user_id: Uuid,
    pub progress_status: String,
    pub via_channel_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Counts of a task's assignments per progress status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgressCounts {
    pub new: i64,
    pub open: i64,
    pub finished: i64,
}

impl ProgressCounts {
    pub fn total(&self) -> i64 {
        self.new + self.open + self.finished
    }
}

/// One recipient to assign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: Uuid,
    pub via_channel_id: Option<Uuid>,
}

/// Assigns the task to each recipient not yet assigned; returns how many were added.
pub async fn insert_many(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    recipients: &[Recipient],
    progress_status: &str,
) -> QueryResult<usize> {
    if recipients.is_empty() {
        return Ok(0);
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
        .execute(conn)
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
    let rows: Vec<(Uuid, String, i64)> = assignments::table
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
    let mut all: HashMap<Uuid, ProgressCounts> = HashMap::new();
    for (task_id, status, count) in rows {
        let counts = all.entry(task_id).or_default();
        match status.as_str() {
            "NEW" => counts.new = count,
            "OPEN" => counts.open = count,
            _ => counts.finished = count,
        }
    }
    Ok(all)
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
) -> QueryResult<Option<AssignmentRow>> {
    assignments::table
        .filter(assignments::workspace_id.eq(workspace_id))
        .filter(assignments::task_id.eq(task_id))
        .filter(assignments::user_id.eq(user_id))
        .select(AssignmentRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Marks the user's assignment seen (NEW → OPEN); whether it changed.
pub async fn mark_seen(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    user_id: Uuid,
) -> QueryResult<bool> {
    let changed = diesel::update(
        assignments::table
            .filter(assignments::workspace_id.eq(workspace_id))
            .filter(assignments::task_id.eq(task_id))
            .filter(assignments::user_id.eq(user_id))
            .filter(assignments::progress_status.eq("NEW")),
    )
    .set((
        assignments::progress_status.eq("OPEN"),
        assignments::updated_at.eq(now),
    ))
    .execute(conn)
    .await?;
    Ok(changed > 0)
}

/// Makes `user_id` the task's only recipient, keeping their assignment (and progress) if they
/// had one.
pub async fn replace_with(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    user_id: Uuid,
) -> QueryResult<()> {
    diesel::delete(
        assignments::table
            .filter(assignments::workspace_id.eq(workspace_id))
            .filter(assignments::task_id.eq(task_id))
            .filter(assignments::user_id.ne(user_id)),
    )
    .execute(conn)
    .await?;
    let only = [Recipient {
        user_id,
        via_channel_id: None,
    }];
    insert_many(conn, workspace_id, task_id, &only, "NEW")
        .await
        .map(drop)
}

//! The task statements of the hot paths, each one round trip: reading tasks, and a lifecycle
//! move checked and applied at once (creating them is `super::create`). Each returns, with the rows, what a view of them needs (the caller's own assignment, the
//! links, the assignments' progress), so no second query follows. Creates and reads take many
//! rows at once, for the calls `db::query::batch` gathers; a single statement is atomic on its own, so
//! no BEGIN or COMMIT either. Each change writes its event (`events::log`) in the same statement,
//! as one more CTE.

use crate::events::log::{Cause, audience_sql, kind_and_cause, one_position};
use diesel::{
    QueryResult, QueryableByName,
    sql_types::{Array, BigInt, Jsonb, Nullable, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::{
    query::batch::{Batched, Outputs},
    query::sql::Sql,
    tasks::{StatusChange, TaskRow, status_update},
};
use crate::domain::records::ProgressCounts;
use crate::domain::vocabulary::{ActorType, EventKind, ProgressStatus, Status};

/// A task with what a caller's view of it needs.
#[derive(Debug, QueryableByName)]
pub struct TaskInContext {
    #[diesel(embed)]
    pub task: TaskRow,
    /// The caller's own assignment's progress, if they have one.
    #[diesel(sql_type = Nullable<Text>)]
    pub own_progress: Option<ProgressStatus>,
    #[diesel(sql_type = Array<Text>)]
    link_objects: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    link_record_ids: Vec<String>,
    #[diesel(sql_type = BigInt)]
    new_count: i64,
    #[diesel(sql_type = BigInt)]
    open_count: i64,
    #[diesel(sql_type = BigInt)]
    finished_count: i64,
}

impl TaskInContext {
    /// The linked records, by object and record id.
    pub fn links(&self) -> Vec<(String, String)> {
        self.link_objects
            .iter()
            .cloned()
            .zip(self.link_record_ids.iter().cloned())
            .collect()
    }

    pub fn counts(&self) -> ProgressCounts {
        ProgressCounts {
            new: self.new_count,
            open: self.open_count,
            finished: self.finished_count,
        }
    }
}

/// Who is asking: what tells the author and the caller's own assignment.
pub struct Asker<'a> {
    pub actor_type: ActorType,
    pub actor_id: &'a str,
    pub user_id: Option<Uuid>,
}

/// Selects `t.*` from `source` (a table or CTE named there as `t`, with its WHERE) with the view
/// context columns of `TaskInContext`: one pass over the task's assignments (its counts and the
/// own assignment of the user `user` names) and one over its linked records; `more` adds columns.
fn in_context(source: Sql, user: Sql, more: &str) -> Sql {
    let mut sql = Sql::new(
        "SELECT t.*, c.own_progress, l.link_objects, l.link_record_ids, \
         c.new_count, c.open_count, c.finished_count",
    );
    sql.push(more);
    sql.push(" FROM ");
    sql.append(source);
    sql.push(" CROSS JOIN LATERAL (SELECT min(a.progress_status) FILTER (WHERE a.user_id = ");
    sql.append(user);
    sql.append(
        Sql::new(") AS own_progress, count(*) FILTER (WHERE a.progress_status = ")
            .with::<Text, _>(ProgressStatus::New)
            .text(") AS new_count, count(*) FILTER (WHERE a.progress_status = ")
            .with::<Text, _>(ProgressStatus::Open)
            .text(") AS open_count, count(*) FILTER (WHERE a.progress_status = ")
            .with::<Text, _>(ProgressStatus::Finished)
            .text(
                ") AS finished_count FROM assignments a \
                 WHERE a.workspace_id = t.workspace_id AND a.task_id = t.id) c \
                 CROSS JOIN LATERAL (SELECT coalesce(array_agg(r.object ORDER BY r.object, r.record_id), '{}') \
                 AS link_objects, coalesce(array_agg(r.record_id ORDER BY r.object, r.record_id), '{}') \
                 AS link_record_ids FROM task_linked_records r \
                 WHERE r.workspace_id = t.workspace_id AND r.task_id = t.id) l",
            ),
    );
    sql
}

/// A task to read, and the user whose own assignment to report, if the reader is one.
#[derive(Debug, Clone, Copy)]
pub struct TaskRead {
    pub workspace_id: Uuid,
    pub task_id: Uuid,
    pub user_id: Option<Uuid>,
}

#[derive(QueryableByName)]
struct Numbered {
    #[diesel(sql_type = BigInt)]
    ord: i64,
    #[diesel(embed)]
    found: TaskInContext,
}

/// The tasks with their view context, in the order asked; `None` for a task the workspace does
/// not have.
pub async fn read_many(
    conn: &mut AsyncPgConnection,
    reads: &[TaskRead],
) -> QueryResult<Vec<Option<TaskInContext>>> {
    let source = Sql::new("unnest(")
        .with_opaque::<Array<SqlUuid>, _>(reads.iter().map(|r| r.workspace_id).collect::<Vec<_>>())
        .text(", ")
        .with_opaque::<Array<SqlUuid>, _>(reads.iter().map(|r| r.task_id).collect::<Vec<_>>())
        .text(", ")
        .with_opaque::<Array<Nullable<SqlUuid>>, _>(
            reads.iter().map(|r| r.user_id).collect::<Vec<_>>(),
        )
        // A lookup per key, whatever the row estimate of the arrays.
        .text(
            ") WITH ORDINALITY AS k (workspace_id, id, user_id, ord) CROSS JOIN LATERAL \
             (SELECT * FROM tasks WHERE tasks.workspace_id = k.workspace_id AND tasks.id = k.id \
             LIMIT 1) t",
        );
    let sql = in_context(source, Sql::new("k.user_id"), ", k.ord");
    let mut found: Vec<Option<TaskInContext>> = reads.iter().map(|_| None).collect();
    for row in sql.prepared().load::<Numbered>(conn).await? {
        if let Some(slot) = usize::try_from(row.ord - 1)
            .ok()
            .and_then(|i| found.get_mut(i))
        {
            *slot = Some(row.found);
        }
    }
    Ok(found)
}

/// Reads tasks for concurrent GetTask calls, many to a statement (`db::query::batch`).
pub struct Reads;

impl Batched for Reads {
    type Item = TaskRead;
    type Output = Option<TaskInContext>;

    fn run<'c>(
        &'c self,
        conn: &'c mut AsyncPgConnection,
        items: &'c [TaskRead],
    ) -> Outputs<'c, Self::Output> {
        Box::pin(read_many(conn, items))
    }
}

/// The event a lifecycle move records: its kind, cause, and details besides the statuses it
/// moved from and to.
pub struct MoveEvent<'a> {
    pub kind: EventKind,
    pub cause: &'a Cause,
    pub details: serde_json::Value,
}

/// Applies `change` if the task is in one of `from` and the asker wrote it or is assigned to it,
/// and records `event`; returns it moved, with its view context, or `None` if it did not move (no
/// such task, a caller who may not move it, or a status the move is not allowed from).
pub async fn transition(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    asker: &Asker<'_>,
    from: &[Status],
    change: &StatusChange<'_>,
    event: &MoveEvent<'_>,
) -> QueryResult<Option<TaskInContext>> {
    let mut sql = Sql::new("WITH t AS (");
    sql.append(status_update(change));
    sql.push(" WHERE workspace_id = ");
    sql.bind::<SqlUuid, _>(workspace_id);
    sql.push(" AND id = ");
    sql.bind::<SqlUuid, _>(task_id);
    sql.push(" AND status = ANY(");
    sql.bind::<Array<Text>, _>(from.to_vec());
    sql.push(") AND ((created_by_type = ");
    sql.bind::<Text, _>(asker.actor_type);
    sql.push(" AND created_by_id = ");
    sql.bind::<Text, _>(asker.actor_id.to_owned());
    sql.push(
        ") OR EXISTS (SELECT 1 FROM assignments a WHERE a.workspace_id = tasks.workspace_id \
         AND a.task_id = tasks.id AND a.user_id = ",
    );
    sql.bind::<Nullable<SqlUuid>, _>(asker.user_id);
    sql.push(")) RETURNING *), ");
    sql.append(one_position(workspace_id, "t"));
    sql.push(
        "moved AS (INSERT INTO task_events (workspace_id, position, task_id, kind, actor_type, \
         actor_id, request_id, details, audience) SELECT t.workspace_id, \
         (SELECT position FROM head), t.id, ",
    );
    sql.append(kind_and_cause(event.kind, event.cause));
    // The statement's snapshot still holds the row as it was before the UPDATE: the status moved
    // from.
    sql.push(
        ", jsonb_build_object('from', (SELECT o.status FROM tasks o \
         WHERE o.workspace_id = t.workspace_id AND o.id = t.id), 'to', t.status) || ",
    );
    sql.bind::<Jsonb, _>(event.details.clone());
    sql.push(", ");
    sql.push(&audience_sql("t.workspace_id", "t.id"));
    sql.push(" FROM t) ");
    sql.append(in_context(
        Sql::new("t"),
        Sql::new("").with::<Nullable<SqlUuid>, _>(asker.user_id),
        "",
    ));
    let moved = diesel::OptionalExtension::optional(sql.prepared().get_result(conn).await)?;
    if moved.is_some() {
        crate::call::mark_written(workspace_id);
    }
    Ok(moved)
}

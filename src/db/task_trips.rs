//! The task statements of the hot paths, each one round trip: creating a task with its
//! assignments and linked records, reading one, and a lifecycle move checked and applied at once.
//! Each returns, with the row, what a view of it needs (the caller's own assignment, its links,
//! its assignments' progress), so no second query follows. A single statement is atomic on its
//! own: no BEGIN or COMMIT either. One more table to write on these paths (an event log) is one
//! more CTE, not one more round trip.

use diesel::{
    QueryResult, QueryableByName,
    sql_types::{Array, BigInt, Bool, Nullable, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    assignments::{ProgressCounts, Recipient},
    enums::{ActorType, ProgressStatus, Status},
    sql::Sql,
    tasks::{NewTaskRow, StatusChange, TaskRow, status_update},
};

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
/// asker's own) and one over its linked records.
fn in_context(asker: &Asker<'_>, source: &str) -> Sql {
    Sql::new(
        "SELECT t.*, c.own_progress, l.link_objects, l.link_record_ids, \
         c.new_count, c.open_count, c.finished_count FROM ",
    )
    .text(source)
    .text(" CROSS JOIN LATERAL (SELECT min(a.progress_status) FILTER (WHERE a.user_id = ")
    .with::<Nullable<SqlUuid>, _>(asker.user_id)
    .text(") AS own_progress, count(*) FILTER (WHERE a.progress_status = ")
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
    )
}

/// Inserts the task, its assignments (all with `progress`) and its linked records in one
/// statement; its number is drawn from the workspace's sequence.
pub async fn create(
    conn: &mut AsyncPgConnection,
    task: &NewTaskRow<'_>,
    assigned: &[Recipient],
    progress: ProgressStatus,
    links: &[(String, String)],
) -> QueryResult<TaskRow> {
    let (objects, record_ids): (Vec<String>, Vec<String>) = links.iter().cloned().unzip();
    let sql = Sql::new(
        "WITH task AS (INSERT INTO tasks (workspace_id, id, number, title, body_format, body_plain, \
         body_html, body_delta, kind, priority, due_date, due_at, tags, external_id, correlation_id, \
         sequence_id, completion_policy, distributed, created_by_type, created_by_id) VALUES (",
    )
    .with::<SqlUuid, _>(task.workspace_id)
    .text(", ")
    .with::<SqlUuid, _>(task.id)
    .text(", next_task_number(")
    .with::<SqlUuid, _>(task.workspace_id)
    .text("), ")
    .with::<Text, _>(task.title.to_owned())
    .text(", ")
    .with::<Text, _>(task.body_format)
    .text(", ")
    .with::<Text, _>(task.body_plain.to_owned())
    .text(", ")
    .with::<Text, _>(task.body_html.to_owned())
    .text(", ")
    .with::<Text, _>(task.body_delta.to_owned())
    .text(", ")
    .with::<Text, _>(task.kind.to_owned())
    .text(", ")
    .with::<Text, _>(task.priority)
    .text(", ")
    .with::<Nullable<diesel::sql_types::Date>, _>(task.due_date)
    .text(", ")
    .with::<Nullable<diesel::sql_types::Timestamptz>, _>(task.due_at)
    .text(", ")
    .with::<Array<Text>, _>(task.tags.to_vec())
    .text(", ")
    .with::<Nullable<Text>, _>(task.external_id.map(str::to_owned))
    .text(", ")
    .with::<Nullable<Text>, _>(task.correlation_id.map(str::to_owned))
    .text(", ")
    .with::<Nullable<SqlUuid>, _>(task.sequence_id)
    .text(", ")
    .with::<Text, _>(task.completion_policy)
    .text(", ")
    .with::<Bool, _>(task.distributed)
    .text(", ")
    .with::<Text, _>(task.created_by_type)
    .text(", ")
    .with::<Text, _>(task.created_by_id.to_owned())
    .text(
        ") RETURNING *), assigned AS (INSERT INTO assignments (workspace_id, id, task_id, \
         user_id, via_channel_id, progress_status) SELECT task.workspace_id, r.id, task.id, \
         r.user_id, r.via_channel_id, ",
    )
    .with::<Text, _>(progress)
    .text(" FROM task, unnest(")
    .with::<Array<SqlUuid>, _>(assigned.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
    .text(", ")
    .with::<Array<SqlUuid>, _>(assigned.iter().map(|r| r.user_id).collect::<Vec<_>>())
    .text(", ")
    .with::<Array<Nullable<SqlUuid>>, _>(
        assigned.iter().map(|r| r.via_channel_id).collect::<Vec<_>>(),
    )
    .text(
        ") AS r (id, user_id, via_channel_id)), linked AS (INSERT INTO task_linked_records \
         (workspace_id, task_id, object, record_id) SELECT task.workspace_id, task.id, l.object, \
         l.record_id FROM task, unnest(",
    )
    .with::<Array<Text>, _>(objects)
    .text(", ")
    .with::<Array<Text>, _>(record_ids)
    .text(") AS l (object, record_id)) SELECT * FROM task")
    .prepared();
    sql.get_result(conn).await
}

/// The task with its view context, if the workspace has it.
pub async fn read(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    asker: &Asker<'_>,
) -> QueryResult<Option<TaskInContext>> {
    let mut sql = in_context(asker, "tasks t");
    sql.push(" WHERE t.workspace_id = ");
    sql.bind::<SqlUuid, _>(workspace_id);
    sql.push(" AND t.id = ");
    sql.bind::<SqlUuid, _>(task_id);
    diesel::OptionalExtension::optional(sql.prepared().get_result(conn).await)
}

/// Applies `change` if the task is in one of `from` and the asker wrote it or is assigned to it;
/// returns it moved, with its view context, or `None` if it did not move (no such task, a caller
/// who may not move it, or a status the move is not allowed from).
pub async fn transition(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    asker: &Asker<'_>,
    from: &[Status],
    change: &StatusChange<'_>,
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
    sql.push(")) RETURNING *) ");
    sql.append(in_context(asker, "t"));
    diesel::OptionalExtension::optional(sql.prepared().get_result(conn).await)
}

//! Creating tasks, the hot path's one statement: the tasks with their assignments and linked
//! records, their numbers drawn from each workspace's sequence, and their TASK_CREATED events,
//! for as many calls as `db::query::batch` gathered. A single statement is atomic on its own, so
//! no BEGIN or COMMIT; it returns the rows a view of each task needs, so no second query follows.

use std::collections::HashMap;

use diesel::{
    QueryResult,
    sql_types::{Array, BigInt, Bool, Date, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::{
    assignments::Recipient,
    events::actor_key,
    query::batch::{Batched, Outputs},
    query::sql::Sql,
    tasks::{NewTaskRow, TaskRow},
};
use crate::domain::vocabulary::{ActorType, EventKind, ProgressStatus};

/// A new task with its assignments (all with `progress`) and its linked records.
#[derive(Debug)]
pub struct TaskWrite {
    pub task: NewTaskRow,
    pub assigned: Vec<Recipient>,
    pub progress: ProgressStatus,
    pub links: Vec<(String, String)>,
    /// The request id of the call that creates it, which its TASK_CREATED event records.
    pub request_id: Option<String>,
}

/// Joins a row's tags into one text: a statement for many rows takes each column as one array,
/// and PostgreSQL arrays cannot nest lists of different lengths. The unit separator is a control
/// character, which no tag may hold (`domain::input`).
const TAG_SEPARATOR: &str = "\u{1f}";

/// A new task's audience, as `events::audience_sql` would tell it were the rows not written by
/// the very statement that reads it: the author and the recipients, joined by spaces (which no
/// actor key holds) since arrays cannot nest lists of different lengths.
fn audience(write: &TaskWrite) -> String {
    let task = &write.task;
    let mut keys: Vec<String> = write
        .assigned
        .iter()
        .map(|r| actor_key(ActorType::User, &r.user_id.to_string()))
        .collect();
    keys.push(actor_key(task.created_by_type, &task.created_by_id));
    keys.sort();
    keys.dedup();
    keys.join(" ")
}

/// Where the TASK_CREATED events of a batch go in their workspaces' logs: how many each
/// workspace takes, and each task's place among its workspace's (from 1), in the batch's order.
struct Heads {
    workspaces: Vec<Uuid>,
    counts: Vec<i64>,
    nth: Vec<i64>,
}

impl Heads {
    fn of(writes: &[TaskWrite]) -> Self {
        let mut heads = Self {
            workspaces: Vec::new(),
            counts: Vec::new(),
            nth: Vec::with_capacity(writes.len()),
        };
        for write in writes {
            let workspace = write.task.workspace_id;
            let at = match heads.workspaces.iter().position(|w| *w == workspace) {
                Some(at) => at,
                None => {
                    heads.workspaces.push(workspace);
                    heads.counts.push(0);
                    heads.workspaces.len() - 1
                }
            };
            heads.counts[at] += 1;
            heads.nth.push(heads.counts[at]);
        }
        heads
    }
}

/// Inserts the tasks, their assignments and their linked records in one statement; each number
/// is drawn from its workspace's sequence. Returns the rows written, in the order given.
pub async fn create_many(
    conn: &mut AsyncPgConnection,
    writes: &[TaskWrite],
) -> QueryResult<Vec<TaskRow>> {
    let tasks = writes.iter().map(|w| &w.task);
    fn column<'a, T: 'a>(
        tasks: impl Iterator<Item = &'a NewTaskRow>,
        field: impl Fn(&'a NewTaskRow) -> T,
    ) -> Vec<T> {
        tasks.map(field).collect()
    }
    let heads = Heads::of(writes);
    let mut assigned = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut linked = (Vec::new(), Vec::new(), Vec::new());
    for write in writes {
        for recipient in &write.assigned {
            assigned.0.push(write.task.id);
            assigned.1.push(Uuid::now_v7());
            assigned.2.push(recipient.user_id);
            assigned.3.push(recipient.via_channel_id);
            assigned.4.push(write.progress);
        }
        for (object, record_id) in &write.links {
            linked.0.push(write.task.id);
            linked.1.push(object.clone());
            linked.2.push(record_id.clone());
        }
    }
    let mut sql = Sql::new("WITH input AS (SELECT * FROM unnest(")
        .with_opaque::<Array<SqlUuid>, _>(column(tasks.clone(), |t| t.workspace_id))
        .text(", ")
        .with_opaque::<Array<SqlUuid>, _>(column(tasks.clone(), |t| t.id))
        .text(", ")
        .with_opaque::<Array<Text>, _>(column(tasks.clone(), |t| t.title.clone()))
        .text(", ")
        .with_opaque::<Array<Text>, _>(column(tasks.clone(), |t| t.body_format))
        .text(", ")
        .with_opaque::<Array<Text>, _>(column(tasks.clone(), |t| t.body_plain.clone()))
        .text(", ")
        .with_opaque::<Array<Text>, _>(column(tasks.clone(), |t| t.body_html.clone()))
        .text(", ")
        .with_opaque::<Array<Text>, _>(column(tasks.clone(), |t| t.body_delta.clone()))
        .text(", ")
        .with_opaque::<Array<Text>, _>(column(tasks.clone(), |t| t.kind.clone()))
        .text(", ")
        .with_opaque::<Array<Text>, _>(column(tasks.clone(), |t| t.priority))
        .text(", ")
        .with_opaque::<Array<Nullable<Date>>, _>(column(tasks.clone(), |t| t.due_date))
        .text(", ")
        .with_opaque::<Array<Nullable<Timestamptz>>, _>(column(tasks.clone(), |t| t.due_at))
        .text(", ")
        .with_opaque::<Array<Text>, _>(column(tasks.clone(), |t| t.tags.join(TAG_SEPARATOR)))
        .text(", ")
        .with_opaque::<Array<Nullable<Text>>, _>(column(tasks.clone(), |t| t.external_id.clone()))
        .text(", ")
        .with_opaque::<Array<Nullable<Text>>, _>(column(tasks.clone(), |t| {
            t.correlation_id.clone()
        }))
        .text(", ")
        .with_opaque::<Array<Nullable<SqlUuid>>, _>(column(tasks.clone(), |t| t.sequence_id))
        .text(", ")
        .with_opaque::<Array<Text>, _>(column(tasks.clone(), |t| t.completion_policy))
        .text(", ")
        .with_opaque::<Array<Bool>, _>(column(tasks.clone(), |t| t.distributed))
        .text(", ")
        .with_opaque::<Array<Text>, _>(column(tasks.clone(), |t| t.created_by_type))
        .text(", ")
        .with_opaque::<Array<Text>, _>(column(tasks, |t| t.created_by_id.clone()))
        .text(", ")
        .with_opaque::<Array<Nullable<Text>>, _>(
            writes
                .iter()
                .map(|w| w.request_id.clone())
                .collect::<Vec<_>>(),
        )
        .text(", ")
        .with_opaque::<Array<Text>, _>(writes.iter().map(audience).collect::<Vec<_>>())
        .text(", ")
        .with_opaque::<Array<BigInt>, _>(heads.nth)
        .text(
            ") WITH ORDINALITY AS i (workspace_id, id, title, body_format, body_plain, body_html, \
             body_delta, kind, priority, due_date, due_at, tags, external_id, correlation_id, \
             sequence_id, completion_policy, distributed, created_by_type, created_by_id, \
             request_id, audience, nth, ord)), \
             task AS (INSERT INTO tasks (workspace_id, id, number, title, body_format, body_plain, \
             body_html, body_delta, kind, priority, due_date, due_at, tags, external_id, \
             correlation_id, sequence_id, completion_policy, distributed, created_by_type, \
             created_by_id) SELECT workspace_id, id, next_task_number(workspace_id), title, \
             body_format, body_plain, body_html, body_delta, kind, priority, due_date, due_at, \
             string_to_array(tags, ",
        )
        .with::<Text, _>(TAG_SEPARATOR)
        .text(
            "), external_id, correlation_id, sequence_id, completion_policy, distributed, \
             created_by_type, created_by_id FROM input ORDER BY ord RETURNING *), ",
        );
    // A batch with no assignments or no linked records leaves their insert out: each table a
    // statement names costs it the opening and locking of the table and its indexes.
    if !assigned.0.is_empty() {
        sql = sql
            .text(
                "assigned AS (INSERT INTO assignments (workspace_id, id, task_id, user_id, \
                 via_channel_id, progress_status) SELECT task.workspace_id, r.id, task.id, \
                 r.user_id, r.via_channel_id, r.progress FROM unnest(",
            )
            .with_opaque::<Array<SqlUuid>, _>(assigned.0)
            .text(", ")
            .with_opaque::<Array<SqlUuid>, _>(assigned.1)
            .text(", ")
            .with_opaque::<Array<SqlUuid>, _>(assigned.2)
            .text(", ")
            .with_opaque::<Array<Nullable<SqlUuid>>, _>(assigned.3)
            .text(", ")
            .with_opaque::<Array<Text>, _>(assigned.4)
            .text(
                ") AS r (task_id, id, user_id, via_channel_id, progress) \
                 JOIN task ON task.id = r.task_id), ",
            );
    }
    if !linked.0.is_empty() {
        sql = sql
            .text(
                "linked AS (INSERT INTO task_linked_records (workspace_id, task_id, object, \
                 record_id) SELECT task.workspace_id, task.id, l.object, l.record_id FROM unnest(",
            )
            .with_opaque::<Array<SqlUuid>, _>(linked.0)
            .text(", ")
            .with_opaque::<Array<Text>, _>(linked.1)
            .text(", ")
            .with_opaque::<Array<Text>, _>(linked.2)
            .text(") AS l (task_id, object, record_id) JOIN task ON task.id = l.task_id), ");
    }
    // The events' positions come last (`events`), once the tasks are in. A batch of several
    // workspaces takes their heads in one order, so that two batches cannot wait for each other:
    // first a transaction advisory lock per workspace, in the order of their keys (cheaper than
    // locking the rows with FOR UPDATE, which writes each lock to the WAL: measured at a tenth of
    // CreateTask's pace); single writers hold at most one head and need no such order.
    let several = heads.workspaces.len() > 1;
    let mut sql = sql.text("counted AS (SELECT * FROM unnest(");
    sql = sql
        .with_opaque::<Array<SqlUuid>, _>(heads.workspaces)
        .text(", ")
        .with_opaque::<Array<BigInt>, _>(heads.counts)
        .text(") AS c (workspace_id, n) WHERE (SELECT count(*) FROM task) > 0), ");
    if several {
        sql = sql.text(
            "ordered AS (SELECT count(pg_advisory_xact_lock(hashtextextended(w.key, 0))) AS n \
             FROM (SELECT 'docket head ' || workspace_id AS key FROM counted ORDER BY 1) w), ",
        );
    }
    let sql = sql
        .text(&format!(
            "head AS (UPDATE task_event_heads h SET position = h.position + c.n \
             FROM counted c WHERE h.workspace_id = c.workspace_id{} \
             RETURNING h.workspace_id, h.position - c.n AS base), \
             created AS (INSERT INTO task_events (workspace_id, position, task_id, kind, \
             actor_type, actor_id, request_id, audience) SELECT task.workspace_id, \
             head.base + input.nth, task.id, ",
            if several {
                " AND (SELECT n FROM ordered) >= 0"
            } else {
                ""
            }
        ))
        .with::<Text, _>(EventKind::TaskCreated)
        .text(
            ", task.created_by_type, task.created_by_id, input.request_id, \
             string_to_array(input.audience, ' ') FROM task JOIN input ON input.id = task.id \
             LEFT JOIN head ON head.workspace_id = task.workspace_id) SELECT * FROM task",
        )
        .prepared();
    let loaded = sql.load::<TaskRow>(conn).await?;
    // In a batch runner's task this marks no call: `domain::tasks::create` marks its own.
    for write in writes {
        crate::call::mark_written(write.task.workspace_id);
    }
    let mut rows: HashMap<Uuid, TaskRow> = loaded.into_iter().map(|row| (row.id, row)).collect();
    writes
        .iter()
        .map(|w| {
            rows.remove(&w.task.id)
                .ok_or(diesel::result::Error::NotFound)
        })
        .collect()
}

/// Writes tasks for concurrent CreateTask calls, many to a statement (`db::query::batch`).
pub struct Creates;

impl Batched for Creates {
    type Item = TaskWrite;
    type Output = TaskRow;

    fn run<'c>(
        &'c self,
        conn: &'c mut AsyncPgConnection,
        items: &'c [TaskWrite],
    ) -> Outputs<'c, TaskRow> {
        Box::pin(create_many(conn, items))
    }
}

//! Creating tasks, the hot path's one statement: the tasks with their assignments and linked
//! records, their numbers drawn from each workspace's sequence, and their TASK_CREATED events,
//! for as many calls as `db::query::batch` gathered. A single statement is atomic on its own, so
//! no BEGIN or COMMIT; it returns the rows a view of each task needs, so no second query follows.

use crate::events::log::actor_key;
use std::{collections::HashMap, sync::LazyLock};

use diesel::{
    QueryResult,
    sql_types::{Array, BigInt, Bool, Date, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::{
    assignments::Recipient,
    query::batch::{Batched, Outputs},
    query::statement::{Binds, Statement},
    tasks::{NewProvenance, NewTaskRow, TaskRow},
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
    /// Who its TASK_CREATED event names as the actor, when not its author (SYSTEM, for an
    /// occurrence a template's schedule made).
    pub event_actor: Option<(ActorType, String)>,
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

/// `create.sql`, parsed once.
static CREATE: LazyLock<Statement> =
    LazyLock::new(|| Statement::parse("create.sql", include_str!("create.sql")));

/// Inserts the tasks, their assignments and their linked records in one statement (`create.sql`);
/// each number is drawn from its workspace's sequence. Returns the rows written, in the order
/// given.
pub async fn create_many(
    conn: &mut AsyncPgConnection,
    writes: &[TaskWrite],
) -> QueryResult<Vec<TaskRow>> {
    let heads = Heads::of(writes);
    let mut on = Vec::new();
    if writes.iter().any(|w| !w.assigned.is_empty()) {
        on.push("assigned");
    }
    if writes.iter().any(|w| !w.links.is_empty()) {
        on.push("linked");
    }
    if heads.workspaces.len() > 1 {
        on.push("several");
    }
    let binds = recipients_and_links(writes, task_values(writes))
        .bind::<Array<BigInt>, _>("nths", heads.nth)
        .bind::<Array<SqlUuid>, _>("head_workspace_ids", heads.workspaces)
        .bind::<Array<BigInt>, _>("head_counts", heads.counts)
        .bind::<Text, _>("tag_separator", TAG_SEPARATOR)
        .bind::<Text, _>("task_created", EventKind::TaskCreated);
    let loaded = CREATE.fill(&on, binds)?.load::<TaskRow>(conn).await?;
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

/// The tasks' columns, one array each, and what their events record.
fn task_values(writes: &[TaskWrite]) -> Binds {
    fn column<T>(writes: &[TaskWrite], field: impl Fn(&TaskWrite) -> T) -> Vec<T> {
        writes.iter().map(field).collect()
    }
    Binds::default()
        .bind::<Array<SqlUuid>, _>("workspace_ids", column(writes, |w| w.task.workspace_id))
        .bind::<Array<SqlUuid>, _>("ids", column(writes, |w| w.task.id))
        .bind::<Array<Text>, _>("titles", column(writes, |w| w.task.title.clone()))
        .bind::<Array<Text>, _>("body_formats", column(writes, |w| w.task.body_format))
        .bind::<Array<Text>, _>(
            "bodies_plain",
            column(writes, |w| w.task.body_plain.clone()),
        )
        .bind::<Array<Text>, _>("bodies_html", column(writes, |w| w.task.body_html.clone()))
        .bind::<Array<Text>, _>(
            "bodies_delta",
            column(writes, |w| w.task.body_delta.clone()),
        )
        .bind::<Array<Text>, _>("kinds", column(writes, |w| w.task.kind.clone()))
        .bind::<Array<Text>, _>("priorities", column(writes, |w| w.task.priority))
        .bind::<Array<Nullable<Date>>, _>("due_dates", column(writes, |w| w.task.due_date))
        .bind::<Array<Nullable<Timestamptz>>, _>("due_ats", column(writes, |w| w.task.due_at))
        .bind::<Array<Nullable<Timestamptz>>, _>(
            "follow_up_ats",
            column(writes, |w| w.task.follow_up_at),
        )
        .bind::<Array<Nullable<Timestamptz>>, _>(
            "source_occurred_ats",
            column(writes, |w| w.task.source_occurred_at),
        )
        .bind::<Array<Text>, _>("tags", column(writes, |w| w.task.tags.join(TAG_SEPARATOR)))
        .bind::<Array<Nullable<Text>>, _>(
            "external_ids",
            column(writes, |w| w.task.external_id.clone()),
        )
        .bind::<Array<Nullable<Text>>, _>(
            "correlation_ids",
            column(writes, |w| w.task.correlation_id.clone()),
        )
        .bind::<Array<Nullable<SqlUuid>>, _>("sequence_ids", column(writes, |w| w.task.sequence_id))
        .bind::<Array<Text>, _>(
            "completion_policies",
            column(writes, |w| w.task.completion_policy),
        )
        .bind::<Array<Bool>, _>("distributed", column(writes, |w| w.task.distributed))
        .bind::<Array<Text>, _>(
            "created_by_types",
            column(writes, |w| w.task.created_by_type),
        )
        .bind::<Array<Text>, _>(
            "created_by_ids",
            column(writes, |w| w.task.created_by_id.clone()),
        )
        .bind::<Array<Nullable<Text>>, _>("request_ids", column(writes, |w| w.request_id.clone()))
        .bind::<Array<Text>, _>("audiences", column(writes, audience))
        .bind::<Array<Nullable<Text>>, _>(
            "event_actor_types",
            column(writes, |w| w.event_actor.as_ref().map(|(kind, _)| *kind)),
        )
        .bind::<Array<Nullable<Text>>, _>(
            "event_actor_ids",
            column(writes, |w| w.event_actor.as_ref().map(|(_, id)| id.clone())),
        )
        .and(provenance_values(writes))
}

/// The tasks' provenance columns (the template that made each, if one did).
fn provenance_values(writes: &[TaskWrite]) -> Binds {
    fn of(w: &TaskWrite) -> Option<&NewProvenance> {
        w.task.provenance.as_ref()
    }
    let occurrence = |w: &TaskWrite| of(w).and_then(|p| p.occurrence);
    Binds::default()
        .bind::<Array<Nullable<SqlUuid>>, _>(
            "template_ids",
            writes
                .iter()
                .map(|w| of(w).map(|p| p.template_id))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Text>>, _>(
            "template_names",
            writes
                .iter()
                .map(|w| of(w).map(|p| p.template_name.clone()))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Integer>>, _>(
            "occurrence_indexes",
            writes
                .iter()
                .map(|w| occurrence(w).map(|o| o.0))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Timestamptz>>, _>(
            "scheduled_fors",
            writes
                .iter()
                .map(|w| occurrence(w).map(|o| o.1))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<SqlUuid>>, _>(
            "series_previous_ids",
            writes
                .iter()
                .map(|w| occurrence(w).and_then(|o| o.2))
                .collect::<Vec<_>>(),
        )
}

/// The tasks' assignments and linked records, one array per column.
fn recipients_and_links(writes: &[TaskWrite], binds: Binds) -> Binds {
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
    binds
        .bind::<Array<SqlUuid>, _>("assigned_task_ids", assigned.0)
        .bind::<Array<SqlUuid>, _>("assignment_ids", assigned.1)
        .bind::<Array<SqlUuid>, _>("user_ids", assigned.2)
        .bind::<Array<Nullable<SqlUuid>>, _>("via_channel_ids", assigned.3)
        .bind::<Array<Text>, _>("progress", assigned.4)
        .bind::<Array<SqlUuid>, _>("linked_task_ids", linked.0)
        .bind::<Array<Text>, _>("objects", linked.1)
        .bind::<Array<Text>, _>("record_ids", linked.2)
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

//! How a caller sees tasks: the one rule for the distribution kind a caller is shown and for who
//! gets the assignment summary, applied to a single task or a page of them with a few batched
//! queries (links, summaries, received marks) rather than a few per task.

use std::collections::{HashMap, HashSet};

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::{DistributionKind, TaskView};
use crate::domain::records::ProgressCounts;
use crate::{
    auth::Caller,
    db::{
        assignments,
        tasks::{self, TaskRow},
    },
};

/// Which of the tasks shown the caller received (is assigned to without being the author).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Received {
    /// Every task the caller did not author: a listing of the tasks related to the caller.
    AllNotAuthored,
    /// Known for the task shown (a single task, whose relation to the caller was looked up).
    Known(bool),
    /// Unknown: ask the database (a listing of the whole workspace).
    LookUp,
}

/// Whether the caller wrote the task.
pub(crate) fn is_author(caller: &Caller, task: &TaskRow) -> bool {
    task.created_by_type == caller.actor.kind() && task.created_by_id == caller.actor.id()
}

/// The rule: the author sees their task as PERSONAL or DISTRIBUTED, with the assignment summary;
/// a recipient sees it as RECEIVED; anyone else allowed to see it (a workspace admin) sees the
/// author's kind without the summary.
fn seen_as(caller: &Caller, task: &TaskRow, received: bool) -> (DistributionKind, bool) {
    let own_kind = if task.distributed {
        DistributionKind::Distributed
    } else {
        DistributionKind::Personal
    };
    if is_author(caller, task) {
        (own_kind, true)
    } else if received {
        (DistributionKind::Received, false)
    } else {
        (own_kind, false)
    }
}

/// What a view of one task needs besides its row.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    /// Whether the caller is assigned to it (without being its author: see [`seen_as`]).
    pub received: bool,
    /// Its linked records, by object and record id.
    pub links: Vec<(String, String)>,
    /// Its assignments' progress, shown to the author only.
    pub counts: ProgressCounts,
}

/// The task as the caller sees it, from its row and context: the one rule, applied.
pub(crate) fn assemble(caller: &Caller, task: TaskRow, context: Context) -> TaskView {
    let (distribution_kind, with_summary) = seen_as(caller, &task, context.received);
    TaskView {
        linked_records: context.links,
        assignment_summary: with_summary.then_some(context.counts),
        distribution_kind,
        task,
    }
}

/// One task as the caller sees it, its context read from the database.
pub(crate) async fn view(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task: TaskRow,
    received: bool,
) -> QueryResult<TaskView> {
    let mut views = views(conn, caller, vec![task], Received::Known(received)).await?;
    Ok(views.remove(0))
}

/// Tasks as the caller sees them, in the order given, with at most three queries in all.
pub(crate) async fn views(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rows: Vec<TaskRow>,
    received: Received,
) -> QueryResult<Vec<TaskView>> {
    let workspace_id = caller.workspace_id;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut links: HashMap<Uuid, Vec<(String, String)>> = HashMap::new();
    for (task_id, object, record_id) in
        tasks::linked_records::of_tasks(conn, workspace_id, &ids).await?
    {
        links.entry(task_id).or_default().push((object, record_id));
    }
    let authored: Vec<Uuid> = rows
        .iter()
        .filter(|row| is_author(caller, row))
        .map(|row| row.id)
        .collect();
    let mut summaries = if authored.is_empty() {
        HashMap::new()
    } else {
        assignments::counts_of(conn, workspace_id, &authored).await?
    };
    let looked_up: HashSet<Uuid> = match (received, caller.actor.user_id()) {
        (Received::LookUp, Some(user)) => {
            assignments::assigned_among(conn, workspace_id, user, &ids)
                .await?
                .into_iter()
                .collect()
        }
        _ => HashSet::new(),
    };
    Ok(rows
        .into_iter()
        .map(|task| {
            let received = match received {
                Received::AllNotAuthored => true,
                Received::Known(known) => known,
                Received::LookUp => looked_up.contains(&task.id),
            };
            let context = Context {
                received,
                links: links.remove(&task.id).unwrap_or_default(),
                counts: summaries.remove(&task.id).unwrap_or_default(),
            };
            assemble(caller, task, context)
        })
        .collect())
}

//! Tasks: creating one (with its recipients' assignments, atomically, and idempotently under a
//! request id), reading one as the caller may see it, deleting one.
//!
//! Visibility: the author, the recipients, and callers with workspace:admin see a task. For
//! everyone else (and for author-only operations, everyone but the author) the task does not exist.

mod changes;
pub mod history;
pub mod input;
pub mod lifecycle;
pub mod list;
pub mod model;
mod patch;
mod reassign;
mod recipients;
pub mod reminders;
mod settle;
mod sla;
mod update;
mod view;

use crate::events::record;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

pub(crate) use changes::{change, move_details};
pub use input::{
    ExternalKey, LinkedRecord, NewTask, Note, ObjectKey, Reason, RecordId, RequestKey, SearchQuery,
    Tag, TaskChanges, TaskDraft, TaskField, TaskKind, Title,
};
pub use lifecycle::Move;
pub use model::{CompletionPolicy, Disposition, DistributionKind, Due, Priority, Status, TaskView};
pub(crate) use reassign::reassign_one;
pub use reassign::{ReassignScope, reassign};
pub(crate) use recipients::recipients;
pub use settle::policy_holds;
pub(crate) use settle::settle;
pub use sla::{Sla, SlaClockState};
pub use update::update;
use view::Context;
pub(crate) use view::{Received, is_author, view, views};

use super::{DomainError, input::Text};
use crate::domain::records::ProgressCounts;
use crate::domain::vocabulary::ProgressStatus;
use crate::{
    auth::{Actor, Caller},
    db::{
        Db, DbError, Failure,
        assignments::{self, Recipient},
        checkout,
        tasks::create::{self, TaskWrite},
        tasks::trips::{self, Asker, MoveEvent, TaskInContext, TaskRead},
        tasks::{
            self, NewProvenance, NewTaskRow, StatusChange, TaskRow,
            create_requests::CreateRequestKey,
        },
    },
};

/// How long a change to a task's assignments waits for another change to the same task.
const CHANGE_LOCK_WAIT: Duration = Duration::from_secs(2);

/// A create's idempotency key and the hash of what it asked for.
pub struct CreateRequest {
    pub request_id: Text<RequestKey>,
    pub payload_hash: [u8; 32],
}

/// How the caller relates to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    Author,
    Recipient,
    /// Neither, but sees every task of the workspace.
    Admin,
    Stranger,
}

/// Creates the task authored by the caller, with its assignments (its recipients', or the
/// author's own for a personal task) and linked records. A personal task without a request id is
/// one statement; recipients to resolve or a request id to claim come first, in one transaction
/// with it.
pub async fn create(
    db: &Db,
    caller: &Caller,
    task: NewTask,
    request: Option<CreateRequest>,
) -> Result<TaskView, DomainError> {
    create_with(db, caller, task, request, None).await
}

/// Where a task comes from when a template makes it, and who its creation event names.
#[derive(Debug, Clone)]
pub struct Origin {
    pub provenance: NewProvenance,
    /// SYSTEM for an occurrence a schedule made; the author for CreateTaskFromTemplate.
    pub by_system: bool,
}

/// As [`create`], for a task a template makes (CreateTaskFromTemplate).
pub async fn create_with(
    db: &Db,
    caller: &Caller,
    task: NewTask,
    request: Option<CreateRequest>,
    origin: Option<Origin>,
) -> Result<TaskView, DomainError> {
    let task_id = Uuid::now_v7();
    if request.is_none() && origin.is_none() && !task.is_distributed() && task.reminders.is_empty()
    {
        // Nothing to read first: the statement can be shared with concurrent creates.
        let write = to_write(caller, task_id, &task, Vec::new(), None);
        let context = context_of(&write);
        let row = db.task_creates.run(write).await?;
        // Written in a batch runner's task, outside this call's task.
        crate::call::mark_written(caller.workspace_id);
        return Ok(view::assemble(caller, row, context));
    }
    let mut conn = checkout(&db.pool).await?;
    let (actor_type, actor_id) = (caller.actor.kind(), caller.actor.id());
    conn.transaction(async |conn| {
        if let Some(request) = &request {
            let key = CreateRequestKey {
                workspace_id: caller.workspace_id,
                actor_type,
                actor_id: &actor_id,
                request_id: request.request_id.as_str(),
            };
            if let Some((hash, first)) =
                tasks::create_requests::claim(conn, &key, &request.payload_hash, task_id).await?
            {
                if hash != request.payload_hash {
                    return Err(DomainError::RequestIdReused);
                }
                let row = tasks::find(conn, caller.workspace_id, first)
                    .await?
                    .ok_or(DomainError::TaskNotFound)?;
                return Ok(view::view(conn, caller, row, false).await?);
            }
        }
        write_new(conn, caller, task_id, &task, origin.as_ref()).await
    })
    .await
}

/// Writes a new task with its assignments, links and reminders in the connection's transaction.
pub(crate) async fn write_new(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
    task: &NewTask,
    origin: Option<&Origin>,
) -> Result<TaskView, DomainError> {
    let recipients = recipients(
        conn,
        caller,
        &task.recipient_user_ids,
        &task.recipient_channel_ids,
        &Default::default(),
    )
    .await?;
    if task.is_distributed() && recipients.is_empty() {
        return Err(DomainError::AssignmentsLowerLimit(
            "a distributed task needs at least one recipient, and its channels have no active members",
        ));
    }
    let write = to_write(caller, task_id, task, recipients, origin);
    let context = context_of(&write);
    let mut rows = create::create_many(conn, std::slice::from_ref(&write)).await?;
    let row = rows
        .pop()
        .ok_or(DbError::Query(diesel::result::Error::NotFound))?;
    reminders::write(conn, caller, &row, &task.reminders).await?;
    Ok(view::assemble(caller, row, context))
}

/// The rows a new task is written as: the task, its assignments (its recipients', or the author's
/// own for a personal task) and its linked records.
fn to_write(
    caller: &Caller,
    task_id: Uuid,
    task: &NewTask,
    recipients: Vec<Recipient>,
    origin: Option<&Origin>,
) -> TaskWrite {
    let (assigned, progress) = match (task.is_distributed(), &caller.actor) {
        (true, _) => (recipients, ProgressStatus::New),
        // A personal task is assigned to its author, who has seen it by writing it.
        (false, Actor::User(author)) => (
            vec![Recipient {
                user_id: *author,
                via_channel_id: None,
            }],
            ProgressStatus::Open,
        ),
        (false, Actor::ApiToken(_) | Actor::System) => (Vec::new(), ProgressStatus::Open),
    };
    let (due_date, due_at) = match task.due {
        Some(Due::Date(date)) => (Some(date), None),
        Some(Due::At(at)) => (None, Some(at)),
        None => (None, None),
    };
    let mut links: Vec<(String, String)> =
        task.linked_records.iter().map(LinkedRecord::pair).collect();
    links.sort();
    TaskWrite {
        task: NewTaskRow {
            workspace_id: caller.workspace_id,
            id: task_id,
            title: task.title.as_str().to_owned(),
            body_format: task.body.written_as,
            body_plain: task.body.plain.clone(),
            body_html: task.body.html.clone(),
            body_delta: task.body.delta.clone(),
            kind: task.kind.as_str().to_owned(),
            priority: task.priority,
            due_date,
            due_at,
            tags: task.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            external_id: task.external_id.as_ref().map(|t| t.as_str().to_owned()),
            correlation_id: task.correlation_id.as_ref().map(|t| t.as_str().to_owned()),
            sequence_id: task.sequence_id,
            completion_policy: task.completion_policy,
            distributed: task.is_distributed(),
            created_by_type: caller.actor.kind(),
            created_by_id: caller.actor.id(),
            follow_up_at: task.follow_up_at,
            source_occurred_at: task.source_occurred_at,
            provenance: origin.map(|o| o.provenance.clone()),
        },
        assigned,
        progress,
        links,
        request_id: caller.request_id.clone(),
        event_actor: origin.filter(|o| o.by_system).map(|_| {
            let system = Actor::System;
            (system.kind(), system.id())
        }),
    }
}

/// What the author's view of a task just written shows besides its row.
fn context_of(write: &TaskWrite) -> Context {
    Context {
        received: false,
        links: write.links.clone(),
        counts: ProgressCounts::from_pairs([(write.progress, write.assigned.len() as i64)]),
    }
}

/// Who the caller is, as the hot-path statements tell the author and the caller's assignment.
fn asker<'a>(caller: &Caller, actor_id: &'a str) -> Asker<'a> {
    Asker {
        actor_type: caller.actor.kind(),
        actor_id,
        user_id: caller.actor.user_id(),
    }
}

/// A task read with its context, as the caller sees it.
fn in_context(caller: &Caller, found: TaskInContext) -> TaskView {
    let context = Context {
        received: found.own_progress.is_some(),
        links: found.links(),
        counts: found.counts(),
    };
    view::assemble(caller, found.task, context)
}

/// The task locked for a change to its assignments (see `tasks::lock_for_change`): a wait for
/// another change that runs out is TASK_ASSIGNMENT_CHANGE_CONFLICT, having changed nothing.
pub(crate) async fn lock_for_change(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
) -> Result<TaskRow, DomainError> {
    match tasks::lock_for_change(conn, workspace_id, task_id, CHANGE_LOCK_WAIT).await {
        Ok(Some(task)) => Ok(task),
        Ok(None) => Err(DomainError::TaskNotFound),
        Err(e) => match DbError::from(e) {
            e if e.failure() == Failure::Conflict => Err(DomainError::AssignmentChangeConflict),
            e => Err(e.into()),
        },
    }
}

/// The task as the caller sees it, in one statement (shared with concurrent reads). A recipient
/// reading it marks their assignment seen.
pub async fn get(db: &Db, caller: &Caller, task_id: Uuid) -> Result<TaskView, DomainError> {
    let read = TaskRead {
        workspace_id: caller.workspace_id,
        task_id,
        user_id: caller.actor.user_id(),
    };
    let found = db
        .task_reads
        .run(read)
        .await?
        .ok_or(DomainError::TaskNotFound)?;
    let author = is_author(caller, &found.task);
    if !author && found.own_progress.is_none() && !caller.is_workspace_admin() {
        return Err(DomainError::TaskNotFound);
    }
    // A recipient's first read marks their assignment seen: a second statement, once per task
    // and recipient. Nothing the caller sees changes (only the author sees the counts).
    if let (false, Some(ProgressStatus::New), Some(user)) =
        (author, found.own_progress, caller.actor.user_id())
    {
        let mut conn = checkout(&db.pool).await?;
        let cause = record::cause(caller);
        assignments::mark_seen(&mut conn, caller.workspace_id, task_id, user, &cause).await?;
    }
    Ok(in_context(caller, found))
}

/// What a lifecycle move records besides the status: the completion response (Complete) or the
/// reason (Reopen).
#[derive(Debug, Clone, Default)]
pub struct MoveDetails {
    pub disposition: Option<Disposition>,
    pub note: Option<Text<Note>>,
    pub reopen_reason: Option<Text<Reason>>,
}

/// Moves the task through its lifecycle. The author or a recipient may; anyone else who can see
/// the task (a workspace admin) is refused, and anyone else does not see it. The move is one
/// statement that checks and applies it; only a move that did not happen reads again, to say why.
pub async fn transition(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
    action: Move,
    details: MoveDetails,
) -> Result<TaskView, DomainError> {
    let (from, to) = lifecycle::rule(action);
    let change = StatusChange {
        to,
        work_begins_from: lifecycle::work_begins_from(to),
        outcome: (to == Status::Completed)
            .then(|| (details.disposition, details.note.as_ref().map(Text::as_str))),
        reopen_reason: (action == Move::Reopen)
            .then(|| details.reopen_reason.as_ref().map_or("", Text::as_str)),
        by_policy: false,
    };
    let actor_id = caller.actor.id();
    let asker = asker(caller, &actor_id);
    let workspace_id = caller.workspace_id;
    let cause = record::cause(caller);
    let event = MoveEvent {
        kind: action.event_kind(),
        cause: &cause,
        details: move_details(&change),
    };
    if let Some(moved) =
        trips::transition(conn, workspace_id, task_id, &asker, &from, &change, &event).await?
    {
        return Ok(in_context(caller, moved));
    }
    let row = tasks::find(conn, workspace_id, task_id)
        .await?
        .ok_or(DomainError::TaskNotFound)?;
    Err(match relation(conn, caller, &row).await? {
        Relation::Stranger => DomainError::TaskNotFound,
        Relation::Admin => DomainError::NotTaskParticipant,
        Relation::Author | Relation::Recipient => DomainError::InvalidTransition {
            action: action.name(),
            status: row.status,
        },
    })
}

/// Deletes the task with its assignments; only its author may.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
) -> Result<(), DomainError> {
    let row = tasks::find(conn, caller.workspace_id, task_id)
        .await?
        .ok_or(DomainError::TaskNotFound)?;
    if !is_author(caller, &row)
        || !tasks::delete(conn, caller.workspace_id, task_id, &record::cause(caller)).await?
    {
        return Err(DomainError::TaskNotFound);
    }
    Ok(())
}

/// How the caller relates to the task.
pub(crate) async fn relation(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    row: &TaskRow,
) -> Result<Relation, DomainError> {
    if is_author(caller, row) {
        return Ok(Relation::Author);
    }
    if let Some(user) = caller.actor.user_id()
        && assignments::for_user(conn, caller.workspace_id, row.id, user)
            .await?
            .is_some()
    {
        return Ok(Relation::Recipient);
    }
    Ok(if caller.is_workspace_admin() {
        Relation::Admin
    } else {
        Relation::Stranger
    })
}

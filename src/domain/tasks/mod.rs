//! Tasks: creating one (with its recipients' assignments, atomically, and idempotently under a
//! request id), reading one as the caller may see it, deleting one.
//!
//! Visibility: the author, the recipients, and callers with workspace:admin see a task. For
//! everyone else (and for author-only operations, everyone but the author) the task does not exist.

pub mod input;
pub mod lifecycle;
pub mod list;
pub mod model;

use std::collections::HashSet;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

pub use input::{NewTask, TaskChanges, TaskDraft, TaskField};
pub use lifecycle::Move;
pub use model::{CompletionPolicy, Disposition, DistributionKind, Due, Priority, Status, TaskView};

use super::DomainError;
use crate::{
    auth::{Actor, Caller},
    db::{
        assignments::{self, Recipient},
        channels,
        task_list::Visibility,
        tasks::{self, CreateRequestKey, NewTaskRow, StatusChange, TaskChangeset, TaskRow},
        users,
    },
};

/// A create's idempotency key and the hash of what it asked for.
pub struct CreateRequest<'a> {
    pub request_id: &'a str,
    pub payload_hash: [u8; 32],
}

/// How the caller relates to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Author,
    Recipient,
    /// Neither, but sees every task of the workspace.
    Admin,
    Stranger,
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task: NewTask,
    request: Option<CreateRequest<'_>>,
) -> Result<TaskView, DomainError> {
    let task_id = Uuid::now_v7();
    let (actor_type, actor_id) = (caller.actor.kind(), caller.actor.id());
    conn.transaction(async |conn| {
        if let Some(request) = &request {
            let key = CreateRequestKey {
                workspace_id: caller.workspace_id,
                actor_type,
                actor_id: &actor_id,
                request_id: request.request_id,
            };
            if let Some((hash, first)) =
                tasks::claim_create_request(conn, &key, &request.payload_hash, task_id).await?
            {
                if hash != request.payload_hash {
                    return Err(DomainError::RequestIdReused);
                }
                let row = tasks::find(conn, caller.workspace_id, first)
                    .await?
                    .ok_or(DomainError::TaskNotFound)?;
                return view(conn, caller, row, Relation::Author).await;
            }
        }
        let recipients = resolve_recipients(conn, caller, &task).await?;
        if task.is_distributed() && recipients.is_empty() {
            return Err(DomainError::AssignmentsLowerLimit(
                "a distributed task needs at least one recipient, and its channels have no active members",
            ));
        }
        let (due_date, due_at) = match task.due {
            Some(Due::Date(date)) => (Some(date), None),
            Some(Due::At(at)) => (None, Some(at)),
            None => (None, None),
        };
        let row = NewTaskRow {
            workspace_id: caller.workspace_id,
            id: task_id,
            title: &task.title,
            body_format: task.body.written_as.as_str(),
            body_plain: &task.body.plain,
            body_html: &task.body.html,
            body_delta: &task.body.delta,
            kind: &task.kind,
            priority: task.priority.as_str(),
            due_date,
            due_at,
            tags: &task.tags,
            external_id: task.external_id.as_deref(),
            correlation_id: task.correlation_id.as_deref(),
            sequence_id: task.sequence_id,
            completion_policy: task.completion_policy.as_str(),
            distributed: task.is_distributed(),
            created_by_type: actor_type,
            created_by_id: &actor_id,
        };
        let row = match tasks::insert(conn, row).await {
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
                if info.constraint_name() == Some("tasks_external_id_key") =>
            {
                return Err(DomainError::ExternalIdTaken);
            }
            other => other?,
        };
        tasks::insert_linked_records(conn, caller.workspace_id, task_id, &task.linked_records)
            .await?;
        if task.is_distributed() {
            assignments::insert_many(conn, caller.workspace_id, task_id, &recipients, "NEW")
                .await?;
        } else if let Actor::User(author) = caller.actor {
            // A personal task is assigned to its author, who has seen it by writing it.
            let own = [Recipient {
                user_id: author,
                via_channel_id: None,
            }];
            assignments::insert_many(conn, caller.workspace_id, task_id, &own, "OPEN").await?;
        }
        view(conn, caller, row, Relation::Author).await
    })
    .await
}

/// The task as the caller sees it. A recipient reading it marks their assignment seen.
pub async fn get(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
) -> Result<TaskView, DomainError> {
    let row = tasks::find(conn, caller.workspace_id, task_id)
        .await?
        .ok_or(DomainError::TaskNotFound)?;
    let relation = relation(conn, caller, &row).await?;
    match relation {
        Relation::Stranger => return Err(DomainError::TaskNotFound),
        Relation::Recipient => {
            if let Some(user) = caller.actor.user_id() {
                assignments::mark_seen(conn, caller.workspace_id, task_id, user).await?;
            }
        }
        Relation::Author | Relation::Admin => {}
    }
    view(conn, caller, row, relation).await
}

/// Applies an author's changes, if the task still has `expected_etag` (when given).
pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
    changes: TaskChanges,
    expected_etag: Option<&str>,
) -> Result<TaskView, DomainError> {
    conn.transaction(async |conn| {
        let row = tasks::lock(conn, caller.workspace_id, task_id)
            .await?
            .ok_or(DomainError::TaskNotFound)?;
        if !is_author(caller, &row) {
            return Err(DomainError::TaskNotFound);
        }
        if expected_etag.is_some_and(|etag| etag != model::etag(&row)) {
            return Err(DomainError::TaskChangeConflict);
        }
        let default_policy = if row.distributed {
            CompletionPolicy::All
        } else {
            CompletionPolicy::Any
        };
        let (due_date, due_at) = match changes.due {
            None => (None, None),
            Some(None) => (Some(None), Some(None)),
            Some(Some(Due::Date(date))) => (Some(Some(date)), Some(None)),
            Some(Some(Due::At(at))) => (Some(None), Some(Some(at))),
        };
        let body = changes.body.as_ref();
        let changeset = TaskChangeset {
            title: changes.title.as_deref(),
            body_format: body.map(|b| b.written_as.as_str()),
            body_plain: body.map(|b| b.plain.as_str()),
            body_html: body.map(|b| b.html.as_str()),
            body_delta: body.map(|b| b.delta.as_str()),
            kind: changes.kind.as_deref(),
            priority: changes.priority.map(Priority::as_str),
            due_date,
            due_at,
            tags: changes.tags.as_deref(),
            external_id: changes.external_id.as_ref().map(Option::as_deref),
            correlation_id: changes.correlation_id.as_ref().map(Option::as_deref),
            sequence_id: changes.sequence_id,
            completion_policy: changes
                .completion_policy
                .map(|p| p.unwrap_or(default_policy).as_str()),
            distributed: None,
        };
        let row = match tasks::update(conn, caller.workspace_id, task_id, changeset).await {
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
                if info.constraint_name() == Some("tasks_external_id_key") =>
            {
                return Err(DomainError::ExternalIdTaken);
            }
            other => other?,
        };
        if let Some(records) = &changes.linked_records {
            tasks::replace_linked_records(conn, caller.workspace_id, task_id, records).await?;
        }
        view(conn, caller, row, Relation::Author).await
    })
    .await
}

/// Which tasks a reassignment changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReassignScope {
    Task,
    Sequence,
}

/// Makes `assignee` the only recipient of the task, or of every open task of its sequence.
pub async fn reassign(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
    assignee: Uuid,
    scope: ReassignScope,
) -> Result<Vec<TaskView>, DomainError> {
    let workspace_id = caller.workspace_id;
    conn.transaction(async |conn| {
        let row = tasks::lock(conn, workspace_id, task_id)
            .await?
            .ok_or(DomainError::TaskNotFound)?;
        if !is_author(caller, &row) && !caller.is_workspace_admin() {
            return Err(DomainError::TaskNotFound);
        }
        if users::existing_ids(conn, workspace_id, &[assignee], true)
            .await?
            .is_empty()
        {
            return Err(DomainError::UnknownUser(assignee));
        }
        let targets = match scope {
            ReassignScope::Task => vec![row],
            ReassignScope::Sequence => {
                let sequence = row.sequence_id.ok_or_else(|| {
                    DomainError::invalid(
                        "scope",
                        "SEQUENCE needs a task that belongs to a sequence",
                    )
                })?;
                // Admins reassign the whole sequence; an author, the tasks they wrote.
                let actor_id = caller.actor.id();
                let author = (!caller.is_workspace_admin())
                    .then_some((caller.actor.kind(), actor_id.as_str()));
                tasks::lock_open_sequence(conn, workspace_id, sequence, author).await?
            }
        };
        let mut changed = Vec::with_capacity(targets.len());
        for task in targets {
            assignments::replace_with(conn, workspace_id, task.id, assignee).await?;
            // Assigned to its own author, a task is personal again; to anyone else, distributed.
            let to_author =
                task.created_by_type == "USER" && task.created_by_id == assignee.to_string();
            let distributed = TaskChangeset {
                distributed: Some(!to_author),
                ..Default::default()
            };
            changed.push(tasks::update(conn, workspace_id, task.id, distributed).await?);
        }
        // The caller is the author or an admin, so each task is seen as a workspace-wide listing
        // sees it; one batch of reads for the whole sequence.
        Ok(list::views(conn, caller, &Visibility::Workspace, changed).await?)
    })
    .await
}

/// Longest completion note and reopen reason.
pub const MAX_NOTE_CHARS: usize = 10_000;
pub const MAX_REASON_CHARS: usize = 1_000;

/// What a lifecycle move records besides the status: the completion response (Complete) or the
/// reason (Reopen).
#[derive(Debug, Clone, Default)]
pub struct MoveDetails {
    pub disposition: Option<Disposition>,
    pub note: String,
    pub reopen_reason: String,
}

/// Moves the task through its lifecycle. The author or a recipient may; anyone else who can see
/// the task (a workspace admin) is refused, and anyone else does not see it.
pub async fn transition(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
    action: Move,
    details: MoveDetails,
) -> Result<TaskView, DomainError> {
    conn.transaction(async |conn| {
        let row = tasks::lock(conn, caller.workspace_id, task_id)
            .await?
            .ok_or(DomainError::TaskNotFound)?;
        let relation = relation(conn, caller, &row).await?;
        match relation {
            Relation::Stranger => return Err(DomainError::TaskNotFound),
            Relation::Admin => return Err(DomainError::NotTaskParticipant),
            Relation::Author | Relation::Recipient => {}
        }
        let from = Status::parse(&row.status).unwrap_or(Status::New);
        let to = lifecycle::next_status(from, action).ok_or(DomainError::InvalidTransition {
            action: action.name(),
            status: from.as_str(),
        })?;
        let change = StatusChange {
            status: to.as_str(),
            starts_work: lifecycle::starts_work(from, to),
            outcome: (to == Status::Completed).then(|| {
                (
                    details.disposition.map(Disposition::as_str),
                    details.note.as_str(),
                )
            }),
            reopen_reason: (action == Move::Reopen).then_some(details.reopen_reason.as_str()),
            by_policy: false,
        };
        let row = tasks::change_status(conn, caller.workspace_id, task_id, &change).await?;
        view(conn, caller, row, relation).await
    })
    .await
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
    if !is_author(caller, &row) || !tasks::delete(conn, caller.workspace_id, task_id).await? {
        return Err(DomainError::TaskNotFound);
    }
    Ok(())
}

pub(crate) fn is_author(caller: &Caller, row: &TaskRow) -> bool {
    row.created_by_type == caller.actor.kind() && row.created_by_id == caller.actor.id()
}

async fn relation(
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

async fn view(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task: TaskRow,
    relation: Relation,
) -> Result<TaskView, DomainError> {
    let own_kind = if task.distributed {
        DistributionKind::Distributed
    } else {
        DistributionKind::Personal
    };
    let (distribution_kind, assignment_summary) = match relation {
        Relation::Author => (
            own_kind,
            Some(assignments::counts(conn, caller.workspace_id, task.id).await?),
        ),
        Relation::Recipient => (DistributionKind::Received, None),
        Relation::Admin | Relation::Stranger => (own_kind, None),
    };
    let linked_records = tasks::linked_records(conn, caller.workspace_id, task.id).await?;
    Ok(TaskView {
        task,
        linked_records,
        distribution_kind,
        assignment_summary,
    })
}

/// The users a new task is assigned to: its user recipients (who must be active), then the active
/// members of its channels (which the caller must administer) other than the author, each user
/// once.
async fn resolve_recipients(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task: &NewTask,
) -> Result<Vec<Recipient>, DomainError> {
    recipients(
        conn,
        caller,
        &task.recipient_user_ids,
        &task.recipient_channel_ids,
    )
    .await
}

/// Users (who must be active), then the active members of channels (which the caller must
/// administer) other than the caller, each user once.
pub(crate) async fn recipients(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    user_ids: &[Uuid],
    channel_ids: &[Uuid],
) -> Result<Vec<Recipient>, DomainError> {
    let workspace_id = caller.workspace_id;
    let active: HashSet<Uuid> = users::existing_ids(conn, workspace_id, user_ids, true)
        .await?
        .into_iter()
        .collect();
    if let Some(unknown) = user_ids.iter().find(|id| !active.contains(id)) {
        return Err(DomainError::UnknownUser(*unknown));
    }
    let mut recipients: Vec<Recipient> = user_ids
        .iter()
        .map(|&user_id| Recipient {
            user_id,
            via_channel_id: None,
        })
        .collect();
    let mut assigned: HashSet<Uuid> = user_ids.iter().copied().collect();
    for &channel_id in channel_ids {
        if channels::find(conn, workspace_id, channel_id)
            .await?
            .is_none()
        {
            return Err(DomainError::UnknownChannel(channel_id));
        }
        let may_distribute = match &caller.actor {
            Actor::User(user) => channels::is_admin(conn, workspace_id, channel_id, *user).await?,
            // Services are not channel members; workspace admins may distribute anywhere.
            Actor::ApiToken(_) | Actor::System => caller.is_workspace_admin(),
        };
        if !may_distribute {
            return Err(DomainError::NotAdminOfChannel(channel_id));
        }
        for user_id in channels::active_member_ids(conn, workspace_id, channel_id).await? {
            // Distributing to one's own channel reaches the others, not oneself.
            if Some(user_id) != caller.actor.user_id() && assigned.insert(user_id) {
                recipients.push(Recipient {
                    user_id,
                    via_channel_id: Some(channel_id),
                });
            }
        }
    }
    Ok(recipients)
}

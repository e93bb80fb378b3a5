//! Assignments: who has to do a task, and how far each recipient is. The author manages a task's
//! assignments; each recipient finishes or reopens their own, and the task's completion policy
//! follows their progress in the same transaction.
//!
//! Every change to a task's assignments first locks the task's row, so changes to one task happen
//! one after another and the invariants (one assignment per recipient, a distributed task keeps
//! one) hold whatever the concurrency. Waiting for that lock is bounded: a change that cannot get
//! it in time fails TASK_ASSIGNMENT_CHANGE_CONFLICT having changed nothing.

use std::collections::HashSet;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    DomainError,
    tasks::{CompletionPolicy, Status, is_author, lifecycle, recipients},
};
use crate::{
    auth::Caller,
    db::{
        assignments::{self, AssignmentRow, ProgressCounts},
        tasks::{self, StatusChange, TaskChangeset, TaskRow},
        workspaces,
    },
    error::FieldViolation,
};

pub mod list;

/// Most users or assignment ids one batch call may name.
pub const MAX_BATCH: usize = 100;
/// How long a change waits for another change to the same task to finish.
const LOCK_TIMEOUT: &str = "2s";

/// Who CreateAssignment assigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewRecipient {
    User(Uuid),
    Channel(Uuid),
}

/// What a create did: whether anything was new, the assignments, and the task's counts after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub created: bool,
    pub assignments: Vec<AssignmentRow>,
    pub summary: ProgressCounts,
}

/// Fails FEATURE_DISABLED when the caller's workspace has assignments switched off.
pub async fn ensure_enabled(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
) -> Result<(), DomainError> {
    match workspaces::find(conn, caller.workspace_id).await? {
        Some(workspace) if workspace.assignments_enabled => Ok(()),
        Some(_) => Err(DomainError::FeatureDisabled),
        None => Err(DomainError::WorkspaceNotFound),
    }
}

/// Adds one recipient (a user, or a channel's active members) to the author's task.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
    recipient: NewRecipient,
) -> Result<Created, DomainError> {
    ensure_enabled(conn, caller).await?;
    conn.transaction(async |conn| {
        let task = lock_authored(conn, caller, task_id).await?;
        let (users, channels) = match recipient {
            NewRecipient::User(user) => (vec![user], vec![]),
            NewRecipient::Channel(channel) => (vec![], vec![channel]),
        };
        let wanted = recipients(conn, caller, &users, &channels).await?;
        let new =
            assignments::insert_many(conn, caller.workspace_id, task_id, &wanted, "NEW").await?;
        let ids: Vec<Uuid> = wanted.iter().map(|r| r.user_id).collect();
        let all = assignments::of_users(conn, caller.workspace_id, task_id, &ids).await?;
        let summary = settle(conn, caller, &task).await?;
        Ok(Created {
            created: !new.is_empty(),
            assignments: all,
            summary,
        })
    })
    .await
}

/// Adds up to [`MAX_BATCH`] users to the author's task; those already assigned are skipped. Any
/// unknown or inactive user fails the whole call.
pub async fn batch_create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
    user_ids: Vec<Uuid>,
) -> Result<Created, DomainError> {
    check_batch("user_ids", user_ids.len())?;
    let user_ids = unique(user_ids);
    ensure_enabled(conn, caller).await?;
    conn.transaction(async |conn| {
        let task = lock_authored(conn, caller, task_id).await?;
        let wanted = recipients(conn, caller, &user_ids, &[]).await?;
        let new =
            assignments::insert_many(conn, caller.workspace_id, task_id, &wanted, "NEW").await?;
        let summary = settle(conn, caller, &task).await?;
        Ok(Created {
            created: !new.is_empty(),
            assignments: new,
            summary,
        })
    })
    .await
}

/// Removes one assignment from the author's task.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    assignment_id: Uuid,
) -> Result<ProgressCounts, DomainError> {
    ensure_enabled(conn, caller).await?;
    conn.transaction(async |conn| {
        let assignment = assignments::find(conn, caller.workspace_id, assignment_id)
            .await?
            .ok_or(DomainError::AssignmentNotFound)?;
        let task = lock_authored(conn, caller, assignment.task_id).await?;
        remove(conn, caller, &task, &[assignment_id]).await
    })
    .await
}

/// Removes several assignments of the author's task, all or nothing.
pub async fn batch_delete(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
    assignment_ids: Vec<Uuid>,
) -> Result<ProgressCounts, DomainError> {
    check_batch("assignment_ids", assignment_ids.len())?;
    let assignment_ids = unique(assignment_ids);
    ensure_enabled(conn, caller).await?;
    conn.transaction(async |conn| {
        let task = lock_authored(conn, caller, task_id).await?;
        let known: HashSet<Uuid> =
            assignments::ids_of_task(conn, caller.workspace_id, task_id, &assignment_ids)
                .await?
                .into_iter()
                .collect();
        if let Some(foreign) = assignment_ids.iter().find(|id| !known.contains(id)) {
            return Err(DomainError::UnknownAssignment(*foreign));
        }
        remove(conn, caller, &task, &assignment_ids).await
    })
    .await
}

/// The recipient finishes their assignment; the task's policy may complete the task.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    assignment_id: Uuid,
) -> Result<(AssignmentRow, ProgressCounts), DomainError> {
    progress(conn, caller, assignment_id, true).await
}

/// The recipient reopens their finished assignment; a task its policy completed reopens too.
pub async fn open(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    assignment_id: Uuid,
) -> Result<(AssignmentRow, ProgressCounts), DomainError> {
    progress(conn, caller, assignment_id, false).await
}

/// The counts of one of the caller's tasks.
pub async fn task_summary(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
) -> Result<ProgressCounts, DomainError> {
    ensure_enabled(conn, caller).await?;
    let task = tasks::find(conn, caller.workspace_id, task_id)
        .await?
        .filter(|task| is_author(caller, task))
        .ok_or(DomainError::TaskNotFound)?;
    Ok(assignments::counts(conn, caller.workspace_id, task.id).await?)
}

async fn progress(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    assignment_id: Uuid,
    finish: bool,
) -> Result<(AssignmentRow, ProgressCounts), DomainError> {
    ensure_enabled(conn, caller).await?;
    let workspace_id = caller.workspace_id;
    conn.transaction(async |conn| {
        let assignment = assignments::find(conn, workspace_id, assignment_id)
            .await?
            .ok_or(DomainError::AssignmentNotFound)?;
        let task = lock_task(conn, workspace_id, assignment.task_id).await?;
        let is_recipient = caller.actor.user_id() == Some(assignment.user_id);
        if !is_recipient {
            // Someone who cannot see the task does not learn of it; someone who can (its author,
            // another recipient, an admin) learns that this assignment is not theirs to move.
            let another_recipient = match caller.actor.user_id() {
                Some(user) => assignments::for_user(conn, workspace_id, task.id, user)
                    .await?
                    .is_some(),
                None => false,
            };
            let sees_task =
                is_author(caller, &task) || another_recipient || caller.is_workspace_admin();
            return Err(if sees_task {
                DomainError::AssignmentNotFound
            } else {
                DomainError::TaskNotFound
            });
        }
        let finished = assignment.progress_status == "FINISHED";
        let assignment = match (finish, finished) {
            (true, false) => {
                assignments::set_progress(conn, workspace_id, assignment_id, "FINISHED").await?
            }
            (false, true) => {
                assignments::set_progress(conn, workspace_id, assignment_id, "OPEN").await?
            }
            // Already where the caller wants it: success, nothing changes.
            _ => return Ok((assignment.clone(), counts(conn, &task).await?)),
        };
        let summary = counts(conn, &task).await?;
        apply_policy(conn, &task, &summary, finish).await?;
        Ok((assignment, summary))
    })
    .await
}

/// Ties the task's status to its recipients' progress, as its completion policy says: ANY
/// completes it when one finishes, ALL when every one has; reopening an assignment of a task the
/// policy completed brings it back to IN_PROGRESS. MANUAL never changes it.
async fn apply_policy(
    conn: &mut AsyncPgConnection,
    task: &TaskRow,
    summary: &ProgressCounts,
    finished: bool,
) -> Result<(), DomainError> {
    let policy = CompletionPolicy::parse(&task.completion_policy).unwrap_or(CompletionPolicy::All);
    let status = Status::parse(&task.status).unwrap_or(Status::New);
    let target = match (policy, finished) {
        (CompletionPolicy::Manual, _) => None,
        (CompletionPolicy::Any, true) if summary.finished > 0 => Some(Status::Completed),
        (CompletionPolicy::All, true) if summary.finished == summary.total() => {
            Some(Status::Completed)
        }
        (_, false) if status == Status::Completed && task.completed_by_policy => {
            Some(Status::InProgress)
        }
        _ => None,
    };
    let Some(target) = target else {
        return Ok(());
    };
    if target == Status::Completed && status.is_terminal() {
        return Ok(());
    }
    let change = StatusChange {
        status: target.as_str(),
        starts_work: lifecycle::starts_work(status, target),
        outcome: None,
        reopen_reason: None,
        by_policy: target == Status::Completed,
    };
    tasks::change_status(conn, task.workspace_id, task.id, &change).await?;
    Ok(())
}

/// Deletes `ids` (assignments of `task`), keeping a distributed task's last assignment.
async fn remove(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task: &TaskRow,
    ids: &[Uuid],
) -> Result<ProgressCounts, DomainError> {
    let before = counts(conn, task).await?;
    if task.distributed && before.total() - (ids.len() as i64) < 1 {
        return Err(DomainError::AssignmentsLowerLimit(
            "a distributed task keeps at least one assignment; add another recipient first",
        ));
    }
    assignments::delete_ids(conn, caller.workspace_id, task.id, ids).await?;
    settle(conn, caller, task).await
}

/// After recipients changed: a task is DISTRIBUTED while anyone but its author is assigned, and
/// PERSONAL otherwise. Returns the task's counts.
async fn settle(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task: &TaskRow,
) -> Result<ProgressCounts, DomainError> {
    let summary = counts(conn, task).await?;
    let author = (task.created_by_type == "USER")
        .then(|| task.created_by_id.parse::<Uuid>().ok())
        .flatten();
    let own = match author {
        Some(author) => assignments::of_users(conn, caller.workspace_id, task.id, &[author])
            .await?
            .len() as i64,
        None => 0,
    };
    let distributed = summary.total() > own;
    if distributed != task.distributed {
        let change = TaskChangeset {
            distributed: Some(distributed),
            ..Default::default()
        };
        tasks::update(conn, caller.workspace_id, task.id, change).await?;
    }
    Ok(summary)
}

async fn counts(
    conn: &mut AsyncPgConnection,
    task: &TaskRow,
) -> Result<ProgressCounts, DomainError> {
    Ok(assignments::counts(conn, task.workspace_id, task.id).await?)
}

/// The caller's task, locked; anyone but its author gets TASK_NOT_FOUND.
async fn lock_authored(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
) -> Result<TaskRow, DomainError> {
    let task = lock_task(conn, caller.workspace_id, task_id).await?;
    if !is_author(caller, &task) {
        return Err(DomainError::TaskNotFound);
    }
    Ok(task)
}

/// The task's row, locked until the transaction ends, waiting at most [`LOCK_TIMEOUT`] for
/// another change to finish.
async fn lock_task(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
) -> Result<TaskRow, DomainError> {
    diesel::sql_query(format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        .execute(conn)
        .await?;
    match tasks::lock(conn, workspace_id, task_id).await {
        Ok(Some(task)) => Ok(task),
        Ok(None) => Err(DomainError::TaskNotFound),
        // A lock wait that timed out, a deadlock or a serialisation failure: another change to
        // this task won. (A lost connection is a different kind, reported as unavailable.)
        Err(DieselError::DatabaseError(
            DatabaseErrorKind::Unknown | DatabaseErrorKind::SerializationFailure,
            _,
        )) => Err(DomainError::AssignmentChangeConflict),
        Err(e) => Err(e.into()),
    }
}

fn check_batch(field: &str, count: usize) -> Result<(), DomainError> {
    if count == 0 || count > MAX_BATCH {
        return Err(DomainError::Invalid(vec![FieldViolation::new(
            field,
            format!("name 1 to {MAX_BATCH}"),
        )]));
    }
    Ok(())
}

fn unique(ids: Vec<Uuid>) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    ids.into_iter().filter(|id| seen.insert(*id)).collect()
}

//! Assignments: who has to do a task, and how far each recipient is. The author manages a task's
//! assignments; each recipient finishes or reopens their own.
//!
//! Every change to a task's assignments first locks the task's row (waiting a bounded time, else
//! TASK_ASSIGNMENT_CHANGE_CONFLICT having changed nothing), so changes to one task happen one
//! after another, and ends by settling the task in the same transaction (`tasks::settle`: its
//! distribution and its completion policy follow the assignments it now has). The rules are
//! properties of the committed state, whatever sequence of calls led there:
//!
//! - one assignment per task and recipient (a unique constraint);
//! - a task that has assignments keeps at least one (the `assignments_lower_limit` constraint
//!   trigger, checked at commit, so deleting one by one fails exactly where a batch would);
//! - a task its policy completed is completed exactly while the policy holds.

use crate::events::Recorder;
use std::collections::HashSet;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use serde_json::json;

use super::{
    DomainError,
    tasks::{is_author, lock_for_change, recipients, settle},
};
use crate::domain::records::{Assignment, ProgressCounts};
use crate::domain::vocabulary::{EventKind, ProgressStatus};
use crate::{
    auth::Caller,
    db::{
        assignments,
        directory::workspaces,
        tasks::{self, TaskRow},
    },
};

pub mod list;

/// Most users or assignment ids one batch call may name.
pub const MAX_BATCH: usize = 100;

/// The ids of a batch call: 1 to [`MAX_BATCH`], each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch(Vec<Uuid>);

impl Batch {
    pub fn new(ids: Vec<Uuid>) -> Result<Self, String> {
        let ids = crate::domain::tasks::input::unique(ids);
        if ids.is_empty() || ids.len() > MAX_BATCH {
            return Err(format!("name 1 to {MAX_BATCH}"));
        }
        Ok(Self(ids))
    }
}

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
    pub assignments: Vec<Assignment>,
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

/// Adds one recipient (a user, or a channel's active members) to the author's task. Someone
/// already assigned is a no-op.
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
        let mut recorder = Recorder::new(caller);
        let (new, reached) = assign(conn, caller, &task, &users, &channels, &mut recorder).await?;
        let all = assignments::of_users(conn, caller.workspace_id, task_id, &reached).await?;
        let (_, summary) = settle(conn, task, &mut recorder).await?;
        recorder.write(conn).await?;
        Ok(Created {
            created: !new.is_empty(),
            assignments: all,
            summary,
        })
    })
    .await
}

/// Adds up to [`MAX_BATCH`] users to the author's task; those already assigned are skipped. Any
/// other user that is unknown or inactive fails the whole call.
pub async fn batch_create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
    Batch(user_ids): Batch,
) -> Result<Created, DomainError> {
    ensure_enabled(conn, caller).await?;
    conn.transaction(async |conn| {
        let task = lock_authored(conn, caller, task_id).await?;
        let mut recorder = Recorder::new(caller);
        let (new, _) = assign(conn, caller, &task, &user_ids, &[], &mut recorder).await?;
        let (_, summary) = settle(conn, task, &mut recorder).await?;
        recorder.write(conn).await?;
        Ok(Created {
            created: !new.is_empty(),
            assignments: new,
            summary,
        })
    })
    .await
}

/// Assigns the task to everyone the users and channels reach who is not assigned yet, recording
/// each assignment created; returns them and the users reached.
async fn assign(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task: &TaskRow,
    users: &[Uuid],
    channels: &[Uuid],
    recorder: &mut Recorder,
) -> Result<(Vec<Assignment>, Vec<Uuid>), DomainError> {
    let workspace_id = caller.workspace_id;
    let assigned: HashSet<Uuid> = assignments::of_users(conn, workspace_id, task.id, users)
        .await?
        .into_iter()
        .map(|assignment| assignment.user_id)
        .collect();
    let wanted = recipients(conn, caller, users, channels, &assigned).await?;
    let new =
        assignments::insert_many(conn, workspace_id, task.id, &wanted, ProgressStatus::New).await?;
    for assignment in &new {
        let details = json!({ "via_channel_id": assignment.via_channel_id });
        recorder.assignment(assignment, EventKind::AssignmentCreated, details);
    }
    Ok((new, wanted.iter().map(|r| r.user_id).collect()))
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
        // Under the lock: a change that got there first may have removed it.
        let removed =
            assignments::delete_ids(conn, caller.workspace_id, task.id, &[assignment_id]).await?;
        if removed.is_empty() {
            return Err(DomainError::AssignmentNotFound);
        }
        removed_and_settled(conn, caller, task, &removed).await
    })
    .await
}

/// Removes several assignments of the author's task, all or nothing.
pub async fn batch_delete(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
    Batch(assignment_ids): Batch,
) -> Result<ProgressCounts, DomainError> {
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
        let removed =
            assignments::delete_ids(conn, caller.workspace_id, task_id, &assignment_ids).await?;
        removed_and_settled(conn, caller, task, &removed).await
    })
    .await
}

/// The recipient finishes their assignment; the task's policy may complete the task.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    assignment_id: Uuid,
) -> Result<(Assignment, ProgressCounts), DomainError> {
    progress(conn, caller, assignment_id, ProgressStatus::Finished).await
}

/// The recipient reopens their finished assignment; a task its policy completed reopens too.
pub async fn open(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    assignment_id: Uuid,
) -> Result<(Assignment, ProgressCounts), DomainError> {
    progress(conn, caller, assignment_id, ProgressStatus::Open).await
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

/// Moves the caller's own assignment to FINISHED, or from FINISHED back to OPEN; already there is
/// success with nothing changed.
async fn progress(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    assignment_id: Uuid,
    to: ProgressStatus,
) -> Result<(Assignment, ProgressCounts), DomainError> {
    ensure_enabled(conn, caller).await?;
    let workspace_id = caller.workspace_id;
    conn.transaction(async |conn| {
        let assignment = assignments::find(conn, workspace_id, assignment_id)
            .await?
            .ok_or(DomainError::AssignmentNotFound)?;
        let task = lock_for_change(conn, workspace_id, assignment.task_id).await?;
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
        // Read again under the lock, which a concurrent delete may have got first.
        let current = assignments::find(conn, workspace_id, assignment_id)
            .await?
            .ok_or(DomainError::AssignmentNotFound)?;
        let finished = current.progress_status == ProgressStatus::Finished;
        if finished == (to == ProgressStatus::Finished) {
            let counts = assignments::counts(conn, workspace_id, task.id).await?;
            return Ok((current, counts));
        }
        let changed = assignments::set_progress(conn, workspace_id, assignment_id, to).await?;
        let mut recorder = Recorder::new(caller);
        recorder.progress(&changed, current.progress_status);
        let (_, summary) = settle(conn, task, &mut recorder).await?;
        recorder.write(conn).await?;
        Ok((changed, summary))
    })
    .await
}

/// Records the assignments removed from the task and settles it; returns its counts.
async fn removed_and_settled(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task: TaskRow,
    removed: &[Assignment],
) -> Result<ProgressCounts, DomainError> {
    let mut recorder = Recorder::new(caller);
    for assignment in removed {
        recorder.assignment(assignment, EventKind::AssignmentDeleted, json!({}));
    }
    let (_, counts) = settle(conn, task, &mut recorder).await?;
    recorder.write(conn).await?;
    Ok(counts)
}

/// The caller's task, locked for a change; anyone but its author gets TASK_NOT_FOUND.
async fn lock_authored(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    task_id: Uuid,
) -> Result<TaskRow, DomainError> {
    let task = lock_for_change(conn, caller.workspace_id, task_id).await?;
    if !is_author(caller, &task) {
        return Err(DomainError::TaskNotFound);
    }
    Ok(task)
}

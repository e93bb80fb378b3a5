//! What follows from a task's current assignments, applied after every change to them (an
//! assignment created, deleted, finished or reopened, a reassignment, a new completion policy), in
//! the same transaction and under the task's lock:
//!
//! - the task is DISTRIBUTED while anyone other than its author is assigned, PERSONAL otherwise;
//! - under ANY or ALL, a task is completed by its policy exactly while the policy holds over its
//!   current assignments: it completes when the policy comes to hold (unless it is already
//!   terminal) and goes back to IN_PROGRESS when a policy completion stops holding. ANY holds when
//!   one recipient has finished, ALL when every one has (and there is one). MANUAL never moves
//!   the status, and neither policy touches a task completed, skipped or cancelled by hand.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::{CompletionPolicy, Status, lifecycle};
use crate::domain::records::ProgressCounts;
use crate::domain::vocabulary::ActorType;
use crate::{
    db::{
        assignments,
        tasks::{self, StatusChange, TaskChangeset, TaskRow},
    },
    domain::DomainError,
    events::Recorder,
};

/// Brings the task in line with its assignments, recording a status its policy gives it;
/// returns the task as it now is and its counts.
pub(crate) async fn settle(
    conn: &mut AsyncPgConnection,
    task: TaskRow,
    recorder: &mut Recorder,
) -> Result<(TaskRow, ProgressCounts), DomainError> {
    let counts = assignments::counts(conn, task.workspace_id, task.id).await?;
    let author_assigned = match author_user(&task) {
        Some(author) => assignments::for_user(conn, task.workspace_id, task.id, author)
            .await?
            .is_some(),
        None => false,
    };
    let distributed = counts.total() > i64::from(author_assigned);
    let mut task = task;
    if distributed != task.distributed {
        let change = TaskChangeset {
            distributed: Some(distributed),
            ..Default::default()
        };
        task = tasks::update(conn, task.workspace_id, task.id, change).await?;
    }
    if let Some(to) = policy_move(&task, &counts) {
        let change = StatusChange {
            to,
            work_begins_from: lifecycle::work_begins_from(to),
            outcome: None,
            reopen_reason: None,
            by_policy: to == Status::Completed,
        };
        let from = task.status;
        task = tasks::change_status(conn, task.workspace_id, task.id, &change).await?;
        recorder.policy_move(&task, from, to);
    }
    Ok((task, counts))
}

/// The task's author, if a user wrote it.
pub(crate) fn author_user(task: &TaskRow) -> Option<Uuid> {
    match task.created_by_type {
        ActorType::User => task.created_by_id.parse().ok(),
        ActorType::ApiToken | ActorType::System => None,
    }
}

/// Whether the task's completion policy holds over assignments with these counts.
pub fn policy_holds(policy: CompletionPolicy, counts: &ProgressCounts) -> bool {
    match policy {
        CompletionPolicy::Any => counts.finished > 0,
        CompletionPolicy::All => counts.total() > 0 && counts.finished == counts.total(),
        CompletionPolicy::Manual => false,
    }
}

/// The status the task's policy moves it to, if any.
fn policy_move(task: &TaskRow, counts: &ProgressCounts) -> Option<Status> {
    if task.completion_policy == CompletionPolicy::Manual {
        return None;
    }
    let holds = policy_holds(task.completion_policy, counts);
    if holds && !task.status.is_terminal() {
        Some(Status::Completed)
    } else if !holds && task.status == Status::Completed && task.completed_by_policy {
        Some(Status::InProgress)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(new: i64, open: i64, finished: i64) -> ProgressCounts {
        ProgressCounts {
            new,
            open,
            finished,
        }
    }

    #[test]
    fn each_policy_holds_over_the_current_counts() {
        use CompletionPolicy::*;
        assert!(policy_holds(Any, &counts(2, 0, 1)));
        assert!(!policy_holds(Any, &counts(2, 1, 0)));
        assert!(policy_holds(All, &counts(0, 0, 3)));
        assert!(!policy_holds(All, &counts(1, 0, 3)));
        assert!(
            !policy_holds(All, &counts(0, 0, 0)),
            "no recipient, nothing done"
        );
        assert!(!policy_holds(Manual, &counts(0, 0, 3)));
    }
}

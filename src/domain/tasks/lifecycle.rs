//! The task lifecycle: NEW → OPEN → IN_PROGRESS → IN_REVIEW → COMPLETED, with SKIPPED and
//! CANCELLED also terminal, and Reopen bringing a terminal task back to OPEN. This module only
//! decides which moves are legal; `super::transition` applies them.

use super::model::Status;
use crate::domain::vocabulary::EventKind;

/// A lifecycle RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Start,
    SubmitForReview,
    Complete,
    Skip,
    Cancel,
    Reopen,
}

impl Move {
    pub const ALL: [Move; 6] = [
        Move::Start,
        Move::SubmitForReview,
        Move::Complete,
        Move::Skip,
        Move::Cancel,
        Move::Reopen,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Move::Start => "start",
            Move::SubmitForReview => "submit for review",
            Move::Complete => "complete",
            Move::Skip => "skip",
            Move::Cancel => "cancel",
            Move::Reopen => "reopen",
        }
    }

    /// The event the move records.
    pub fn event_kind(self) -> EventKind {
        match self {
            Move::Start => EventKind::TaskStarted,
            Move::SubmitForReview => EventKind::TaskSubmittedForReview,
            Move::Complete => EventKind::TaskCompleted,
            Move::Skip => EventKind::TaskSkipped,
            Move::Cancel => EventKind::TaskCancelled,
            Move::Reopen => EventKind::TaskReopened,
        }
    }
}

/// The status `action` leads to from `from`, or `None` if the move is not allowed there.
pub fn next_status(from: Status, action: Move) -> Option<Status> {
    use Status::*;
    match (action, from) {
        // Work starts from NEW or OPEN, or resumes when a review sends it back.
        (Move::Start, New | Open | InReview) => Some(InProgress),
        (Move::SubmitForReview, InProgress) => Some(InReview),
        (Move::Complete, New | Open | InProgress | InReview) => Some(Completed),
        (Move::Skip, New | Open | InProgress | InReview) => Some(Skipped),
        (Move::Cancel, New | Open | InProgress | InReview) => Some(Cancelled),
        (Move::Reopen, Completed | Skipped | Cancelled) => Some(Open),
        _ => None,
    }
}

/// The statuses the move is allowed from, and the status it leads to (the same from each):
/// [`next_status`] read the other way, for a statement that checks and moves in one go.
pub fn rule(action: Move) -> (Vec<Status>, Status) {
    let from: Vec<Status> = Status::ALL
        .iter()
        .copied()
        .filter(|status| next_status(*status, action).is_some())
        .collect();
    let to = from
        .first()
        .and_then(|status| next_status(*status, action))
        .unwrap_or(Status::Open);
    (from, to)
}

/// The statuses from which entering `to` begins work, setting `first_started_at` once: NEW and
/// OPEN, when `to` is work (IN_PROGRESS, IN_REVIEW or COMPLETED).
pub fn work_begins_from(to: Status) -> &'static [Status] {
    const BEFORE_WORK: &[Status] = &[Status::New, Status::Open];
    if matches!(
        to,
        Status::InProgress | Status::InReview | Status::Completed
    ) {
        BEFORE_WORK
    } else {
        &[]
    }
}

/// Whether entering `to` from `from` is the task leaving NEW/OPEN for work.
pub fn starts_work(from: Status, to: Status) -> bool {
    work_begins_from(to).contains(&from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Status; 7] = [
        Status::New,
        Status::Open,
        Status::InProgress,
        Status::InReview,
        Status::Completed,
        Status::Skipped,
        Status::Cancelled,
    ];

    #[test]
    fn terminal_tasks_only_reopen_and_live_tasks_never_do() {
        for from in ALL {
            for action in Move::ALL.into_iter().filter(|a| *a != Move::Reopen) {
                if from.is_terminal() {
                    assert_eq!(next_status(from, action), None, "{from:?} {action:?}");
                }
            }
            assert_eq!(
                next_status(from, Move::Reopen).is_some(),
                from.is_terminal(),
                "{from:?}"
            );
        }
    }

    #[test]
    fn review_follows_work() {
        assert_eq!(next_status(Status::New, Move::SubmitForReview), None);
        assert_eq!(
            next_status(Status::InProgress, Move::SubmitForReview),
            Some(Status::InReview)
        );
        assert_eq!(
            next_status(Status::InReview, Move::Start),
            Some(Status::InProgress)
        );
        assert_eq!(
            next_status(Status::InProgress, Move::Start),
            None,
            "already started"
        );
        assert!(starts_work(Status::Open, Status::Completed));
        assert_eq!(
            rule(Move::Start),
            (
                vec![Status::New, Status::Open, Status::InReview],
                Status::InProgress
            )
        );
        for action in Move::ALL {
            let (from, to) = rule(action);
            assert!(!from.is_empty(), "{action:?}");
            assert!(from.iter().all(|f| next_status(*f, action) == Some(to)));
        }
        assert!(!starts_work(Status::InReview, Status::InProgress));
        assert!(!starts_work(Status::New, Status::Skipped));
    }
}

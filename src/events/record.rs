//! What each change records in the event log (`events::log`): a call's changes are gathered in a
//! [`Recorder`] while its transaction runs and appended in one statement before it commits, so
//! the events are there exactly when the changes are. The hot paths that are one statement
//! (creating, reading, moving a task) write their event in that statement instead.
//!
//! One event per change: task created, updated (the fields, old and new), each lifecycle move,
//! reassigned, deleted; assignment created, deleted, finished, opened (seen, or reopened after
//! finishing); and a task completed or moved back by its completion policy.

use crate::events::log::{self, Cause, NewEvent, actor_key};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::records::Assignment;
use crate::domain::vocabulary::{EventKind, ProgressStatus, Status};
use crate::{
    auth::Caller,
    db::{DbError, tasks::TaskRow},
};
use diesel_async::AsyncPgConnection;

/// Who caused the caller's changes.
pub fn cause(caller: &Caller) -> Cause {
    Cause {
        actor_type: caller.actor.kind(),
        actor_id: caller.actor.id(),
        request_id: caller.request_id.clone(),
    }
}

/// What Docket records as the cause of what it does by itself (a timer firing): actor SYSTEM.
pub fn system_cause() -> Cause {
    let system = crate::auth::Actor::System;
    Cause {
        actor_type: system.kind(),
        actor_id: system.id(),
        request_id: None,
    }
}

/// The key a user has in an event's audience.
pub fn user_key(user_id: Uuid) -> String {
    actor_key(
        crate::domain::vocabulary::ActorType::User,
        &user_id.to_string(),
    )
}

/// The changes of one call, to append before its transaction commits.
pub struct Recorder {
    cause: Cause,
    events: Vec<NewEvent>,
}

impl Recorder {
    pub fn new(caller: &Caller) -> Self {
        Self::with_cause(cause(caller))
    }

    /// Changes made for `cause` (Docket's own, [`system_cause`]).
    pub fn with_cause(cause: Cause) -> Self {
        Self {
            cause,
            events: Vec::new(),
        }
    }

    /// A change to the task itself. `left` names who the change took the task from; the task's
    /// author and current recipients are added when the event is written.
    pub fn task(&mut self, task: &TaskRow, kind: EventKind, details: Value, left: Vec<String>) {
        self.events.push(NewEvent {
            workspace_id: task.workspace_id,
            task_id: Some(task.id),
            template_id: None,
            webhook_id: None,
            assignment_id: None,
            kind,
            details,
            audience: left,
        });
    }

    /// A change to a template (its audience: its author).
    pub fn template(
        &mut self,
        workspace_id: Uuid,
        template_id: Uuid,
        author: String,
        kind: EventKind,
        details: Value,
    ) {
        self.events.push(NewEvent {
            workspace_id,
            task_id: None,
            template_id: Some(template_id),
            webhook_id: None,
            assignment_id: None,
            kind,
            details,
            audience: vec![author],
        });
    }

    /// A change to one assignment.
    pub fn assignment(&mut self, assignment: &Assignment, kind: EventKind, details: Value) {
        let mut details = details;
        if let Value::Object(fields) = &mut details {
            fields.insert("user_id".into(), json!(assignment.user_id));
        }
        self.events.push(NewEvent {
            workspace_id: assignment.workspace_id,
            task_id: Some(assignment.task_id),
            template_id: None,
            webhook_id: None,
            assignment_id: Some(assignment.id),
            kind,
            details,
            // A recipient removed is no longer among the task's; they still learn of it.
            audience: vec![user_key(assignment.user_id)],
        });
    }

    /// A status its completion policy gave the task.
    pub fn policy_move(&mut self, task: &TaskRow, from: Status, to: Status) {
        let kind = if to == Status::Completed {
            EventKind::TaskCompleted
        } else {
            EventKind::TaskReopened
        };
        let details = json!({"from": from.as_str(), "to": to.as_str(), "by_policy": true});
        self.task(task, kind, details, Vec::new());
    }

    /// An assignment's progress moved.
    pub fn progress(&mut self, assignment: &Assignment, from: ProgressStatus) {
        let kind = match assignment.progress_status {
            ProgressStatus::Finished => EventKind::AssignmentFinished,
            ProgressStatus::New | ProgressStatus::Open => EventKind::AssignmentOpened,
        };
        self.assignment(assignment, kind, json!({"from": from.as_str()}));
    }

    /// Appends what was recorded, in the connection's current transaction. Call it last, once
    /// every row the transaction changes is locked: it takes the workspace's event log until
    /// the transaction commits (`events::log`).
    pub async fn write(self, conn: &mut AsyncPgConnection) -> Result<(), DbError> {
        Ok(log::append(conn, &self.cause, &self.events).await?)
    }
}

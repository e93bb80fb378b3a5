//! What a scheduled action does, as the domain's typed value, and as the timer row stores it (an
//! action name and its arguments in JSON). A stored action is read back through the same checks
//! a request's went through: one Docket cannot read is an error, never a guess.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::{
    DomainError,
    input::Text,
    tasks::{Note, Reason},
    vocabulary::{Priority, SlaClock, SlaStage, TimerAction, UnknownName},
};

/// The reopen reason when the caller gives none: Topo's word for a task reopened by a rule.
pub const REMINDER_RULE: &str = "REMINDER_RULE";

/// Whom a reminder is for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reminded {
    /// The task's recipients when it fires.
    pub assignees: bool,
    /// The task's author.
    pub author: bool,
    /// Users named (active users of the workspace when it was scheduled).
    pub user_ids: Vec<Uuid>,
    /// What to remind them of.
    pub note: Option<Text<Note>>,
    /// One of the task's own reminders (its `reminders`, which UpdateTask replaces), rather than
    /// an action a caller scheduled.
    pub of_task: bool,
    /// For a reminder relative to the task's due: how long before it (it moves with the due).
    pub before_due: Option<std::time::Duration>,
}

/// An action on a task, done by Docket at a time.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskAction {
    /// Back to OPEN, if the task is still closed as it was when the action was scheduled.
    Reopen { reason: Text<Reason> },
    /// To `to`, or one step more urgent than the task is when it fires; never less urgent.
    Escalate { to: Option<Priority> },
    /// To one recipient, as ReassignTask does.
    Reassign { assignee: Uuid },
    /// A REMINDER_DUE event naming whom it is for.
    Remind(Reminded),
    /// The end of a snooze: the task back in the default listings, if it is still snoozed until
    /// the timer's time (SnoozeTask makes it; ScheduleTaskAction does not).
    Wake,
    /// An SLA clock's moment: an SLA_AT_RISK or SLA_BREACHED event if the clock is still running
    /// toward the due the moment was reckoned from (the slas migration's triggers schedule it).
    Sla { clock: SlaClock, stage: SlaStage },
}

/// The arguments as stored: the union of every action's, each action using its own.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    assignee: Option<Uuid>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    assignees: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    author: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    user_ids: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    reminder: bool,
    /// Seconds (the reminders migration's trigger reads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before_due: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clock: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stage: Option<String>,
}

impl TaskAction {
    /// The timer's action name.
    pub fn kind(&self) -> TimerAction {
        match self {
            TaskAction::Reopen { .. } => TimerAction::Reopen,
            TaskAction::Escalate { .. } => TimerAction::Escalate,
            TaskAction::Reassign { .. } => TimerAction::Reassign,
            TaskAction::Remind(_) => TimerAction::Remind,
            TaskAction::Wake => TimerAction::Wake,
            TaskAction::Sla { .. } => TimerAction::Sla,
        }
    }

    /// The arguments to store.
    pub fn params(&self) -> Value {
        let stored = match self {
            TaskAction::Reopen { reason } => Stored {
                reason: Some(reason.as_str().to_owned()),
                ..Stored::default()
            },
            TaskAction::Escalate { to } => Stored {
                priority: to.map(|p| p.as_str().to_owned()),
                ..Stored::default()
            },
            TaskAction::Reassign { assignee } => Stored {
                assignee: Some(*assignee),
                ..Stored::default()
            },
            TaskAction::Remind(reminded) => Stored {
                assignees: reminded.assignees,
                author: reminded.author,
                user_ids: reminded.user_ids.clone(),
                note: reminded.note.as_ref().map(|n| n.as_str().to_owned()),
                reminder: reminded.of_task,
                before_due: reminded.before_due.map(|d| d.as_secs_f64()),
                ..Stored::default()
            },
            TaskAction::Wake => Stored::default(),
            TaskAction::Sla { clock, stage } => Stored {
                clock: Some(clock.as_str().to_owned()),
                stage: Some(stage.as_str().to_owned()),
                ..Stored::default()
            },
        };
        serde_json::to_value(stored).unwrap_or_default()
    }

    /// The action a timer stores.
    pub fn from_stored(kind: TimerAction, params: &Value) -> Result<Self, DomainError> {
        let unreadable = |why: String| {
            DomainError::Db(crate::db::DbError::Query(
                diesel::result::Error::DeserializationError(
                    format!("a stored {kind} action: {why}").into(),
                ),
            ))
        };
        let stored: Stored =
            serde_json::from_value(params.clone()).map_err(|e| unreadable(e.to_string()))?;
        Ok(match kind {
            TimerAction::Reopen => TaskAction::Reopen {
                reason: Text::parse(stored.reason.as_deref().unwrap_or(REMINDER_RULE))
                    .map_err(|e| unreadable(e.to_string()))?,
            },
            TimerAction::Escalate => TaskAction::Escalate {
                to: stored
                    .priority
                    .map(|p| p.parse::<Priority>())
                    .transpose()
                    .map_err(|e| unreadable(e.to_string()))?,
            },
            TimerAction::Reassign => TaskAction::Reassign {
                assignee: stored
                    .assignee
                    .ok_or_else(|| unreadable("no assignee".into()))?,
            },
            TimerAction::Remind => TaskAction::Remind(Reminded {
                assignees: stored.assignees,
                author: stored.author,
                user_ids: stored.user_ids,
                note: stored
                    .note
                    .map(|n| Text::parse(&n))
                    .transpose()
                    .map_err(|e| unreadable(e.to_string()))?,
                of_task: stored.reminder,
                before_due: stored
                    .before_due
                    .map(std::time::Duration::try_from_secs_f64)
                    .transpose()
                    .map_err(|e| unreadable(e.to_string()))?,
            }),
            TimerAction::Wake => TaskAction::Wake,
            TimerAction::Sla => TaskAction::Sla {
                clock: stored
                    .clock
                    .as_deref()
                    .unwrap_or_default()
                    .parse()
                    .map_err(|e: UnknownName| unreadable(e.to_string()))?,
                stage: stored
                    .stage
                    .as_deref()
                    .unwrap_or_default()
                    .parse()
                    .map_err(|e: UnknownName| unreadable(e.to_string()))?,
            },
        })
    }
}

/// The next priority up, if there is one.
pub fn more_urgent(priority: Priority) -> Option<Priority> {
    match priority {
        Priority::Low => Some(Priority::Normal),
        Priority::Normal => Some(Priority::High),
        Priority::High => Some(Priority::Urgent),
        Priority::Urgent => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_as_stored() {
        let actions = [
            TaskAction::Reopen {
                reason: Text::parse("REMINDER_RULE").expect("reason"),
            },
            TaskAction::Escalate { to: None },
            TaskAction::Escalate {
                to: Some(Priority::Urgent),
            },
            TaskAction::Reassign {
                assignee: Uuid::now_v7(),
            },
            TaskAction::Remind(Reminded {
                assignees: true,
                author: false,
                user_ids: vec![Uuid::now_v7()],
                note: Some(Text::parse("call them").expect("note")),
                of_task: true,
                before_due: Some(std::time::Duration::from_secs(1800)),
            }),
            TaskAction::Wake,
            TaskAction::Sla {
                clock: SlaClock::Resolution,
                stage: SlaStage::AtRisk,
            },
        ];
        for action in actions {
            let read = TaskAction::from_stored(action.kind(), &action.params()).expect("read");
            assert_eq!(read, action);
        }
    }

    #[test]
    fn unknown_stored_arguments_are_errors() {
        let params = serde_json::json!({"priority": "SOON"});
        assert!(TaskAction::from_stored(TimerAction::Escalate, &params).is_err());
        let params = serde_json::json!({"colour": "red"});
        assert!(TaskAction::from_stored(TimerAction::Remind, &params).is_err());
        assert!(TaskAction::from_stored(TimerAction::Reassign, &serde_json::json!({})).is_err());
    }
}

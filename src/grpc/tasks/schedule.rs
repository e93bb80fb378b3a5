//! Scheduled actions (ScheduleTaskAction, ListScheduledTaskActions, CancelScheduledTaskAction)
//! read into the domain's `timers` values, and timers back into proto.

use prost::Message;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    domain::{
        input::{Text, Violations},
        records::Timer,
        tasks::CreateRequest,
        tasks::Reason,
        timers::{MAX_AHEAD, Reminded, Schedule, TaskAction, When, snooze::SnoozeUntil},
    },
    grpc::{
        enums::optional,
        parse::{Parse, duration, instant, one_id, reminder_rule, uuid, uuids},
        pb,
        tasks::requests::{OneTask, one_task},
        timestamp,
    },
};

/// Users one reminder may name.
const MAX_REMINDED_USERS: usize = 100;

impl Parse for pb::ScheduleTaskActionRequest {
    type Checked = Schedule;

    fn parse(&self, v: &mut Violations) -> Option<Schedule> {
        let task_id = v.check("task_id", uuid(&self.task_id));
        let action = action(v, self.action.as_ref());
        let when = match &self.when {
            Some(pb::schedule_task_action_request::When::RunAt(at)) => {
                v.check("run_at", instant(at)).map(When::At)
            }
            Some(pb::schedule_task_action_request::When::RunAfter(after)) => v
                .check(
                    "run_after",
                    duration(after, std::time::Duration::ZERO..=MAX_AHEAD),
                )
                .map(When::After),
            None => {
                v.add("when", "give run_at or run_after");
                None
            }
        };
        let request_id = v.check("request_id", Text::optional(&self.request_id));
        Some(Schedule {
            task_id: task_id?,
            action: action?,
            when: when?,
            request: request_id?.map(|request_id| CreateRequest {
                request_id,
                payload_hash: payload_hash(self),
            }),
        })
    }
}

/// What identifies a schedule request: everything but its request id.
fn payload_hash(request: &pb::ScheduleTaskActionRequest) -> [u8; 32] {
    let mut canonical = request.clone();
    canonical.request_id.clear();
    Sha256::digest(canonical.encode_to_vec()).into()
}

fn action(v: &mut Violations, action: Option<&pb::TaskAction>) -> Option<TaskAction> {
    use pb::task_action::Action;
    let Some(action) = action.and_then(|a| a.action.as_ref()) else {
        v.add("action", "give one of reopen, escalate, reassign or remind");
        return None;
    };
    match action {
        Action::Reopen(reopen) => {
            let reason = v.check("action.reopen.reason", Text::optional(&reopen.reason))?;
            Some(TaskAction::Reopen {
                reason: reason.unwrap_or_else(reminder_rule),
            })
        }
        Action::Escalate(escalate) => {
            let to = v.check("action.escalate.priority", optional(escalate.priority))?;
            Some(TaskAction::Escalate { to })
        }
        Action::Reassign(reassign) => {
            let field = "action.reassign.assignee_user_id";
            let assignee = v.check(field, uuid(&reassign.assignee_user_id))?;
            Some(TaskAction::Reassign { assignee })
        }
        Action::Remind(remind) => {
            let field = "action.remind.user_ids";
            let user_ids = uuids(v, field, &remind.user_ids, MAX_REMINDED_USERS);
            let note = v.check("action.remind.note", Text::optional(&remind.note))?;
            let nobody = !remind.assignees && !remind.author && remind.user_ids.is_empty();
            Some(TaskAction::Remind(Reminded {
                assignees: remind.assignees || nobody,
                author: remind.author,
                user_ids,
                note,
                of_task: false,
                before_due: None,
            }))
        }
        Action::Wake(_) => {
            v.add(
                "action.wake",
                "a snooze ends by SnoozeTask's time or UnsnoozeTask",
            );
            None
        }
        Action::Sla(_) => {
            v.add(
                "action.sla",
                "SLA moments follow the task's SLA clocks (workspace settings' sla_policies)",
            );
            None
        }
    }
}

one_id!(task_id: ListScheduledTaskActionsRequest);
one_id!(scheduled_action_id: CancelScheduledTaskActionRequest);

/// A timer as its proto: the action read back from what it stores.
pub(crate) fn timer_to_proto(timer: Timer) -> Result<pb::ScheduledTaskAction, tonic::Status> {
    let action = TaskAction::from_stored(timer.action, &timer.params)?;
    Ok(pb::ScheduledTaskAction {
        id: timer.id.to_string(),
        task_id: timer.task_id.to_string(),
        action: Some(action_to_proto(action)),
        run_at: Some(timestamp(timer.fire_at)),
        state: pb::ScheduledActionState::from(timer.state) as i32,
        outcome: timer.outcome.unwrap_or_default(),
        attempts: timer.attempts,
        created_by: Some(pb::Actor {
            r#type: pb::ActorType::from(timer.created_by_type) as i32,
            id: timer.created_by_id,
        }),
        created_at: Some(timestamp(timer.created_at)),
        settled_at: timer.settled_at.map(timestamp),
        request_id: timer.request_id.unwrap_or_default(),
    })
}

fn action_to_proto(action: TaskAction) -> pb::TaskAction {
    use pb::task_action::Action;
    let action = match action {
        TaskAction::Reopen { reason } => Action::Reopen(pb::ReopenAction {
            reason: reason.into_string(),
        }),
        TaskAction::Escalate { to } => Action::Escalate(pb::EscalateAction {
            priority: to.map_or(pb::TaskPriority::Unspecified, pb::TaskPriority::from) as i32,
        }),
        TaskAction::Reassign { assignee } => Action::Reassign(pb::ReassignAction {
            assignee_user_id: assignee.to_string(),
        }),
        TaskAction::Remind(reminded) => Action::Remind(pb::RemindAction {
            assignees: reminded.assignees,
            author: reminded.author,
            user_ids: reminded.user_ids.iter().map(Uuid::to_string).collect(),
            note: reminded.note.map(Text::into_string).unwrap_or_default(),
            task_reminder: reminded.of_task,
            before_due: reminded
                .before_due
                .and_then(|d| prost_types::Duration::try_from(d).ok()),
        }),
        TaskAction::Wake => Action::Wake(pb::WakeAction {}),
        TaskAction::Sla { clock, stage } => Action::Sla(pb::SlaAction {
            clock: clock.as_str().to_owned(),
            stage: stage.as_str().to_owned(),
        }),
    };
    pb::TaskAction {
        action: Some(action),
    }
}

/// SnoozeTask: the task, until when, and why.
pub(crate) struct SnoozeTask {
    pub task: OneTask,
    pub until: SnoozeUntil,
    pub reason: Option<Text<Reason>>,
}

impl Parse for pb::SnoozeTaskRequest {
    type Checked = SnoozeTask;

    fn parse(&self, v: &mut Violations) -> Option<SnoozeTask> {
        let task = one_task(v, &self.task_id, &self.body_formats);
        let until = match &self.when {
            Some(pb::snooze_task_request::When::Until(at)) => {
                v.check("until", instant(at)).map(SnoozeUntil::At)
            }
            Some(pb::snooze_task_request::When::SnoozeFor(span)) => v
                .check(
                    "snooze_for",
                    duration(span, std::time::Duration::from_secs(1)..=MAX_AHEAD),
                )
                .map(SnoozeUntil::For),
            None => {
                v.add("when", "give until or snooze_for");
                None
            }
        };
        let reason = v.check("reason", Text::optional(&self.reason));
        Some(SnoozeTask {
            task: task?,
            until: until?,
            reason: reason?,
        })
    }
}

impl Parse for pb::UnsnoozeTaskRequest {
    type Checked = OneTask;

    fn parse(&self, v: &mut Violations) -> Option<OneTask> {
        one_task(v, &self.task_id, &self.body_formats)
    }
}

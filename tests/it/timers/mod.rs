//! Timers and the scheduled actions on them: what each action does when it fires (and records,
//! as actor SYSTEM), what it checks first, who may schedule and cancel what, and the races
//! between a firing and a caller's change.

mod backlog;
mod fired;
mod races;
mod reminders;
mod replicas;
mod rules;
mod sla;
mod snooze;
mod time_zones;

use std::time::Duration;

use docket::grpc::pb;
use tonic::Status;

use crate::helpers::{rpc::authorized, team::Team};

/// An action, by its oneof.
pub fn reopen(reason: &str) -> pb::TaskAction {
    action(pb::task_action::Action::Reopen(pb::ReopenAction {
        reason: reason.into(),
    }))
}

pub fn escalate(to: pb::TaskPriority) -> pb::TaskAction {
    action(pb::task_action::Action::Escalate(pb::EscalateAction {
        priority: to as i32,
    }))
}

pub fn reassign(to: uuid::Uuid) -> pb::TaskAction {
    action(pb::task_action::Action::Reassign(pb::ReassignAction {
        assignee_user_id: to.to_string(),
    }))
}

pub fn remind(remind: pb::RemindAction) -> pb::TaskAction {
    action(pb::task_action::Action::Remind(remind))
}

fn action(action: pb::task_action::Action) -> pb::TaskAction {
    pb::TaskAction {
        action: Some(action),
    }
}

/// ScheduleTaskAction, to run after `after`.
pub async fn schedule(
    team: &Team,
    token: &str,
    task: &str,
    action: pb::TaskAction,
    after: Duration,
) -> Result<pb::ScheduledTaskAction, Status> {
    let request = pb::ScheduleTaskActionRequest {
        task_id: task.into(),
        action: Some(action),
        when: Some(pb::schedule_task_action_request::When::RunAfter(
            after.try_into().expect("duration"),
        )),
        request_id: String::new(),
    };
    Ok(team
        .client()
        .await
        .schedule_task_action(authorized(request, token))
        .await?
        .into_inner()
        .scheduled_action
        .expect("scheduled action"))
}

pub async fn list(
    team: &Team,
    token: &str,
    task: &str,
) -> Result<Vec<pb::ScheduledTaskAction>, Status> {
    let request = pb::ListScheduledTaskActionsRequest {
        task_id: task.into(),
    };
    Ok(team
        .client()
        .await
        .list_scheduled_task_actions(authorized(request, token))
        .await?
        .into_inner()
        .scheduled_actions)
}

pub async fn cancel(team: &Team, token: &str, id: &str) -> Result<pb::ScheduledTaskAction, Status> {
    let request = pb::CancelScheduledTaskActionRequest {
        scheduled_action_id: id.into(),
    };
    Ok(team
        .client()
        .await
        .cancel_scheduled_task_action(authorized(request, token))
        .await?
        .into_inner()
        .scheduled_action
        .expect("scheduled action"))
}

/// The action once it is no longer pending, as the task's author lists it.
pub async fn settled(team: &Team, task: &str, id: &str) -> pb::ScheduledTaskAction {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found = list(team, &team.author.1, task)
            .await
            .expect("list")
            .into_iter()
            .find(|a| a.id == id)
            .expect("the action is listed");
        if found.state != pb::ScheduledActionState::Pending as i32 {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "action {id} still pending after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn state(action: &pb::ScheduledTaskAction) -> pb::ScheduledActionState {
    pb::ScheduledActionState::try_from(action.state).expect("known state")
}

//! What each action does when it fires: the change, made once, recorded by actor SYSTEM with the
//! action's id, and visible to watchers; and what it leaves alone when it no longer applies.

use std::time::Duration;

use docket::grpc::pb::{self, TaskEventKind as Kind};

use super::{escalate, reassign, remind, schedule, settled, state};
use crate::helpers::{
    history::{history, text},
    rpc::authorized,
    team::{Team, titled},
    watch::{events, watch},
};

/// CompleteTask with NO_ANSWER and "reopen after a while": one call, and the task comes back.
pub async fn complete_reopening(
    team: &Team,
    task: &str,
    after: Duration,
) -> pb::CompleteTaskResponse {
    let request = pb::CompleteTaskRequest {
        task_id: task.into(),
        outcome: Some(pb::TaskOutcome {
            disposition: pb::CallDisposition::NoAnswer as i32,
            note: String::new(),
        }),
        body_formats: vec![],
        reopen_after: Some(after.try_into().expect("duration")),
        reopen_reason: String::new(),
    };
    team.client()
        .await
        .complete_task(authorized(request, &team.author.1))
        .await
        .expect("complete")
        .into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_completed_without_answer_reopens_by_itself_once() {
    let team = Team::new().await;
    let task = team
        .create(&team.author.1, titled("Call Ada"))
        .await
        .unwrap();
    let done = complete_reopening(&team, &task.id, Duration::from_secs(1)).await;
    let completed = done.task.expect("task");
    assert_eq!(completed.status, pb::TaskStatus::Completed as i32);
    let reopen = done.scheduled_reopen.expect("the reopen scheduled");
    assert_eq!(state(&reopen), pb::ScheduledActionState::Pending);
    let run_at = reopen.run_at.as_ref().expect("run_at").seconds;
    let completed_at = completed
        .completed_at
        .as_ref()
        .expect("completed_at")
        .seconds;
    assert!(
        (run_at - completed_at - 1).abs() <= 1,
        "one second after the completion"
    );

    let fired = settled(&team, &task.id, &reopen.id).await;
    assert_eq!(state(&fired), pb::ScheduledActionState::Fired, "{fired:?}");
    let now = team.get(&team.author.1, &task.id).await.unwrap();
    assert_eq!(now.status, pb::TaskStatus::Open as i32);
    assert_eq!(now.reopen_reason, "REMINDER_RULE");

    let events = history(&team, &team.author.1, &task.id, "", 4)
        .await
        .unwrap();
    let kinds: Vec<i32> = events
        .iter()
        .map(|e| e.event.as_ref().unwrap().kind)
        .collect();
    assert_eq!(
        kinds,
        [
            Kind::TaskCreated as i32,
            Kind::TaskCompleted as i32,
            Kind::TaskActionScheduled as i32,
            Kind::TaskReopened as i32
        ]
    );
    let reopened = events[3].event.as_ref().unwrap();
    let actor = reopened.actor.as_ref().unwrap();
    assert_eq!(
        (actor.r#type, actor.id.as_str()),
        (pb::ActorType::System as i32, "docket")
    );
    let details = reopened.details.as_ref().unwrap();
    assert_eq!(
        text(details, &["scheduled_action_id"]),
        Some(reopen.id.as_str())
    );
    assert_eq!(text(details, &["reason"]), Some("REMINDER_RULE"));
    assert_eq!(text(details, &["from"]), Some("COMPLETED"));
}

#[tokio::test(flavor = "multi_thread")]
async fn escalations_reassignments_and_reminders_fire_as_the_system() {
    let team = Team::new().await;
    let mut request = titled("Renew the contract");
    request.recipient_user_ids = vec![team.alice.0.to_string()];
    let task = team.create(&team.author.1, request).await.unwrap();
    // The outsider takes no part in the task, but a reminder names them.
    let mut outsider_watch = watch(
        team.app.channel().await,
        &team.outsider.1,
        pb::WatchTasksRequest::default(),
    )
    .await
    .unwrap();
    let now = Duration::ZERO;
    let up = schedule(
        &team,
        &team.author.1,
        &task.id,
        escalate(pb::TaskPriority::Unspecified),
        now,
    );
    let up = up.await.unwrap();
    let moved = schedule(&team, &team.author.1, &task.id, reassign(team.bob), now)
        .await
        .unwrap();
    let reminder = pb::RemindAction {
        assignees: true,
        author: false,
        user_ids: vec![team.outsider.0.to_string()],
        note: "the contract ends Friday".into(),
        ..Default::default()
    };
    let told = schedule(&team, &team.author.1, &task.id, remind(reminder), now)
        .await
        .unwrap();
    for action in [&up, &moved, &told] {
        let fired = settled(&team, &task.id, &action.id).await;
        assert_eq!(state(&fired), pb::ScheduledActionState::Fired, "{fired:?}");
    }
    let after = team.get(&team.author.1, &task.id).await.unwrap();
    assert_eq!(
        after.priority,
        pb::TaskPriority::High as i32,
        "one step up from NORMAL"
    );
    assert_eq!(team.recipients(&task.id).await, vec![team.bob]);

    let got = events(&mut outsider_watch, 1).await.unwrap();
    let (event, _) = &got[0];
    assert_eq!(event.kind, Kind::ReminderDue as i32);
    let details = event.details.as_ref().unwrap();
    assert_eq!(text(details, &["note"]), Some("the contract ends Friday"));
    let listed = history(&team, &team.author.1, &task.id, "", 8)
        .await
        .unwrap();
    let by_system: Vec<i32> = listed
        .iter()
        .filter_map(|e| e.event.as_ref())
        .filter(|e| e.actor.as_ref().unwrap().r#type == pb::ActorType::System as i32)
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        by_system,
        [
            Kind::TaskUpdated as i32,
            Kind::TaskReassigned as i32,
            Kind::ReminderDue as i32
        ],
        "in the order they came due"
    );
    let reminded = listed.last().unwrap().event.as_ref().unwrap();
    let reminded = format!("{:?}", reminded.details);
    // Reassigned first, so the assignees reminded are Bob alone, and the outsider named.
    assert!(
        reminded.contains(&format!("USER:{}", team.bob)),
        "{reminded}"
    );
    assert!(
        reminded.contains(&format!("USER:{}", team.outsider.0)),
        "{reminded}"
    );
    assert!(
        !reminded.contains(&format!("USER:{}", team.alice.0)),
        "{reminded}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reopen_of_a_task_closed_again_since_is_skipped() {
    let team = Team::new().await;
    let task = team
        .create(&team.author.1, titled("Call Ada"))
        .await
        .unwrap();
    let done = complete_reopening(&team, &task.id, Duration::from_secs(2)).await;
    let reopen = done.scheduled_reopen.unwrap();
    // Reopened by hand and completed again: the old reopen is stale.
    let mut client = team.client().await;
    let by_hand = pb::ReopenTaskRequest {
        task_id: task.id.clone(),
        reason: "called back".into(),
        body_formats: vec![],
    };
    client
        .reopen_task(authorized(by_hand, &team.author.1))
        .await
        .unwrap();
    let again = pb::CompleteTaskRequest {
        task_id: task.id.clone(),
        ..Default::default()
    };
    client
        .complete_task(authorized(again, &team.author.1))
        .await
        .unwrap();

    let skipped = settled(&team, &task.id, &reopen.id).await;
    assert_eq!(state(&skipped), pb::ScheduledActionState::Skipped);
    assert!(
        skipped.outcome.contains("closed again"),
        "{}",
        skipped.outcome
    );
    let now = team.get(&team.author.1, &task.id).await.unwrap();
    assert_eq!(now.status, pb::TaskStatus::Completed as i32, "left closed");
}

#[tokio::test(flavor = "multi_thread")]
async fn actions_that_no_longer_apply_change_nothing() {
    let team = Team::new().await;
    let mut request = titled("Ship it");
    request.recipient_user_ids = vec![team.alice.0.to_string()];
    let task = team.create(&team.author.1, request).await.unwrap();
    let soon = Duration::from_millis(1500);
    let up = schedule(
        &team,
        &team.author.1,
        &task.id,
        escalate(pb::TaskPriority::High),
        soon,
    );
    let up = up.await.unwrap();
    let to_outsider = reassign(team.outsider.0);
    let moved = schedule(&team, &team.author.1, &task.id, to_outsider, soon)
        .await
        .unwrap();
    // Made more urgent by hand, and the assignee deactivated, before they come due.
    let mut patch = pb::UpdateTaskRequest {
        task_id: task.id.clone(),
        task: Some(pb::TaskPatch {
            priority: pb::TaskPriority::Urgent as i32,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["priority".into()],
        }),
        ..Default::default()
    };
    patch.body_formats = vec![];
    team.client()
        .await
        .update_task(authorized(patch, &team.author.1))
        .await
        .unwrap();
    crate::helpers::seed::set_user_active(
        &team.app.db,
        workspace(&team).await,
        team.outsider.0,
        false,
    )
    .await;

    let up = settled(&team, &task.id, &up.id).await;
    assert_eq!(state(&up), pb::ScheduledActionState::Skipped);
    assert!(up.outcome.contains("already URGENT"), "{}", up.outcome);
    let moved = settled(&team, &task.id, &moved.id).await;
    assert_eq!(state(&moved), pb::ScheduledActionState::Skipped);
    assert!(
        moved.outcome.contains("not an active user"),
        "{}",
        moved.outcome
    );
    let now = team.get(&team.author.1, &task.id).await.unwrap();
    assert_eq!(now.priority, pb::TaskPriority::Urgent as i32);
    assert_eq!(team.recipients(&task.id).await, vec![team.alice.0]);
}

async fn workspace(team: &Team) -> uuid::Uuid {
    crate::helpers::database::connect(&team.app.db.url())
        .await
        .query_one("SELECT id FROM workspaces", &[])
        .await
        .expect("workspace")
        .get(0)
}

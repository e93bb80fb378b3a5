//! Who may schedule, list and cancel which action, on which task (tenancy included, writes as well
//! as reads); what a request must hold; retries by request id; cancelling once.

use std::time::Duration;

use docket::grpc::pb;
use tonic::Code;

use super::{cancel, escalate, list, reassign, remind, reopen, schedule, state};
use crate::helpers::{
    raw::{assert_error, violated_fields},
    rpc::authorized,
    seed,
    team::{Team, titled},
};

const LATER: Duration = Duration::from_secs(3600);

#[tokio::test(flavor = "multi_thread")]
async fn who_may_schedule_what_is_who_may_do_it_now() {
    let team = Team::new().await;
    let mut request = titled("Shared");
    request.recipient_user_ids = vec![team.alice.0.to_string()];
    let task = team.create(&team.author.1, request).await.unwrap();
    let alice = &team.alice.1;
    let nudge = || remind(pb::RemindAction::default());

    // A recipient may remind, but not escalate (UpdateTask's rule) nor reassign (ReassignTask's).
    schedule(&team, alice, &task.id, nudge(), LATER)
        .await
        .unwrap();
    let up = escalate(pb::TaskPriority::Urgent);
    let denied = schedule(&team, alice, &task.id, up, LATER)
        .await
        .unwrap_err();
    assert_error(
        &denied,
        Code::NotFound,
        "TASK_NOT_FOUND",
        "recipient escalates",
    );
    let denied = schedule(&team, alice, &task.id, reassign(team.bob), LATER)
        .await
        .unwrap_err();
    assert_error(
        &denied,
        Code::NotFound,
        "TASK_NOT_FOUND",
        "recipient reassigns",
    );
    // Someone who does not see the task does not find it, for any action.
    for action in [
        nudge(),
        escalate(pb::TaskPriority::High),
        reassign(team.bob),
    ] {
        let denied = schedule(&team, &team.outsider.1, &task.id, action, LATER)
            .await
            .unwrap_err();
        assert_error(&denied, Code::NotFound, "TASK_NOT_FOUND", "outsider");
    }
    let listed = list(&team, &team.outsider.1, &task.id).await.unwrap_err();
    assert_error(&listed, Code::NotFound, "TASK_NOT_FOUND", "outsider lists");
    // A workspace admin reassigns, as ReassignTask allows, but takes no part in moves.
    schedule(&team, &team.admin, &task.id, reassign(team.bob), LATER)
        .await
        .unwrap();
    let mut client = team.client().await;
    let completed = pb::CompleteTaskRequest {
        task_id: task.id.clone(),
        ..Default::default()
    };
    client
        .complete_task(authorized(completed, &team.author.1))
        .await
        .unwrap();
    let denied = schedule(&team, &team.admin, &task.id, reopen(""), LATER)
        .await
        .unwrap_err();
    assert_error(
        &denied,
        Code::PermissionDenied,
        "NOT_TASK_PARTICIPANT",
        "admin reopens",
    );
    schedule(&team, alice, &task.id, reopen("try again"), LATER)
        .await
        .unwrap();
    assert_eq!(list(&team, alice, &task.id).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_workspace_neither_sees_nor_changes_the_actions() {
    let team = Team::new().await;
    let task = team.create(&team.author.1, titled("Ours")).await.unwrap();
    let ours = schedule(
        &team,
        &team.author.1,
        &task.id,
        escalate(pb::TaskPriority::High),
        LATER,
    )
    .await
    .unwrap();
    let (_, theirs) = seed::workspace(&team.app.db, "elsewhere").await;
    let denied = schedule(
        &team,
        &theirs,
        &task.id,
        remind(pb::RemindAction::default()),
        LATER,
    )
    .await
    .unwrap_err();
    assert_error(
        &denied,
        Code::NotFound,
        "TASK_NOT_FOUND",
        "schedule elsewhere",
    );
    let denied = list(&team, &theirs, &task.id).await.unwrap_err();
    assert_error(&denied, Code::NotFound, "TASK_NOT_FOUND", "list elsewhere");
    let denied = cancel(&team, &theirs, &ours.id).await.unwrap_err();
    assert_error(
        &denied,
        Code::NotFound,
        "SCHEDULED_ACTION_NOT_FOUND",
        "cancel elsewhere",
    );
    let still = list(&team, &team.author.1, &task.id).await.unwrap();
    assert_eq!(
        state(&still[0]),
        pb::ScheduledActionState::Pending,
        "untouched"
    );
    // Nor can a recipient cancel the author's escalation: they could not have scheduled it.
    let denied = cancel(&team, &team.alice.1, &ours.id).await.unwrap_err();
    assert_error(
        &denied,
        Code::NotFound,
        "SCHEDULED_ACTION_NOT_FOUND",
        "not theirs",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_are_checked_before_anything_is_scheduled() {
    let team = Team::new().await;
    let task = team
        .create(&team.author.1, titled("Checked"))
        .await
        .unwrap();
    let mut client = team.client().await;
    let bad = pb::ScheduleTaskActionRequest {
        task_id: "nope".into(),
        action: None,
        when: None,
        request_id: "x".repeat(201),
    };
    let status = client
        .schedule_task_action(authorized(bad, &team.author.1))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["task_id", "action", "when", "request_id"]
    );
    let too_far = pb::ScheduleTaskActionRequest {
        task_id: task.id.clone(),
        action: Some(escalate(pb::TaskPriority::High)),
        when: Some(pb::schedule_task_action_request::When::RunAfter(
            prost_types::Duration {
                seconds: 11 * 366 * 24 * 3600,
                nanos: 0,
            },
        )),
        request_id: String::new(),
    };
    let status = client
        .schedule_task_action(authorized(too_far, &team.author.1))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["run_after"]);
    // A reopen needs a closed task; anything else an open one; users named must be active.
    let denied = schedule(&team, &team.author.1, &task.id, reopen(""), LATER)
        .await
        .unwrap_err();
    assert_error(
        &denied,
        Code::FailedPrecondition,
        "INVALID_STATUS_TRANSITION",
        "open",
    );
    let inactive = reassign(team.inactive);
    let denied = schedule(&team, &team.author.1, &task.id, inactive, LATER)
        .await
        .unwrap_err();
    assert_error(
        &denied,
        Code::NotFound,
        "UNKNOWN_USER_ID",
        "inactive assignee",
    );
    let bad_reopen = pb::CompleteTaskRequest {
        task_id: task.id.clone(),
        reopen_after: Some(prost_types::Duration {
            seconds: 0,
            nanos: 0,
        }),
        reopen_reason: "soon".into(),
        ..Default::default()
    };
    let status = client
        .complete_task(authorized(bad_reopen, &team.author.1))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["reopen_after"]);
    let now = team.get(&team.author.1, &task.id).await.unwrap();
    assert_eq!(now.status, pb::TaskStatus::New as i32, "not completed");
    assert!(
        list(&team, &team.author.1, &task.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(team.count("task_timers").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_with_the_request_id_returns_the_first_action() {
    let team = Team::new().await;
    let task = team
        .create(&team.author.1, titled("Retried"))
        .await
        .unwrap();
    let mut client = team.client().await;
    let request = |priority: pb::TaskPriority| pb::ScheduleTaskActionRequest {
        task_id: task.id.clone(),
        action: Some(escalate(priority)),
        when: Some(pb::schedule_task_action_request::When::RunAfter(
            LATER.try_into().unwrap(),
        )),
        request_id: "escalate-once".into(),
    };
    let mut first = None;
    for _ in 0..2 {
        let made = client
            .schedule_task_action(authorized(request(pb::TaskPriority::High), &team.author.1))
            .await
            .unwrap()
            .into_inner()
            .scheduled_action
            .unwrap();
        assert_eq!(made.request_id, "escalate-once");
        first.get_or_insert(made.id.clone());
        assert_eq!(first.as_deref(), Some(made.id.as_str()));
    }
    let other = client
        .schedule_task_action(authorized(
            request(pb::TaskPriority::Urgent),
            &team.author.1,
        ))
        .await
        .unwrap_err();
    assert_error(
        &other,
        Code::AlreadyExists,
        "REQUEST_ID_REUSED",
        "another request",
    );
    assert_eq!(
        list(&team, &team.author.1, &task.id).await.unwrap().len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_action_is_cancelled_once_and_a_fired_one_not_at_all() {
    let team = Team::new().await;
    let task = team
        .create(&team.author.1, titled("Cancelled"))
        .await
        .unwrap();
    let up = escalate(pb::TaskPriority::High);
    let pending = schedule(&team, &team.author.1, &task.id, up, LATER)
        .await
        .unwrap();
    let cancelled = cancel(&team, &team.author.1, &pending.id).await.unwrap();
    assert_eq!(state(&cancelled), pb::ScheduledActionState::Cancelled);
    assert!(cancelled.settled_at.is_some());
    let again = cancel(&team, &team.author.1, &pending.id).await.unwrap();
    assert_eq!(again, cancelled, "cancelling twice answers the same");

    let soon = escalate(pb::TaskPriority::High);
    let fired = schedule(&team, &team.author.1, &task.id, soon, Duration::ZERO)
        .await
        .unwrap();
    let fired = super::settled(&team, &task.id, &fired.id).await;
    let denied = cancel(&team, &team.author.1, &fired.id).await.unwrap_err();
    assert_error(
        &denied,
        Code::FailedPrecondition,
        "SCHEDULED_ACTION_SETTLED",
        "fired",
    );
    let unknown = cancel(&team, &team.author.1, &uuid::Uuid::now_v7().to_string()).await;
    let unknown = unknown.unwrap_err();
    assert_error(
        &unknown,
        Code::NotFound,
        "SCHEDULED_ACTION_NOT_FOUND",
        "unknown",
    );
    let events = crate::helpers::history::history(&team, &team.author.1, &task.id, "", 6)
        .await
        .unwrap();
    let cancels = events
        .iter()
        .filter(|e| e.event.as_ref().unwrap().kind == pb::TaskEventKind::TaskActionCancelled as i32)
        .count();
    assert_eq!(cancels, 1, "one cancel recorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_holds_a_bounded_number_of_pending_actions() {
    let team = Team::new().await;
    let task = team.create(&team.author.1, titled("Busy")).await.unwrap();
    let url = team.app.db.url();
    // 100 pending, written straight to the table: the limit is what is tested.
    crate::helpers::database::connect(&url)
        .await
        .execute(
            "INSERT INTO task_timers (workspace_id, id, task_id, action, fire_at, \
             created_by_type, created_by_id) SELECT workspace_id, gen_random_uuid(), id, \
             'REMIND', now() + interval '1 day', 'SYSTEM', 'docket' \
             FROM tasks, generate_series(1, 100)",
            &[],
        )
        .await
        .unwrap();
    let nudge = remind(pb::RemindAction::default());
    let denied = schedule(&team, &team.author.1, &task.id, nudge, LATER)
        .await
        .unwrap_err();
    assert_error(
        &denied,
        Code::FailedPrecondition,
        "SCHEDULED_ACTIONS_LIMIT",
        "101st",
    );
}

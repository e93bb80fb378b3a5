//! Snooze and follow-up: a snoozed task leaves the default listings (tasks, counts, a recipient's
//! assignments) and comes back by itself at its time, once; by hand with UnsnoozeTask; a new
//! snooze replaces the old. Who may snooze, in which workspace, and what a request must hold.
//! (`tasks::list` checks the `snoozed` filter and the follow-up filters and sorts against its
//! model.)

use std::time::Duration;

use docket::grpc::pb::{self, TaskEventKind as Kind};
use tonic::Code;

use super::{list, state};
use crate::helpers::{
    history::history,
    raw::{assert_error, violated_fields},
    rpc::{authorized, drain},
    seed,
    team::{Team, titled},
};

fn snooze_for(task: &str, seconds: i64) -> pb::SnoozeTaskRequest {
    pb::SnoozeTaskRequest {
        task_id: task.into(),
        when: Some(pb::snooze_task_request::When::SnoozeFor(
            prost_types::Duration { seconds, nanos: 0 },
        )),
        reason: "after the holidays".into(),
        body_formats: vec![],
    }
}

async fn snooze(
    team: &Team,
    token: &str,
    request: pb::SnoozeTaskRequest,
) -> Result<pb::Task, tonic::Status> {
    Ok(team
        .client()
        .await
        .snooze_task(authorized(request, token))
        .await?
        .into_inner()
        .task
        .expect("task"))
}

/// The ids `token` lists with `snoozed`, and how many it counts.
async fn listed(team: &Team, token: &str, snoozed: pb::SnoozeFilter) -> (Vec<String>, i64) {
    let request = pb::ListTasksRequest {
        snoozed: snoozed as i32,
        ..Default::default()
    };
    let mut client = team.client().await;
    let stream = client
        .list_tasks(authorized(request, token))
        .await
        .expect("list")
        .into_inner();
    let ids = drain(stream)
        .await
        .expect("list")
        .into_iter()
        .map(|i| i.task.unwrap().id)
        .collect();
    let count = pb::CountTasksRequest {
        snoozed: snoozed as i32,
        ..Default::default()
    };
    let count = client
        .count_tasks(authorized(count, token))
        .await
        .expect("count")
        .into_inner()
        .count;
    (ids, count)
}

/// The task ids of `token`'s own assignments.
async fn my_assignments(team: &Team, token: &str) -> Vec<String> {
    let request = pb::ListMyAssignmentsRequest {
        distribution_kinds: vec![pb::DistributionKind::Received as i32],
        ..Default::default()
    };
    let stream =
        pb::assignment_service_client::AssignmentServiceClient::new(team.app.channel().await)
            .list_my_assignments(authorized(request, token))
            .await
            .expect("assignments")
            .into_inner();
    drain(stream)
        .await
        .expect("assignments")
        .into_iter()
        .map(|i| i.task.unwrap().id)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snoozed_task_leaves_the_listings_and_comes_back_by_itself_once() {
    let team = Team::new().await;
    let mut request = titled("Renew the lease");
    request.recipient_user_ids = vec![team.alice.0.to_string()];
    let task = team.create(&team.author.1, request).await.unwrap();
    let awake = team
        .create(&team.author.1, titled("Stays awake"))
        .await
        .unwrap();
    let snoozed = snooze(&team, &team.alice.1, snooze_for(&task.id, 2))
        .await
        .unwrap();
    assert!(snoozed.snoozed_until.is_some());
    assert_eq!(snoozed.snooze_reason, "after the holidays");
    assert_ne!(snoozed.etag, task.etag);

    let author = &team.author.1;
    assert_eq!(
        listed(&team, author, pb::SnoozeFilter::Unspecified).await,
        (vec![awake.id.clone()], 1)
    );
    assert_eq!(
        listed(&team, author, pb::SnoozeFilter::Snoozed).await,
        (vec![task.id.clone()], 1)
    );
    assert_eq!(listed(&team, author, pb::SnoozeFilter::Any).await.1, 2);
    assert!(
        my_assignments(&team, &team.alice.1).await.is_empty(),
        "left out of hers too"
    );

    // It wakes by itself, once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while team
        .get(author, &task.id)
        .await
        .unwrap()
        .snoozed_until
        .is_some()
    {
        assert!(tokio::time::Instant::now() < deadline, "still snoozed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        listed(&team, author, pb::SnoozeFilter::Unspecified).await.1,
        2
    );
    assert_eq!(
        my_assignments(&team, &team.alice.1).await,
        vec![task.id.clone()]
    );
    let events = history(&team, author, &task.id, "", 4).await.unwrap();
    let tail: Vec<(i32, i32)> = events
        .iter()
        .filter_map(|e| e.event.as_ref())
        .filter(|e| e.kind == Kind::TaskSnoozed as i32 || e.kind == Kind::TaskUnsnoozed as i32)
        .map(|e| (e.kind, e.actor.as_ref().unwrap().r#type))
        .collect();
    assert_eq!(
        tail,
        [
            (Kind::TaskSnoozed as i32, pb::ActorType::User as i32),
            (Kind::TaskUnsnoozed as i32, pb::ActorType::System as i32)
        ]
    );
    let wakes = list(&team, author, &task.id).await.unwrap();
    assert_eq!(wakes.len(), 1);
    assert_eq!(state(&wakes[0]), pb::ScheduledActionState::Fired);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snooze_ends_by_hand_or_is_replaced_by_a_new_one() {
    let team = Team::new().await;
    let author = &team.author.1;
    let task = team.create(author, titled("Snoozed twice")).await.unwrap();
    snooze(&team, author, snooze_for(&task.id, 3600))
        .await
        .unwrap();
    // A new time replaces the old one: the first wake is cancelled, the second fires.
    snooze(&team, author, snooze_for(&task.id, 1))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while team
        .get(author, &task.id)
        .await
        .unwrap()
        .snoozed_until
        .is_some()
    {
        assert!(tokio::time::Instant::now() < deadline, "still snoozed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wakes: Vec<_> = list(&team, author, &task.id)
        .await
        .unwrap()
        .iter()
        .map(state)
        .collect();
    assert_eq!(
        wakes,
        [
            pb::ScheduledActionState::Fired,
            pb::ScheduledActionState::Cancelled
        ],
        "by run_at: the second snooze's wake first"
    );

    // Snoozed again, and woken by hand: the wake is cancelled and never fires.
    snooze(&team, author, snooze_for(&task.id, 3600))
        .await
        .unwrap();
    let request = pb::UnsnoozeTaskRequest {
        task_id: task.id.clone(),
        body_formats: vec![],
    };
    let woken = team
        .client()
        .await
        .unsnooze_task(authorized(request.clone(), author))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert!(woken.snoozed_until.is_none() && woken.snooze_reason.is_empty());
    // Waking an awake task changes nothing.
    let again = team
        .client()
        .await
        .unsnooze_task(authorized(request, author))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(again.etag, woken.etag);
    let states: Vec<_> = list(&team, author, &task.id)
        .await
        .unwrap()
        .iter()
        .map(state)
        .collect();
    assert_eq!(
        states
            .iter()
            .filter(|s| **s == pb::ScheduledActionState::Pending)
            .count(),
        0
    );
    let events = history(&team, author, &task.id, "", 7).await.unwrap();
    let kinds: Vec<i32> = events
        .iter()
        .map(|e| e.event.as_ref().unwrap().kind)
        .collect();
    assert_eq!(
        kinds,
        [
            Kind::TaskCreated as i32,
            Kind::TaskSnoozed as i32,
            Kind::TaskSnoozed as i32,
            Kind::TaskUnsnoozed as i32,
            Kind::TaskSnoozed as i32,
            Kind::TaskUnsnoozed as i32
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn who_may_snooze_and_what_a_snooze_must_hold() {
    let team = Team::new().await;
    let mut request = titled("Shared");
    request.recipient_user_ids = vec![team.alice.0.to_string()];
    let task = team.create(&team.author.1, request).await.unwrap();
    let denied = snooze(&team, &team.outsider.1, snooze_for(&task.id, 60))
        .await
        .unwrap_err();
    assert_error(&denied, Code::NotFound, "TASK_NOT_FOUND", "outsider");
    let denied = snooze(&team, &team.admin, snooze_for(&task.id, 60))
        .await
        .unwrap_err();
    assert_error(
        &denied,
        Code::PermissionDenied,
        "NOT_TASK_PARTICIPANT",
        "admin",
    );
    let (_, elsewhere) = seed::workspace(&team.app.db, "elsewhere").await;
    let denied = snooze(&team, &elsewhere, snooze_for(&task.id, 60))
        .await
        .unwrap_err();
    assert_error(
        &denied,
        Code::NotFound,
        "TASK_NOT_FOUND",
        "another workspace",
    );
    let unsnooze = pb::UnsnoozeTaskRequest {
        task_id: task.id.clone(),
        body_formats: vec![],
    };
    let denied = team
        .client()
        .await
        .unsnooze_task(authorized(unsnooze, &elsewhere))
        .await
        .unwrap_err();
    assert_error(
        &denied,
        Code::NotFound,
        "TASK_NOT_FOUND",
        "unsnooze elsewhere",
    );

    let past = pb::SnoozeTaskRequest {
        when: Some(pb::snooze_task_request::When::Until(
            prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            },
        )),
        ..snooze_for(&task.id, 0)
    };
    let status = snooze(&team, &team.author.1, past).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["until"]);
    let status = snooze(&team, &team.author.1, snooze_for(&task.id, 0))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["snooze_for"]);
    let none = pb::SnoozeTaskRequest {
        when: None,
        ..snooze_for("nope", 60)
    };
    let status = snooze(&team, &team.author.1, none).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["task_id", "when"]);
    let wake = pb::TaskAction {
        action: Some(pb::task_action::Action::Wake(pb::WakeAction {})),
    };
    let status = super::schedule(&team, &team.author.1, &task.id, wake, Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["action.wake"]);

    let completed = pb::CompleteTaskRequest {
        task_id: task.id.clone(),
        ..Default::default()
    };
    team.client()
        .await
        .complete_task(authorized(completed, &team.author.1))
        .await
        .unwrap();
    let denied = snooze(&team, &team.alice.1, snooze_for(&task.id, 60))
        .await
        .unwrap_err();
    assert_error(
        &denied,
        Code::FailedPrecondition,
        "INVALID_STATUS_TRANSITION",
        "closed",
    );
    let now = team.get(&team.author.1, &task.id).await.unwrap();
    assert!(now.snoozed_until.is_none(), "nothing was snoozed");
    assert_eq!(team.count("task_timers").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follow_up_is_set_changed_and_recorded() {
    let team = Team::new().await;
    let author = &team.author.1;
    let at = prost_types::Timestamp {
        seconds: 1_800_000_000,
        nanos: 0,
    };
    let mut request = titled("Look again");
    request.follow_up_at = Some(at);
    let task = team.create(author, request).await.unwrap();
    assert_eq!(task.follow_up_at, Some(at));
    let update = pb::UpdateTaskRequest {
        task_id: task.id.clone(),
        task: Some(pb::TaskPatch::default()),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["follow_up_at".into()],
        }),
        ..Default::default()
    };
    let updated = team
        .client()
        .await
        .update_task(authorized(update, author))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(
        updated.follow_up_at, None,
        "named in the mask and left empty: cleared"
    );
    let events = history(&team, author, &task.id, "", 2).await.unwrap();
    let details = format!("{:?}", events[1].event.as_ref().unwrap().details);
    assert!(
        details.contains("follow_up_at") && details.contains("2027-01-15T08:00:00Z"),
        "{details}"
    );
}

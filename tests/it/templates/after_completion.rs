//! After-completion schedules: one occurrence at a time; closing the latest makes the next, at
//! the rule's first time after the closing, once: reopening it and closing it again makes no
//! second next. The series links each task to the one before and after it.

use std::time::Duration;

use docket::grpc::pb;

use super::{create, database, fields, get, made, schedule, seconds, wait_for_made};
use crate::helpers::{rpc::authorized, team::Team};

const PATIENCE: Duration = Duration::from_secs(15);

async fn complete(team: &Team, token: &str, id: &str) {
    team.client()
        .await
        .complete_task(authorized(
            pb::CompleteTaskRequest {
                task_id: id.into(),
                ..Default::default()
            },
            token,
        ))
        .await
        .expect("complete");
}

#[tokio::test(flavor = "multi_thread")]
async fn closing_the_latest_occurrence_makes_the_next_once() {
    let team = Team::new().await;
    let token = &team.author.1;
    let db = database(&team).await;
    // Daily at 09:00 in Tokyo, made five days ahead: each is made as soon as it may be (the
    // next after a closing is the rule's first time after the latest occurrence, days ahead).
    let after_completion = pb::TaskSchedule {
        mode: pb::RecurrenceMode::AfterCompletion as i32,
        lead_time: seconds(5 * 86_400),
        ..schedule("FREQ=DAILY", "Asia/Tokyo", "2026-01-01T09:00")
    };
    let template = create(
        &team,
        token,
        "Plants",
        fields("Water the plants"),
        Some(after_completion),
    )
    .await
    .expect("create");
    let first = wait_for_made(&db, &template.id, 1, PATIENCE).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(made(&db, &template.id).await.len(), 1, "one at a time");
    let status = get(&team, token, &template.id)
        .await
        .expect("get")
        .schedule_status
        .expect("s");
    assert!(
        status.next_occurrence_at.is_none(),
        "the next waits for the first to close"
    );

    let first_id = first[0].id.to_string();
    complete(&team, token, &first_id).await;
    let two = wait_for_made(&db, &template.id, 2, PATIENCE).await;
    assert_eq!(two[1].index, Some(2));
    assert!(two[1].scheduled_for > two[0].scheduled_for);
    assert_eq!(two[1].previous, Some(first[0].id));
    assert_eq!(
        two[0].next,
        Some(two[1].id),
        "the first links to the second"
    );
    let second = team.get(token, &two[1].id.to_string()).await.expect("get");
    let provenance = second.template.expect("provenance");
    assert_eq!(provenance.previous_task_id, first_id);
    let first_read = team.get(token, &first_id).await.expect("get");
    assert_eq!(
        first_read.template.expect("provenance").next_task_id,
        two[1].id.to_string()
    );

    // Reopen the first and complete it again: no third task.
    team.client()
        .await
        .reopen_task(authorized(
            pb::ReopenTaskRequest {
                task_id: first_id.clone(),
                ..Default::default()
            },
            token,
        ))
        .await
        .expect("reopen");
    complete(&team, token, &first_id).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(made(&db, &template.id).await.len(), 2, "no second next");

    // Cancelling the second (the latest) makes the third.
    team.client()
        .await
        .cancel_task(authorized(
            pb::CancelTaskRequest {
                task_id: two[1].id.to_string(),
                ..Default::default()
            },
            token,
        ))
        .await
        .expect("cancel");
    let three = wait_for_made(&db, &template.id, 3, PATIENCE).await;
    assert_eq!(three[2].index, Some(3));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(made(&db, &template.id).await.len(), 3);
}

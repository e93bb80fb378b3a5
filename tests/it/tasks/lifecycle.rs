//! Task lifecycle moves: who may make them, which are legal from where, and the timestamps they
//! record (first_started_at and first_terminated_at once; reopen clears the terminal ones).

use docket::grpc::pb::{self, task_service_client::TaskServiceClient};
use tonic::{Code, Status, transport::Channel};

use crate::{
    helpers::raw::assert_error,
    helpers::rpc::authorized,
    helpers::team::{Team, titled},
};

#[derive(Debug, Clone, Copy)]
enum Step {
    Start,
    Review,
    Complete,
    Skip,
    Cancel,
    Reopen,
}

async fn step(
    client: &mut TaskServiceClient<Channel>,
    token: &str,
    id: &str,
    step: Step,
) -> Result<pb::Task, Status> {
    let task_id = id.to_owned();
    let task = match step {
        Step::Start => {
            client
                .start_task(authorized(
                    pb::StartTaskRequest {
                        task_id,
                        body_formats: vec![],
                    },
                    token,
                ))
                .await?
                .into_inner()
                .task
        }
        Step::Review => {
            client
                .submit_task_for_review(authorized(
                    pb::SubmitTaskForReviewRequest {
                        task_id,
                        body_formats: vec![],
                    },
                    token,
                ))
                .await?
                .into_inner()
                .task
        }
        Step::Complete => {
            let outcome = Some(pb::TaskOutcome {
                disposition: pb::CallDisposition::VoicemailLeft as i32,
                note: "left a message".into(),
            });
            client
                .complete_task(authorized(
                    pb::CompleteTaskRequest {
                        reopen_after: None,
                        reopen_reason: String::new(),
                        task_id,
                        outcome,
                        body_formats: vec![],
                    },
                    token,
                ))
                .await?
                .into_inner()
                .task
        }
        Step::Skip => {
            client
                .skip_task(authorized(
                    pb::SkipTaskRequest {
                        task_id,
                        body_formats: vec![],
                    },
                    token,
                ))
                .await?
                .into_inner()
                .task
        }
        Step::Cancel => {
            client
                .cancel_task(authorized(
                    pb::CancelTaskRequest {
                        task_id,
                        body_formats: vec![],
                    },
                    token,
                ))
                .await?
                .into_inner()
                .task
        }
        Step::Reopen => {
            client
                .reopen_task(authorized(
                    pb::ReopenTaskRequest {
                        task_id,
                        reason: "REMINDER_RULE".into(),
                        body_formats: vec![],
                    },
                    token,
                ))
                .await?
                .into_inner()
                .task
        }
    };
    Ok(task.expect("task"))
}

fn status_of(task: &pb::Task) -> pb::TaskStatus {
    pb::TaskStatus::try_from(task.status).expect("status")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_legal_move_works_and_every_illegal_one_changes_nothing() {
    use pb::TaskStatus::*;
    let team = Team::new().await;
    let mut client = team.client().await;
    let token = &team.author.1;
    // From each status (reached by a path of legal moves), try every move.
    let paths: Vec<(pb::TaskStatus, Vec<Step>)> = vec![
        (New, vec![]),
        (InProgress, vec![Step::Start]),
        (InReview, vec![Step::Start, Step::Review]),
        (Completed, vec![Step::Complete]),
        (Skipped, vec![Step::Skip]),
        (Cancelled, vec![Step::Cancel]),
        (Open, vec![Step::Complete, Step::Reopen]),
    ];
    let legal = |from: pb::TaskStatus, step: Step| -> Option<pb::TaskStatus> {
        match (step, from) {
            (Step::Start, New | Open | InReview) => Some(InProgress),
            (Step::Review, InProgress) => Some(InReview),
            (Step::Complete, New | Open | InProgress | InReview) => Some(Completed),
            (Step::Skip, New | Open | InProgress | InReview) => Some(Skipped),
            (Step::Cancel, New | Open | InProgress | InReview) => Some(Cancelled),
            (Step::Reopen, Completed | Skipped | Cancelled) => Some(Open),
            _ => None,
        }
    };
    for (from, path) in &paths {
        for attempt in [
            Step::Start,
            Step::Review,
            Step::Complete,
            Step::Skip,
            Step::Cancel,
            Step::Reopen,
        ] {
            let task = team.create(token, titled("moving")).await.expect("create");
            let mut current = task.clone();
            for earlier in path {
                current = step(&mut client, token, &task.id, *earlier)
                    .await
                    .expect("path");
            }
            assert_eq!(status_of(&current), *from);
            match (
                legal(*from, attempt),
                step(&mut client, token, &task.id, attempt).await,
            ) {
                (Some(to), Ok(moved)) => {
                    assert_eq!(status_of(&moved), to, "{from:?} {attempt:?}");
                    assert_ne!(moved.etag, current.etag, "a move changes the etag");
                }
                (None, Err(status)) => {
                    assert_error(
                        &status,
                        Code::FailedPrecondition,
                        "INVALID_STATUS_TRANSITION",
                        &format!("{from:?} {attempt:?}"),
                    );
                    let unchanged = team.get(token, &task.id).await.expect("get");
                    assert_eq!(
                        unchanged.etag, current.etag,
                        "{from:?} {attempt:?}: a refused move changes nothing"
                    );
                }
                (expected, got) => {
                    panic!("{from:?} {attempt:?}: expected {expected:?}, got {got:?}")
                }
            }
        }
    }
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn first_timestamps_are_set_once_and_reopen_records_why() {
    let team = Team::new().await;
    let mut client = team.client().await;
    let token = &team.author.1;
    let task = team
        .create(token, titled("Call the customer"))
        .await
        .expect("create");
    assert!(task.first_started_at.is_none() && task.first_terminated_at.is_none());

    let started = step(&mut client, token, &task.id, Step::Start)
        .await
        .expect("start");
    let first_started = started.first_started_at.expect("first_started_at");
    let completed = step(&mut client, token, &task.id, Step::Complete)
        .await
        .expect("complete");
    let first_terminated = completed.first_terminated_at.expect("first_terminated_at");
    assert!(completed.completed_at.is_some());
    let outcome = completed.outcome.clone().expect("outcome");
    assert_eq!(
        (outcome.disposition, outcome.note.as_str()),
        (pb::CallDisposition::VoicemailLeft as i32, "left a message")
    );

    let reopened = step(&mut client, token, &task.id, Step::Reopen)
        .await
        .expect("reopen");
    assert_eq!(status_of(&reopened), pb::TaskStatus::Open);
    assert!(reopened.reopened_at.is_some());
    assert_eq!(reopened.reopen_reason, "REMINDER_RULE");
    assert!(reopened.completed_at.is_none(), "no longer completed");

    step(&mut client, token, &task.id, Step::Start)
        .await
        .expect("start again");
    let again = step(&mut client, token, &task.id, Step::Complete)
        .await
        .expect("complete again");
    assert_eq!(again.first_started_at, Some(first_started), "set once");
    assert_eq!(
        again.first_terminated_at,
        Some(first_terminated),
        "set once"
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn recipients_move_tasks_admins_who_are_neither_may_not_and_strangers_see_nothing() {
    let team = Team::new().await;
    let mut client = team.client().await;
    let request = pb::CreateTaskRequest {
        recipient_user_ids: vec![team.alice.0.to_string()],
        ..titled("Shared")
    };
    let task = team.create(&team.author.1, request).await.expect("create");

    let started = step(&mut client, &team.alice.1, &task.id, Step::Start)
        .await
        .expect("a recipient starts it");
    assert_eq!(status_of(&started), pb::TaskStatus::InProgress);

    let status = step(&mut client, &team.admin, &task.id, Step::Complete)
        .await
        .expect_err("admin");
    assert_error(
        &status,
        Code::PermissionDenied,
        "NOT_TASK_PARTICIPANT",
        "workspace admin",
    );
    let status = step(&mut client, &team.outsider.1, &task.id, Step::Complete)
        .await
        .expect_err("stranger");
    assert_error(&status, Code::NotFound, "TASK_NOT_FOUND", "stranger");

    let bad = pb::CompleteTaskRequest {
        reopen_after: None,
        reopen_reason: String::new(),
        task_id: task.id.clone(),
        outcome: Some(pb::TaskOutcome {
            disposition: 42,
            note: "x".repeat(10_001),
        }),
        body_formats: vec![],
    };
    let status = client
        .complete_task(authorized(bad, &team.author.1))
        .await
        .expect_err("bad outcome");
    assert_error(
        &status,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        "bad outcome",
    );
    let fields: Vec<String> = tonic_types::StatusExt::get_details_bad_request(&status)
        .expect("BadRequest")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["outcome.disposition", "outcome.note"]);
    assert_eq!(
        status_of(&team.get(&team.author.1, &task.id).await.expect("get")),
        pb::TaskStatus::InProgress
    );
    team.app.stop().await;
}

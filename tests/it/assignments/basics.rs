//! AssignmentService basics: idempotent creates (users, channels, batches), finishing and
//! reopening one's own assignment, and the completion policies.

use docket::grpc::pb::{self};
use pb::create_assignment_request::Recipient;
use tonic::Code;
use uuid::Uuid;

use crate::{
    helpers::rpc::authorized,
    helpers::{
        raw::assert_error,
        team::{Team, titled},
        team_assignments::summary,
    },
};

#[tokio::test(flavor = "multi_thread")]
async fn creating_is_idempotent_per_recipient_and_channels_fan_out() {
    let team = Team::new().await;
    let task = team.distributed(&[team.alice.0]).await;
    let token = &team.author.1;

    let again = team
        .create_assignment(token, &task.id, Recipient::UserId(team.alice.0.to_string()))
        .await
        .expect("again");
    assert!(!again.created, "already assigned");
    assert_eq!(again.assignments.len(), 1);
    assert_eq!(summary(again.assignment_summary), (1, 0, 0, 1));

    // The channel adds Bob (Alice is already there; the author and the inactive user are not).
    let channel = team
        .create_assignment(
            token,
            &task.id,
            Recipient::ChannelId(team.channel.to_string()),
        )
        .await
        .expect("channel");
    assert!(channel.created);
    assert_eq!(channel.assignments.len(), 2, "Alice and Bob");
    assert_eq!(summary(channel.assignment_summary), (2, 0, 0, 2));
    let channel_again = team
        .create_assignment(
            token,
            &task.id,
            Recipient::ChannelId(team.channel.to_string()),
        )
        .await
        .expect("channel again");
    assert!(!channel_again.created);

    // A batch of one new and one assigned user adds the new one only.
    let (carol, _) = team.extra_user("Carol").await;
    let batch = team
        .assignments()
        .await
        .batch_create_assignments(authorized(
            pb::BatchCreateAssignmentsRequest {
                task_id: task.id.clone(),
                user_ids: vec![team.alice.0.to_string(), carol.to_string()],
            },
            token,
        ))
        .await
        .expect("batch")
        .into_inner();
    assert!(batch.created);
    assert_eq!(batch.assignments.len(), 1);
    assert_eq!(batch.assignments[0].user_id, carol.to_string());
    assert_eq!(summary(batch.assignment_summary), (3, 0, 0, 3));
    let batch_again = team
        .assignments()
        .await
        .batch_create_assignments(authorized(
            pb::BatchCreateAssignmentsRequest {
                task_id: task.id.clone(),
                user_ids: vec![carol.to_string()],
            },
            token,
        ))
        .await
        .expect("batch again")
        .into_inner();
    assert!(!batch_again.created && batch_again.assignments.is_empty());
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn finish_and_open_are_the_recipients_own_and_idempotent() {
    let team = Team::new().await;
    let task = pb::CreateTaskRequest {
        recipient_user_ids: vec![team.alice.0.to_string(), team.outsider.0.to_string()],
        completion_policy: pb::CompletionPolicy::Manual as i32,
        ..titled("Manual")
    };
    let task = team.create(&team.author.1, task).await.expect("create");
    let mine = team.task_assignments(&task.id).await;
    let alice = mine
        .iter()
        .find(|a| a.user_id == team.alice.0.to_string())
        .expect("alice's");

    let first = team.finish(&team.alice.1, &alice.id).await.expect("finish");
    let finished = first.assignment.expect("assignment");
    assert_eq!(
        finished.progress_status,
        pb::ProgressStatus::Finished as i32
    );
    assert!(finished.finished_at.is_some());
    assert_eq!(summary(first.assignment_summary), (1, 0, 1, 2));
    let twice = team.finish(&team.alice.1, &alice.id).await.expect("twice");
    assert_eq!(twice.assignment, Some(finished.clone()), "no change");

    let opened = team.open(&team.alice.1, &alice.id).await.expect("open");
    let opened = opened.assignment.expect("assignment");
    assert_eq!(opened.progress_status, pb::ProgressStatus::Open as i32);
    assert!(opened.finished_at.is_none());
    let twice = team
        .open(&team.alice.1, &alice.id)
        .await
        .expect("open twice");
    assert_eq!(twice.assignment, Some(opened));

    // MANUAL: the task's status never followed.
    let read = team.get(&team.author.1, &task.id).await.expect("get");
    assert_eq!(read.status, pb::TaskStatus::New as i32);

    // Not the recipient: the author sees the task, so the assignment is "not found" for them; a
    // stranger does not even learn of the task.
    let status = team
        .finish(&team.author.1, &alice.id)
        .await
        .expect_err("author");
    assert_error(
        &status,
        Code::NotFound,
        "TASK_ASSIGNMENT_NOT_FOUND",
        "author",
    );
    let (_, stranger_token) = team.extra_user("Stranger").await;
    let status = team
        .open(&stranger_token, &alice.id)
        .await
        .expect_err("stranger");
    assert_error(&status, Code::NotFound, "TASK_NOT_FOUND", "stranger");
    let status = team
        .finish(&team.alice.1, &Uuid::now_v7().to_string())
        .await
        .expect_err("unknown");
    assert_error(
        &status,
        Code::NotFound,
        "TASK_ASSIGNMENT_NOT_FOUND",
        "unknown",
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn completion_policies_tie_progress_to_the_task_status() {
    let team = Team::new().await;
    let (carol, carol_token) = team.extra_user("Carol").await;
    let recipients = vec![team.alice.0.to_string(), carol.to_string()];
    let with = |policy: pb::CompletionPolicy| pb::CreateTaskRequest {
        recipient_user_ids: recipients.clone(),
        completion_policy: policy as i32,
        ..titled("Policy")
    };
    let assignment_of = |list: &[pb::Assignment], user: Uuid| {
        list.iter()
            .find(|a| a.user_id == user.to_string())
            .expect("assigned")
            .id
            .clone()
    };

    // ALL: completes with the last finish; reopening one brings it back to IN_PROGRESS.
    let all = team
        .create(&team.author.1, with(pb::CompletionPolicy::All))
        .await
        .expect("all");
    let list = team.task_assignments(&all.id).await;
    team.finish(&team.alice.1, &assignment_of(&list, team.alice.0))
        .await
        .expect("alice");
    let read = team.get(&team.author.1, &all.id).await.expect("get");
    assert_eq!(read.status, pb::TaskStatus::New as i32, "one of two");
    team.finish(&carol_token, &assignment_of(&list, carol))
        .await
        .expect("carol");
    let done = team.get(&team.author.1, &all.id).await.expect("get");
    assert_eq!(done.status, pb::TaskStatus::Completed as i32);
    assert!(done.first_terminated_at.is_some() && done.completed_at.is_some());
    team.open(&carol_token, &assignment_of(&list, carol))
        .await
        .expect("reopen");
    let back = team.get(&team.author.1, &all.id).await.expect("get");
    assert_eq!(back.status, pb::TaskStatus::InProgress as i32);
    assert!(back.completed_at.is_none());
    assert_eq!(
        back.first_terminated_at, done.first_terminated_at,
        "set once"
    );

    // ANY: the first finish completes it.
    let any = team
        .create(&team.author.1, with(pb::CompletionPolicy::Any))
        .await
        .expect("any");
    let list = team.task_assignments(&any.id).await;
    team.finish(&carol_token, &assignment_of(&list, carol))
        .await
        .expect("carol");
    let read = team.get(&team.author.1, &any.id).await.expect("get");
    assert_eq!(read.status, pb::TaskStatus::Completed as i32);

    // Completed by hand, the task stays completed when an assignment reopens.
    let by_hand = team
        .create(&team.author.1, with(pb::CompletionPolicy::All))
        .await
        .expect("by hand");
    let list = team.task_assignments(&by_hand.id).await;
    team.finish(&carol_token, &assignment_of(&list, carol))
        .await
        .expect("finish");
    let complete = pb::CompleteTaskRequest {
        task_id: by_hand.id.clone(),
        ..Default::default()
    };
    team.client()
        .await
        .complete_task(authorized(complete, &team.author.1))
        .await
        .expect("complete by hand");
    team.open(&carol_token, &assignment_of(&list, carol))
        .await
        .expect("reopen");
    let read = team.get(&team.author.1, &by_hand.id).await.expect("get");
    assert_eq!(read.status, pb::TaskStatus::Completed as i32);
    team.app.stop().await;
}

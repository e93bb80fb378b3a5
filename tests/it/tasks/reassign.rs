//! ReassignTask: one task, or every open task of a sequence, gets one recipient.

use docket::grpc::pb;
use tonic::Code;
use uuid::Uuid;

use crate::{
    helpers::rpc::authorized,
    helpers::{
        raw::assert_error,
        seed,
        team::{Team, reassign, titled},
    },
};

#[tokio::test(flavor = "multi_thread")]
async fn reassigning_a_task_leaves_one_recipient() {
    let team = Team::new().await;
    let request = pb::CreateTaskRequest {
        recipient_user_ids: vec![team.alice.0.to_string(), team.outsider.0.to_string()],
        ..titled("Handle ticket")
    };
    let task = team.create(&team.author.1, request).await.expect("create");
    // Alice has seen it; reassigning to her keeps her progress.
    team.get(&team.alice.1, &task.id)
        .await
        .expect("alice reads");
    let changed = reassign(
        &team.app.channel().await,
        &team.author.1,
        &task.id,
        team.alice.0,
        pb::ReassignScope::Unspecified,
    )
    .await
    .expect("reassign");
    assert_eq!(changed.len(), 1);
    assert_ne!(changed[0].etag, task.etag);
    let summary = changed[0].assignment_summary.expect("summary");
    assert_eq!(
        (summary.new_count, summary.open_count, summary.total_count),
        (0, 1, 1)
    );
    assert_eq!(team.recipients(&task.id).await, [team.alice.0]);
    let status = team
        .get(&team.outsider.1, &task.id)
        .await
        .expect_err("no longer a recipient");
    assert_error(
        &status,
        Code::NotFound,
        "TASK_NOT_FOUND",
        "former recipient",
    );

    // A personal task handed to someone else becomes distributed.
    let personal = team
        .create(&team.author.1, titled("Mine for now"))
        .await
        .expect("create");
    let handed = reassign(
        &team.app.channel().await,
        &team.author.1,
        &personal.id,
        team.outsider.0,
        pb::ReassignScope::Task,
    )
    .await
    .expect("reassign");
    assert_eq!(
        handed[0].distribution_kind,
        pb::DistributionKind::Distributed as i32
    );
    let received = team
        .get(&team.outsider.1, &personal.id)
        .await
        .expect("received");
    assert_eq!(
        received.distribution_kind,
        pb::DistributionKind::Received as i32
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reassigning_a_sequence_changes_only_its_open_tasks_in_this_workspace() {
    let team = Team::new().await;
    let sequence = Uuid::new_v4();
    let in_sequence = |title: &str| pb::CreateTaskRequest {
        sequence_id: sequence.to_string(),
        recipient_user_ids: vec![team.alice.0.to_string()],
        ..titled(title)
    };
    let first = team
        .create(&team.author.1, in_sequence("step 1"))
        .await
        .expect("create");
    let second = team
        .create(&team.author.1, in_sequence("step 2"))
        .await
        .expect("create");
    let done = team
        .create(&team.author.1, in_sequence("step 0"))
        .await
        .expect("create");
    team.client()
        .await
        .complete_task(authorized(
            pb::CompleteTaskRequest {
                task_id: done.id.clone(),
                ..Default::default()
            },
            &team.author.1,
        ))
        .await
        .expect("complete");
    let elsewhere = team
        .create(
            &team.author.1,
            pb::CreateTaskRequest {
                recipient_user_ids: vec![team.alice.0.to_string()],
                ..titled("unrelated")
            },
        )
        .await
        .expect("create");
    // Another workspace using the same sequence id is a different sequence.
    let (other_workspace, other_admin) = seed::workspace(&team.app.db, "other").await;
    let other_user = seed::user(&team.app.db, other_workspace.id, true).await;
    let foreign = team
        .create(
            &other_admin,
            pb::CreateTaskRequest {
                sequence_id: sequence.to_string(),
                recipient_user_ids: vec![other_user.to_string()],
                ..titled("theirs")
            },
        )
        .await
        .expect("create");

    let changed = reassign(
        &team.app.channel().await,
        &team.author.1,
        &second.id,
        team.outsider.0,
        pb::ReassignScope::Sequence,
    )
    .await
    .expect("reassign");
    let mut ids: Vec<&str> = changed.iter().map(|t| t.id.as_str()).collect();
    ids.sort_unstable();
    let mut expected = vec![first.id.as_str(), second.id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected, "the sequence's open tasks only");
    for task in [&first, &second] {
        assert_eq!(team.recipients(&task.id).await, [team.outsider.0]);
    }
    for task in [&done, &elsewhere] {
        assert_eq!(
            team.recipients(&task.id).await,
            [team.alice.0],
            "{} unchanged",
            task.title
        );
    }
    assert_eq!(
        team.recipients(&foreign.id).await,
        [other_user],
        "other workspace unchanged"
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn who_may_reassign_to_whom() {
    let team = Team::new().await;
    let request = pb::CreateTaskRequest {
        recipient_user_ids: vec![team.alice.0.to_string()],
        ..titled("x")
    };
    let task = team.create(&team.author.1, request).await.expect("create");
    let cases: Vec<(&str, &str, Uuid, pb::ReassignScope, Code, &str)> = vec![
        (
            "unknown assignee",
            &team.author.1,
            Uuid::new_v4(),
            pb::ReassignScope::Task,
            Code::NotFound,
            "UNKNOWN_USER_ID",
        ),
        (
            "inactive assignee",
            &team.author.1,
            team.inactive,
            pb::ReassignScope::Task,
            Code::NotFound,
            "UNKNOWN_USER_ID",
        ),
        (
            "a recipient",
            &team.alice.1,
            team.outsider.0,
            pb::ReassignScope::Task,
            Code::NotFound,
            "TASK_NOT_FOUND",
        ),
        (
            "no sequence",
            &team.author.1,
            team.outsider.0,
            pb::ReassignScope::Sequence,
            Code::InvalidArgument,
            "VALIDATION_ERROR",
        ),
    ];
    for (case, token, to, scope, code, reason) in cases {
        let status = reassign(&team.app.channel().await, token, &task.id, to, scope)
            .await
            .expect_err(case);
        assert_error(&status, code, reason, case);
    }
    assert_eq!(
        team.recipients(&task.id).await,
        [team.alice.0],
        "nothing changed"
    );
    let by_admin = reassign(
        &team.app.channel().await,
        &team.admin,
        &task.id,
        team.outsider.0,
        pb::ReassignScope::Task,
    )
    .await
    .expect("workspace admin");
    assert_eq!(by_admin.len(), 1);
    team.app.stop().await;
}

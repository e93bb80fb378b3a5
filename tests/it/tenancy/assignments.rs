//! Tenancy of AssignmentService: another workspace's tasks, assignments, users and channels behave
//! exactly like ids that do not exist (one half of the TENANCY table in `tenancy`).

use docket::grpc::pb;
use tonic::Code;

use crate::{
    helpers::rpc::authorized,
    helpers::{raw::assert_error, seed},
};

#[tokio::test(flavor = "multi_thread")]
async fn assignment_ids_of_another_workspace_do_not_exist() {
    use pb::create_assignment_request::Recipient;
    let team = crate::helpers::team::Team::new().await;
    let task = team.distributed(&[team.alice.0, team.outsider.0]).await;
    let theirs = team.task_assignments(&task.id).await;
    let (_, b_token) = seed::workspace(&team.app.db, "b").await;
    let b_task = team
        .create(&b_token, crate::helpers::team::titled("B's"))
        .await
        .expect("b's task");
    let mut client = team.assignments().await;

    for id in [&theirs[0].id, &theirs[1].id] {
        for status in [
            team.finish(&b_token, id).await.expect_err("finish"),
            team.open(&b_token, id).await.expect_err("open"),
            team.delete_assignment(&b_token, id)
                .await
                .expect_err("delete"),
        ] {
            assert_error(
                &status,
                Code::NotFound,
                "TASK_ASSIGNMENT_NOT_FOUND",
                "by id",
            );
        }
    }
    let status = team
        .create_assignment(
            &b_token,
            &task.id,
            Recipient::UserId(team.alice.0.to_string()),
        )
        .await
        .expect_err("A's task");
    assert_error(
        &status,
        Code::NotFound,
        "TASK_NOT_FOUND",
        "CreateAssignment",
    );
    // B's own task, A's user or channel: unknown in B.
    let status = team
        .create_assignment(
            &b_token,
            &b_task.id,
            Recipient::UserId(team.alice.0.to_string()),
        )
        .await
        .expect_err("A's user");
    assert_error(&status, Code::NotFound, "UNKNOWN_USER_ID", "A's user");
    let status = team
        .create_assignment(
            &b_token,
            &b_task.id,
            Recipient::ChannelId(team.channel.to_string()),
        )
        .await
        .expect_err("A's channel");
    assert_error(&status, Code::NotFound, "UNKNOWN_CHANNEL_ID", "A's channel");
    let status = client
        .batch_create_assignments(authorized(
            pb::BatchCreateAssignmentsRequest {
                task_id: task.id.clone(),
                user_ids: vec![team.alice.0.to_string()],
            },
            &b_token,
        ))
        .await
        .expect_err("batch create");
    assert_error(
        &status,
        Code::NotFound,
        "TASK_NOT_FOUND",
        "BatchCreateAssignments",
    );
    let status = client
        .batch_delete_assignments(authorized(
            pb::BatchDeleteAssignmentsRequest {
                task_id: task.id.clone(),
                assignment_ids: vec![theirs[0].id.clone()],
            },
            &b_token,
        ))
        .await
        .expect_err("batch delete");
    assert_error(
        &status,
        Code::NotFound,
        "TASK_NOT_FOUND",
        "BatchDeleteAssignments",
    );
    let status = client
        .list_task_assignments(authorized(
            pb::ListTaskAssignmentsRequest {
                task_id: task.id.clone(),
                ..Default::default()
            },
            &b_token,
        ))
        .await
        .expect_err("list");
    assert_error(
        &status,
        Code::NotFound,
        "TASK_NOT_FOUND",
        "ListTaskAssignments",
    );
    let status = client
        .get_task_assignments_summary(authorized(
            pb::GetTaskAssignmentsSummaryRequest {
                task_id: task.id.clone(),
            },
            &b_token,
        ))
        .await
        .expect_err("summary");
    assert_error(
        &status,
        Code::NotFound,
        "TASK_NOT_FOUND",
        "GetTaskAssignmentsSummary",
    );
    // B's service has no assignments of its own, whatever A holds.
    let mine = client
        .list_my_assignments(authorized(
            pb::ListMyAssignmentsRequest {
                distribution_kinds: vec![pb::DistributionKind::Received as i32],
                ..Default::default()
            },
            &b_token,
        ))
        .await
        .expect("list mine");
    assert!(
        crate::helpers::rpc::drain(mine.into_inner())
            .await
            .expect("stream")
            .is_empty()
    );
    let summary = client
        .get_my_assignments_summary(authorized(
            pb::GetMyAssignmentsSummaryRequest::default(),
            &b_token,
        ))
        .await
        .expect("my summary")
        .into_inner()
        .assignment_summary
        .expect("summary");
    assert_eq!(summary.total_count, 0);
    assert_eq!(
        team.task_assignments(&task.id).await,
        theirs,
        "A's untouched"
    );
    team.app.stop().await;
}

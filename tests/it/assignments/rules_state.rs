//! AssignmentService rules that depend on state outside the call: a task another transaction
//! holds (ABORTED, nothing changed) and a workspace with assignments switched off.

use docket::grpc::pb::{self, workspace_service_client::WorkspaceServiceClient};
use pb::create_assignment_request::Recipient;
use tonic::Code;
use uuid::Uuid;

use crate::{
    helpers::rpc::authorized,
    helpers::{database::connect, raw::assert_error, team::Team},
};

#[tokio::test(flavor = "multi_thread")]
async fn change_conflict_when_another_transaction_holds_the_task() {
    let team = Team::new().await;
    let task = team.distributed(&[team.alice.0]).await;
    let alices = team.task_assignments(&task.id).await[0].id.clone();

    // TASK_ASSIGNMENT_CHANGE_CONFLICT: a long transaction holds the task; nothing changes.
    let mut db = connect(&team.app.db.url()).await;
    let holder = db.transaction().await.expect("begin");
    let task_uuid: Uuid = task.id.parse().expect("uuid");
    holder
        .execute(
            "SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE",
            &[&task_uuid],
        )
        .await
        .expect("lock");
    let status = team
        .finish(&team.alice.1, &alices)
        .await
        .expect_err("conflict");
    assert_error(
        &status,
        Code::Aborted,
        "TASK_ASSIGNMENT_CHANGE_CONFLICT",
        "FinishAssignment",
    );
    holder.rollback().await.expect("rollback");
    let unchanged = team.task_assignments(&task.id).await;
    assert_eq!(unchanged[0].progress_status, pb::ProgressStatus::New as i32);
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn feature_disabled_on_every_rpc() {
    let team = Team::new().await;
    let token = &team.author.1;
    let task = team.distributed(&[team.alice.0]).await;
    let mut client = team.assignments().await;
    let alices = team.task_assignments(&task.id).await[0].id.clone();

    // FEATURE_DISABLED: every RPC, once the workspace switches assignments off.
    let mut settings = WorkspaceServiceClient::new(team.app.channel().await);
    settings
        .update_workspace_settings(authorized(
            pb::UpdateWorkspaceSettingsRequest {
                settings: Some(pb::WorkspaceSettings {
                    assignments_enabled: false,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["assignments_enabled".into()],
                }),
            },
            &team.admin,
        ))
        .await
        .expect("switch off");
    let disabled = |status: tonic::Status, rpc: &str| {
        assert_error(&status, Code::FailedPrecondition, "FEATURE_DISABLED", rpc);
    };
    disabled(
        team.finish(&team.alice.1, &alices).await.expect_err("x"),
        "FinishAssignment",
    );
    disabled(
        team.open(&team.alice.1, &alices).await.expect_err("x"),
        "OpenAssignment",
    );
    disabled(
        team.delete_assignment(token, &alices).await.expect_err("x"),
        "DeleteAssignment",
    );
    disabled(
        team.create_assignment(token, &task.id, Recipient::UserId(team.alice.0.to_string()))
            .await
            .expect_err("x"),
        "CreateAssignment",
    );
    let batch = pb::BatchCreateAssignmentsRequest {
        task_id: task.id.clone(),
        user_ids: vec![team.alice.0.to_string()],
    };
    disabled(
        client
            .batch_create_assignments(authorized(batch, token))
            .await
            .expect_err("x"),
        "BatchCreateAssignments",
    );
    let batch = pb::BatchDeleteAssignmentsRequest {
        task_id: task.id.clone(),
        assignment_ids: vec![alices.clone()],
    };
    disabled(
        client
            .batch_delete_assignments(authorized(batch, token))
            .await
            .expect_err("x"),
        "BatchDeleteAssignments",
    );
    let mine = pb::ListMyAssignmentsRequest {
        distribution_kinds: vec![pb::DistributionKind::Received as i32],
        ..Default::default()
    };
    disabled(
        client
            .list_my_assignments(authorized(mine, &team.alice.1))
            .await
            .expect_err("x"),
        "ListMyAssignments",
    );
    let theirs = pb::ListTaskAssignmentsRequest {
        task_id: task.id.clone(),
        ..Default::default()
    };
    disabled(
        client
            .list_task_assignments(authorized(theirs, token))
            .await
            .expect_err("x"),
        "ListTaskAssignments",
    );
    disabled(
        client
            .get_my_assignments_summary(authorized(
                pb::GetMyAssignmentsSummaryRequest::default(),
                &team.alice.1,
            ))
            .await
            .expect_err("x"),
        "GetMyAssignmentsSummary",
    );
    disabled(
        client
            .get_task_assignments_summary(authorized(
                pb::GetTaskAssignmentsSummaryRequest {
                    task_id: task.id.clone(),
                },
                token,
            ))
            .await
            .expect_err("x"),
        "GetTaskAssignmentsSummary",
    );
    team.app.stop().await;
}

//! AssignmentService rules: one test per error reason of seed 000, each reached the way a caller
//! would.

use docket::grpc::pb::{self, workspace_service_client::WorkspaceServiceClient};
use pb::create_assignment_request::Recipient;
use tonic::Code;
use uuid::Uuid;

use crate::{
    auth::authorized,
    directory::Directory,
    helpers::{
        database::connect,
        raw::assert_error,
        team::{Team, titled},
    },
};

#[tokio::test(flavor = "multi_thread")]
async fn distribution_kind_undefined_without_received_or_personal() {
    let team = Team::new().await;
    let mut client = team.assignments().await;

    // DISTRIBUTION_KIND_UNDEFINED: none, or DISTRIBUTED.
    for kinds in [vec![], vec![pb::DistributionKind::Distributed as i32]] {
        let request = pb::ListMyAssignmentsRequest {
            distribution_kinds: kinds,
            ..Default::default()
        };
        let status = client
            .list_my_assignments(authorized(request, &team.alice.1))
            .await
            .expect_err("kinds");
        assert_error(
            &status,
            Code::InvalidArgument,
            "DISTRIBUTION_KIND_UNDEFINED",
            "ListMyAssignments",
        );
    }
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn task_not_found_for_anyone_but_the_author() {
    let team = Team::new().await;
    let token = &team.author.1;
    let task = team.distributed(&[team.alice.0]).await;
    let mut client = team.assignments().await;
    let alices = team.task_assignments(&task.id).await[0].id.clone();

    // TASK_NOT_FOUND: someone else's task, or no task at all.
    for (who, task_id) in [
        (&team.alice.1, task.id.clone()),
        (token, Uuid::now_v7().to_string()),
    ] {
        let status = team
            .create_assignment(
                who,
                &task_id,
                Recipient::UserId(team.outsider.0.to_string()),
            )
            .await
            .expect_err("not the author");
        assert_error(
            &status,
            Code::NotFound,
            "TASK_NOT_FOUND",
            "CreateAssignment",
        );
        let request = pb::ListTaskAssignmentsRequest {
            task_id: task_id.clone(),
            ..Default::default()
        };
        let status = client
            .list_task_assignments(authorized(request, who))
            .await
            .expect_err("not the author");
        assert_error(
            &status,
            Code::NotFound,
            "TASK_NOT_FOUND",
            "ListTaskAssignments",
        );
        let request = pb::GetTaskAssignmentsSummaryRequest {
            task_id: task_id.clone(),
        };
        let status = client
            .get_task_assignments_summary(authorized(request, who))
            .await
            .expect_err("not the author");
        assert_error(&status, Code::NotFound, "TASK_NOT_FOUND", "Summary");
    }
    let status = team
        .delete_assignment(&team.alice.1, &alices)
        .await
        .expect_err("recipient deletes");
    assert_error(
        &status,
        Code::NotFound,
        "TASK_NOT_FOUND",
        "DeleteAssignment",
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_user_id_for_unknown_or_deactivated_users_and_nothing_created() {
    let team = Team::new().await;
    let token = &team.author.1;
    let task = team.distributed(&[team.alice.0]).await;
    let mut client = team.assignments().await;

    // UNKNOWN_USER_ID: unknown, or deactivated.
    for user in [Uuid::new_v4(), team.inactive] {
        let status = team
            .create_assignment(token, &task.id, Recipient::UserId(user.to_string()))
            .await
            .expect_err("unknown user");
        assert_error(
            &status,
            Code::NotFound,
            "UNKNOWN_USER_ID",
            "CreateAssignment",
        );
    }
    // One unknown user among 50: nothing is created.
    let mut dir = Directory::new(&team.app, team.admin.clone()).await;
    let mut users = Vec::new();
    for i in 0..49 {
        let id = Uuid::new_v4();
        dir.upsert_user(id, &format!("User{i}"), "Batch", Some(true))
            .await;
        users.push(id.to_string());
    }
    users.push(Uuid::new_v4().to_string());
    let request = pb::BatchCreateAssignmentsRequest {
        task_id: task.id.clone(),
        user_ids: users,
    };
    let status = client
        .batch_create_assignments(authorized(request, token))
        .await
        .expect_err("one unknown");
    assert_error(&status, Code::NotFound, "UNKNOWN_USER_ID", "batch");
    assert_eq!(
        team.task_assignments(&task.id).await.len(),
        1,
        "nothing created"
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_channel_id_for_a_channel_of_no_one() {
    let team = Team::new().await;
    let token = &team.author.1;
    let task = team.distributed(&[team.alice.0]).await;

    // UNKNOWN_CHANNEL_ID.
    let status = team
        .create_assignment(
            token,
            &task.id,
            Recipient::ChannelId(Uuid::new_v4().to_string()),
        )
        .await
        .expect_err("unknown channel");
    assert_error(
        &status,
        Code::NotFound,
        "UNKNOWN_CHANNEL_ID",
        "CreateAssignment",
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn not_admin_of_channel_for_a_plain_member() {
    let team = Team::new().await;

    // NOT_ADMIN_OF_CHANNEL: Alice is a member of the channel, not an admin.
    let alices_task = team
        .create(&team.alice.1, titled("Alice's"))
        .await
        .expect("alice's task");
    let status = team
        .create_assignment(
            &team.alice.1,
            &alices_task.id,
            Recipient::ChannelId(team.channel.to_string()),
        )
        .await
        .expect_err("not admin");
    assert_error(
        &status,
        Code::PermissionDenied,
        "NOT_ADMIN_OF_CHANNEL",
        "channel",
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lower_limit_keeps_the_last_assignment_of_a_distributed_task() {
    let team = Team::new().await;
    let token = &team.author.1;
    let task = team.distributed(&[team.alice.0]).await;
    let mut client = team.assignments().await;
    let alices = team.task_assignments(&task.id).await[0].id.clone();

    // TASK_ASSIGNMENTS_LOWER_LIMIT_VIOLATION: the last assignment of a distributed task stays.
    let status = team
        .delete_assignment(token, &alices)
        .await
        .expect_err("last");
    assert_error(
        &status,
        Code::FailedPrecondition,
        "TASK_ASSIGNMENTS_LOWER_LIMIT_VIOLATION",
        "DeleteAssignment",
    );
    let request = pb::BatchDeleteAssignmentsRequest {
        task_id: task.id.clone(),
        assignment_ids: vec![alices.clone()],
    };
    let status = client
        .batch_delete_assignments(authorized(request, token))
        .await
        .expect_err("all");
    assert_error(
        &status,
        Code::FailedPrecondition,
        "TASK_ASSIGNMENTS_LOWER_LIMIT_VIOLATION",
        "BatchDeleteAssignments",
    );
    assert_eq!(
        team.task_assignments(&task.id).await.len(),
        1,
        "nothing deleted"
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn task_assignment_not_found_for_an_unknown_id() {
    let team = Team::new().await;
    let token = &team.author.1;

    // TASK_ASSIGNMENT_NOT_FOUND.
    let status = team
        .delete_assignment(token, &Uuid::now_v7().to_string())
        .await
        .expect_err("unknown");
    assert_error(
        &status,
        Code::NotFound,
        "TASK_ASSIGNMENT_NOT_FOUND",
        "delete",
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_task_assignment_id_in_a_batch_deletes_nothing() {
    let team = Team::new().await;
    let token = &team.author.1;
    let task = team.distributed(&[team.alice.0]).await;
    let mut client = team.assignments().await;
    let alices = team.task_assignments(&task.id).await[0].id.clone();

    // UNKNOWN_TASK_ASSIGNMENT_ID: another task's assignment in a batch; nothing deleted.
    let other = team.distributed(&[team.alice.0, team.outsider.0]).await;
    let others = team.task_assignments(&other.id).await;
    let request = pb::BatchDeleteAssignmentsRequest {
        task_id: other.id.clone(),
        assignment_ids: vec![others[0].id.clone(), alices.clone()],
    };
    let status = client
        .batch_delete_assignments(authorized(request, token))
        .await
        .expect_err("foreign id");
    assert_error(
        &status,
        Code::NotFound,
        "UNKNOWN_TASK_ASSIGNMENT_ID",
        "BatchDeleteAssignments",
    );
    assert_eq!(
        team.task_assignments(&other.id).await.len(),
        2,
        "nothing deleted"
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_error_for_malformed_requests_and_over_100_users() {
    let team = Team::new().await;
    let token = &team.author.1;
    let task = team.distributed(&[team.alice.0]).await;
    let mut client = team.assignments().await;

    // VALIDATION_ERROR: malformed ids, no recipient, a bad sort or embed.
    let status = client
        .create_assignment(authorized(
            pb::CreateAssignmentRequest {
                task_id: task.id.clone(),
                recipient: None,
            },
            token,
        ))
        .await
        .expect_err("no recipient");
    assert_error(
        &status,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        "no recipient",
    );
    let status = client
        .list_task_assignments(authorized(
            pb::ListTaskAssignmentsRequest {
                task_id: "nope".into(),
                sort: 99,
                embed: vec![7],
                ..Default::default()
            },
            token,
        ))
        .await
        .expect_err("bad list");
    assert_error(
        &status,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        "bad list",
    );
    let status = client
        .batch_delete_assignments(authorized(
            pb::BatchDeleteAssignmentsRequest {
                task_id: task.id.clone(),
                assignment_ids: vec!["nope".into()],
            },
            token,
        ))
        .await
        .expect_err("bad id");
    assert_error(&status, Code::InvalidArgument, "VALIDATION_ERROR", "bad id");

    // VALIDATION_ERROR: more than 100 users.
    let request = pb::BatchCreateAssignmentsRequest {
        task_id: task.id.clone(),
        user_ids: (0..101).map(|_| Uuid::new_v4().to_string()).collect(),
    };
    let status = client
        .batch_create_assignments(authorized(request, token))
        .await
        .expect_err("101");
    assert_error(
        &status,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        "101 users",
    );
    team.app.stop().await;
}

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

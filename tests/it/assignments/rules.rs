//! AssignmentService rules: one test per error reason of seed 000, each reached the way a caller
//! would.

use docket::grpc::pb;
use pb::create_assignment_request::Recipient;
use tonic::Code;
use uuid::Uuid;

use crate::{
    helpers::rpc::Directory,
    helpers::rpc::authorized,
    helpers::{
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

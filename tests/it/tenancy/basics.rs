//! Tenancy: no RPC reaches into another workspace. Every RPC in the protos must have a case here
//! (`every_rpc_has_a_tenancy_case` fails otherwise), so a new RPC cannot skip the check.

use docket::grpc::pb::{
    self, methods::METHOD_SCOPES, workspace_service_client::WorkspaceServiceClient,
};
use tonic::Code;
use uuid::Uuid;

use crate::{
    helpers::rpc::Directory,
    helpers::rpc::authorized,
    helpers::{app::TestApp, database::connect, raw::assert_error, seed},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tenancy {
    /// Takes no resource ids: it acts on the caller's own workspace, which
    /// `workspace_rpcs_only_touch_the_callers_workspace` checks.
    CallersWorkspaceOnly,
    /// Another workspace's ids are not found (or, for upserts, name a new resource of the caller's
    /// own): `directory_ids_of_another_workspace_do_not_exist` and
    /// `tenancy_tasks::task_ids_of_another_workspace_do_not_exist` and
    /// `tenancy_assignments::assignment_ids_of_another_workspace_do_not_exist` check (and, for
    /// scheduled actions and snoozes, `timers::rules::another_workspace_neither_sees_nor_changes_the_actions`
    /// and `timers::snooze::who_may_snooze_and_what_a_snooze_must_hold`; for templates,
    /// `templates::basics::only_the_author_changes_a_template_and_other_workspaces_see_nothing`;
    /// for webhooks, `webhooks::scope::only_admins_of_the_workspace_reach_its_subscriptions`).
    ForeignIdsDoNotExist,
}

const TENANCY: &[(&str, Tenancy)] = &[
    (
        "/docket.v1.AssignmentService/ListMyAssignments",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.AssignmentService/ListTaskAssignments",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.AssignmentService/CreateAssignment",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.AssignmentService/BatchCreateAssignments",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.AssignmentService/DeleteAssignment",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.AssignmentService/BatchDeleteAssignments",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.AssignmentService/FinishAssignment",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.AssignmentService/OpenAssignment",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.AssignmentService/GetMyAssignmentsSummary",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.AssignmentService/GetTaskAssignmentsSummary",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.DirectoryService/UpsertUser",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.DirectoryService/GetUser",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.DirectoryService/ListUsers",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.DirectoryService/DeactivateUser",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.DirectoryService/UpsertChannel",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.DirectoryService/GetChannel",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.DirectoryService/AddChannelMembers",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.DirectoryService/RemoveChannelMembers",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.DirectoryService/ListChannelMembers",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/CreateTask",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/GetTask",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/ListTasks",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/CountTasks",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/DeleteTask",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/StartTask",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/SubmitTaskForReview",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/CompleteTask",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/SkipTask",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/CancelTask",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/ReopenTask",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/ListTaskEvents",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/WatchTasks",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/UpdateTask",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/ReassignTask",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/SnoozeTask",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/UnsnoozeTask",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/ScheduleTaskAction",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/ListScheduledTaskActions",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskService/CancelScheduledTaskAction",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskTemplateService/CreateTaskTemplate",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskTemplateService/GetTaskTemplate",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskTemplateService/ListTaskTemplates",
        Tenancy::CallersWorkspaceOnly,
    ),
    (
        "/docket.v1.TaskTemplateService/UpdateTaskTemplate",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskTemplateService/DeleteTaskTemplate",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskTemplateService/CreateTaskFromTemplate",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskTemplateService/PauseTaskTemplate",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskTemplateService/ResumeTaskTemplate",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskTemplateService/SkipNextOccurrence",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.TaskTemplateService/EndTaskTemplateSeries",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.WebhookService/CreateWebhook",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.WebhookService/GetWebhook",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.WebhookService/ListWebhooks",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.WebhookService/UpdateWebhook",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.WebhookService/DeleteWebhook",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.WebhookService/PauseWebhook",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.WebhookService/ResumeWebhook",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.WebhookService/RotateWebhookSecret",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.WebhookService/TestWebhook",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.WebhookService/ListWebhookDeliveries",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.WebhookService/RedeliverWebhookEvent",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.WebhookService/ReplayWebhook",
        Tenancy::ForeignIdsDoNotExist,
    ),
    (
        "/docket.v1.WorkspaceService/GetWorkspace",
        Tenancy::CallersWorkspaceOnly,
    ),
    (
        "/docket.v1.WorkspaceService/UpdateWorkspaceSettings",
        Tenancy::CallersWorkspaceOnly,
    ),
];

#[test]
fn every_rpc_has_a_tenancy_case() {
    let mut covered: Vec<_> = TENANCY.iter().map(|(path, _)| *path).collect();
    let mut declared: Vec<_> = METHOD_SCOPES.iter().map(|(path, _)| *path).collect();
    covered.sort_unstable();
    declared.sort_unstable();
    assert_eq!(
        covered, declared,
        "add each new RPC's cross-workspace case to TENANCY"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn workspace_rpcs_only_touch_the_callers_workspace() {
    let app = TestApp::spawn().await;
    let (a, _) = seed::workspace(&app.db, "a").await;
    let (b, b_token) = seed::workspace(&app.db, "b").await;
    let mut client = WorkspaceServiceClient::new(app.channel().await);

    let seen = client
        .get_workspace(authorized(pb::GetWorkspaceRequest {}, &b_token))
        .await
        .expect("get");
    let seen = seen.into_inner().workspace.expect("workspace");
    assert_eq!(seen.id, b.id.to_string());
    assert_eq!(seen.name, "b");

    let update = pb::UpdateWorkspaceSettingsRequest {
        settings: Some(pb::WorkspaceSettings {
            assignments_enabled: false,
            ..Default::default()
        }),
        update_mask: None,
    };
    let updated = client
        .update_workspace_settings(authorized(update, &b_token))
        .await
        .expect("update");
    let updated = updated.into_inner().workspace.expect("workspace");
    assert_eq!(updated.id, b.id.to_string());
    assert_eq!(
        updated.settings,
        Some(pb::WorkspaceSettings {
            assignments_enabled: false,
            time_zone: "UTC".into(),
            sla_policies: Vec::new(),
        })
    );

    let a_enabled: bool = connect(&app.db.url())
        .await
        .query_one(
            "SELECT assignments_enabled FROM workspaces WHERE id = $1",
            &[&a.id],
        )
        .await
        .expect("workspace a")
        .get(0);
    assert!(a_enabled, "workspace a must be untouched");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn directory_ids_of_another_workspace_do_not_exist() {
    let app = TestApp::spawn().await;
    let (_, a_token) = seed::workspace(&app.db, "a").await;
    let (_, b_token) = seed::workspace(&app.db, "b").await;
    let mut a = Directory::new(&app, a_token).await;
    let mut b = Directory::new(&app, b_token).await;
    let (user, channel) = (Uuid::new_v4(), Uuid::new_v4());
    a.upsert_user(user, "Ada", "Lovelace", None).await;
    a.upsert_channel(channel, "A's channel").await;
    a.add_members(channel, &[(user, true)])
        .await
        .expect("a's member");

    let (id, ch) = (user.to_string(), channel.to_string());
    let status = b
        .client
        .get_user(authorized(
            pb::GetUserRequest {
                user_id: id.clone(),
            },
            &b.token,
        ))
        .await
        .expect_err("get");
    assert_error(&status, Code::NotFound, "USER_NOT_FOUND", "GetUser");
    let status = b
        .client
        .deactivate_user(authorized(
            pb::DeactivateUserRequest {
                user_id: id.clone(),
            },
            &b.token,
        ))
        .await
        .expect_err("deactivate");
    assert_error(&status, Code::NotFound, "USER_NOT_FOUND", "DeactivateUser");
    assert!(
        b.list_users(true, "", 0).await.expect("list").is_empty(),
        "ListUsers"
    );
    let status = b
        .client
        .get_channel(authorized(
            pb::GetChannelRequest {
                channel_id: ch.clone(),
            },
            &b.token,
        ))
        .await
        .expect_err("get");
    assert_error(&status, Code::NotFound, "CHANNEL_NOT_FOUND", "GetChannel");
    let status = b
        .add_members(channel, &[(user, false)])
        .await
        .expect_err("add");
    assert_error(
        &status,
        Code::NotFound,
        "CHANNEL_NOT_FOUND",
        "AddChannelMembers",
    );
    let remove = pb::RemoveChannelMembersRequest {
        channel_id: ch.clone(),
        user_ids: vec![id.clone()],
    };
    let status = b
        .client
        .remove_channel_members(authorized(remove, &b.token))
        .await
        .expect_err("remove");
    assert_error(
        &status,
        Code::NotFound,
        "CHANNEL_NOT_FOUND",
        "RemoveChannelMembers",
    );
    let status = b.members(channel, "", 0).await.expect_err("members");
    assert_error(
        &status,
        Code::NotFound,
        "CHANNEL_NOT_FOUND",
        "ListChannelMembers",
    );

    // Upserting A's ids from B creates B's own user and channel; A's stay as they were.
    assert!(
        b.upsert_user(user, "Mallory", "Evil", Some(false))
            .await
            .created,
        "UpsertUser"
    );
    assert!(
        b.upsert_channel(channel, "B's channel").await.created,
        "UpsertChannel"
    );
    let status = b
        .add_members(channel, &[(Uuid::new_v4(), false)])
        .await
        .expect_err("unknown user");
    assert_error(
        &status,
        Code::NotFound,
        "UNKNOWN_USER_ID",
        "AddChannelMembers, foreign user",
    );

    let a_user = a
        .client
        .get_user(authorized(pb::GetUserRequest { user_id: id }, &a.token))
        .await
        .expect("a's user");
    let a_user = a_user.into_inner().user.expect("user");
    assert_eq!((a_user.first_name.as_str(), a_user.active), ("Ada", true));
    let a_members = a.members(channel, "", 0).await.expect("a's members");
    assert_eq!(a_members.len(), 1);
    let a_channel = a
        .client
        .get_channel(authorized(
            pb::GetChannelRequest { channel_id: ch },
            &a.token,
        ))
        .await
        .expect("a's channel");
    assert_eq!(
        a_channel.into_inner().channel.expect("channel").name,
        "A's channel"
    );
    app.stop().await;
}

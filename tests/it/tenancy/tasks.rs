//! Tenancy for tasks: another workspace's task ids do not exist for any TaskService RPC, reads
//! and writes alike, and nothing of the other workspace changes.

use docket::grpc::pb;
use tonic::Code;

use crate::{
    helpers::rpc::authorized,
    helpers::{
        database::connect,
        raw::{assert_error, call},
        seed,
    },
};

#[tokio::test(flavor = "multi_thread")]
async fn task_ids_of_another_workspace_do_not_exist() {
    let team = crate::helpers::team::Team::new().await;
    let request = pb::CreateTaskRequest {
        recipient_user_ids: vec![team.alice.0.to_string()],
        ..crate::helpers::team::titled("A's task")
    };
    let task = team
        .create(&team.author.1, request)
        .await
        .expect("a's task");
    let (_, b_token) = seed::workspace(&team.app.db, "b").await;
    let b_task = team
        .create(&b_token, crate::helpers::team::titled("B's task"))
        .await
        .expect("b's task");

    // B's admin sees the whole of workspace B, and nothing of A, whatever the filters name.
    let mut client = team.client().await;
    for filters in [
        pb::ListTasksRequest::default(),
        pb::ListTasksRequest {
            assignee_user_ids: vec![team.alice.0.to_string()],
            ..Default::default()
        },
        pb::ListTasksRequest {
            query: task.number.to_string(),
            ..Default::default()
        },
    ] {
        let listed = client
            .list_tasks(authorized(filters.clone(), &b_token))
            .await
            .expect("ListTasks");
        let ids: Vec<String> = crate::helpers::rpc::drain(listed.into_inner())
            .await
            .expect("stream")
            .into_iter()
            .filter_map(|item| item.task.map(|t| t.id))
            .collect();
        let expected = if filters.assignee_user_ids.is_empty() {
            vec![b_task.id.clone()]
        } else {
            vec![]
        };
        assert_eq!(ids, expected, "ListTasks {filters:?}");
        let count = client
            .count_tasks(authorized(
                pb::CountTasksRequest {
                    assignee_user_ids: filters.assignee_user_ids.clone(),
                    query: filters.query.clone(),
                    ..Default::default()
                },
                &b_token,
            ))
            .await
            .expect("CountTasks")
            .into_inner()
            .count;
        assert_eq!(count, expected.len() as i64, "CountTasks {filters:?}");
    }

    let status = team.get(&b_token, &task.id).await.expect_err("GetTask");
    assert_error(&status, Code::NotFound, "TASK_NOT_FOUND", "GetTask");
    let status = client
        .list_task_events(authorized(
            pb::ListTaskEventsRequest {
                task_id: task.id.clone(),
                ..Default::default()
            },
            &b_token,
        ))
        .await
        .expect_err("ListTaskEvents");
    assert_error(&status, Code::NotFound, "TASK_NOT_FOUND", "ListTaskEvents");
    let status = client
        .delete_task(authorized(
            pb::DeleteTaskRequest {
                task_id: task.id.clone(),
            },
            &b_token,
        ))
        .await
        .expect_err("DeleteTask");
    assert_error(&status, Code::NotFound, "TASK_NOT_FOUND", "DeleteTask");
    // Every lifecycle request has task_id as field 1, so one encoded message serves them all (and
    // UnsnoozeTask's and ListScheduledTaskActions', which need nothing else).
    let by_id = prost::Message::encode_to_vec(&pb::StartTaskRequest {
        task_id: task.id.clone(),
        body_formats: vec![],
    });
    for rpc in [
        "StartTask",
        "SubmitTaskForReview",
        "CompleteTask",
        "SkipTask",
        "CancelTask",
        "ReopenTask",
        "UnsnoozeTask",
        "ListScheduledTaskActions",
    ] {
        let path = format!("/docket.v1.TaskService/{rpc}");
        let status = call(
            team.app.channel().await,
            &path,
            Some(&b_token),
            by_id.clone(),
        )
        .await
        .expect_err(rpc);
        assert_error(&status, Code::NotFound, "TASK_NOT_FOUND", rpc);
    }
    let rename = pb::UpdateTaskRequest {
        task_id: task.id.clone(),
        task: Some(pb::TaskPatch {
            title: "B was here".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into()],
        }),
        ..Default::default()
    };
    let takeover = pb::ReassignTaskRequest {
        task_id: task.id.clone(),
        assignee_user_id: team.alice.0.to_string(),
        ..Default::default()
    };
    let status = client
        .reassign_task(authorized(takeover, &b_token))
        .await
        .expect_err("ReassignTask");
    assert_error(&status, Code::NotFound, "TASK_NOT_FOUND", "ReassignTask");
    let status = client
        .update_task(authorized(rename, &b_token))
        .await
        .expect_err("UpdateTask");
    assert_error(&status, Code::NotFound, "TASK_NOT_FOUND", "UpdateTask");
    let untouched = team
        .get(&team.author.1, &task.id)
        .await
        .expect("A's task is untouched");
    assert_eq!(untouched.etag, task.etag);
    let events: Vec<String> = connect(&team.app.db.url())
        .await
        .query(
            "SELECT kind FROM task_events WHERE task_id = $1::text::uuid",
            &[&task.id],
        )
        .await
        .expect("events")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        events,
        ["TASK_CREATED"],
        "B's refused writes recorded nothing"
    );

    let to_a_user = pb::CreateTaskRequest {
        recipient_user_ids: vec![team.alice.0.to_string()],
        ..crate::helpers::team::titled("x")
    };
    let status = team
        .create(&b_token, to_a_user)
        .await
        .expect_err("CreateTask, A's user");
    assert_error(
        &status,
        Code::NotFound,
        "UNKNOWN_USER_ID",
        "CreateTask, A's user",
    );
    let to_a_channel = pb::CreateTaskRequest {
        recipient_channel_ids: vec![team.channel.to_string()],
        ..crate::helpers::team::titled("x")
    };
    let status = team
        .create(&b_token, to_a_channel)
        .await
        .expect_err("CreateTask, A's channel");
    assert_error(
        &status,
        Code::NotFound,
        "UNKNOWN_CHANNEL_ID",
        "CreateTask, A's channel",
    );
    team.app.stop().await;
}

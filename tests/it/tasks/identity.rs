//! What identifies a task and keeps it once: a create's request id (a retried create makes one
//! task), its number (one per create, however many run at once), its external id (unique in its
//! workspace), and deleting it (only its author, its assignments with it).

use crate::{
    helpers::rpc::authorized,
    helpers::{
        raw::assert_error,
        seed,
        team::{Team, titled},
    },
};
use docket::grpc::pb;
use futures_util::future::join_all;
use tonic::Code;

#[tokio::test(flavor = "multi_thread")]
async fn a_request_id_makes_creates_safe_to_retry() {
    let team = Team::new().await;
    let request = pb::CreateTaskRequest {
        request_id: "create-42".into(),
        recipient_user_ids: vec![team.alice.0.to_string()],
        ..titled("Once")
    };
    let first = team
        .create(&team.author.1, request.clone())
        .await
        .expect("first");
    let retry = pb::CreateTaskRequest {
        body_formats: vec![pb::BodyFormat::Plain as i32],
        ..request.clone()
    };
    let second = team.create(&team.author.1, retry).await.expect("retry");
    assert_eq!(second.id, first.id);
    assert_eq!(second.number, first.number);

    let changed = pb::CreateTaskRequest {
        title: "Twice?".into(),
        ..request.clone()
    };
    let status = team
        .create(&team.author.1, changed)
        .await
        .expect_err("reused");
    assert_error(
        &status,
        Code::AlreadyExists,
        "REQUEST_ID_REUSED",
        "another payload",
    );

    // Concurrent retries of one request create one task.
    let racing = pb::CreateTaskRequest {
        request_id: "race".into(),
        ..titled("Raced")
    };
    let results = join_all((0..20).map(|_| team.create(&team.author.1, racing.clone()))).await;
    let ids: std::collections::HashSet<String> =
        results.into_iter().map(|r| r.expect("create").id).collect();
    assert_eq!(ids.len(), 1);
    // Another caller's request ids are their own.
    let other = team
        .create(
            &team.alice.1,
            pb::CreateTaskRequest {
                request_id: "create-42".into(),
                ..titled("Alice's")
            },
        )
        .await
        .expect("other caller");
    assert_ne!(other.id, first.id);
    assert_eq!(team.count("tasks").await, 3);
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_concurrent_creates_get_two_hundred_numbers() {
    let team = Team::new().await;
    let results =
        join_all((0..200).map(|i| team.create(&team.author.1, titled(&format!("task {i}"))))).await;
    let mut numbers: Vec<i64> = results
        .into_iter()
        .map(|r| r.expect("create").number)
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), 200);
    assert!(numbers.iter().all(|n| *n >= 1));
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn external_ids_are_unique_per_workspace() {
    let team = Team::new().await;
    let request = pb::CreateTaskRequest {
        external_id: "crm-7".into(),
        ..titled("Synced")
    };
    team.create(&team.author.1, request.clone())
        .await
        .expect("first");
    let status = team
        .create(&team.author.1, request.clone())
        .await
        .expect_err("duplicate");
    assert_error(
        &status,
        Code::AlreadyExists,
        "EXTERNAL_ID_TAKEN",
        "duplicate external_id",
    );
    let (_, other_admin) = seed::workspace(&team.app.db, "other").await;
    team.create(&other_admin, request)
        .await
        .expect("another workspace may use it");
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_author_deletes_and_assignments_go_with_the_task() {
    let team = Team::new().await;
    let request = pb::CreateTaskRequest {
        recipient_user_ids: vec![team.alice.0.to_string()],
        ..titled("Doomed")
    };
    let task = team.create(&team.author.1, request).await.expect("create");
    let mut client = team.client().await;
    for (who, token) in [("recipient", &team.alice.1), ("outsider", &team.outsider.1)] {
        let status = client
            .delete_task(authorized(
                pb::DeleteTaskRequest {
                    task_id: task.id.clone(),
                },
                token,
            ))
            .await
            .expect_err(who);
        assert_error(&status, Code::NotFound, "TASK_NOT_FOUND", who);
    }
    client
        .delete_task(authorized(
            pb::DeleteTaskRequest {
                task_id: task.id.clone(),
            },
            &team.author.1,
        ))
        .await
        .expect("author deletes");
    let status = team.get(&team.author.1, &task.id).await.expect_err("gone");
    assert_error(&status, Code::NotFound, "TASK_NOT_FOUND", "after delete");
    assert_eq!(
        (team.count("tasks").await, team.count("assignments").await),
        (0, 0)
    );
    team.app.stop().await;
}

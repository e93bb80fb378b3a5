//! Whom an event concerns and how often it is recorded: the audience of a change that takes a task
//! from someone, an assignment's events (its author's and its recipient's only), and one
//! TASK_CREATED however often a create is retried.

use std::time::Duration;

use docket::grpc::pb::{self, TaskEventKind as Kind};

use crate::{
    helpers::history::{history, req},
    helpers::watch::{events, from, quiet, start_now, watch},
    helpers::{
        database::connect,
        team::{Team, titled},
    },
};

#[tokio::test(flavor = "multi_thread")]
async fn an_event_names_whom_the_change_concerns() {
    let team = Team::new().await;
    let task = team.distributed(&[team.alice.0]).await;
    let mut tasks = team.client().await;
    tasks
        .reassign_task(crate::helpers::rpc::authorized(
            pb::ReassignTaskRequest {
                task_id: task.id.clone(),
                assignee_user_id: team.bob.to_string(),
                ..Default::default()
            },
            &team.author.1,
        ))
        .await
        .expect("reassign");
    let db = connect(&team.app.db.url()).await;
    let rows = db
        .query(
            "SELECT kind, audience FROM task_events WHERE task_id = $1::text::uuid \
             ORDER BY position",
            &[&task.id],
        )
        .await
        .expect("events");
    let audiences: Vec<(String, Vec<String>)> = rows
        .iter()
        .map(|r| {
            let mut audience: Vec<String> = r.get(1);
            audience.sort();
            audience.dedup();
            (r.get(0), audience)
        })
        .collect();
    let key = |user: uuid::Uuid| format!("USER:{user}");
    let sorted = |mut keys: Vec<String>| {
        keys.sort();
        keys
    };
    assert_eq!(
        audiences,
        [
            (
                "TASK_CREATED".to_owned(),
                sorted(vec![key(team.author.0), key(team.alice.0)])
            ),
            (
                "TASK_REASSIGNED".to_owned(),
                // Alice, whom the task just left, learns of it too.
                sorted(vec![key(team.author.0), key(team.alice.0), key(team.bob)])
            ),
        ]
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_records_one_event_however_often_it_is_retried() {
    let team = Team::new().await;
    let mut tasks = team.client().await;
    let retried = pb::CreateTaskRequest {
        request_id: "create-once".into(),
        ..titled("Retried")
    };
    let mut ids = Vec::new();
    for attempt in ["first", "retry"] {
        let task = tasks
            .create_task(req(retried.clone(), &team.author.1, attempt))
            .await
            .expect(attempt)
            .into_inner()
            .task
            .expect("task");
        ids.push(task.id);
    }
    assert_eq!(ids[0], ids[1], "the retry answers with the first task");
    // A personal task without a request id takes the shared one-statement path.
    let personal = team
        .create(&team.author.1, titled("Personal"))
        .await
        .expect("personal");
    for (id, want) in [(&ids[0], "first"), (&personal.id, "")] {
        let events = history(&team, &team.author.1, id, "", 1)
            .await
            .expect("history");
        let events: Vec<(Kind, String)> = events
            .into_iter()
            .filter_map(|item| item.event)
            .map(|event| (event.kind(), event.request_id))
            .collect();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].0, Kind::TaskCreated);
        if !want.is_empty() {
            assert_eq!(events[0].1, want);
        } else {
            assert!(!events[0].1.is_empty(), "a generated request id");
        }
    }
    team.app.stop().await;
}

/// An assignment's events concern the task's author and that assignment's recipient: another
/// recipient neither watches nor reads them, as ListTaskAssignments keeps a task's assignments
/// from everyone but its author.
#[tokio::test(flavor = "multi_thread")]
async fn an_assignments_events_concern_its_author_and_its_recipient_only() {
    let team = Team::new().await;
    let task = team.distributed(&[team.alice.0]).await;
    let mut alice = watch(team.app.channel().await, &team.alice.1, from(""))
        .await
        .expect("alice watches");
    start_now(&mut alice).await;
    let mut outsider = watch(team.app.channel().await, &team.outsider.1, from(""))
        .await
        .expect("the outsider watches");
    start_now(&mut outsider).await;
    let request = pb::BatchCreateAssignmentsRequest {
        task_id: task.id.clone(),
        user_ids: vec![team.outsider.0.to_string()],
    };
    team.assignments()
        .await
        .batch_create_assignments(crate::helpers::rpc::authorized(request, &team.author.1))
        .await
        .expect("assign the outsider");
    let (event, _) = events(&mut outsider, 1).await.expect("their own").remove(0);
    assert_eq!(event.kind(), Kind::AssignmentCreated);
    quiet(&mut alice, Duration::from_millis(800)).await;

    let kinds = |items: Vec<pb::ListTaskEventsResponse>| -> Vec<Kind> {
        items
            .into_iter()
            .filter_map(|i| i.event)
            .map(|e| e.kind())
            .collect()
    };
    let by_author = history(&team, &team.author.1, &task.id, "", 2)
        .await
        .expect("the author's history");
    assert_eq!(
        kinds(by_author),
        [Kind::TaskCreated, Kind::AssignmentCreated]
    );
    let by_alice = history(&team, &team.alice.1, &task.id, "", 1)
        .await
        .expect("alice's history");
    assert_eq!(kinds(by_alice), [Kind::TaskCreated]);
    let by_outsider = history(&team, &team.outsider.1, &task.id, "", 2)
        .await
        .expect("the outsider's history");
    assert_eq!(
        kinds(by_outsider),
        [Kind::TaskCreated, Kind::AssignmentCreated]
    );
    team.app.stop().await;
}

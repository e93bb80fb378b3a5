//! Whom an event concerns and how often it is recorded: the audience of a change that takes a task
//! from someone, and one TASK_CREATED however often a create is retried.

use docket::grpc::pb::{self, TaskEventKind as Kind};

use crate::{
    helpers::{
        database::connect,
        team::{Team, titled},
    },
    task_events::{history, req},
};

#[tokio::test(flavor = "multi_thread")]
async fn an_event_names_whom_the_change_concerns() {
    let team = Team::new().await;
    let task = team.distributed(&[team.alice.0]).await;
    let mut tasks = team.client().await;
    tasks
        .reassign_task(crate::auth::authorized(
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

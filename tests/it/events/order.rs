//! The change feed in commit order: a transaction that waits on a lock while another commits is
//! placed after it, in the task's history and in every watch; and under concurrent writers on
//! three server processes, one of them killed with SIGKILL mid-load, every task's events replay
//! to the task as it is, and a workspace's positions count 1, 2, 3, ... with no gap.

use std::{collections::BTreeSet, time::Duration};

use docket::grpc::pb::{self, TaskEventKind as Kind, task_service_client::TaskServiceClient};
use nix::sys::signal::Signal;
use prost_types::value::Kind as Value;
use rand::{Rng, SeedableRng, rngs::StdRng};
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::{
    helpers::rpc::authorized,
    helpers::watch::{events, from, watch},
    helpers::{
        app::channel,
        database::connect,
        process::DocketProcess,
        team::{Team, reassign, titled},
    },
};

/// The task's history, oldest first.
async fn history(channel: &Channel, token: &str, task: &str) -> Vec<pb::TaskEvent> {
    let request = pb::ListTaskEventsRequest {
        task_id: task.into(),
        ..Default::default()
    };
    let mut stream = TaskServiceClient::new(channel.clone())
        .list_task_events(authorized(request, token))
        .await
        .expect("history")
        .into_inner();
    let mut events = Vec::new();
    while let Some(message) = stream.next().await {
        events.push(message.expect("event").event.expect("an event"));
    }
    events
}

/// The task's recipients now, as the events name them.
async fn recipients(team: &Team, task: &str) -> BTreeSet<String> {
    let now = team.recipients(task).await;
    now.iter().map(Uuid::to_string).collect()
}

fn assignee(event: &pb::TaskEvent) -> String {
    let details = event.details.as_ref().expect("details");
    string(details, "assignee")
}

/// Waits until a backend of the test database waits on a lock (the call that must block).
async fn until_one_waits_on_a_lock(team: &Team) {
    let db = connect(&team.app.db.url()).await;
    for _ in 0..200 {
        let waiting: i64 = db
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .expect("activity")
            .get(0);
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the sequence reassignment never waited on the lock");
}

/// Three open tasks of one sequence, assigned to Alice, in the order their ids sort (the order a
/// sequence reassignment locks them in).
async fn sequence_of_three(team: &Team) -> Vec<pb::Task> {
    let sequence = Uuid::new_v4();
    let mut tasks = Vec::new();
    for n in 0..3 {
        let request = pb::CreateTaskRequest {
            sequence_id: sequence.to_string(),
            recipient_user_ids: vec![team.alice.0.to_string()],
            ..titled(&format!("Step {n}"))
        };
        tasks.push(team.create(&team.author.1, request).await.expect("create"));
    }
    tasks.sort_by(|a, b| a.id.cmp(&b.id));
    tasks
}

/// The case: a SEQUENCE reassignment (to Cy) locks its first task, then waits for a lock
/// held elsewhere; meanwhile a single-task reassignment (to Dee) of a later task of the sequence
/// commits. The sequence reassignment applies last, so its event must come last.
#[tokio::test(flavor = "multi_thread")]
async fn a_reassignment_that_waits_on_a_lock_comes_after_what_committed_meanwhile() {
    let team = Team::new().await;
    let (cy, dee) = (team.bob, team.outsider.0);
    let channel = team.app.channel().await;
    let tasks = sequence_of_three(&team).await;
    let (first, held, later) = (&tasks[0], &tasks[1], &tasks[2]);
    let mut watcher = watch(
        channel.clone(),
        &team.admin,
        pb::WatchTasksRequest {
            task_ids: vec![later.id.clone()],
            kinds: vec![Kind::TaskReassigned as i32],
            scope: pb::WatchScope::Workspace as i32,
            ..from("")
        },
    )
    .await
    .expect("watch");

    let holder = connect(&team.app.db.url()).await;
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM tasks WHERE id = '{}' FOR UPDATE",
            held.id
        ))
        .await
        .expect("hold the middle task");
    let sequence = tokio::spawn({
        let (channel, token, id) = (channel.clone(), team.author.1.clone(), first.id.clone());
        async move { reassign(&channel, &token, &id, cy, pb::ReassignScope::Sequence).await }
    });
    until_one_waits_on_a_lock(&team).await;
    reassign(
        &channel,
        &team.author.1,
        &later.id,
        dee,
        pb::ReassignScope::Task,
    )
    .await
    .expect("the single reassignment commits meanwhile");
    holder.batch_execute("COMMIT").await.expect("release");
    let changed = sequence.await.expect("task").expect("sequence reassigned");
    assert_eq!(changed.len(), 3);

    assert_eq!(
        recipients(&team, &later.id).await,
        BTreeSet::from([cy.to_string()]),
        "the sequence reassignment applied last"
    );
    let reassigned: Vec<pb::TaskEvent> = history(&channel, &team.author.1, &later.id)
        .await
        .into_iter()
        .filter(|e| e.kind() == Kind::TaskReassigned)
        .collect();
    let order: Vec<String> = reassigned.iter().map(assignee).collect();
    assert_eq!(
        order,
        [dee.to_string(), cy.to_string()],
        "the history ends as the task is"
    );
    let watched = events(&mut watcher, 2).await.expect("watched");
    let order: Vec<String> = watched.iter().map(|(e, _)| assignee(e)).collect();
    assert_eq!(order, [dee.to_string(), cy.to_string()], "a watcher too");
    assert!(watched[0].1 < watched[1].1);
    team.app.stop().await;
}

/// What one task's history says it is now, replayed from its events, checking on the way that
/// each event starts from what the one before left.
fn replay(task: &pb::Task, alice: Uuid, events: &[pb::TaskEvent]) -> (String, BTreeSet<String>) {
    let mut title = task.title.clone();
    let mut recipients = BTreeSet::from([alice.to_string()]);
    for event in events {
        let details = event.details.as_ref().expect("details");
        match event.kind() {
            Kind::TaskCreated => {}
            Kind::TaskUpdated => {
                let change = object(object(details, "fields"), "title");
                assert_eq!(
                    string(change, "old"),
                    title,
                    "an update out of order in {}: {events:#?}",
                    task.id
                );
                title = string(change, "new");
            }
            Kind::TaskReassigned => {
                let to = assignee(event);
                let removed: BTreeSet<String> = match &details.fields["removed"].kind {
                    Some(Value::ListValue(list)) => list
                        .values
                        .iter()
                        .map(|v| match &v.kind {
                            Some(Value::StringValue(user)) => user.clone(),
                            other => panic!("removed: {other:?}"),
                        })
                        .collect(),
                    other => panic!("removed: {other:?}"),
                };
                let mut expected = recipients.clone();
                expected.remove(&to);
                assert_eq!(
                    removed, expected,
                    "a reassignment out of order in {}: {events:#?}",
                    task.id
                );
                recipients = BTreeSet::from([to]);
            }
            other => panic!("unexpected {other:?} in {}", task.id),
        }
    }
    (title, recipients)
}

fn object<'a>(value: &'a prost_types::Struct, name: &str) -> &'a prost_types::Struct {
    match value.fields.get(name).and_then(|v| v.kind.as_ref()) {
        Some(Value::StructValue(inner)) => inner,
        other => panic!("{name}: {other:?}"),
    }
}

fn string(value: &prost_types::Struct, name: &str) -> String {
    match value.fields.get(name).and_then(|v| v.kind.as_ref()) {
        Some(Value::StringValue(text)) => text.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

/// Concurrent writers through three server processes, one of them killed mid-load: title
/// updates, single reassignments and sequence reassignments of one sequence's tasks, interleaved
/// as they come. Every task's history must replay (each change starting from what the change
/// before left) to the task as it is, and a watcher of the whole workspace must have received
/// positions 1, 2, 3, ... with no gap and nothing twice.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_on_three_servers_feed_each_task_in_the_order_it_changed() {
    let team = Team::new().await;
    let url = team.app.db.url();
    let envs = [("DATABASE_URL", url.as_str())];
    let mut servers = Vec::new();
    for _ in 0..3 {
        let server = DocketProcess::start(&envs).await;
        server.wait_until_serving().await;
        servers.push(server);
    }
    let channels = [
        channel(servers[0].addr).await,
        channel(servers[1].addr).await,
        channel(servers[2].addr).await,
    ];
    let tasks = sequence_of_three(&team).await;
    let mut watcher = watch(
        channels[1].clone(),
        &team.admin,
        pb::WatchTasksRequest {
            scope: pb::WatchScope::Workspace as i32,
            ..from(&format!("{:032x}", 0))
        },
    )
    .await
    .expect("watch from the start");
    let people = [team.alice.0, team.bob, team.outsider.0];
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..12_u64 {
        let (channels, tasks, token) = (channels.clone(), tasks.clone(), team.author.1.clone());
        writers.spawn(async move {
            let mut rng = StdRng::seed_from_u64(w);
            for n in 0..25 {
                // Writer 0 writes through the server that is killed; the others avoid it.
                let channel = &channels[if w == 0 { 0 } else { 1 + (w as usize + n) % 2 }];
                let task = &tasks[rng.random_range(0..tasks.len())];
                let to = people[rng.random_range(0..people.len())];
                let _ = match rng.random_range(0..3) {
                    0 => {
                        let request = pb::UpdateTaskRequest {
                            task_id: task.id.clone(),
                            task: Some(pb::TaskPatch {
                                title: format!("Title {w}-{n}"),
                                ..Default::default()
                            }),
                            update_mask: Some(prost_types::FieldMask {
                                paths: vec!["title".into()],
                            }),
                            ..Default::default()
                        };
                        TaskServiceClient::new(channel.clone())
                            .update_task(authorized(request, &token))
                            .await
                            .map(|_| ())
                    }
                    1 => reassign(channel, &token, &task.id, to, pb::ReassignScope::Task)
                        .await
                        .map(|_| ()),
                    _ => reassign(channel, &token, &task.id, to, pb::ReassignScope::Sequence)
                        .await
                        .map(|_| ()),
                };
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    servers[0].signal(Signal::SIGKILL);
    while let Some(done) = writers.join_next().await {
        done.expect("writer");
    }

    let mut logged = 0;
    for task in &tasks {
        let events = history(&channels[2], &team.author.1, &task.id).await;
        let (title, assigned) = replay(task, team.alice.0, &events);
        let now = team.get(&team.author.1, &task.id).await.expect("task");
        assert_eq!(title, now.title, "{} ends as its history says", task.id);
        assert_eq!(assigned, recipients(&team, &task.id).await, "{}", task.id);
        logged += events.len();
    }
    let watched = events(&mut watcher, logged).await.expect("every event");
    for (n, (_, position)) in watched.iter().enumerate() {
        assert_eq!(
            *position,
            format!("{:032x}", n + 1),
            "no gap, nothing twice"
        );
    }
    team.app.stop().await;
}

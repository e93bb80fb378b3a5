//! WatchTasks across servers and tenants: three servers on one database, another workspace, a
//! listing's watch position, and the limit of open streams.

use std::time::Duration;

use docket::grpc::pb::{self, TaskEventKind as Kind, task_service_client::TaskServiceClient};
use tokio_stream::StreamExt;
use tonic::Code;

use crate::{
    helpers::rpc::authorized,
    helpers::watch::{PATIENCE, events, from, kinds, quiet, start, start_now, watch},
    helpers::{
        app::Replica,
        raw::assert_error,
        team::{Team, titled},
    },
};

#[tokio::test(flavor = "multi_thread")]
async fn watchers_on_three_servers_each_see_every_event_once() {
    let team = Team::new().await;
    let (second, third) = (
        Replica::start(team.app.db.url()).await,
        Replica::start(team.app.db.url()).await,
    );
    let (second, third) = (second.channel().await, third.channel().await);
    let mut streams = Vec::new();
    for channel in [team.app.channel().await, second.clone(), third] {
        for _ in 0..3 {
            let mut stream = watch(channel.clone(), &team.author.1, from(""))
                .await
                .expect("watch");
            start_now(&mut stream).await;
            streams.push(stream);
        }
    }
    // Writes through two of the servers.
    let mut ids = Vec::new();
    for (n, channel) in [team.app.channel().await, second]
        .into_iter()
        .cycle()
        .take(6)
        .enumerate()
    {
        let task = TaskServiceClient::new(channel)
            .create_task(authorized(titled(&format!("Task {n}")), &team.author.1))
            .await
            .expect("create")
            .into_inner()
            .task
            .expect("task");
        ids.push(task.id);
    }
    for stream in &mut streams {
        let got = events(stream, ids.len()).await.expect("events");
        let mut seen: Vec<String> = got.into_iter().map(|(e, _)| e.task_id).collect();
        seen.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(seen, want, "every event once");
        quiet(stream, Duration::from_millis(200)).await;
    }
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_workspace_never_sees_an_event() {
    let team = Team::new().await;
    let (_, b_admin) = crate::helpers::seed::workspace(&team.app.db, "b").await;
    let task = team.distributed(&[team.alice.0]).await;
    let everything_of = |task_ids: Vec<String>| pb::WatchTasksRequest {
        task_ids,
        scope: pb::WatchScope::Workspace as i32,
        ..Default::default()
    };
    let mut theirs = watch(
        team.app.channel().await,
        &b_admin,
        everything_of(vec![task.id.clone()]),
    )
    .await
    .expect("B's admin watches A's task id");
    let mut ours = watch(
        team.app.channel().await,
        &team.admin,
        everything_of(vec![task.id.clone()]),
    )
    .await
    .expect("A's admin watches it");
    start_now(&mut theirs).await;
    start_now(&mut ours).await;
    start(&team, &task.id, &team.alice.1).await;
    let seen = events(&mut ours, 1).await.expect("A's event");
    assert_eq!(kinds(&seen), [Kind::TaskStarted]);
    quiet(&mut theirs, Duration::from_millis(500)).await;
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_hands_out_the_position_to_watch_from() {
    let team = Team::new().await;
    let task = team
        .create(&team.author.1, titled("Listed"))
        .await
        .expect("create");
    let listed = team
        .client()
        .await
        .list_tasks(authorized(pb::ListTasksRequest::default(), &team.author.1))
        .await
        .expect("list")
        .into_inner();
    let listed = crate::helpers::rpc::drain(listed).await.expect("stream");
    assert_eq!(listed.len(), 1);
    let position = listed[0].watch_position.clone();
    assert_eq!(position.len(), 32, "a position: {position:?}");

    // A change after the listing comes through a watch from its position.
    start(&team, &task.id, &team.author.1).await;
    let mut stream = watch(team.app.channel().await, &team.author.1, from(&position))
        .await
        .expect("watch");
    let got = events(&mut stream, 1).await.expect("events");
    let got = if got[0].0.kind() == Kind::TaskCreated {
        // Committed before the listing, but above the line it read (a transaction elsewhere
        // was still running): sent again, which a client applies as a no-op.
        events(&mut stream, 1).await.expect("events")
    } else {
        got
    };
    assert_eq!(got[0].0.kind(), Kind::TaskStarted);
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn watches_count_toward_the_open_streams_limit() {
    let team = Team::with_config(|config| config.connections.max_open_streams = 1).await;
    let mut first = watch(team.app.channel().await, &team.author.1, from(""))
        .await
        .expect("the first watch");
    start_now(&mut first).await;
    let refused = match watch(team.app.channel().await, &team.author.1, from("")).await {
        Err(status) => status,
        Ok(mut stream) => stream
            .next()
            .await
            .expect("an answer")
            .expect_err("refused"),
    };
    assert_error(
        &refused,
        Code::ResourceExhausted,
        "OVERLOADED",
        "WatchTasks",
    );
    drop(first);
    // Its place is free once it ends.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match watch(team.app.channel().await, &team.author.1, from("")).await {
            Ok(mut stream) => {
                start_now(&mut stream).await;
                break;
            }
            Err(status) if tokio::time::Instant::now() < deadline => {
                assert_eq!(status.code(), Code::ResourceExhausted);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("still refused: {status:?}"),
        }
    }
    team.app.stop().await;
}

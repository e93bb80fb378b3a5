//! WatchTasks: every later event the caller may see, in commit order, resumable with no gap and
//! no duplicate; progress messages for idle watchers; filters and visibility; several servers on
//! one database; a watcher cut off for falling behind, and resumed; an expired position.

use std::time::Duration;

use docket::{
    Application,
    grpc::pb::{self, TaskEventKind as Kind, task_service_client::TaskServiceClient},
};
use tokio::sync::oneshot;
use tokio_stream::StreamExt;
use tonic::{Code, Streaming, transport::Channel};

use crate::{
    auth::authorized,
    helpers::{
        app::{channel, test_config},
        database::connect,
        raw::assert_error,
        team::{Team, titled},
    },
};

/// How long a test waits for a message it expects.
const PATIENCE: Duration = Duration::from_secs(20);

async fn watch(
    channel: Channel,
    token: &str,
    request: pb::WatchTasksRequest,
) -> Result<Streaming<pb::WatchTasksResponse>, tonic::Status> {
    Ok(TaskServiceClient::new(channel)
        .watch_tasks(authorized(request, token))
        .await?
        .into_inner())
}

/// The next `n` events (progress messages skipped), each with the position after it.
async fn events(
    stream: &mut Streaming<pb::WatchTasksResponse>,
    n: usize,
) -> Result<Vec<(pb::TaskEvent, String)>, tonic::Status> {
    let mut got = Vec::new();
    while got.len() < n {
        let message = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events came: {got:?}", got.len()))
            .expect("the stream goes on")?;
        if let Some(event) = message.event {
            got.push((event, message.position));
        }
    }
    Ok(got)
}

/// Nothing but progress messages for `wait`.
async fn quiet(stream: &mut Streaming<pb::WatchTasksResponse>, wait: Duration) {
    let until = tokio::time::Instant::now() + wait;
    while let Ok(Some(message)) = tokio::time::timeout_at(until, stream.next()).await {
        let message = message.expect("message");
        assert!(message.event.is_none(), "unexpected: {message:?}");
    }
}

fn kinds(events: &[(pb::TaskEvent, String)]) -> Vec<Kind> {
    events.iter().map(|(e, _)| e.kind()).collect()
}

fn from(position: &str) -> pb::WatchTasksRequest {
    pb::WatchTasksRequest {
        start_position: position.into(),
        ..Default::default()
    }
}

/// The position of a watch started now (its first message).
async fn start_now(stream: &mut Streaming<pb::WatchTasksResponse>) -> String {
    let first = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("a first message")
        .expect("stream")
        .expect("message");
    assert!(
        first.event.is_none(),
        "a watch from now starts with its position"
    );
    first.position
}

async fn start(team: &Team, id: &str, token: &str) {
    TaskServiceClient::new(team.app.channel().await)
        .start_task(authorized(
            pb::StartTaskRequest {
                task_id: id.into(),
                body_formats: vec![],
            },
            token,
        ))
        .await
        .expect("start");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watch_gets_every_later_event_it_may_see_in_commit_order() {
    let team = Team::new().await;
    let mut alices = watch(team.app.channel().await, &team.alice.1, from(""))
        .await
        .expect("watch");
    let mut outsiders = watch(team.app.channel().await, &team.outsider.1, from(""))
        .await
        .expect("watch");
    let mut admins = watch(
        team.app.channel().await,
        &team.admin,
        pb::WatchTasksRequest {
            scope: pb::WatchScope::Workspace as i32,
            ..Default::default()
        },
    )
    .await
    .expect("watch");
    for stream in [&mut alices, &mut outsiders, &mut admins] {
        start_now(stream).await;
    }

    let personal = team
        .create(&team.author.1, titled("The author's own"))
        .await
        .expect("create");
    let shared = team.distributed(&[team.alice.0]).await;
    start(&team, &shared.id, &team.alice.1).await;

    let seen = events(&mut alices, 2).await.expect("alice's events");
    assert_eq!(kinds(&seen), [Kind::TaskCreated, Kind::TaskStarted]);
    assert!(
        seen.iter().all(|(e, _)| e.task_id == shared.id),
        "not the author's own task"
    );
    assert!(seen[0].1 < seen[1].1, "positions grow");
    let all = events(&mut admins, 3).await.expect("the admin's events");
    assert_eq!(
        all.iter()
            .map(|(e, _)| e.task_id.as_str())
            .collect::<Vec<_>>(),
        [personal.id.as_str(), shared.id.as_str(), shared.id.as_str()]
    );
    quiet(&mut outsiders, Duration::from_millis(500)).await;

    // Only workspace admins watch the whole workspace.
    let mut refused = watch(
        team.app.channel().await,
        &team.alice.1,
        pb::WatchTasksRequest {
            scope: pb::WatchScope::Workspace as i32,
            ..Default::default()
        },
    )
    .await;
    if let Ok(stream) = &mut refused {
        refused = match stream.next().await {
            Some(Err(status)) => Err(status),
            other => panic!("expected a refusal, got {other:?}"),
        };
    }
    assert_error(
        &refused.expect_err("refused"),
        Code::PermissionDenied,
        "WATCH_SCOPE_DENIED",
        "WatchTasks",
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn resuming_from_any_position_continues_with_no_gap_and_no_duplicate() {
    let team = Team::new().await;
    let mut first = watch(team.app.channel().await, &team.author.1, from(""))
        .await
        .expect("watch");
    let origin = start_now(&mut first).await;
    let task = team.distributed(&[team.alice.0]).await;
    start(&team, &task.id, &team.alice.1).await;
    for n in 0..4 {
        let update = pb::UpdateTaskRequest {
            task_id: task.id.clone(),
            task: Some(pb::TaskPatch {
                title: format!("Version {n}"),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
            ..Default::default()
        };
        team.client()
            .await
            .update_task(authorized(update, &team.author.1))
            .await
            .expect("update");
    }
    let before = events(&mut first, 3).await.expect("the first three");
    drop(first);

    // Changes while disconnected, then resume from the last position received.
    team.create(&team.author.1, titled("While away"))
        .await
        .expect("create");
    let mut resumed = watch(team.app.channel().await, &team.author.1, from(&before[2].1))
        .await
        .expect("resume");
    let after = events(&mut resumed, 4).await.expect("the rest");
    assert_eq!(
        kinds(&after),
        [
            Kind::TaskUpdated,
            Kind::TaskUpdated,
            Kind::TaskUpdated,
            Kind::TaskCreated
        ]
    );

    // The same from the start, in one go: the two pieces, exactly.
    let mut whole = watch(team.app.channel().await, &team.author.1, from(&origin))
        .await
        .expect("from the origin");
    let all = events(&mut whole, 7).await.expect("all");
    let pieces: Vec<_> = before.iter().chain(&after).cloned().collect();
    assert_eq!(all, pieces);
    quiet(&mut whole, Duration::from_millis(300)).await;
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_narrow_a_watch_and_idle_watchers_get_progress() {
    let team = Team::new().await;
    let watched = team.distributed(&[team.alice.0]).await;
    let other = team.distributed(&[team.alice.0]).await;
    let request = pb::WatchTasksRequest {
        task_ids: vec![watched.id.clone()],
        kinds: vec![Kind::TaskStarted as i32],
        ..Default::default()
    };
    let mut narrow = watch(team.app.channel().await, &team.author.1, request)
        .await
        .expect("watch");
    let origin = start_now(&mut narrow).await;
    start(&team, &other.id, &team.alice.1).await;
    start(&team, &watched.id, &team.alice.1).await;
    let got = events(&mut narrow, 1).await.expect("the one event");
    assert_eq!(got[0].0.task_id, watched.id);
    assert_eq!(got[0].0.kind(), Kind::TaskStarted);
    assert!(got[0].1 > origin);

    // Idle, it hears progress (5 s in the test configuration) and its position does not go back.
    let progress = tokio::time::timeout(PATIENCE, narrow.next())
        .await
        .expect("progress comes")
        .expect("stream")
        .expect("message");
    assert!(progress.event.is_none());
    assert!(progress.position >= got[0].1);

    let bad = watch(
        team.app.channel().await,
        &team.author.1,
        from("not a position"),
    )
    .await
    .expect_err("refused");
    assert_eq!(bad.code(), Code::InvalidArgument);
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_position_older_than_the_events_kept_is_expired() {
    let team = Team::new().await;
    let mut stream = watch(team.app.channel().await, &team.author.1, from(""))
        .await
        .expect("watch");
    let origin = start_now(&mut stream).await;
    team.create(&team.author.1, titled("Soon gone"))
        .await
        .expect("create");
    let (event, _) = events(&mut stream, 1).await.expect("event").remove(0);
    // Housekeeping purged up to that event.
    connect(&team.app.db.url())
        .await
        .execute(
            "UPDATE task_event_horizon SET txid = $1::text::xid8, seq = $2",
            &[
                &i64::from_str_radix(&event.position[..16], 16)
                    .expect("hex")
                    .to_string(),
                &i64::from_str_radix(&event.position[16..], 16).expect("hex"),
            ],
        )
        .await
        .expect("horizon");
    let expired = match watch(team.app.channel().await, &team.author.1, from(&origin)).await {
        Err(status) => status,
        Ok(mut stream) => stream
            .next()
            .await
            .expect("an answer")
            .expect_err("expired"),
    };
    assert_error(
        &expired,
        Code::FailedPrecondition,
        "WATCH_POSITION_EXPIRED",
        "WatchTasks",
    );
    // From the event itself, nothing is missing.
    watch(
        team.app.channel().await,
        &team.author.1,
        from(&event.position),
    )
    .await
    .expect("from the horizon");
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watcher_that_falls_behind_is_cut_off_and_resumes_where_it_was() {
    // A queue of one event: the eight assignments one call creates arrive in one read.
    let team = Team::with_config(|config| config.watch_queue = 1).await;
    let task = team
        .create(&team.author.1, titled("Mine"))
        .await
        .expect("create");
    let only_assignments = |position: &str| pb::WatchTasksRequest {
        kinds: vec![Kind::AssignmentCreated as i32],
        ..from(position)
    };
    let mut stream = watch(
        team.app.channel().await,
        &team.author.1,
        only_assignments(""),
    )
    .await
    .expect("watch");
    let origin = start_now(&mut stream).await;
    let mut users = vec![team.alice.0, team.bob, team.outsider.0];
    for n in 0..5 {
        users.push(team.extra_user(&format!("Extra{n}")).await.0);
    }
    let request = pb::BatchCreateAssignmentsRequest {
        task_id: task.id.clone(),
        user_ids: users.iter().map(ToString::to_string).collect(),
    };
    team.assignments()
        .await
        .batch_create_assignments(authorized(request, &team.author.1))
        .await
        .expect("assign");
    let mut received = Vec::new();
    let status = loop {
        match tokio::time::timeout(PATIENCE, stream.next()).await {
            Ok(Some(Ok(message))) => received.push(message),
            Ok(Some(Err(status))) => break status,
            other => panic!("expected to be cut off, got {other:?}"),
        }
    };
    assert_error(
        &status,
        Code::ResourceExhausted,
        "WATCH_TOO_SLOW",
        "WatchTasks",
    );
    let last = received.last().map_or(origin, |m| m.position.clone());
    let mut resumed = watch(
        team.app.channel().await,
        &team.author.1,
        only_assignments(&last),
    )
    .await
    .expect("resume");
    let delivered = received.iter().filter(|m| m.event.is_some()).count();
    let rest = events(&mut resumed, users.len() - delivered)
        .await
        .expect("the rest");
    let mut assigned: Vec<String> = received
        .iter()
        .filter_map(|m| m.event.clone())
        .chain(rest.into_iter().map(|(e, _)| e))
        .map(|e| {
            assert_eq!(e.kind(), Kind::AssignmentCreated);
            e.assignment_id
        })
        .collect();
    assigned.sort();
    assigned.dedup();
    assert_eq!(assigned.len(), users.len(), "each assignment once");
    quiet(&mut resumed, Duration::from_millis(300)).await;
    team.app.stop().await;
}

/// Another server on the same database; stops when the sender is dropped.
async fn another_server(url: String) -> (Channel, oneshot::Sender<()>) {
    let app = Application::build(test_config(url)).await.expect("builds");
    let addr = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    (channel(addr).await, stop)
}

#[tokio::test(flavor = "multi_thread")]
async fn watchers_on_three_servers_each_see_every_event_once() {
    let team = Team::new().await;
    let (second, _stop_second) = another_server(team.app.db.url()).await;
    let (third, _stop_third) = another_server(team.app.db.url()).await;
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
    let listed = crate::directory::drain(listed).await.expect("stream");
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

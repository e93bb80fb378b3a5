//! WatchTasks: every later event the caller may see, in commit order, resumable with no gap and
//! no duplicate; progress messages for idle watchers; filters and visibility; several servers on
//! one database; a watcher that falls behind and catches up; an expired position.

use crate::helpers::watch::{PATIENCE, events, from, kinds, quiet, start, start_now, watch};
use std::time::Duration;

use docket::grpc::pb::{self, TaskEventKind as Kind};
use tokio_stream::StreamExt;
use tonic::Code;

use crate::{
    helpers::rpc::authorized,
    helpers::{
        database::connect,
        raw::assert_error,
        team::{Team, titled},
    },
};

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
            "INSERT INTO task_event_horizons (workspace_id, position) \
             SELECT workspace_id, position FROM task_events \
             WHERE task_id = $2::text::uuid AND position = $1",
            &[
                &i64::from_str_radix(&event.position, 16).expect("hex"),
                &event.task_id,
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
async fn a_watcher_that_falls_behind_reads_on_from_the_log_and_is_not_cut_off() {
    // A queue of one event: the eight assignments one call creates arrive in one read.
    let team = Team::with_config(|config| config.watch_queue = 1).await;
    let task = team
        .create(&team.author.1, titled("Mine"))
        .await
        .expect("create");
    let mut stream = watch(
        team.app.channel().await,
        &team.author.1,
        pb::WatchTasksRequest {
            kinds: vec![Kind::AssignmentCreated as i32],
            ..from("")
        },
    )
    .await
    .expect("watch");
    start_now(&mut stream).await;
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
    let received = events(&mut stream, users.len()).await.expect("every one");
    let positions: Vec<&String> = received.iter().map(|(_, p)| p).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    let mut assigned: Vec<String> = received
        .iter()
        .map(|(e, _)| e.assignment_id.clone())
        .collect();
    assigned.sort();
    assigned.dedup();
    assert_eq!(assigned.len(), users.len(), "each assignment once");
    quiet(&mut stream, Duration::from_millis(300)).await;
    team.app.stop().await;
}

/// A position the workspace's log has not reached (from another workspace, or a database
/// restored to an earlier point) is refused, naming the log's head, rather than watched in vain.
#[tokio::test(flavor = "multi_thread")]
async fn a_position_beyond_the_head_is_out_of_range_and_names_the_head() {
    let team = Team::new().await;
    let task = team
        .create(&team.author.1, titled("One event"))
        .await
        .expect("create");
    let ahead = format!("{:032x}", 5);
    let status = match watch(team.app.channel().await, &team.author.1, from(&ahead)).await {
        Err(status) => status,
        Ok(mut stream) => stream
            .next()
            .await
            .expect("an answer")
            .expect_err("out of range"),
    };
    assert_error(
        &status,
        Code::OutOfRange,
        "WATCH_POSITION_AHEAD",
        "WatchTasks",
    );
    let info = tonic_types::StatusExt::get_error_details(&status)
        .error_info()
        .cloned()
        .expect("error info");
    assert_eq!(info.metadata["head"], format!("{:032x}", 1));
    // The head itself is where a watch may start.
    let mut stream = watch(
        team.app.channel().await,
        &team.author.1,
        from(&format!("{:032x}", 1)),
    )
    .await
    .expect("from the head");
    team.create(&team.author.1, titled("Next"))
        .await
        .expect("create");
    let (event, _) = events(&mut stream, 1).await.expect("the next").remove(0);
    assert_ne!(event.task_id, task.id);
    team.app.stop().await;
}

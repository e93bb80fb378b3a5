//! Back-pressure instead of cut-off: a watcher that keeps reading is never cut off, however many
//! events one commit makes (it reads what its queue could not hold from the log); a new watcher
//! never receives events from before its start; and only a watcher that is behind and whose
//! client took nothing for the stall timeout ends WATCH_TOO_SLOW, to resume with no gap.

use std::time::Duration;

use docket::grpc::pb::{
    self, TaskEventKind as Kind, assignment_service_client::AssignmentServiceClient,
};
use tokio_stream::StreamExt;
use tonic::{Code, Streaming};
use uuid::Uuid;

use crate::{
    helpers::rpc::authorized,
    helpers::watch::{PATIENCE, events, from, quiet, start_now, watch},
    helpers::{
        app::narrow_channel,
        database::connect,
        raw::assert_error,
        team::{Team, titled},
    },
};

/// A channel the author administers with `members` new active users of the team's workspace.
async fn channel_of(team: &Team, members: i64) -> Uuid {
    let channel = Uuid::new_v4();
    let db = connect(&team.app.db.url()).await;
    db.execute(
        "WITH ws AS (SELECT id FROM workspaces), \
         users AS (INSERT INTO users (workspace_id, id, first_name, last_name, email) \
         SELECT ws.id, gen_random_uuid(), 'Member', g::text, 'member' || g || '@example.com' \
         FROM ws, generate_series(1, $2::bigint) g RETURNING workspace_id, id), \
         made AS (INSERT INTO channels (workspace_id, id, name) SELECT id, $1, 'Everyone' \
         FROM ws RETURNING workspace_id, id) \
         INSERT INTO channel_members (workspace_id, channel_id, user_id, admin) \
         SELECT made.workspace_id, made.id, users.id, false FROM made, users \
         UNION ALL SELECT made.workspace_id, made.id, $3, true FROM made",
        &[&channel, &members, &team.author.0],
    )
    .await
    .expect("a channel and its members");
    channel
}

/// Assigns a new task of the author's to every member of the channel: one commit with one
/// ASSIGNMENT_CREATED event per member.
async fn fan_out(team: &Team, channel: Uuid) -> pb::Task {
    let task = team
        .create(&team.author.1, titled("For everyone"))
        .await
        .expect("create");
    let request = pb::CreateAssignmentRequest {
        task_id: task.id.clone(),
        recipient: Some(pb::create_assignment_request::Recipient::ChannelId(
            channel.to_string(),
        )),
    };
    AssignmentServiceClient::new(team.app.channel().await)
        .create_assignment(authorized(request, &team.author.1))
        .await
        .expect("fan out");
    task
}

fn assignments_of_the_workspace(position: &str) -> pb::WatchTasksRequest {
    pb::WatchTasksRequest {
        scope: pb::WatchScope::Workspace as i32,
        kinds: vec![Kind::AssignmentCreated as i32],
        ..from(position)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_commit_of_ten_thousand_events_reaches_a_reader_that_keeps_reading() {
    let team = Team::new().await;
    let everyone = channel_of(&team, 10_000).await;
    let mut watcher = watch(
        team.app.channel().await,
        &team.admin,
        assignments_of_the_workspace(""),
    )
    .await
    .expect("watch");
    start_now(&mut watcher).await;
    fan_out(&team, everyone).await;
    let got = events(&mut watcher, 10_000)
        .await
        .expect("every one, not cut off");
    let positions: Vec<&String> = got.iter().map(|(_, p)| p).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "in order");
    quiet(&mut watcher, Duration::from_millis(300)).await;
    team.app.stop().await;
}

/// Right after a burst on a server nobody watched, a watch from now gets the next change and
/// nothing from before it.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_watcher_never_receives_events_from_before_its_start() {
    let team = Team::new().await;
    let everyone = channel_of(&team, 2_000).await;
    fan_out(&team, everyone).await;
    let mut watcher = watch(
        team.app.channel().await,
        &team.admin,
        pb::WatchTasksRequest {
            scope: pb::WatchScope::Workspace as i32,
            ..from("")
        },
    )
    .await
    .expect("watch");
    let start = start_now(&mut watcher).await;
    let next = team
        .create(&team.author.1, titled("After the burst"))
        .await
        .expect("create");
    let (event, position) = events(&mut watcher, 1)
        .await
        .expect("the next one")
        .remove(0);
    assert_eq!(event.task_id, next.id, "started at {start}");
    assert!(position > start);
    quiet(&mut watcher, Duration::from_millis(300)).await;

    // From a position in the middle of the burst: exactly what came after it.
    let middle = format!("{:032x}", 1_000);
    let mut resumed = watch(
        team.app.channel().await,
        &team.admin,
        pb::WatchTasksRequest {
            scope: pb::WatchScope::Workspace as i32,
            ..from(&middle)
        },
    )
    .await
    .expect("watch");
    let head: usize = usize::from_str_radix(&position, 16).expect("hex");
    let rest = events(&mut resumed, head - 1_000).await.expect("the rest");
    for (n, (_, position)) in rest.iter().enumerate() {
        assert_eq!(*position, format!("{:032x}", 1_001 + n));
    }
    team.app.stop().await;
}

/// A client that takes nothing while its watch falls behind is told WATCH_TOO_SLOW once the
/// stall timeout has passed, and resumes from its last position with nothing missed.
#[tokio::test(flavor = "multi_thread")]
async fn a_watcher_whose_client_stops_taking_is_cut_off_after_the_stall_timeout() {
    let team = Team::with_config(|config| {
        config.watch_queue = 16;
        config.watch_stall_timeout = Duration::from_secs(1);
    })
    .await;
    let everyone = channel_of(&team, 2_000).await;
    let narrow = narrow_channel(team.app.addr).await;
    let mut watcher = watch(narrow, &team.admin, assignments_of_the_workspace(""))
        .await
        .expect("watch");
    let start = start_now(&mut watcher).await;
    fan_out(&team, everyone).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (received, status) = drain(&mut watcher).await;
    let status = status.expect("cut off");
    assert_error(
        &status,
        Code::ResourceExhausted,
        "WATCH_TOO_SLOW",
        "WatchTasks",
    );
    assert!(received.len() < 2_000, "{}", received.len());
    let last = received.last().map_or(start, |(_, p)| p.clone());
    let mut resumed = watch(
        team.app.channel().await,
        &team.admin,
        assignments_of_the_workspace(&last),
    )
    .await
    .expect("resume");
    let rest = events(&mut resumed, 2_000 - received.len())
        .await
        .expect("the rest");
    let mut users: Vec<String> = received
        .iter()
        .chain(rest.iter())
        .map(|(e, _)| e.assignment_id.clone())
        .collect();
    users.sort();
    users.dedup();
    assert_eq!(users.len(), 2_000, "each assignment once");
    team.app.stop().await;
}

/// Every event until the stream ends, and the error it ended with.
async fn drain(
    stream: &mut Streaming<pb::WatchTasksResponse>,
) -> (Vec<(pb::TaskEvent, String)>, Option<tonic::Status>) {
    let mut got = Vec::new();
    loop {
        match tokio::time::timeout(PATIENCE, stream.next()).await {
            Ok(Some(Ok(message))) => {
                if let Some(event) = message.event {
                    got.push((event, message.position));
                }
            }
            Ok(Some(Err(status))) => return (got, Some(status)),
            Ok(None) => return (got, None),
            Err(_) => panic!("no end after {} events", got.len()),
        }
    }
}

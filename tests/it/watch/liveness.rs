//! Watches that stay live: a transaction held open anywhere else (another workspace, another
//! database of the same server) delays no one's delivery, and while the database does not answer
//! an open watch still hears from the server (progress, then an error), never silence.

use std::time::Duration;

use docket::domain::vocabulary::{ActorType, EventKind};
use docket::{
    events::log::{Cause, NewEvent, append},
    grpc::pb::{self, task_service_client::TaskServiceClient},
};
use tokio::time::Instant;
use tokio_stream::StreamExt;
use tonic::Code;
use uuid::Uuid;

use crate::{
    helpers::rpc::authorized,
    helpers::watch::{PATIENCE, from, start_now, watch},
    helpers::{
        app::TestApp,
        database::{TestDb, connect, server_socket_addr, url_for},
        proxy::TcpProxy,
        seed,
        team::{Team, titled},
    },
};

/// Longest a change may take to reach an open watch on an idle test server.
const PROMPT: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_held_open_elsewhere_does_not_delay_delivery() {
    let team = Team::new().await;
    let (elsewhere, elsewhere_token) = seed::workspace(&team.app.db, "elsewhere").await;
    team.create(&elsewhere_token, titled("Theirs"))
        .await
        .expect("a task in the other workspace");
    let other_database = TestDb::migrated().await;
    let mut watcher = watch(team.app.channel().await, &team.author.1, from(""))
        .await
        .expect("watch");
    start_now(&mut watcher).await;

    // Two transactions that hold transaction ids (and, in the other workspace, its task and its
    // event log's head) for as long as this test runs: a long batch job elsewhere.
    let long_here = connect(&team.app.db.url()).await;
    long_here
        .batch_execute(&format!(
            "BEGIN; UPDATE tasks SET title = title WHERE workspace_id = '{0}'; \
             UPDATE task_event_heads SET position = position WHERE workspace_id = '{0}'",
            elsewhere.id
        ))
        .await
        .expect("a long transaction in another workspace");
    let long_there = connect(&other_database.url()).await;
    long_there
        .batch_execute("BEGIN; SELECT pg_current_xact_id(); UPDATE workspaces SET name = name")
        .await
        .expect("a long transaction in another database");

    for n in 0..5 {
        let created = Instant::now();
        let task = team
            .create(&team.author.1, titled(&format!("Mine {n}")))
            .await
            .expect("create");
        let message = tokio::time::timeout(PROMPT, watcher.next())
            .await
            .unwrap_or_else(|_| panic!("event {n} did not come within {PROMPT:?}"))
            .expect("the watch goes on")
            .expect("a message");
        let event = message.event.expect("an event, not progress");
        assert_eq!(event.task_id, task.id);
        assert!(created.elapsed() < PROMPT);
    }
    long_here.batch_execute("ROLLBACK").await.expect("end");
    long_there.batch_execute("ROLLBACK").await.expect("end");
    team.app.stop().await;
}

/// A watcher still reading what it missed from the log when the database stops answering: it
/// gets a progress message every interval while it waits, then an error; never a silence longer
/// than an interval or two.
#[tokio::test(flavor = "multi_thread")]
async fn an_open_watch_hears_progress_or_an_error_while_the_database_hangs() {
    const PROGRESS: Duration = Duration::from_millis(500);
    let db = TestDb::migrated().await;
    let (workspace, token) = seed::workspace(&db, "hung").await;
    // Enough events that the watcher is still reading them from the log when the proxy stalls.
    let mut conn = seed::diesel(&db).await;
    let events: Vec<NewEvent> = (0..3000)
        .map(|n| NewEvent {
            workspace_id: workspace.id,
            task_id: Some(Uuid::from_u128(n)),
            template_id: None,
            webhook_id: None,
            assignment_id: None,
            kind: EventKind::TaskCreated,
            details: serde_json::json!({}),
            audience: Vec::new(),
        })
        .collect();
    let cause = Cause {
        actor_type: ActorType::System,
        actor_id: "test".into(),
        request_id: None,
    };
    append(&mut conn, &cause, &events).await.expect("events");
    let proxy = TcpProxy::start(server_socket_addr()).await;
    let url = url_for(&db.name).replace(&server_socket_addr(), &proxy.addr.to_string());
    let app = TestApp::builder()
        .on(db, url)
        .configure(|config| {
            config.watch_progress_interval = PROGRESS;
            config.auth.auth_cache_ttl = Duration::from_secs(60);
        })
        .spawn()
        .await;
    let mut watcher = watch(
        app.channel().await,
        &token,
        pb::WatchTasksRequest {
            scope: pb::WatchScope::Workspace as i32,
            ..from(&format!("{:032x}", 0))
        },
    )
    .await
    .expect("watch");
    watcher
        .next()
        .await
        .expect("a message")
        .expect("the first event");
    proxy.stall();
    let stalled = Instant::now();
    let mut last = Instant::now();
    let mut longest = Duration::ZERO;
    let ended = loop {
        match tokio::time::timeout(PATIENCE, watcher.next()).await {
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(status))) => break Some(status),
            Ok(None) => break None,
            Err(_) => panic!("silence for {PATIENCE:?}"),
        }
        longest = longest.max(last.elapsed());
        last = Instant::now();
        if stalled.elapsed() > Duration::from_secs(15) {
            break None;
        }
    };
    assert!(
        longest < PROGRESS * 3,
        "silent for {longest:?} with progress every {PROGRESS:?}"
    );
    let status = ended.expect("the watch ends with an error once the wait is over");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    proxy.resume();
    // Once the database answers, a watch works again.
    TaskServiceClient::new(app.channel().await)
        .create_task(authorized(titled("After"), &token))
        .await
        .expect("create after");
    app.stop().await;
}

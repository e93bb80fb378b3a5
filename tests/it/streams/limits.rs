//! Streams share the pool without starving unary calls: stalled streams hold no connection, page
//! fetches take turns for their share of it, and past the configured number of open streams a
//! new one is refused RESOURCE_EXHAUSTED `OVERLOADED` with RetryInfo, and only then.

use std::time::Duration;

use docket::grpc::pb::{self, task_service_client::TaskServiceClient};
use futures_util::future::join_all;
use tonic::{Code, Streaming, transport::Channel};
use tonic_types::StatusExt;

use crate::{
    helpers::rpc::authorized,
    helpers::{
        app::{TestApp, channel, narrow_channel},
        raw::assert_error,
        seed,
    },
};

/// A server with `pool_size` connections, `stream_connections` of them for page fetches, at most
/// `max_open` streams, and a workspace of 2,000 tasks with 2 KB bodies: 4 MB a listing, more than
/// a client takes in before it reads (HTTP/2 windows of 2 MB), so an unread stream stays open.
async fn with_tasks(pool_size: u32, stream_connections: u32, max_open: u32) -> (TestApp, String) {
    let app = TestApp::builder()
        .configure(|config| {
            config.database.pool_size = pool_size;
            config.database.stream_connections = Some(stream_connections);
            config.connections.max_open_streams = max_open;
        })
        .spawn()
        .await;
    let token = seed_tasks(&app, 2000, 2048).await;
    (app, token)
}

/// A workspace of `tasks` tasks with `body_bytes`-byte bodies (a multiple of 32); its token.
async fn seed_tasks(app: &TestApp, tasks: i32, body_bytes: i32) -> String {
    let (workspace, token) = seed::workspace(&app.db, "streams").await;
    seed::bulk_tasks(&app.db, workspace.id, tasks, body_bytes).await;
    token
}

/// Opens a ListTasks stream and reads its first message, then leaves it unread.
async fn stalled(
    channel: Channel,
    token: &str,
) -> Result<Streaming<pb::ListTasksResponse>, tonic::Status> {
    let mut client = TaskServiceClient::new(channel);
    let request = authorized(pb::ListTasksRequest::default(), token);
    let mut stream = client.list_tasks(request).await?.into_inner();
    stream.message().await?.expect("a first task");
    Ok(stream)
}

async fn count(channel: Channel, token: &str) -> Result<i64, tonic::Status> {
    let mut client = TaskServiceClient::new(channel);
    let request = authorized(pb::CountTasksRequest::default(), token);
    Ok(client.count_tasks(request).await?.into_inner().count)
}

#[tokio::test(flavor = "multi_thread")]
async fn stalled_streams_leave_the_pool_to_unary_calls() {
    // The pool is what this test is about: the caller may buffer as much as all streams may, so
    // that its forty unread streams (two pages each at most, once their windows are full) fit.
    // What one caller's unread streams may hold of the buffers is `fairness.rs`'s subject.
    let app = TestApp::builder()
        .configure(|config| {
            config.database.pool_size = 2;
            config.database.stream_connections = Some(1);
            config.connections.caller_streams_buffer_bytes =
                config.connections.streams_buffer_bytes;
        })
        .spawn()
        .await;
    let token = seed_tasks(&app, 2000, 2048).await;
    // Each over its own connection with a small HTTP/2 window, so that flow control holds each
    // one back separately and soon: stalled means not read, not read into a 2 MB window.
    let mut streams = Vec::new();
    for _ in 0..40 {
        streams.push(
            stalled(narrow_channel(app.addr).await, &token)
                .await
                .expect("stream opens"),
        );
    }
    // Forty streams stalled mid-listing, each with a page fetched ahead: the pool (two
    // connections) still serves unary calls, many at once, well within its wait timeout.
    let channel = channel(app.addr).await;
    let counted = join_all((0..20).map(|_| count(channel.clone(), &token))).await;
    for outcome in counted {
        assert_eq!(outcome.expect("count while streams stall"), 2000);
    }
    // And the stalled streams still deliver everything once read.
    for stream in streams.iter_mut().take(3) {
        let mut seen = 1;
        while let Some(_task) = stream.message().await.expect("rest of the listing") {
            seen += 1;
        }
        assert_eq!(seen, 2000);
    }
    app.stop().await;
}

/// Reads a ListTasks stream of at most `limit` tasks to its end; returns how many came.
async fn read_all(channel: Channel, token: &str, limit: i32) -> Result<usize, tonic::Status> {
    let mut client = TaskServiceClient::new(channel);
    let request = pb::ListTasksRequest {
        page_limit: limit,
        ..Default::default()
    };
    let mut stream = client
        .list_tasks(authorized(request, token))
        .await?
        .into_inner();
    let mut seen = 0;
    while stream.message().await?.is_some() {
        seen += 1;
    }
    Ok(seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_stream_opens_waits_its_turn_and_fails_none() {
    let (app, token) = with_tasks(4, 2, 10_000).await;
    let channels: Vec<Channel> = join_all((0..8).map(|_| channel(app.addr))).await;
    // Two pages each (256 + 44), so every stream comes back for a second turn.
    let listed =
        join_all((0..100).map(|i| read_all(channels[i % channels.len()].clone(), &token, 300)))
            .await;
    for outcome in &listed {
        assert_eq!(
            outcome.as_ref().map_err(|s| s.code()),
            Ok(&300),
            "{outcome:?}"
        );
    }
    assert_eq!(
        count(channels[0].clone(), &token).await.expect("count"),
        2000
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_past_the_limit_are_refused_with_retry_info_until_one_closes() {
    let (app, token) = with_tasks(4, 2, 3).await;
    // A channel (connection) each: unread streams fill their connection's HTTP/2 window, which
    // would hold back any other call on it.
    let mut open = Vec::new();
    for _ in 0..3 {
        let stream = stalled(channel(app.addr).await, &token).await;
        open.push(stream.expect("within the limit"));
    }
    let refused = stalled(channel(app.addr).await, &token)
        .await
        .expect_err("past the limit");
    assert_error(
        &refused,
        Code::ResourceExhausted,
        "OVERLOADED",
        "fourth stream",
    );
    let retry = refused.get_details_retry_info().expect("RetryInfo");
    assert!(
        retry
            .retry_delay
            .is_some_and(|d| d >= Duration::from_millis(100))
    );
    // Unary calls are not streams: unaffected.
    let counted = count(channel(app.addr).await, &token).await;
    assert_eq!(counted.expect("count"), 2000);

    drop(open.pop());
    // The server notices the cancelled stream as soon as its RST_STREAM arrives.
    let retry_on = channel(app.addr).await;
    let mut reopened = None;
    for _ in 0..50 {
        match stalled(retry_on.clone(), &token).await {
            Ok(stream) => {
                reopened = Some(stream);
                break;
            }
            Err(status) if status.code() == Code::ResourceExhausted => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(status) => panic!("{status:?}"),
        }
    }
    assert!(reopened.is_some(), "a closed stream makes room for another");
    app.stop().await;
}

/// A server whose streams hold at most `stream_bytes` each and `total_bytes` together, and a
/// workspace of `tasks` tasks with `body_bytes`-byte bodies.
async fn with_bodies(
    stream_bytes: u32,
    total_bytes: u64,
    tasks: i32,
    body_bytes: i32,
) -> (TestApp, String) {
    let app = TestApp::builder()
        .configure(|config| {
            config.connections.stream_buffer_bytes = stream_bytes;
            config.connections.streams_buffer_bytes = total_bytes;
        })
        .spawn()
        .await;
    let token = seed_tasks(&app, tasks, body_bytes).await;
    (app, token)
}

/// What the server's streams hold once they have fetched all they will while unread.
async fn settled(app: &TestApp) -> usize {
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = app.streams.buffered_bytes();
        if now == last {
            return now;
        }
        last = now;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_stream_holds_its_byte_budget_whatever_the_row_sizes() {
    // Tasks of 200 KB: more than a whole page's budget (32 KiB) each.
    let (app, token) = with_bodies(64 * 1024, 64 << 20, 40, 200_000).await;
    let stream = stalled(channel(app.addr).await, &token)
        .await
        .expect("opens");
    let held = settled(&app).await;
    // The page the client is taking and the one fetched ahead: a task each, and no more.
    assert!(held > 0, "the stream holds something");
    assert!(
        held <= 2 * (200_000 + 1024),
        "one stalled stream holds {held} bytes"
    );
    drop(stream);

    // Small tasks: each page holds up to its 32 KiB budget, rows cut by bytes, not by count.
    let (app, token) = with_bodies(64 * 1024, 64 << 20, 2000, 2048).await;
    let stream = stalled(channel(app.addr).await, &token)
        .await
        .expect("opens");
    let held = settled(&app).await;
    assert!(held <= 64 * 1024, "one stalled stream holds {held} bytes");
    drop(stream);
    // A listing cut by bytes still comes whole.
    let all = read_all(channel(app.addr).await, &token, 0)
        .await
        .expect("reads");
    assert_eq!(all, 2000);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stalled_streams_together_hold_at_most_the_total_and_all_finish_when_read() {
    let total = 256 * 1024;
    let (app, token) = with_bodies(64 * 1024, total as u64, 2000, 2048).await;
    // Ten streams that read nothing until told to: more than the total holds (ten streams of
    // 64 KiB in 256 KiB), so some wait for room, for their first page even.
    let (read_on, _) = tokio::sync::broadcast::channel::<()>(1);
    let readers: Vec<_> = (0..10)
        .map(|_| {
            let (channel, token) = (channel(app.addr), token.clone());
            let mut go = read_on.subscribe();
            tokio::spawn(async move {
                let mut client = TaskServiceClient::new(channel.await);
                let request = authorized(pb::ListTasksRequest::default(), &token);
                let mut stream = client.list_tasks(request).await?.into_inner();
                let _ = go.recv().await;
                let mut seen = 0;
                while stream.message().await?.is_some() {
                    seen += 1;
                }
                Ok::<_, tonic::Status>(seen)
            })
        })
        .collect();
    let started = async {
        while app.streams.buffered_bytes() == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), started)
        .await
        .expect("the streams fetch their first pages");
    let held = settled(&app).await;
    assert!(held <= total, "ten stalled streams hold {held} bytes");

    let _ = read_on.send(());
    for reader in readers {
        let seen = reader.await.expect("reader").expect("a whole listing");
        assert_eq!(seen, 2000);
    }
    assert_eq!(settled(&app).await, 0, "everything given back");
    app.stop().await;
}

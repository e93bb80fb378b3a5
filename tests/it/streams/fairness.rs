//! A fair stream budget: one caller's streams that are never read hold no more than that caller's
//! share of the buffers all streams share, so another caller's listing goes through at its normal
//! pace; and a page that waits for room waits no longer than its call may run.

use std::time::{Duration, Instant};

use docket::grpc::pb::{
    self, directory_service_client::DirectoryServiceClient, task_service_client::TaskServiceClient,
};
use tokio_stream::StreamExt;
use tonic::{Code, Streaming};

use crate::{
    helpers::rpc::authorized,
    helpers::{
        app::{TestApp, channel, narrow_channel},
        raw::assert_error,
        seed,
    },
};

/// A listing that is normal on an idle test server takes less than this.
const NORMAL: Duration = Duration::from_secs(2);

struct Greedy {
    app: TestApp,
    /// The greedy caller's token, and its name in the server's accounting.
    greedy: (String, String),
    /// Another caller of the same workspace.
    other: String,
}

/// A server whose streams share `total` bytes, a caller at most `caller` of them, with 2,000
/// tasks of 2 KB bodies (4 MB a listing, more than a client's HTTP/2 window takes in).
async fn greedy_and_other(total: u64, caller: u64, call_timeout: Duration) -> Greedy {
    let app = TestApp::builder()
        .configure(|config| {
            config.connections.stream_buffer_bytes = 1 << 20;
            config.connections.streams_buffer_bytes = total;
            config.connections.caller_streams_buffer_bytes = caller;
            config.call_timeout = call_timeout;
        })
        .spawn()
        .await;
    let (workspace, other) = seed::workspace(&app.db, "shared").await;
    // Both see every task of the workspace.
    let scopes = [
        docket::auth::Scope::TasksRead,
        docket::auth::Scope::WorkspaceAdmin,
    ];
    let (greedy, _) = seed::service_token(&app.db, workspace.id, &scopes).await;
    seed::bulk_tasks(&app.db, workspace.id, 2000, 2048).await;
    let owner = format!("{}/API_TOKEN:test-service", workspace.id);
    Greedy {
        app,
        greedy: (greedy, owner),
        other,
    }
}

/// A ListTasks stream of the greedy caller on a connection of its own, left unread once its
/// first message has come (or its error, if it never gets room).
async fn unread(
    app: &TestApp,
    token: &str,
) -> Result<Streaming<pb::ListTasksResponse>, tonic::Status> {
    let mut client = TaskServiceClient::new(narrow_channel(app.addr).await);
    let request = authorized(pb::ListTasksRequest::default(), token);
    let mut stream = client.list_tasks(request).await?.into_inner();
    stream.message().await?.expect("a first task");
    Ok(stream)
}

/// What one caller's streams hold once they have fetched all they will while unread.
async fn settled(app: &TestApp, owner: &str) -> usize {
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = app.streams.caller_buffered_bytes(owner);
        if now == last {
            return now;
        }
        last = now;
    }
}

/// Lists ten tasks and one user as `token`; how long that took.
async fn a_normal_listing(app: &TestApp, token: &str) -> Duration {
    let started = Instant::now();
    let channel = channel(app.addr).await;
    let request = pb::ListTasksRequest {
        page_limit: 10,
        ..Default::default()
    };
    let tasks = TaskServiceClient::new(channel.clone())
        .list_tasks(authorized(request, token))
        .await
        .expect("list")
        .into_inner();
    let listed: Vec<_> = tasks.collect::<Result<_, _>>().await.expect("tasks");
    assert_eq!(listed.len(), 10);
    let users = DirectoryServiceClient::new(channel)
        .list_users(authorized(pb::ListUsersRequest::default(), token))
        .await
        .expect("list users")
        .into_inner();
    let _: Vec<_> = users.collect::<Result<_, _>>().await.expect("users");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread")]
async fn eighty_unread_streams_of_one_caller_do_not_delay_another_callers_listing() {
    let total = 8 << 20;
    let share = 1 << 20;
    let test = greedy_and_other(total, share, Duration::from_secs(10)).await;
    let (token, owner) = &test.greedy;
    let mut streams = Vec::new();
    for _ in 0..80 {
        // Streams past the caller's share wait for room, each in a task of its own.
        let (app_addr, token) = (test.app.addr, token.clone());
        streams.push(tokio::spawn(async move {
            let mut client = TaskServiceClient::new(narrow_channel(app_addr).await);
            let request = authorized(pb::ListTasksRequest::default(), &token);
            let stream = client.list_tasks(request).await;
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(stream);
        }));
    }
    while test.app.streams.open() < 80 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let held = settled(&test.app, owner).await;
    assert!(held <= share as usize, "one caller holds {held} bytes");
    let took = tokio::time::timeout(NORMAL, a_normal_listing(&test.app, &test.other))
        .await
        .expect("another caller's listing goes through at its normal pace");
    assert!(took < NORMAL);
    assert!(test.app.streams.buffered_bytes() <= total as usize);
    for stream in streams {
        stream.abort();
    }
    test.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_waiting_for_room_gives_up_at_the_call_timeout() {
    let call_timeout = Duration::from_secs(2);
    let test = greedy_and_other(8 << 20, 64 << 10, call_timeout).await;
    let (token, _) = &test.greedy;
    let mut held = Vec::new();
    let refused = loop {
        let opened = Instant::now();
        match unread(&test.app, token).await {
            Ok(stream) => {
                held.push(stream);
                // Until its client's window is full and it holds what it fetched.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => break (status, opened.elapsed()),
        }
        assert!(held.len() < 80, "64 KiB holds no more than a few pages");
    };
    let (status, waited) = refused;
    assert!(
        !held.is_empty(),
        "the share holds at least one stream's pages"
    );
    assert_error(&status, Code::ResourceExhausted, "OVERLOADED", "ListTasks");
    assert!(
        waited < call_timeout + Duration::from_secs(2),
        "waited {waited:?} for room"
    );
    let took = tokio::time::timeout(NORMAL, a_normal_listing(&test.app, &test.other))
        .await
        .expect("another caller's listing goes through at its normal pace");
    assert!(took < NORMAL);
    test.app.stop().await;
}

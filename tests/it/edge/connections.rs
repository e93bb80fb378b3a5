//! Client connections are bounded: a silent connection is closed after the handshake timeout, an
//! idle one after the idle timeout (but never one with a call running), an old one after its
//! maximum age; oversize metadata fails its own call with a gRPC status and nothing else; and
//! running out of file descriptors is logged, then recovered from.

use std::time::{Duration, Instant};

use docket::grpc::pb::task_service_client::TaskServiceClient;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tonic::{Code, Request};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse, health_client::HealthClient};

use crate::helpers::{
    app::{TestApp, channel},
    process::DocketProcess,
    raw::assert_error,
};

const SLACK: Duration = Duration::from_millis(1500);
/// The HTTP/2 connection preface and an empty SETTINGS frame: a client that says hello, then
/// nothing more.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// A health Watch on `channel` (a call that stays open), past its first status.
async fn watching(channel: tonic::transport::Channel) -> tonic::Streaming<HealthCheckResponse> {
    let mut watch = HealthClient::new(channel)
        .watch(HealthCheckRequest::default())
        .await
        .expect("watch")
        .into_inner();
    watch
        .message()
        .await
        .expect("first status")
        .expect("a status");
    watch
}

/// Asserts that `watch` neither ends nor fails for `period`: a status update (the readiness probe
/// reporting SERVING after the first NOT_SERVING) is the watch at work, not a disruption.
async fn assert_still_open(watch: &mut tonic::Streaming<HealthCheckResponse>, period: Duration) {
    let until = tokio::time::Instant::now() + period;
    while let Ok(next) = tokio::time::timeout_at(until, watch.message()).await {
        assert!(
            matches!(next, Ok(Some(_))),
            "the watch must still be open: {next:?}"
        );
    }
}

/// Reads until the server closes the connection; returns how long that took.
async fn closed_within(mut socket: TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    let read_to_end = async {
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {} // the server's SETTINGS, and the like
            }
        }
    };
    tokio::time::timeout(limit, read_to_end)
        .await
        .unwrap_or_else(|_| panic!("the server kept the connection open past {limit:?}"));
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_and_idle_connections_are_closed_but_not_those_with_a_call() {
    let handshake = Duration::from_millis(400);
    let idle = Duration::from_millis(800);
    let app = TestApp::builder()
        .configure(|config| {
            config.connections.handshake_timeout = handshake;
            config.connections.max_connection_idle = idle;
        })
        .spawn()
        .await;

    // Never says anything: closed after the handshake timeout.
    let silent = TcpStream::connect(app.addr).await.expect("connect");
    let took = closed_within(silent, handshake + SLACK).await;
    assert!(took >= handshake - Duration::from_millis(50), "{took:?}");

    // Says hello and makes no call: closed once idle for the idle timeout.
    let mut greeted = TcpStream::connect(app.addr).await.expect("connect");
    greeted.write_all(PREFACE).await.expect("preface");
    let took = closed_within(greeted, idle + SLACK).await;
    assert!(took >= idle - Duration::from_millis(50), "{took:?}");

    // A call running (a health Watch) keeps its connection open well past the idle timeout.
    let mut watch = watching(channel(app.addr).await).await;
    assert_still_open(&mut watch, idle * 3).await;

    // A channel whose connection was closed as idle reconnects for its next call.
    let mut again = HealthClient::new(channel(app.addr).await);
    again
        .check(HealthCheckRequest::default())
        .await
        .expect("first");
    tokio::time::sleep(idle + Duration::from_millis(500)).await;
    again
        .check(HealthCheckRequest::default())
        .await
        .expect("after the idle close");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_past_its_maximum_age_is_closed_after_the_grace() {
    let age = Duration::from_millis(500);
    let grace = Duration::from_millis(500);
    let app = TestApp::builder()
        .configure(|config| {
            config.connections.max_connection_age = age;
            config.connections.max_connection_age_grace = grace;
        })
        .spawn()
        .await;
    let started = Instant::now();
    let mut watch = watching(channel(app.addr).await).await;
    let ended = tokio::time::timeout(age + grace + SLACK, async {
        loop {
            match watch.message().await {
                Ok(Some(_)) => continue,
                _ => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the watch outlived the connection's age");
    assert!(started.elapsed() >= age, "{:?}", started.elapsed());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversize_metadata_fails_its_own_call_and_nothing_else() {
    let app = TestApp::spawn().await;
    let channel = channel(app.addr).await;
    let mut health = HealthClient::new(channel.clone());
    let mut watch = watching(channel.clone()).await;

    let mut tasks = TaskServiceClient::new(channel.clone());
    for size in [16 * 1024, 32 * 1024, 100 * 1024, 600 * 1024] {
        let mut request = Request::new(docket::grpc::pb::CountTasksRequest::default());
        let token = format!("Bearer {}", "x".repeat(size));
        request
            .metadata_mut()
            .insert("authorization", token.parse().expect("ascii"));
        let status = tasks.count_tasks(request).await.expect_err("too large");
        let context = format!("{size} bytes");
        if size < 64 * 1024 {
            // Within the limit: it is the token that is wrong.
            assert_eq!(
                status.code(),
                Code::Unauthenticated,
                "{context}: {status:?}"
            );
        } else {
            assert_error(
                &status,
                Code::ResourceExhausted,
                "HEADERS_TOO_LARGE",
                &context,
            );
        }
    }
    // The connection, and the watch on it, are untouched.
    assert_still_open(&mut watch, Duration::from_millis(300)).await;
    health
        .check(HealthCheckRequest::default())
        .await
        .expect("the same channel still serves");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn running_out_of_file_descriptors_is_logged_and_recovered_from() {
    let db = crate::helpers::database::TestDb::migrated().await;
    let url = db.url();
    // Room for the runtime, the pool and a few clients, and no more.
    let docket = DocketProcess::start_limited(&[("DATABASE_URL", &url)], 64).await;
    let _ = docket.wait_until_serving().await;

    let mut held = Vec::new();
    for _ in 0..80 {
        match TcpStream::connect(docket.addr).await {
            Ok(socket) => held.push(socket),
            Err(_) => break,
        }
    }
    let logged = async {
        while !docket
            .logs()
            .iter()
            .any(|line| line.contains("out of file descriptors"))
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), logged)
        .await
        .unwrap_or_else(|_| panic!("nothing logged: {:?}", docket.logs()));
    drop(held);
    // Served again once descriptors are free.
    let _ = docket.wait_until_serving().await;
}

//! SIGTERM: health turns NOT_SERVING, new connections are refused, in-flight streams finish
//! within the grace period, and the process exits 0.

use std::time::Duration;

use futures_util::StreamExt;
use nix::sys::signal::Signal;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Endpoint;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
use tonic_reflection::pb::v1alpha::{
    ServerReflectionRequest, ServerReflectionResponse,
    server_reflection_client::ServerReflectionClient, server_reflection_request::MessageRequest,
};

use crate::helpers::{app::channel, database::TestDb, process::DocketProcess};

/// Opens a bidirectional reflection stream and completes one exchange on it; the stream stays open
/// until the returned sender is dropped.
async fn reflection_stream_in_flight(
    docket: &DocketProcess,
) -> (
    tokio::sync::mpsc::Sender<ServerReflectionRequest>,
    tonic::Streaming<ServerReflectionResponse>,
) {
    let mut reflection = ServerReflectionClient::new(channel(docket.addr).await);
    let (requests, rx) = tokio::sync::mpsc::channel(4);
    requests.send(list_services()).await.expect("queue");
    let mut responses = reflection
        .server_reflection_info(ReceiverStream::new(rx))
        .await
        .expect("stream")
        .into_inner();
    responses
        .message()
        .await
        .expect("first answer")
        .expect("a message");
    (requests, responses)
}

fn list_services() -> ServerReflectionRequest {
    ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_an_in_flight_stream_then_exits_zero() {
    let db = TestDb::migrated().await;
    let url = db.url();
    let mut docket =
        DocketProcess::start(&[("DATABASE_URL", &url), ("DOCKET_SHUTDOWN_GRACE", "20s")]).await;
    let mut health = docket.wait_until_serving().await;

    // A Watch (as client-side health checking keeps open) and a bidirectional stream in flight.
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch")
        .into_inner();
    let (requests, mut responses) = reflection_stream_in_flight(&docket).await;

    docket.signal(Signal::SIGTERM);

    // Watchers learn the server is going away, and their stream then ends so it cannot hold
    // shutdown open.
    let mut seen = Vec::new();
    while let Some(message) = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .expect("the watch stream ends promptly after SIGTERM")
    {
        seen.push(ServingStatus::try_from(message.expect("status").status).expect("known"));
    }
    assert_eq!(
        seen.last(),
        Some(&ServingStatus::NotServing),
        "statuses seen: {seen:?}"
    );

    // New connections are refused once shutdown has begun.
    let endpoint = Endpoint::from_shared(format!("http://{}", docket.addr)).expect("endpoint");
    let mut refused = false;
    for _ in 0..40 {
        if endpoint.connect().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "new connections still accepted after SIGTERM");

    // The stream that was in flight is still served...
    tokio::time::sleep(Duration::from_millis(300)).await;
    requests.send(list_services()).await.expect("queue");
    responses
        .message()
        .await
        .expect("answer after SIGTERM")
        .expect("a message");
    assert!(
        !docket.has_exited(),
        "exited while a stream was still in flight"
    );

    // ...and when the client finishes it, the server exits 0.
    drop(requests);
    assert!(responses.message().await.expect("clean end").is_none());
    let status = docket.exit_status(Duration::from_secs(10)).await;
    assert!(
        status.success(),
        "exit status {status:?}; logs: {:?}",
        docket.logs()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_outliving_the_grace_period_is_cut_and_the_exit_is_still_clean() {
    let db = TestDb::migrated().await;
    let url = db.url();
    let mut docket =
        DocketProcess::start(&[("DATABASE_URL", &url), ("DOCKET_SHUTDOWN_GRACE", "1s")]).await;
    let (requests, mut responses) = reflection_stream_in_flight(&docket).await;

    docket.signal(Signal::SIGINT);
    let status = docket.exit_status(Duration::from_secs(5)).await;
    assert!(
        status.success(),
        "exit status {status:?}; logs: {:?}",
        docket.logs()
    );
    assert!(
        docket
            .logs()
            .iter()
            .any(|line| line.contains("grace period over")),
        "the cut is logged: {:?}",
        docket.logs()
    );
    let cut = responses.message().await;
    assert!(cut.is_err(), "the stream should have been cut, got {cut:?}");
    drop(requests);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signal_right_after_listening_is_still_a_graceful_exit() {
    // The handlers must exist before the server says it listens, not only once the shutdown
    // future is first polled; otherwise this signal would kill the process.
    let db = TestDb::migrated().await;
    let url = db.url();
    for _ in 0..5 {
        let mut docket = DocketProcess::start(&[("DATABASE_URL", &url)]).await;
        docket.signal(Signal::SIGTERM);
        let status = docket.exit_status(Duration::from_secs(10)).await;
        assert!(
            status.success(),
            "exit status {status:?}; logs: {:?}",
            docket.logs()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn during_the_drain_delay_health_is_not_serving_and_new_calls_are_still_served() {
    let db = TestDb::migrated().await;
    let url = db.url();
    let mut docket =
        DocketProcess::start(&[("DATABASE_URL", &url), ("DOCKET_DRAIN_DELAY", "3s")]).await;
    let mut health = docket.wait_until_serving().await;
    let signalled = tokio::time::Instant::now();
    docket.signal(Signal::SIGTERM);
    crate::helpers::app::wait_for_status(
        &mut health,
        "",
        ServingStatus::NotServing,
        Duration::from_secs(1),
    )
    .await;
    // A caller whose endpoints have not updated yet: a new connection, a new call, still served.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (requests, _responses) = reflection_stream_in_flight(&docket).await;
    drop(requests);
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "served within the delay"
    );
    let status = docket.exit_status(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
    assert!(
        signalled.elapsed() >= Duration::from_secs(3),
        "not before the delay is over"
    );
}

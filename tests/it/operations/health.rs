//! Readiness: SERVING once the database answers, NOT_SERVING while it does not, and back again
//! without a restart.

use std::time::Duration;

use futures_util::StreamExt;
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::helpers::{
    app::{TestApp, check, wait_for_status},
    database::{TestDb, server_socket_addr, url_for},
    proxy::TcpProxy,
};

const WITHIN: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread")]
async fn serving_once_the_database_answers() {
    let app = TestApp::spawn().await;
    let mut health = app.health().await;
    wait_for_status(&mut health, "", ServingStatus::Serving, WITHIN).await;

    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .expect_err("unknown service");
    assert_eq!(unknown.code(), Code::NotFound);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_database_turns_not_serving_and_recovers() {
    let db = TestDb::migrated().await;
    let proxy = TcpProxy::start(server_socket_addr()).await;
    let through_proxy = url_for(&db.name).replace(&server_socket_addr(), &proxy.addr.to_string());
    assert_ne!(
        through_proxy,
        db.url(),
        "the server must reach PostgreSQL through the proxy"
    );
    let app = TestApp::builder().on(db, through_proxy).spawn().await;
    let mut health = app.health().await;
    wait_for_status(&mut health, "", ServingStatus::Serving, WITHIN).await;

    proxy.cut();
    wait_for_status(&mut health, "", ServingStatus::NotServing, WITHIN).await;
    // It stays down while the database is unreachable, across several probe intervals.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(check(&mut health, "").await, ServingStatus::NotServing);

    proxy.restore();
    wait_for_status(&mut health, "", ServingStatus::Serving, WITHIN).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn terminated_connections_are_reported_then_recovered_via_watch() {
    let app = TestApp::spawn().await;
    let mut health = app.health().await;
    wait_for_status(&mut health, "", ServingStatus::Serving, WITHIN).await;
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch starts")
        .into_inner();
    let first = next_status(&mut watch).await;
    assert_eq!(first, ServingStatus::Serving);

    let terminated = app.db.terminate_connections().await;
    assert!(
        terminated >= 1,
        "the health probe holds a connection to terminate"
    );

    assert_eq!(next_status(&mut watch).await, ServingStatus::NotServing);
    assert_eq!(next_status(&mut watch).await, ServingStatus::Serving);
    app.stop().await;
}

async fn next_status(
    watch: &mut tonic::Streaming<tonic_health::pb::HealthCheckResponse>,
) -> ServingStatus {
    let message = tokio::time::timeout(WITHIN, watch.next())
        .await
        .expect("a status change within 5 s")
        .expect("the watch stream is open")
        .expect("a status message");
    ServingStatus::try_from(message.status).expect("known status")
}

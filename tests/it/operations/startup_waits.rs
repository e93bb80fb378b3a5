//! Starting when the database is not ready: `serve` waits for an unreachable database (health
//! NOT_SERVING, Docket calls UNAVAILABLE, each attempt logged) and serves once it answers; instances
//! starting together on a missing database all come up; and an instance that finds another one
//! migrating waits for it, past the statement timeout, saying whom it waits for.

use std::time::Duration;

use docket::{db, grpc::pb};
use futures_util::future::join_all;
use nix::sys::signal::Signal;
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::helpers::{
    app::{channel, check},
    database::{MigrationLock, TestDb, database_config, server_socket_addr, url_for},
    process::{DocketProcess, docket},
    proxy::TcpProxy,
    raw::{self, assert_error},
};

#[tokio::test(flavor = "multi_thread")]
async fn serve_waits_for_an_unreachable_database_then_serves() {
    let db = TestDb::unique_name();
    let proxy = TcpProxy::start(server_socket_addr()).await;
    proxy.cut();
    let url = url_for(&db.name).replace(&server_socket_addr(), &proxy.addr.to_string());
    let mut docket = DocketProcess::start(&[("DATABASE_URL", &url)]).await;

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(docket.addr).await);
    // Waits through at least two more attempts (0.5 s, then 1 s apart).
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(
        !docket.has_exited(),
        "serve must wait, not exit: {:?}",
        docket.logs()
    );
    assert_eq!(check(&mut health, "").await, ServingStatus::NotServing);
    assert_eq!(check(&mut health, "liveness").await, ServingStatus::Serving);
    let status = raw::call(
        channel(docket.addr).await,
        "/docket.v1.TaskService/CountTasks",
        Some("dkt_not_a_real_token"),
        Vec::new(),
    )
    .await
    .expect_err("no database yet");
    assert_error(
        &status,
        Code::Unavailable,
        "DATABASE_UNAVAILABLE",
        "while starting",
    );
    let attempts = docket
        .logs()
        .iter()
        .filter(|line| line.contains("database not ready yet"))
        .count();
    assert!(attempts >= 2, "each attempt is logged: {:?}", docket.logs());

    proxy.restore();
    let _ = docket.wait_until_serving().await;
    assert!(db.exists().await, "created once reachable");
    let logs = docket.logs();
    assert!(
        logs.iter()
            .any(|line| line.contains("database reached and up to date")),
        "{logs:?}"
    );

    docket.signal(Signal::SIGTERM);
    assert!(docket.exit_status(Duration::from_secs(10)).await.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_starting_together_on_a_missing_database_all_come_up() {
    for round in 0..3 {
        let db = TestDb::unique_name();
        let config = database_config(db.url());
        // Each on a task of its own, as each instance would be: the migration harness blocks
        // its thread (block_in_place), and futures joined on one thread would lose their
        // wakeups to its nested block_on.
        let instances = (0..4).map(|_| {
            let config = config.clone();
            tokio::spawn(async move { db::prepare(&config).await })
        });
        let applied: usize = join_all(instances)
            .await
            .into_iter()
            .map(|outcome| {
                outcome
                    .expect("the task ran")
                    .unwrap_or_else(|e| panic!("round {round}: {e}"))
                    .len()
            })
            .sum();
        let expected = super::startup::migration_count();
        assert_eq!(
            applied as i64, expected,
            "round {round}: each migration applied once"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_waits_for_the_lock_past_the_statement_timeout_and_says_for_whom() {
    let db = TestDb::migrated().await;
    let holder = MigrationLock::hold(&db).await;

    let mut migrate = docket(
        &["migrate"],
        &[
            ("DATABASE_URL", &db.url()),
            ("DOCKET_DB_STATEMENT_TIMEOUT", "500ms"),
            ("DOCKET_LOG_FORMAT", "json"),
        ],
    )
    .spawn()
    .expect("spawn migrate");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(
        migrate.try_wait().expect("try_wait").is_none(),
        "migrate must still be waiting for the lock"
    );
    holder.release().await;
    let output = tokio::time::timeout(Duration::from_secs(10), migrate.wait_with_output())
        .await
        .expect("migrate ends once the lock is free")
        .expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let waiting = stdout
        .lines()
        .find(|line| line.contains("waiting for the migration lock"))
        .unwrap_or_else(|| panic!("no waiting line in {stdout}"));
    assert!(waiting.contains("holder_pid"), "{waiting}");
    assert!(stdout.contains("took the migration lock"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn liveness_stays_serving_while_readiness_follows_the_database() {
    let db = TestDb::migrated().await;
    let proxy = TcpProxy::start(server_socket_addr()).await;
    let url = url_for(&db.name).replace(&server_socket_addr(), &proxy.addr.to_string());
    let docket = DocketProcess::start(&[("DATABASE_URL", &url)]).await;
    let mut health = docket.wait_until_serving().await;
    assert_eq!(check(&mut health, "liveness").await, ServingStatus::Serving);

    proxy.cut();
    crate::helpers::app::wait_for_status(
        &mut health,
        "",
        ServingStatus::NotServing,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(check(&mut health, "liveness").await, ServingStatus::Serving);
    let served = health
        .check(HealthCheckRequest {
            service: pb::task_service_server::SERVICE_NAME.into(),
        })
        .await
        .expect("known service")
        .into_inner();
    assert_eq!(served.status, ServingStatus::NotServing as i32);
    proxy.restore();
    let _ = docket.wait_until_serving().await;
}

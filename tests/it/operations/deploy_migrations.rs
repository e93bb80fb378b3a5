//! Migrations as a deploy step: a server never waits with its port closed. One that finds another
//! instance migrating, or (with `DOCKET_MIGRATE=false`) a database its migration Job has not
//! reached yet, listens at once, liveness SERVING, readiness NOT_SERVING with the reason in the
//! log, and serves as soon as the schema it needs is there.

use std::time::Duration;

use nix::sys::signal::Signal;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{
    app::{channel, check},
    database::{MigrationLock, TestDb, connect},
    process::{DocketProcess, docket},
};

/// Liveness SERVING and readiness NOT_SERVING, for a few health checks in a row.
async fn live_but_not_ready(docket: &DocketProcess) {
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(docket.addr).await);
    for _ in 0..3 {
        assert_eq!(check(&mut health, "liveness").await, ServingStatus::Serving);
        assert_eq!(check(&mut health, "").await, ServingStatus::NotServing);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_finds_another_migrating_listens_and_waits_not_ready() {
    let db = TestDb::migrated().await;
    let holder = MigrationLock::hold(&db).await;

    // `start` returns once the server says it listens: it must, while the lock is held.
    let mut docket = DocketProcess::start(&[("DATABASE_URL", &db.url())]).await;
    live_but_not_ready(&docket).await;
    let logs = docket.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("another session is migrating")),
        "the reason is logged: {logs:?}"
    );

    holder.release().await;
    let _ = docket.wait_until_serving().await;
    docket.signal(Signal::SIGTERM);
    assert!(docket.exit_status(Duration::from_secs(10)).await.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_does_not_migrate_waits_for_the_migration_job_then_serves() {
    let db = TestDb::unique_name();
    let url = db.url();
    let mut docket =
        DocketProcess::start(&[("DATABASE_URL", &url), ("DOCKET_MIGRATE", "false")]).await;
    live_but_not_ready(&docket).await;
    assert!(
        !db.exists().await,
        "a server that does not migrate creates nothing"
    );
    let logs = docket.logs();
    let waiting = logs
        .iter()
        .find(|l| l.contains("waiting for `docket migrate`"))
        .unwrap_or_else(|| panic!("the reason is logged: {logs:?}"));
    assert!(waiting.contains("tasks"), "names the migrations: {waiting}");
    // What an exec probe sees: `docket health` fails for readiness, passes for liveness.
    let addr = docket.addr.to_string();
    let ready = docket_command(&["health", "--addr", &addr], &url).await;
    assert!(!ready.status.success());
    assert!(
        String::from_utf8_lossy(&ready.stderr).contains("NOT_SERVING"),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );
    let live = docket_command(&["health", "--addr", &addr, "--service", "liveness"], &url).await;
    assert!(
        live.status.success(),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );

    // What the migration Job runs.
    let job = docket_command(&["migrate"], &url).await;
    assert!(
        job.status.success(),
        "{}",
        String::from_utf8_lossy(&job.stderr)
    );
    let _ = docket.wait_until_serving().await;
    docket.signal(Signal::SIGTERM);
    assert!(docket.exit_status(Duration::from_secs(10)).await.success());
}

async fn docket_command(args: &[&str], url: &str) -> std::process::Output {
    docket(args, &[("DATABASE_URL", url)])
        .output()
        .await
        .expect("run docket")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_does_not_migrate_leaves_an_empty_database_untouched() {
    let db = TestDb::unique_name();
    crate::helpers::database::admin()
        .await
        .batch_execute(&format!("CREATE DATABASE \"{}\"", db.name))
        .await
        .expect("an empty database");
    let url = db.url();
    let mut docket =
        DocketProcess::start(&[("DATABASE_URL", &url), ("DOCKET_MIGRATE", "false")]).await;
    live_but_not_ready(&docket).await;
    let tables: i64 = connect(&url)
        .await
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .expect("count tables")
        .get(0);
    assert_eq!(tables, 0, "not even diesel's bookkeeping table");
    docket.signal(Signal::SIGTERM);
    assert!(docket.exit_status(Duration::from_secs(10)).await.success());
}

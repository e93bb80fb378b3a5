//! Housekeeping: CreateTask's request ids are forgotten once their retention has passed, after
//! which a retry creates anew; events go once theirs has, and the log's horizon moves up to the
//! last one gone; one server purges at a time; a server purges on its own, at its interval.

use std::time::Duration;

use docket::{
    db::housekeeping::{
        HOUSEKEEPING_LOCK_KEY, Purged, expire_events, expire_request_ids, expire_sla_policies,
        expire_timers,
    },
    grpc::pb::{self, task_service_client::TaskServiceClient},
};

use crate::{
    helpers::rpc::authorized,
    helpers::{
        app::TestApp,
        database::{TestDb, connect},
        seed,
        team::titled,
    },
};

const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

/// Creates a task under `request_id`; the task's id.
async fn create(app: &TestApp, token: &str, request_id: &str) -> String {
    let request = pb::CreateTaskRequest {
        request_id: request_id.into(),
        ..titled("Call back")
    };
    TaskServiceClient::new(app.channel().await)
        .create_task(authorized(request, token))
        .await
        .expect("create")
        .into_inner()
        .task
        .expect("task")
        .id
}

/// The request ids the database remembers, in order.
async fn remembered(db: &TestDb) -> Vec<String> {
    connect(&db.url())
        .await
        .query(
            "SELECT request_id FROM task_create_requests ORDER BY 1",
            &[],
        )
        .await
        .expect("request ids")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// Makes `request_id` as old as `days`.
async fn age(db: &TestDb, request_id: &str, days: i32) {
    connect(&db.url())
        .await
        .execute(
            "UPDATE task_create_requests SET created_at = now() - make_interval(days => $2) \
             WHERE request_id = $1",
            &[&request_id, &days],
        )
        .await
        .expect("backdate");
}

/// A server whose own housekeeping keeps everything for ten years: its passes (the first at its
/// start, at any moment of a slow machine's test) would otherwise purge what a test ages past the
/// default retentions before the test's own call does, and that call would find nothing.
async fn keeping_everything() -> TestApp {
    let ten_years = Duration::from_secs(10 * 366 * 24 * 3600);
    TestApp::builder()
        .configure(|config| {
            config.request_id_retention = ten_years;
            config.event_retention = ten_years;
        })
        .spawn()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_request_ids_are_purged_and_a_retry_then_creates_anew() {
    let app = keeping_everything().await;
    let (_, token) = seed::workspace(&app.db, "acme").await;
    let first = create(&app, &token, "old-1").await;
    create(&app, &token, "old-2").await;
    let recent = create(&app, &token, "recent").await;
    age(&app.db, "old-1", 8).await;
    age(&app.db, "old-2", 30).await;
    age(&app.db, "recent", 6).await;

    // Batches of one: the purge goes on until a batch comes back short.
    let mut conn = seed::diesel(&app.db).await;
    let purged = expire_request_ids(&mut conn, WEEK, 1).await.expect("purge");
    assert_eq!(purged, Purged::Rows(2));
    assert_eq!(remembered(&app.db).await, ["recent"]);

    assert_ne!(
        create(&app, &token, "old-1").await,
        first,
        "a forgotten id creates anew"
    );
    assert_eq!(
        create(&app, &token, "recent").await,
        recent,
        "a remembered one does not"
    );
    app.stop().await;
}

/// The events the database keeps, by task, and the horizon of the (only) workspace that has
/// one (0: none).
async fn kept_events(db: &TestDb) -> (Vec<String>, i64) {
    let db = connect(&db.url()).await;
    let tasks = db
        .query(
            "SELECT task_id::text FROM task_events ORDER BY workspace_id, position",
            &[],
        )
        .await
        .expect("events")
        .iter()
        .map(|row| row.get(0))
        .collect();
    let horizon = db
        .query_one(
            "SELECT coalesce(max(position), 0) FROM task_event_horizons",
            &[],
        )
        .await
        .expect("horizon");
    (tasks, horizon.get(0))
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_events_are_purged_and_the_horizon_follows() {
    let app = keeping_everything().await;
    let (_, token) = seed::workspace(&app.db, "acme").await;
    let old = [
        create(&app, &token, "a").await,
        create(&app, &token, "b").await,
    ];
    let recent = create(&app, &token, "c").await;
    let db = connect(&app.db.url()).await;
    db.execute(
        "UPDATE task_events SET at = now() - interval '31 days' WHERE task_id = ANY($1::text[]::uuid[])",
        &[&old.to_vec()],
    )
    .await
    .expect("backdate");
    let last_old: i64 = db
        .query_one(
            "SELECT max(position) FROM task_events WHERE task_id = ANY($1::text[]::uuid[])",
            &[&old.to_vec()],
        )
        .await
        .expect("the last old event")
        .get(0);
    assert_eq!(kept_events(&app.db).await.1, 0, "nothing purged yet");

    let mut conn = seed::diesel(&app.db).await;
    let month = Duration::from_secs(30 * 24 * 3600);
    let purged = expire_events(&mut conn, month, 1).await.expect("purge");
    assert_eq!(purged, Purged::Rows(2));
    let (kept, horizon) = kept_events(&app.db).await;
    assert_eq!(kept, [recent]);
    assert_eq!(horizon, last_old);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn settled_timers_are_purged_and_pending_ones_kept() {
    let app = keeping_everything().await;
    let (_, token) = seed::workspace(&app.db, "acme").await;
    create(&app, &token, "timed").await;
    let db = connect(&app.db.url()).await;
    // One pending (due in a year, however old), one settled 31 days ago, one settled now.
    db.execute(
        "INSERT INTO task_timers (workspace_id, id, task_id, action, fire_at, state, \
         settled_at, created_by_type, created_by_id) SELECT workspace_id, gen_random_uuid(), id, \
         'REMIND', now() + interval '1 year', s.state, s.settled_at, 'SYSTEM', 'docket' \
         FROM tasks, (VALUES ('PENDING', NULL), ('FIRED', now() - interval '31 days'), \
         ('CANCELLED', now())) AS s (state, settled_at)",
        &[],
    )
    .await
    .expect("timers");
    let mut conn = seed::diesel(&app.db).await;
    let month = Duration::from_secs(30 * 24 * 3600);
    assert_eq!(
        expire_timers(&mut conn, month, 10).await.expect("purge"),
        Purged::Rows(1)
    );
    let left: Vec<String> = db
        .query("SELECT state FROM task_timers ORDER BY state", &[])
        .await
        .expect("timers")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(left, ["CANCELLED", "PENDING"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retired_sla_policies_no_task_follows_are_purged() {
    let app = keeping_everything().await;
    let (workspace, token) = seed::workspace(&app.db, "acme").await;
    let db = connect(&app.db.url()).await;
    // Retired 31 days ago: one a task follows, one none does; retired now; and a current one.
    db.execute(
        "INSERT INTO sla_policies (workspace_id, position, name, resolution_secs, counted_from, \
         retired_at) SELECT $1, p.position, p.name, 3600, 'CREATED_AT', p.retired_at \
         FROM (VALUES (0, 'followed', now() - interval '31 days'), \
         (1, 'forgotten', now() - interval '31 days'), (2, 'recent', now()), \
         (0, 'current', NULL)) AS p (position, name, retired_at)",
        &[&workspace.id],
    )
    .await
    .expect("policies");
    create(&app, &token, "followed").await;
    db.execute(
        "UPDATE tasks SET sla_policy_id = (SELECT id FROM sla_policies WHERE name = 'followed')",
        &[],
    )
    .await
    .expect("a task follows it");
    let mut conn = seed::diesel(&app.db).await;
    let month = Duration::from_secs(30 * 24 * 3600);
    assert_eq!(
        expire_sla_policies(&mut conn, month, 10)
            .await
            .expect("purge"),
        Purged::Rows(1)
    );
    let left: Vec<String> = db
        .query("SELECT name FROM sla_policies ORDER BY name", &[])
        .await
        .expect("policies")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(left, ["current", "followed", "recent"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_server_purges_at_a_time() {
    let app = keeping_everything().await;
    let (_, token) = seed::workspace(&app.db, "acme").await;
    create(&app, &token, "old").await;
    age(&app.db, "old", 8).await;

    // Another server, mid-purge, holds the lock.
    let other = connect(&app.db.url()).await;
    other.batch_execute("BEGIN").await.expect("begin");
    other
        .execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&HOUSEKEEPING_LOCK_KEY],
        )
        .await
        .expect("lock");
    let mut conn = seed::diesel(&app.db).await;
    let purged = expire_request_ids(&mut conn, WEEK, 100)
        .await
        .expect("purge");
    assert_eq!(purged, Purged::ElsewhereUnderway);
    assert_eq!(
        remembered(&app.db).await,
        ["old"],
        "left to the other server"
    );

    other.batch_execute("COMMIT").await.expect("commit");
    let purged = expire_request_ids(&mut conn, WEEK, 100)
        .await
        .expect("purge");
    assert_eq!(purged, Purged::Rows(1));
    assert!(remembered(&app.db).await.is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_purges_on_its_own_at_its_interval() {
    let db = TestDb::migrated().await;
    let url = db.url();
    let app = TestApp::builder()
        .on(db, url)
        .configure(|config| {
            config.request_id_retention = Duration::from_secs(1);
            config.event_retention = Duration::from_secs(1);
            config.housekeeping_interval = Duration::from_millis(200);
        })
        .spawn()
        .await;
    let (_, token) = seed::workspace(&app.db, "acme").await;
    create(&app, &token, "soon-forgotten").await;
    assert_eq!(remembered(&app.db).await, ["soon-forgotten"]);
    let gone = async {
        while !remembered(&app.db).await.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), gone)
        .await
        .expect("purged within a few intervals past its retention");
    let events_gone = async {
        while !kept_events(&app.db).await.0.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), events_gone)
        .await
        .expect("events purged as well");
    app.stop().await;
}

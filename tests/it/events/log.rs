//! The event log's order, at the database: positions follow commits, not first writes; a reader
//! that sees a position sees every one below it; an aborted transaction leaves no event and no
//! gap; each workspace reads its own events; and a transaction left open anywhere else (another
//! workspace, another database of the server) holds no reader back.

use std::time::Duration;

use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use docket::domain::vocabulary::{ActorType, EventKind};
use docket::events::log::{Cause, NewEvent, append, read_after};
use docket::events::{Event, Position};
use uuid::Uuid;

use crate::helpers::{
    database::{TestDb, connect},
    seed,
};

fn event(workspace_id: Uuid, task_id: Uuid) -> NewEvent {
    NewEvent {
        workspace_id,
        task_id: Some(task_id),
        template_id: None,
        webhook_id: None,
        assignment_id: None,
        kind: EventKind::TaskCreated,
        details: serde_json::json!({}),
        audience: Vec::new(),
    }
}

fn cause() -> Cause {
    Cause {
        actor_type: ActorType::ApiToken,
        actor_id: "test".into(),
        request_id: None,
    }
}

fn tasks(events: &[Event]) -> Vec<Uuid> {
    events.iter().filter_map(|e| e.task_id).collect()
}

fn numbers(events: &[Event]) -> Vec<i64> {
    events.iter().map(|e| e.position.number()).collect()
}

/// Every event of the workspace after `after`, as one read sees them.
async fn read_all(conn: &mut AsyncPgConnection, workspace_id: Uuid, after: i64) -> Vec<Event> {
    read_after(
        conn,
        workspace_id,
        Position::new(after),
        Position::new(i64::MAX),
        10_000,
    )
    .await
    .expect("read")
}

#[tokio::test(flavor = "multi_thread")]
async fn positions_follow_commits_not_first_writes() {
    let db = TestDb::migrated().await;
    let (workspace, _) = seed::workspace(&db, "acme").await;
    let (first, second) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let (mut a, mut b) = (seed::diesel(&db).await, seed::diesel(&db).await);

    // A starts writing first (it holds a transaction id before B has one) but commits last.
    a.batch_execute("BEGIN; SELECT pg_current_xact_id()")
        .await
        .expect("A begins");
    b.batch_execute("BEGIN").await.expect("B begins");
    append(&mut b, &cause(), &[event(workspace.id, second)])
        .await
        .expect("B appends");
    b.batch_execute("COMMIT").await.expect("B commits");
    append(&mut a, &cause(), &[event(workspace.id, first)])
        .await
        .expect("A appends");
    a.batch_execute("COMMIT").await.expect("A commits");

    let read = read_all(&mut b, workspace.id, 0).await;
    assert_eq!(tasks(&read), [second, first], "in the order they committed");
    assert_eq!(numbers(&read), [1, 2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_writer_takes_its_positions_only_once_the_one_before_has_committed() {
    let db = TestDb::migrated().await;
    let (workspace, _) = seed::workspace(&db, "acme").await;
    let (mut a, mut b) = (seed::diesel(&db).await, seed::diesel(&db).await);
    let mut reader = seed::diesel(&db).await;

    a.batch_execute("BEGIN").await.expect("begin");
    append(&mut a, &cause(), &[event(workspace.id, Uuid::from_u128(1))])
        .await
        .expect("A appends");
    let b_writes = tokio::spawn(async move {
        b.batch_execute("BEGIN").await.expect("begin");
        append(&mut b, &cause(), &[event(workspace.id, Uuid::from_u128(2))])
            .await
            .expect("B appends");
        b.batch_execute("COMMIT").await.expect("commit");
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!b_writes.is_finished(), "B waits for A's commit");
    assert!(
        read_all(&mut reader, workspace.id, 0).await.is_empty(),
        "nothing is visible before A commits"
    );
    a.batch_execute("COMMIT").await.expect("commit");
    b_writes.await.expect("B");
    let read = read_all(&mut reader, workspace.id, 0).await;
    assert_eq!(tasks(&read), [Uuid::from_u128(1), Uuid::from_u128(2)]);
    assert_eq!(numbers(&read), [1, 2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn aborted_events_never_appear_and_leave_no_gap() {
    let db = TestDb::migrated().await;
    let (workspace, _) = seed::workspace(&db, "acme").await;
    let (mut writer, mut reader) = (seed::diesel(&db).await, seed::diesel(&db).await);

    writer.batch_execute("BEGIN").await.expect("begin");
    append(
        &mut writer,
        &cause(),
        &[event(workspace.id, Uuid::from_u128(1))],
    )
    .await
    .expect("append");
    writer.batch_execute("ROLLBACK").await.expect("rollback");
    append(
        &mut writer,
        &cause(),
        &[event(workspace.id, Uuid::from_u128(2))],
    )
    .await
    .expect("append");

    let read = read_all(&mut reader, workspace.id, 0).await;
    assert_eq!(tasks(&read), [Uuid::from_u128(2)]);
    assert_eq!(
        numbers(&read),
        [1],
        "the rolled-back position was given back"
    );
}

/// Many writers at once, and a reader that reads as they go: every read starts right after what
/// it had, with no gap, so no event can appear later below a position already read.
#[tokio::test(flavor = "multi_thread")]
async fn a_reader_that_sees_a_position_sees_every_one_below_it() {
    let db = TestDb::migrated().await;
    let (workspace, _) = seed::workspace(&db, "acme").await;
    const WRITERS: u128 = 8;
    const EACH: u128 = 40;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let mut conn = seed::diesel(&db).await;
        writers.push(tokio::spawn(async move {
            for n in 0..EACH {
                let events: Vec<NewEvent> = (0..=(n % 3))
                    .map(|k| event(workspace.id, Uuid::from_u128(w * 1000 + n * 10 + k)))
                    .collect();
                append(&mut conn, &cause(), &events).await.expect("append");
            }
        }));
    }
    let mut reader = seed::diesel(&db).await;
    let mut position = 0;
    let mut seen = 0;
    loop {
        let done = writers.iter().all(|w| w.is_finished());
        let read = read_all(&mut reader, workspace.id, position).await;
        for (offset, event) in read.iter().enumerate() {
            assert_eq!(
                event.position.number(),
                position + 1 + offset as i64,
                "a gap below a position already visible"
            );
        }
        position += read.len() as i64;
        seen += read.len();
        if done && read.is_empty() {
            break;
        }
    }
    let written: u128 = (0..EACH).map(|n| n % 3 + 1).sum::<u128>() * WRITERS;
    assert_eq!(seen as u128, written);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workspace_reads_its_own_events_a_page_at_a_time() {
    let db = TestDb::migrated().await;
    let (mine, _) = seed::workspace(&db, "mine").await;
    let (theirs, _) = seed::workspace(&db, "theirs").await;
    let mut conn = seed::diesel(&db).await;
    for n in 1..=5 {
        append(&mut conn, &cause(), &[event(mine.id, Uuid::from_u128(n))])
            .await
            .expect("append");
        append(
            &mut conn,
            &cause(),
            &[event(theirs.id, Uuid::from_u128(100 + n))],
        )
        .await
        .expect("append");
    }
    let mut seen = Vec::new();
    let mut position = Position::START;
    loop {
        let page = read_after(&mut conn, mine.id, position, Position::new(i64::MAX), 2)
            .await
            .expect("read");
        let Some(last) = page.last() else { break };
        position = last.position;
        seen.extend(tasks(&page));
    }
    assert_eq!(seen, (1..=5).map(Uuid::from_u128).collect::<Vec<_>>());
    let mixed = append(
        &mut conn,
        &cause(),
        &[
            event(mine.id, Uuid::from_u128(9)),
            event(theirs.id, Uuid::from_u128(9)),
        ],
    )
    .await;
    assert!(mixed.is_err(), "one append writes one workspace's events");
}

/// A transaction that holds a transaction id for as long as it likes, in another workspace and
/// in another database of the same server, holds no reader back.
#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_left_open_elsewhere_holds_no_reader_back() {
    let db = TestDb::migrated().await;
    let other_db = TestDb::migrated().await;
    let (mine, _) = seed::workspace(&db, "mine").await;
    let (theirs, _) = seed::workspace(&db, "theirs").await;
    let elsewhere = connect(&db.url()).await;
    elsewhere
        .batch_execute(&format!(
            "BEGIN; SELECT pg_current_xact_id(); UPDATE task_event_heads SET position = position \
             WHERE workspace_id = '{}'",
            theirs.id
        ))
        .await
        .expect("a long transaction in another workspace");
    let other_database = connect(&other_db.url()).await;
    other_database
        .batch_execute("BEGIN; SELECT pg_current_xact_id()")
        .await
        .expect("a long transaction in another database");

    let mut conn = seed::diesel(&db).await;
    append(&mut conn, &cause(), &[event(mine.id, Uuid::from_u128(1))])
        .await
        .expect("append");
    let read = read_all(&mut conn, mine.id, 0).await;
    assert_eq!(tasks(&read), [Uuid::from_u128(1)], "read at once");
    drop((elsewhere, other_database));
}

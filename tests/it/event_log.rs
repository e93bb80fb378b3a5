//! The event log's order: a reader never moves past an event that is still to commit, whatever
//! order transactions commit in; an aborted transaction's events never appear and hold nothing
//! up; each workspace reads its own events only.

use std::time::Duration;

use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use docket::db::{
    enums::{ActorType, EventKind},
    events::{Cause, EventRow, NewEvent, Position, append, read_after},
};
use uuid::Uuid;

use crate::helpers::{database::TestDb, seed};

fn event(workspace_id: Uuid, task_id: Uuid) -> NewEvent {
    NewEvent {
        workspace_id,
        task_id,
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

async fn begin_with(conn: &mut AsyncPgConnection, event: NewEvent) {
    conn.batch_execute("BEGIN").await.expect("begin");
    append(conn, &cause(), &[event]).await.expect("append");
}

fn tasks(events: &[EventRow]) -> Vec<Uuid> {
    events.iter().map(|e| e.task_id).collect()
}

/// Reads pages of `limit` from `position` until `want` events have come, and the position after
/// them. Other tests' transactions on the same cluster hold the line back for a while, as any
/// transaction does, so the events come once those end.
async fn read_until(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    mut position: Position,
    limit: i64,
    want: usize,
) -> (Vec<EventRow>, Position) {
    let mut read = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while read.len() < want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {want} events came: {read:?}",
            read.len()
        );
        let (page, next) = read_after(conn, Some(workspace_id), position, None, limit)
            .await
            .expect("read");
        assert!(next >= position, "a position never goes back");
        if page.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        read.extend(page);
        position = next;
    }
    (read, position)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_that_commits_late_is_read_in_its_place_not_skipped() {
    let db = TestDb::migrated().await;
    let (workspace, _) = seed::workspace(&db, "acme").await;
    let (first, second) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let (mut a, mut b) = (seed::diesel(&db).await, seed::diesel(&db).await);
    let mut reader = seed::diesel(&db).await;

    // A writes first but commits last; B writes and commits in between.
    begin_with(&mut a, event(workspace.id, first)).await;
    begin_with(&mut b, event(workspace.id, second)).await;
    b.batch_execute("COMMIT").await.expect("commit b");
    let (read, position) = read_after(
        &mut reader,
        Some(workspace.id),
        Position::default(),
        None,
        100,
    )
    .await
    .expect("read");
    assert!(
        read.is_empty(),
        "B's event waits while A, older, may still commit: {read:?}"
    );

    a.batch_execute("COMMIT").await.expect("commit a");
    let (read, position) = read_until(&mut reader, workspace.id, position, 100, 2).await;
    assert_eq!(tasks(&read), [first, second], "both, in transaction order");
    assert!(read[0].position() < read[1].position());

    let (again, _) = read_after(&mut reader, Some(workspace.id), position, None, 100)
        .await
        .expect("read");
    assert!(again.is_empty(), "no event twice: {again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn aborted_events_never_appear_and_hold_nothing_up() {
    let db = TestDb::migrated().await;
    let (workspace, _) = seed::workspace(&db, "acme").await;
    let (mut writer, mut reader) = (seed::diesel(&db).await, seed::diesel(&db).await);

    begin_with(&mut writer, event(workspace.id, Uuid::from_u128(1))).await;
    writer.batch_execute("ROLLBACK").await.expect("rollback");
    begin_with(&mut writer, event(workspace.id, Uuid::from_u128(2))).await;
    writer.batch_execute("COMMIT").await.expect("commit");

    let (read, position) = read_until(&mut reader, workspace.id, Position::default(), 100, 1).await;
    assert_eq!(tasks(&read), [Uuid::from_u128(2)]);
    let (after, _) = read_after(&mut reader, Some(workspace.id), position, None, 100)
        .await
        .expect("read");
    assert!(after.is_empty(), "{after:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workspace_reads_its_own_events_a_page_at_a_time() {
    let db = TestDb::migrated().await;
    let (mine, _) = seed::workspace(&db, "mine").await;
    let (theirs, _) = seed::workspace(&db, "theirs").await;
    let mut conn = seed::diesel(&db).await;
    for n in 1..=5 {
        let events = [
            event(mine.id, Uuid::from_u128(n)),
            event(theirs.id, Uuid::from_u128(100 + n)),
        ];
        append(&mut conn, &cause(), &events).await.expect("append");
    }

    let (read, _) = read_until(&mut conn, mine.id, Position::default(), 2, 5).await;
    let seen = tasks(&read);
    assert_eq!(seen, (1..=5).map(Uuid::from_u128).collect::<Vec<_>>());
}

//! Per-workspace task numbers: start at 1, unique and increasing under concurrency, one sequence
//! per workspace that lives and dies with it (see migrations/*_task_numbers/up.sql for why).

use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection};
use diesel_migrations::MigrationHarness;
use docket::db::migrations::MIGRATIONS;
use futures_util::future::join_all;
use uuid::Uuid;

use crate::helpers::{
    database::{TestDb, connect},
    seed,
};

async fn next_number(client: &tokio_postgres::Client, workspace: Uuid) -> i64 {
    client
        .query_one("SELECT next_task_number($1)", &[&workspace])
        .await
        .expect("next_task_number")
        .get(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn numbers_start_at_one_per_workspace_and_stay_unique_under_concurrency() {
    let db = TestDb::migrated().await;
    let (busy, _) = seed::workspace(&db, "busy").await;
    let (quiet, _) = seed::workspace(&db, "quiet").await;
    let url = db.url();
    let clients = join_all((0..16).map(|_| connect(&url))).await;

    let numbers =
        join_all((0..200).map(|i| next_number(&clients[i % clients.len()], busy.id))).await;
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (1..=200).collect::<Vec<i64>>(),
        "200 distinct numbers from 1, no gaps without rollbacks"
    );

    assert_eq!(
        next_number(&clients[0], quiet.id).await,
        1,
        "each workspace counts on its own"
    );
    assert_eq!(next_number(&clients[1], busy.id).await, 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workspace_sequence_is_dropped_with_the_workspace() {
    let db = TestDb::migrated().await;
    let (workspace, _) = seed::workspace(&db, "doomed").await;
    let client = connect(&db.url()).await;
    let sequences =
        "SELECT count(*) FROM pg_class WHERE relkind = 'S' AND relname = task_number_sequence($1)";
    let before: i64 = client
        .query_one(sequences, &[&workspace.id])
        .await
        .expect("count")
        .get(0);
    assert_eq!(before, 1);
    client
        .execute("DELETE FROM workspaces WHERE id = $1", &[&workspace.id])
        .await
        .expect("delete");
    let after: i64 = client
        .query_one(sequences, &[&workspace.id])
        .await
        .expect("count")
        .get(0);
    assert_eq!(after, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_migration_continues_after_numbers_already_used() {
    let db = TestDb::migrated().await;
    let (workspace, _) = seed::workspace(&db, "old").await;
    let client = connect(&db.url()).await;
    client
        .execute(
            "INSERT INTO tasks (workspace_id, id, number, title, kind, completion_policy, distributed,
                                created_by_type, created_by_id)
             VALUES ($1, $2, 41, 'from before numbering', 'CALL', 'ANY', false, 'SYSTEM', 'docket')",
            &[&workspace.id, &Uuid::new_v4()],
        )
        .await
        .expect("insert a task");

    let conn = AsyncPgConnection::establish(&db.url())
        .await
        .expect("connect");
    let mut harness = AsyncMigrationHarness::new(conn);
    // Revert back through the numbering migration (later ones first), then apply all again.
    loop {
        let reverted = harness.revert_last_migration(MIGRATIONS).expect("revert");
        if reverted.to_string().ends_with("000006") {
            break;
        }
    }
    harness
        .run_pending_migrations(MIGRATIONS)
        .expect("apply it to a workspace with tasks");
    drop(harness);

    assert_eq!(next_number(&client, workspace.id).await, 42);
}

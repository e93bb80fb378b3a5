//! The schema: every `down.sql` reverts its `up.sql`, and `src/db/schema.rs` names only tables and
//! columns the migrations create.

use diesel::{QueryDsl, Table};
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::MigrationHarness;
use docket::db::{migrations::MIGRATIONS, schema};

use crate::helpers::database::{TestDb, connect};

#[tokio::test(flavor = "multi_thread")]
async fn schema_rs_matches_the_migrations() {
    let db = TestDb::migrated().await;
    let mut conn = AsyncPgConnection::establish(&db.url())
        .await
        .expect("connect");
    // Selecting every declared column fails if a table or column is missing or misnamed.
    macro_rules! select_all {
        ($($table:ident),* $(,)?) => {$(
            schema::$table::table
                .select(schema::$table::table::all_columns())
                .limit(0)
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", stringify!($table)));
        )*};
    }
    select_all!(
        workspaces,
        users,
        channels,
        channel_members,
        tasks,
        task_linked_records,
        assignments,
        api_tokens,
        task_create_requests,
        task_timers,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_revert_completely_and_reapply_identically() {
    let db = TestDb::migrated().await;
    let before = catalog(&db).await;
    assert!(
        before.contains("tasks.number"),
        "fingerprint covers the tables: {before}"
    );

    let conn = AsyncPgConnection::establish(&db.url())
        .await
        .expect("connect");
    let mut harness = AsyncMigrationHarness::new(conn);
    harness
        .revert_all_migrations(MIGRATIONS)
        .expect("revert all migrations");
    let reverted = catalog(&db).await;
    assert!(
        reverted
            .lines()
            .all(|line| line.contains("__diesel_schema_migrations")),
        "objects left after reverting every migration:\n{reverted}"
    );

    harness
        .run_pending_migrations(MIGRATIONS)
        .expect("re-apply");
    drop(harness);
    assert_eq!(catalog(&db).await, before);
}

/// Tables, columns, indexes and constraints of the public schema, one per line.
async fn catalog(db: &TestDb) -> String {
    let client = connect(&db.url()).await;
    let rows = client
        .query(
            "SELECT line FROM (
                 SELECT format('column %s.%s %s null=%s default=%s', table_name, column_name,
                               data_type, is_nullable, column_default) AS line
                   FROM information_schema.columns WHERE table_schema = 'public'
                 UNION ALL
                 SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public'
                 UNION ALL
                 SELECT format('constraint %s on %s: %s', conname, conrelid::regclass,
                               pg_get_constraintdef(oid))
                   FROM pg_constraint WHERE connamespace = 'public'::regnamespace
                 UNION ALL
                 SELECT format('function %s', p.oid::regprocedure) FROM pg_proc p
                  WHERE p.pronamespace = 'public'::regnamespace
                 UNION ALL
                 SELECT format('trigger %s on %s', tgname, tgrelid::regclass) FROM pg_trigger
                  WHERE NOT tgisinternal
                 UNION ALL
                 SELECT format('relation %s kind %s', relname, relkind) FROM pg_class
                  WHERE relnamespace = 'public'::regnamespace AND relkind IN ('S', 'v', 'm')
                 UNION ALL
                 SELECT format('type %s', typname) FROM pg_type
                  WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd', 'c')
                    AND typrelid = 0
             ) AS objects ORDER BY line",
            &[],
        )
        .await
        .expect("read the catalog");
    rows.iter()
        .map(|row| row.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

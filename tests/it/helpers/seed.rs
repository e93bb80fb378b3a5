//! Test data written straight to a test database through Docket's own domain code (or SQL, for
//! what no RPC writes yet).

use diesel_async::{AsyncConnection, AsyncPgConnection};
use docket::{
    auth::Scope,
    domain::{
        records::Workspace,
        tokens::{self, TokenOwner},
        workspaces,
    },
};
use uuid::Uuid;

use super::database::{TestDb, connect};

pub async fn diesel(db: &TestDb) -> AsyncPgConnection {
    AsyncPgConnection::establish(&db.url())
        .await
        .expect("connect")
}

/// A workspace and the secret of its first (all-scope) token.
pub async fn workspace(db: &TestDb, name: &str) -> (Workspace, String) {
    let (workspace, token) = workspaces::create(&mut diesel(db).await, name)
        .await
        .expect("create workspace");
    (workspace, token.secret)
}

/// The secret of a new service token with these scopes, and its id.
pub async fn service_token(db: &TestDb, workspace: Uuid, scopes: &[Scope]) -> (String, Uuid) {
    let owner = TokenOwner::Service("test-service".into());
    let created = tokens::create(&mut diesel(db).await, workspace, owner, scopes)
        .await
        .expect("token");
    (created.secret, created.token.id)
}

/// A user of the workspace (users are synced in by DirectoryService; this writes the row).
pub async fn user(db: &TestDb, workspace: Uuid, active: bool) -> Uuid {
    let id = Uuid::new_v4();
    connect(&db.url())
        .await
        .execute(
            "INSERT INTO users (workspace_id, id, first_name, last_name, email, active) \
             VALUES ($1, $2, 'Test', 'User', 'test.user@example.com', $3)",
            &[&workspace, &id, &active],
        )
        .await
        .expect("insert user");
    id
}

pub async fn set_user_active(db: &TestDb, workspace: Uuid, user: Uuid, active: bool) {
    connect(&db.url())
        .await
        .execute(
            "UPDATE users SET active = $3 WHERE workspace_id = $1 AND id = $2",
            &[&workspace, &user, &active],
        )
        .await
        .expect("update user");
}

/// `tasks` tasks of `body_bytes`-byte plain bodies (a multiple of 32) in the workspace, written
/// straight to the database (no events), for tests of listings and their bounds.
pub async fn bulk_tasks(db: &TestDb, workspace: Uuid, tasks: i32, body_bytes: i32) {
    connect(&db.url())
        .await
        .execute(
            "INSERT INTO tasks (workspace_id, id, number, title, body_plain, kind, \
             completion_policy, distributed, created_by_type, created_by_id) \
             SELECT $1, gen_random_uuid(), next_task_number($1), 'Bulk ' || i, \
             repeat(md5(i::text), $3 / 32), 'GENERAL', 'MANUAL', false, 'API_TOKEN', 'seed' \
             FROM generate_series(1, $2) i",
            &[&workspace, &tasks, &body_bytes],
        )
        .await
        .expect("seed tasks");
}

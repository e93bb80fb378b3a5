//! Queries on `users`.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::users;

/// Whether the user is active, or `None` if the workspace has no such user.
pub async fn active_status(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Option<bool>> {
    users::table
        .find((workspace_id, user_id))
        .select(users::active)
        .first(conn)
        .await
        .optional()
}

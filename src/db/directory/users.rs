//! Queries on `users`.

use crate::db::rows::read_as;
use crate::domain::records::User;
use chrono::{DateTime, Utc};
use diesel::{
    dsl::now,
    prelude::*,
    sql_types::{Bool, Nullable, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::users;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    workspace_id: Uuid,
    id: Uuid,
    first_name: String,
    last_name: String,
    email: String,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            workspace_id: row.workspace_id,
            id: row.id,
            first_name: row.first_name,
            last_name: row.last_name,
            email: row.email,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

read_as!(User, UserRow);

#[derive(QueryableByName)]
struct Upserted {
    #[diesel(embed)]
    user: User,
    #[diesel(sql_type = Bool)]
    created: bool,
}

/// The profile fields an upsert writes. `active: None` keeps an existing user's state (and makes a
/// new user active).
pub struct UserFields<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub active: Option<bool>,
}

/// Inserts or updates the user; returns it and whether it was created. An upsert that changes
/// nothing writes nothing, so replayed syncs do not move `updated_at`.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    fields: &UserFields<'_>,
) -> QueryResult<(User, bool)> {
    let written = diesel::sql_query(
        "INSERT INTO users (workspace_id, id, first_name, last_name, email, active)
         VALUES ($1, $2, $3, $4, $5, coalesce($6, true))
         ON CONFLICT (workspace_id, id) DO UPDATE
            SET first_name = excluded.first_name, last_name = excluded.last_name,
                email = excluded.email, active = coalesce($6, users.active), updated_at = now()
          WHERE (users.first_name, users.last_name, users.email, users.active)
                IS DISTINCT FROM (excluded.first_name, excluded.last_name, excluded.email,
                                  coalesce($6, users.active))
         RETURNING *, (xmax = 0) AS created",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(fields.first_name)
    .bind::<Text, _>(fields.last_name)
    .bind::<Text, _>(fields.email)
    .bind::<Nullable<Bool>, _>(fields.active)
    .get_result::<Upserted>(conn)
    .await
    .optional()?;
    match written {
        Some(Upserted { user, created }) => Ok((user, created)),
        // Nothing changed: the row exists exactly as requested.
        None => Ok((
            find(conn, workspace_id, id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?,
            false,
        )),
    }
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<User>> {
    users::table
        .find((workspace_id, id))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

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

/// Deactivates the user; `None` if there is no such user. Already inactive: unchanged.
pub async fn deactivate(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<User>> {
    let changed = diesel::update(users::table.find((workspace_id, id)).filter(users::active))
        .set((users::active.eq(false), users::updated_at.eq(now)))
        .returning(User::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    match changed {
        Some(user) => Ok(Some(user)),
        None => find(conn, workspace_id, id).await,
    }
}

/// Up to `limit` users with ids after `after`, by id.
pub async fn page(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    include_inactive: bool,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<User>> {
    let mut query = users::table
        .filter(users::workspace_id.eq(workspace_id))
        .select(User::as_select())
        .order(users::id)
        .limit(limit)
        .into_boxed();
    if !include_inactive {
        query = query.filter(users::active);
    }
    if let Some(after) = after {
        query = query.filter(users::id.gt(after));
    }
    query.load(conn).await
}

/// Which of `ids` are users of the workspace (only the active ones if `active_only`).
pub async fn existing_ids(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    ids: &[Uuid],
    active_only: bool,
) -> QueryResult<Vec<Uuid>> {
    let mut query = users::table
        .filter(users::workspace_id.eq(workspace_id))
        .filter(users::id.eq_any(ids))
        .select(users::id)
        .into_boxed();
    if active_only {
        query = query.filter(users::active);
    }
    query.load(conn).await
}

/// The workspace's users among `ids`.
pub async fn of_ids(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::workspace_id.eq(workspace_id))
        .filter(users::id.eq_any(ids))
        .select(User::as_select())
        .load(conn)
        .await
}

//! Queries on `workspaces`.

use chrono::{DateTime, Utc};
use diesel::{dsl::now, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::workspaces;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = workspaces, check_for_backend(diesel::pg::Pg))]
pub struct Workspace {
    pub id: Uuid,
    pub name: String,
    pub assignments_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Settings to change; `None` leaves a setting as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = workspaces)]
pub struct SettingsChange {
    pub assignments_enabled: Option<bool>,
}

pub async fn insert(conn: &mut AsyncPgConnection, id: Uuid, name: &str) -> QueryResult<Workspace> {
    diesel::insert_into(workspaces::table)
        .values((workspaces::id.eq(id), workspaces::name.eq(name)))
        .returning(Workspace::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Workspace>> {
    workspaces::table
        .find(id)
        .select(Workspace::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn update_settings(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    change: SettingsChange,
) -> QueryResult<Option<Workspace>> {
    diesel::update(workspaces::table.find(id))
        .set((change, workspaces::updated_at.eq(now)))
        .returning(Workspace::as_returning())
        .get_result(conn)
        .await
        .optional()
}

//! Queries on `workspaces`.

use crate::db::rows::read_as;
use crate::domain::{records::Workspace, workspaces::SettingsChange};
use chrono::{DateTime, Utc};
use diesel::{dsl::now, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::workspaces;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = workspaces, check_for_backend(diesel::pg::Pg))]
pub struct WorkspaceRow {
    id: Uuid,
    name: String,
    assignments_enabled: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<WorkspaceRow> for Workspace {
    fn from(row: WorkspaceRow) -> Self {
        Workspace {
            id: row.id,
            name: row.name,
            assignments_enabled: row.assignments_enabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

read_as!(Workspace, WorkspaceRow);

/// Settings to change; `None` leaves a setting as it is.
#[derive(AsChangeset)]
#[diesel(table_name = workspaces)]
struct SettingsColumns {
    assignments_enabled: Option<bool>,
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
    let SettingsChange {
        assignments_enabled,
    } = change;
    let columns = SettingsColumns {
        assignments_enabled,
    };
    diesel::update(workspaces::table.find(id))
        .set((columns, workspaces::updated_at.eq(now)))
        .returning(Workspace::as_returning())
        .get_result(conn)
        .await
        .optional()
}

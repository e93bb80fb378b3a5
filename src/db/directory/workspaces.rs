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
    time_zone: String,
}

impl From<WorkspaceRow> for Workspace {
    fn from(row: WorkspaceRow) -> Self {
        Workspace {
            id: row.id,
            name: row.name,
            assignments_enabled: row.assignments_enabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
            time_zone: row.time_zone,
        }
    }
}

read_as!(Workspace, WorkspaceRow);

/// Settings to change; `None` leaves a setting as it is.
#[derive(AsChangeset)]
#[diesel(table_name = workspaces)]
struct SettingsColumns<'a> {
    assignments_enabled: Option<bool>,
    time_zone: Option<&'a str>,
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
        time_zone,
        sla_policies: _,
    } = change;
    let columns = SettingsColumns {
        assignments_enabled,
        time_zone: time_zone.as_ref().map(|zone| zone.as_str()),
    };
    diesel::update(workspaces::table.find(id))
        .set((columns, workspaces::updated_at.eq(now)))
        .returning(Workspace::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Whether PostgreSQL knows the IANA time zone `name` (its tz database is where the calendar
/// arithmetic of dues happens).
pub async fn knows_time_zone(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Known {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        known: bool,
    }
    let Known { known } =
        diesel::sql_query("SELECT EXISTS (SELECT FROM pg_timezone_names WHERE name = $1) AS known")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(conn)
            .await?;
    Ok(known)
}

/// Recomputes when the workspace's tasks due on a date are due, after its time zone changed (the
/// time_zones migration's trigger does it, and the reminders trigger moves their reminders).
pub async fn redate_dues(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE tasks SET due_date = due_date WHERE workspace_id = $1 AND due_date IS NOT NULL",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .execute(conn)
    .await
}

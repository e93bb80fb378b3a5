//! A task's linked records (the CRM objects it is about): written with the task, replaced by an
//! update, and read back for views of one task or of a page of them.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::task_linked_records;

/// Replaces the task's linked records; returns the ones it had, by object and record id.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    records: &[(String, String)],
) -> QueryResult<Vec<(String, String)>> {
    let mut old: Vec<(String, String)> = diesel::delete(
        task_linked_records::table
            .filter(task_linked_records::workspace_id.eq(workspace_id))
            .filter(task_linked_records::task_id.eq(task_id)),
    )
    .returning((task_linked_records::object, task_linked_records::record_id))
    .get_results(conn)
    .await?;
    old.sort();
    insert(conn, workspace_id, task_id, records).await?;
    Ok(old)
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    records: &[(String, String)],
) -> QueryResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = records
        .iter()
        .map(|(object, record_id)| {
            (
                task_linked_records::workspace_id.eq(workspace_id),
                task_linked_records::task_id.eq(task_id),
                task_linked_records::object.eq(object),
                task_linked_records::record_id.eq(record_id),
            )
        })
        .collect();
    diesel::insert_into(task_linked_records::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

pub async fn of_task(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
) -> QueryResult<Vec<(String, String)>> {
    task_linked_records::table
        .filter(task_linked_records::workspace_id.eq(workspace_id))
        .filter(task_linked_records::task_id.eq(task_id))
        .order((task_linked_records::object, task_linked_records::record_id))
        .select((task_linked_records::object, task_linked_records::record_id))
        .load(conn)
        .await
}

/// The linked records of several tasks, as `(task_id, object, record_id)`.
pub async fn of_tasks(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, String, String)>> {
    task_linked_records::table
        .filter(task_linked_records::workspace_id.eq(workspace_id))
        .filter(task_linked_records::task_id.eq_any(task_ids))
        .order((
            task_linked_records::task_id,
            task_linked_records::object,
            task_linked_records::record_id,
        ))
        .select((
            task_linked_records::task_id,
            task_linked_records::object,
            task_linked_records::record_id,
        ))
        .load(conn)
        .await
}

//! Queries on `task_templates` and `task_template_releases` (the task_templates migration says
//! how the database makes each occurrence once): a template's row as kept, written whole on
//! create and update, its schedule's standing moved by the schedule worker and the control
//! RPCs, and what the worker looks for.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use diesel::{dsl::now, prelude::*, sql_query, sql_types};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{task_template_releases, task_templates, tasks};
use crate::domain::vocabulary::{
    ActorType, BodyFormat, CatchUp, CompletionPolicy, Priority, RecurrenceMode, ScheduleState,
};

/// A template's task fields as columns.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = task_templates, check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
pub struct FieldColumns {
    pub name: String,
    pub title: String,
    pub body_format: BodyFormat,
    pub body_plain: String,
    pub body_html: String,
    pub body_delta: String,
    pub kind: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub link_objects: Vec<String>,
    pub link_record_ids: Vec<String>,
    pub correlation_id: Option<String>,
    pub completion_policy: Option<CompletionPolicy>,
    pub recipient_user_ids: Vec<Uuid>,
    pub recipient_channel_ids: Vec<Uuid>,
    pub due_after_secs: Option<i64>,
    pub reminders: serde_json::Value,
}

/// A template's schedule as columns (all None: it does not recur).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = task_templates, check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
pub struct ScheduleColumns {
    pub rrule: Option<String>,
    pub time_zone: Option<String>,
    pub starts_local: Option<NaiveDateTime>,
    pub skipped_dates: Vec<NaiveDate>,
    pub mode: Option<RecurrenceMode>,
    pub catch_up: Option<CatchUp>,
    pub lead_secs: i64,
    pub due_time: Option<NaiveTime>,
}

/// Where a schedule stands, which the worker and the control RPCs move.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, AsChangeset)]
#[diesel(table_name = task_templates, check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
pub struct Standing {
    pub state: Option<ScheduleState>,
    pub state_reason: Option<String>,
    pub next_at: Option<DateTime<Utc>>,
    pub wake_at: Option<DateTime<Utc>>,
    pub last_task_id: Option<Uuid>,
    pub last_index: i32,
    pub last_scheduled_for: Option<DateTime<Utc>>,
}

/// A template as kept.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = task_templates, check_for_backend(diesel::pg::Pg))]
pub struct TemplateRow {
    pub workspace_id: Uuid,
    pub id: Uuid,
    #[diesel(embed)]
    pub fields: FieldColumns,
    #[diesel(embed)]
    pub schedule: ScheduleColumns,
    #[diesel(embed)]
    pub standing: Standing,
    pub created_by_type: ActorType,
    pub created_by_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// A template to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = task_templates)]
pub struct NewTemplateRow {
    pub workspace_id: Uuid,
    pub id: Uuid,
    #[diesel(embed)]
    pub fields: FieldColumns,
    #[diesel(embed)]
    pub schedule: ScheduleColumns,
    pub state: Option<ScheduleState>,
    pub next_at: Option<DateTime<Utc>>,
    pub wake_at: Option<DateTime<Utc>>,
    pub created_by_type: ActorType,
    pub created_by_id: String,
}

pub async fn insert(conn: &mut AsyncPgConnection, row: NewTemplateRow) -> QueryResult<TemplateRow> {
    diesel::insert_into(task_templates::table)
        .values(row)
        .returning(TemplateRow::as_returning())
        .get_result(conn)
        .await
}

/// How many templates the workspace holds.
pub async fn count(conn: &mut AsyncPgConnection, workspace_id: Uuid) -> QueryResult<i64> {
    task_templates::table
        .filter(task_templates::workspace_id.eq(workspace_id))
        .count()
        .get_result(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<TemplateRow>> {
    task_templates::table
        .find((workspace_id, id))
        .select(TemplateRow::as_select())
        .get_result(conn)
        .await
        .optional()
}

/// The template, locked for a change until the transaction ends (FOR NO KEY UPDATE, which the
/// releases' foreign key check does not wait for).
pub async fn lock(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<TemplateRow>> {
    task_templates::table
        .find((workspace_id, id))
        .select(TemplateRow::as_select())
        .for_no_key_update()
        .get_result(conn)
        .await
        .optional()
}

/// The template if it is active and no other transaction holds it: the worker's claim.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<TemplateRow>> {
    task_templates::table
        .find((workspace_id, id))
        .filter(task_templates::state.eq(ScheduleState::Active))
        .select(TemplateRow::as_select())
        .for_no_key_update()
        .skip_locked()
        .get_result(conn)
        .await
        .optional()
}

/// One page of the workspace's templates by id, after `after`; only `author`'s if given.
pub async fn page(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    author: Option<(ActorType, &str)>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<TemplateRow>> {
    let mut query = task_templates::table
        .filter(task_templates::workspace_id.eq(workspace_id))
        .select(TemplateRow::as_select())
        .order(task_templates::id)
        .limit(limit)
        .into_boxed();
    if let Some((kind, id)) = author {
        query = query
            .filter(task_templates::created_by_type.eq(kind))
            .filter(task_templates::created_by_id.eq(id.to_owned()));
    }
    if let Some(after) = after {
        query = query.filter(task_templates::id.gt(after));
    }
    query.load(conn).await
}

/// Writes new fields and schedule (bumping the version), and the standing that goes with them.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    fields: &FieldColumns,
    schedule: &ScheduleColumns,
    standing: &Standing,
) -> QueryResult<TemplateRow> {
    diesel::update(task_templates::table.find((workspace_id, id)))
        .set((
            fields,
            schedule,
            standing,
            task_templates::version.eq(task_templates::version + 1),
            task_templates::updated_at.eq(now),
        ))
        .returning(TemplateRow::as_returning())
        .get_result(conn)
        .await
}

/// Moves the schedule's standing; `bump` for a change a caller made (a new etag).
pub async fn set_standing(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    standing: &Standing,
    bump: bool,
) -> QueryResult<TemplateRow> {
    let bumped = i64::from(bump);
    diesel::update(task_templates::table.find((workspace_id, id)))
        .set((
            standing,
            task_templates::version.eq(task_templates::version + bumped),
        ))
        .returning(TemplateRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<usize> {
    diesel::delete(task_templates::table.find((workspace_id, id)))
        .execute(conn)
        .await
}

/// A template with something for the worker to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct DueTemplate {
    #[diesel(sql_type = sql_types::Uuid)]
    pub workspace_id: Uuid,
    #[diesel(sql_type = sql_types::Uuid)]
    pub id: Uuid,
}

/// Up to `limit` templates whose next occurrence is due to be made, or whose latest occurrence
/// was released; soonest first.
pub async fn due(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<DueTemplate>> {
    sql_query(include_str!("due.sql"))
        .bind::<sql_types::BigInt, _>(limit)
        .load(conn)
        .await
}

/// The template's releases not handled yet, marked handled; their occurrence indexes.
pub async fn take_releases(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    template_id: Uuid,
) -> QueryResult<Vec<(i32, DateTime<Utc>)>> {
    diesel::update(task_template_releases::table)
        .filter(task_template_releases::workspace_id.eq(workspace_id))
        .filter(task_template_releases::template_id.eq(template_id))
        .filter(task_template_releases::handled_at.is_null())
        .set(task_template_releases::handled_at.eq(now))
        .returning((
            task_template_releases::occurrence_index,
            task_template_releases::released_at,
        ))
        .load(conn)
        .await
}

/// Links the series' previous task to the next one made after it. Not a change to the task's
/// content: its version (etag) stays.
pub async fn link_next(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    previous: Uuid,
    next: Uuid,
) -> QueryResult<usize> {
    diesel::update(tasks::table.find((workspace_id, previous)))
        .set(tasks::series_next_id.eq(next))
        .execute(conn)
        .await
}

/// Whether the task is still there and open (not COMPLETED, SKIPPED or CANCELLED).
pub async fn is_open(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
) -> QueryResult<bool> {
    use crate::domain::vocabulary::Status;
    let status: Option<Status> = tasks::table
        .find((workspace_id, task_id))
        .select(tasks::status)
        .get_result(conn)
        .await
        .optional()?;
    Ok(status.is_some_and(|s| !s.is_terminal()))
}

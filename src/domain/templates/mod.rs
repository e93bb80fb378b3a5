//! Task templates (issue 25): a task's fields kept under a name, to make tasks from on demand
//! (CreateTaskFromTemplate) or on a schedule. Here are who may do what to a template and the
//! transactions of its RPCs; `control` pauses, resumes, skips and ends schedules, `occurrences`
//! is the worker's pass over a due template, `plan` its arithmetic.
//!
//! A template is its author's: the author reads, changes and controls it, a workspace admin
//! reads every template; for anyone else it does not exist (TEMPLATE_NOT_FOUND).

pub mod control;
pub mod model;
pub mod occurrences;
pub mod plan;
mod stored;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

pub use model::{
    MAX_OFFSET, MAX_TEMPLATES, Schedule, ScheduleStatus, TemplateFields, TemplateName, TemplateView,
};

use super::{DomainError, input::Text};
use crate::auth::Caller;
use crate::db::tasks::NewProvenance;
use crate::db::{
    self, Db,
    directory::workspaces,
    templates::{self as rows, NewTemplateRow, Standing, TemplateRow},
};
use crate::domain::tasks::{self, CreateRequest, NewTask, Origin, TaskView};
use crate::domain::vocabulary::{CatchUp, EventKind, RecurrenceMode, ScheduleState};
use crate::events::{log::actor_key, record::Recorder};

/// A schedule as a request gives it; the zone defaults to the workspace's.
#[derive(Debug, Clone)]
pub struct ScheduleInput {
    pub rule: String,
    pub zone: Option<String>,
    pub starts: NaiveDateTime,
    pub skipped: Vec<NaiveDate>,
    pub mode: RecurrenceMode,
    pub catch_up: CatchUp,
    pub lead: Duration,
    pub due_time: Option<NaiveTime>,
}

/// A template to create.
#[derive(Debug, Clone)]
pub struct NewTemplate {
    pub name: Text<TemplateName>,
    pub fields: TemplateFields,
    pub schedule: Option<ScheduleInput>,
}

/// An update: each `Some` replaces that part whole (`schedule: Some(None)` removes it).
#[derive(Debug, Clone, Default)]
pub struct TemplateChanges {
    pub name: Option<Text<TemplateName>>,
    pub fields: Option<TemplateFields>,
    pub schedule: Option<Option<ScheduleInput>>,
    pub etag: Option<String>,
    /// The mask's paths, as the event records them.
    pub paths: Vec<String>,
}

/// The schedule the input names, checked, in the workspace's zone if it names none.
async fn schedule_of(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    input: ScheduleInput,
) -> Result<Schedule, DomainError> {
    let zone = match input.zone {
        Some(zone) => zone,
        None => {
            workspaces::find(conn, workspace_id)
                .await?
                .ok_or(DomainError::WorkspaceNotFound)?
                .time_zone
        }
    };
    Schedule::new(
        input.rule,
        zone,
        input.starts,
        input.skipped,
        input.mode,
        input.catch_up,
        input.lead,
        input.due_time,
    )
    .map_err(|e| {
        use crate::domain::recurrence::RecurrenceError as E;
        let field = match e {
            E::UnknownZone(_) => "schedule.time_zone",
            E::NoSuchLocalTime(_) => "schedule.start",
            E::TooManySkipped => "schedule.skipped_dates",
            E::Unreadable(_) | E::TooFrequent(_) => "schedule.rrule",
        };
        DomainError::invalid(field, e)
    })
}

/// The template's recipients are active users and channels the caller administers now, as
/// CreateTask requires (the schedule checks again when it makes each task).
async fn check_recipients(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    fields: &TemplateFields,
) -> Result<(), DomainError> {
    tasks::recipients(
        conn,
        caller,
        &fields.recipient_user_ids,
        &fields.recipient_channel_ids,
        &Default::default(),
    )
    .await?;
    Ok(())
}

/// Reminders before the due need a due: the fields' `due_after`, or the schedule's `due_time`.
fn check_reminders(
    fields: &TemplateFields,
    schedule: Option<&Schedule>,
) -> Result<(), DomainError> {
    let due = fields.due_after.is_some() || schedule.is_some_and(|s| s.due_time.is_some());
    if fields.reminders.is_empty() || due {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "task.reminders",
            "the template gives its tasks no due to count from: set task.due_after or schedule.due_time",
        ))
    }
}

/// Where a schedule set now stands: active, from its first occurrence after now (and after the
/// series' latest); in after-completion mode, waiting while the latest task is open.
fn fresh_standing(
    schedule: &Schedule,
    now: DateTime<Utc>,
    last: &Standing,
    latest_open: bool,
) -> Standing {
    let waiting = schedule.mode == RecurrenceMode::AfterCompletion && latest_open;
    let next = if waiting {
        None
    } else {
        plan::first_from(schedule.recurrence(), now, last.last_scheduled_for)
    };
    Standing {
        state: Some(if next.is_none() && !waiting {
            ScheduleState::Ended
        } else {
            ScheduleState::Active
        }),
        state_reason: (next.is_none() && !waiting)
            .then(|| "the rule has no occurrence after now".to_owned()),
        next_at: next,
        wake_at: next.map(|at| plan::make_at(at, schedule.lead)),
        ..last.clone()
    }
}

/// The standing of a template that does not recur (or no longer does).
fn no_standing(last: &Standing) -> Standing {
    Standing {
        state: None,
        state_reason: None,
        next_at: None,
        wake_at: None,
        ..last.clone()
    }
}

/// The database's clock, which every other time of a template is read by.
async fn now(conn: &mut AsyncPgConnection) -> Result<DateTime<Utc>, DomainError> {
    Ok(db::timers::database_now(conn).await?)
}

/// Whether the caller wrote the template.
fn is_author(caller: &Caller, row: &TemplateRow) -> bool {
    row.created_by_type == caller.actor.kind() && row.created_by_id == caller.actor.id()
}

/// The template's author as an event's audience.
fn author_key(row: &TemplateRow) -> String {
    actor_key(row.created_by_type, &row.created_by_id)
}

pub async fn create(
    db: &Db,
    caller: &Caller,
    new: NewTemplate,
) -> Result<TemplateView, DomainError> {
    let mut conn = db::checkout(&db.pool).await?;
    conn.transaction(async |conn| {
        if rows::count(conn, caller.workspace_id).await? >= MAX_TEMPLATES {
            return Err(DomainError::TooManyTemplates(MAX_TEMPLATES));
        }
        let schedule = match new.schedule {
            Some(input) => Some(schedule_of(conn, caller.workspace_id, input).await?),
            None => None,
        };
        check_reminders(&new.fields, schedule.as_ref())?;
        check_recipients(conn, caller, &new.fields).await?;
        let now = now(conn).await?;
        let empty = Standing {
            state: None,
            state_reason: None,
            next_at: None,
            wake_at: None,
            last_task_id: None,
            last_index: 0,
            last_scheduled_for: None,
        };
        let standing = match &schedule {
            Some(schedule) => fresh_standing(schedule, now, &empty, false),
            None => empty,
        };
        let row = rows::insert(
            conn,
            NewTemplateRow {
                workspace_id: caller.workspace_id,
                id: Uuid::now_v7(),
                fields: stored::field_columns(new.name.as_str(), &new.fields),
                schedule: stored::schedule_columns(schedule.as_ref()),
                state: standing.state,
                next_at: standing.next_at,
                wake_at: standing.wake_at,
                created_by_type: caller.actor.kind(),
                created_by_id: caller.actor.id(),
            },
        )
        .await?;
        let mut events = Recorder::new(caller);
        let details =
            json!({"name": new.name.as_str(), "next_occurrence_at": row.standing.next_at});
        events.template(
            row.workspace_id,
            row.id,
            author_key(&row),
            EventKind::TemplateCreated,
            details,
        );
        events.write(conn).await?;
        stored::view(row)
    })
    .await
}

/// The template, if the caller may read it (its author, or a workspace admin).
pub async fn get(db: &Db, caller: &Caller, id: Uuid) -> Result<TemplateView, DomainError> {
    let mut conn = db::checkout(&db.pool).await?;
    let row = rows::find(&mut conn, caller.workspace_id, id)
        .await?
        .filter(|row| is_author(caller, row) || caller.is_workspace_admin())
        .ok_or(DomainError::TemplateNotFound)?;
    stored::view(row)
}

/// A page of the templates the caller may read, by id, and whether more follow.
pub async fn list(
    db: &Db,
    caller: &Caller,
    after: Option<Uuid>,
    limit: i64,
) -> Result<(Vec<TemplateView>, bool), DomainError> {
    let mut conn = db::checkout(&db.pool).await?;
    let actor_id = caller.actor.id();
    let author = (!caller.is_workspace_admin()).then(|| (caller.actor.kind(), actor_id.as_str()));
    let mut found = rows::page(&mut conn, caller.workspace_id, author, after, limit + 1).await?;
    let more = found.len() as i64 > limit;
    found.truncate(limit as usize);
    let views = found
        .into_iter()
        .map(stored::view)
        .collect::<Result<_, _>>()?;
    Ok((views, more))
}

/// The template locked for a change by its author; for anyone else it does not exist.
pub(crate) async fn lock_own(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<TemplateRow, DomainError> {
    rows::lock(conn, caller.workspace_id, id)
        .await?
        .filter(|row| is_author(caller, row))
        .ok_or(DomainError::TemplateNotFound)
}

pub async fn update(
    db: &Db,
    caller: &Caller,
    id: Uuid,
    changes: TemplateChanges,
) -> Result<TemplateView, DomainError> {
    let mut conn = db::checkout(&db.pool).await?;
    conn.transaction(async |conn| {
        let row = lock_own(conn, caller, id).await?;
        let current = stored::view(row.clone())?;
        if changes
            .etag
            .as_ref()
            .is_some_and(|etag| *etag != current.etag())
        {
            return Err(DomainError::TemplateChangeConflict);
        }
        let name = changes.name.unwrap_or(current.name);
        let fields = changes.fields.unwrap_or(current.fields);
        let (schedule, standing) = match changes.schedule {
            None => (current.schedule.map(|(s, _)| s), row.standing.clone()),
            Some(None) => (None, no_standing(&row.standing)),
            Some(Some(input)) => {
                let schedule = schedule_of(conn, caller.workspace_id, input).await?;
                let latest_open = match row.standing.last_task_id {
                    Some(task) => rows::is_open(conn, row.workspace_id, task).await?,
                    None => false,
                };
                let now = now(conn).await?;
                let standing = fresh_standing(&schedule, now, &row.standing, latest_open);
                (Some(schedule), standing)
            }
        };
        check_reminders(&fields, schedule.as_ref())?;
        check_recipients(conn, caller, &fields).await?;
        let changed = rows::replace(
            conn,
            row.workspace_id,
            row.id,
            &stored::field_columns(name.as_str(), &fields),
            &stored::schedule_columns(schedule.as_ref()),
            &standing,
        )
        .await?;
        let mut events = Recorder::new(caller);
        let details =
            json!({"fields": changes.paths, "next_occurrence_at": changed.standing.next_at});
        events.template(
            row.workspace_id,
            row.id,
            author_key(&row),
            EventKind::TemplateUpdated,
            details,
        );
        events.write(conn).await?;
        stored::view(changed)
    })
    .await
}

/// Makes one task from the template for the caller (CreateTaskFromTemplate): `task` is the
/// template's fields with the caller's overrides, read.
pub async fn make_task(
    db: &Db,
    caller: &Caller,
    view: &TemplateView,
    task: NewTask,
    request: Option<CreateRequest>,
) -> Result<TaskView, DomainError> {
    let origin = Origin {
        provenance: NewProvenance {
            template_id: view.id,
            template_name: view.name.as_str().to_owned(),
            occurrence: None,
        },
        by_system: false,
    };
    tasks::create_with(db, caller, task, request, Some(origin)).await
}

pub async fn delete(db: &Db, caller: &Caller, id: Uuid) -> Result<(), DomainError> {
    let mut conn = db::checkout(&db.pool).await?;
    conn.transaction(async |conn| {
        let row = lock_own(conn, caller, id).await?;
        rows::delete(conn, row.workspace_id, row.id).await?;
        let mut events = Recorder::new(caller);
        let details = json!({"name": row.fields.name});
        events.template(
            row.workspace_id,
            row.id,
            author_key(&row),
            EventKind::TemplateDeleted,
            details,
        );
        events.write(conn).await?;
        Ok(())
    })
    .await
}

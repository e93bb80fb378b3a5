//! A template's row read back into checked domain values, and written from them: what was stored
//! is parsed again as a request would be, so a stored value Docket cannot read is an error, never
//! a silent default.

use std::time::Duration;

use serde_json::Value;

use super::model::{Schedule, ScheduleStatus, TemplateFields, TemplateView};
use crate::db::templates::{FieldColumns, ScheduleColumns, Standing, TemplateRow};
use crate::domain::{
    DomainError,
    body::Body,
    input::Text,
    tasks::{
        LinkedRecord, ObjectKey, TaskKind,
        reminders::{Reminder, ReminderTime},
    },
    timers::action::TaskAction,
    vocabulary::TimerAction,
};

/// A stored value the domain does not accept: a read error.
fn unreadable(what: &str, why: impl std::fmt::Display) -> DomainError {
    DomainError::Db(crate::db::DbError::Query(
        diesel::result::Error::DeserializationError(
            format!("a stored template's {what}: {why}").into(),
        ),
    ))
}

/// The columns `fields` (and `name`) are stored in.
pub(super) fn field_columns(name: &str, fields: &TemplateFields) -> FieldColumns {
    let (link_objects, link_record_ids) =
        fields.linked_records.iter().map(LinkedRecord::pair).unzip();
    FieldColumns {
        name: name.to_owned(),
        title: fields.title.as_str().to_owned(),
        body_format: fields.body.written_as,
        body_plain: fields.body.plain.clone(),
        body_html: fields.body.html.clone(),
        body_delta: fields.body.delta.clone(),
        kind: fields.kind.as_str().to_owned(),
        priority: fields.priority,
        tags: fields.tags.iter().map(|t| t.as_str().to_owned()).collect(),
        link_objects,
        link_record_ids,
        correlation_id: fields
            .correlation_id
            .as_ref()
            .map(|c| c.as_str().to_owned()),
        completion_policy: fields.completion_policy,
        recipient_user_ids: fields.recipient_user_ids.clone(),
        recipient_channel_ids: fields.recipient_channel_ids.clone(),
        due_after_secs: fields.due_after.map(|d| d.as_secs() as i64),
        reminders: Value::Array(
            fields
                .reminders
                .iter()
                .map(|r| {
                    let before_due = match r.when {
                        ReminderTime::BeforeDue(before) => Some(before),
                        ReminderTime::At(_) => None,
                    };
                    TaskAction::Remind(crate::domain::timers::action::Reminded {
                        before_due,
                        ..r.reminded.clone()
                    })
                    .params()
                })
                .collect(),
        ),
    }
}

/// The columns a schedule is stored in (None: a template that does not recur).
pub(super) fn schedule_columns(schedule: Option<&Schedule>) -> ScheduleColumns {
    match schedule {
        None => ScheduleColumns {
            rrule: None,
            time_zone: None,
            starts_local: None,
            skipped_dates: Vec::new(),
            mode: None,
            catch_up: None,
            lead_secs: 0,
            due_time: None,
        },
        Some(s) => ScheduleColumns {
            rrule: Some(s.rule.clone()),
            time_zone: Some(s.zone.clone()),
            starts_local: Some(s.starts),
            skipped_dates: s.skipped.clone(),
            mode: Some(s.mode),
            catch_up: Some(s.catch_up),
            lead_secs: s.lead.as_secs() as i64,
            due_time: s.due_time,
        },
    }
}

fn fields(row: &FieldColumns) -> Result<TemplateFields, DomainError> {
    fn text<K: crate::domain::input::TextKind>(
        what: &str,
        raw: &str,
    ) -> Result<Text<K>, DomainError> {
        Text::parse(raw).map_err(|e| unreadable(what, e))
    }
    let linked_records = row
        .link_objects
        .iter()
        .zip(&row.link_record_ids)
        .map(|(object, record_id)| {
            Ok(LinkedRecord {
                object: ObjectKey::parse(object).map_err(|e| unreadable("linked record", e))?,
                record_id: text("linked record", record_id)?,
            })
        })
        .collect::<Result<_, DomainError>>()?;
    let reminders = match &row.reminders {
        Value::Array(stored) => stored
            .iter()
            .map(
                |params| match TaskAction::from_stored(TimerAction::Remind, params)? {
                    TaskAction::Remind(reminded) => Ok(Reminder {
                        when: ReminderTime::BeforeDue(
                            reminded
                                .before_due
                                .ok_or_else(|| unreadable("reminder", "no before_due"))?,
                        ),
                        reminded,
                    }),
                    _ => Err(unreadable("reminder", "not a reminder")),
                },
            )
            .collect::<Result<_, DomainError>>()?,
        _ => return Err(unreadable("reminders", "not a list")),
    };
    Ok(TemplateFields {
        title: text("title", &row.title)?,
        body: Body {
            written_as: row.body_format,
            plain: row.body_plain.clone(),
            html: row.body_html.clone(),
            delta: row.body_delta.clone(),
        },
        kind: TaskKind::parse(&row.kind).map_err(|e| unreadable("kind", e))?,
        priority: row.priority,
        tags: row
            .tags
            .iter()
            .map(|t| text("tag", t))
            .collect::<Result<_, _>>()?,
        linked_records,
        correlation_id: row
            .correlation_id
            .as_deref()
            .map(|c| text("correlation_id", c))
            .transpose()?,
        completion_policy: row.completion_policy,
        recipient_user_ids: row.recipient_user_ids.clone(),
        recipient_channel_ids: row.recipient_channel_ids.clone(),
        due_after: row
            .due_after_secs
            .map(|secs| u64::try_from(secs).map(Duration::from_secs))
            .transpose()
            .map_err(|e| unreadable("due_after", e))?,
        reminders,
    })
}

fn schedule(row: &ScheduleColumns) -> Result<Option<Schedule>, DomainError> {
    let (Some(rule), Some(zone), Some(starts), Some(mode), Some(catch_up)) = (
        &row.rrule,
        &row.time_zone,
        row.starts_local,
        row.mode,
        row.catch_up,
    ) else {
        return Ok(None);
    };
    let lead = u64::try_from(row.lead_secs).map_err(|e| unreadable("lead", e))?;
    Schedule::new(
        rule.clone(),
        zone.clone(),
        starts,
        row.skipped_dates.clone(),
        mode,
        catch_up,
        Duration::from_secs(lead),
        row.due_time,
    )
    .map(Some)
    .map_err(|e| unreadable("schedule", e))
}

fn status(standing: &Standing) -> Option<ScheduleStatus> {
    Some(ScheduleStatus {
        state: standing.state?,
        reason: standing.state_reason.clone(),
        next_at: standing.next_at,
        last_task_id: standing.last_task_id,
        last_index: standing.last_index,
    })
}

/// The template a row holds.
pub(super) fn view(row: TemplateRow) -> Result<TemplateView, DomainError> {
    let schedule = match (schedule(&row.schedule)?, status(&row.standing)) {
        (Some(schedule), Some(status)) => Some((schedule, status)),
        (None, None) => None,
        _ => {
            return Err(unreadable(
                "schedule",
                "a schedule without a state, or one alone",
            ));
        }
    };
    Ok(TemplateView {
        id: row.id,
        workspace_id: row.workspace_id,
        name: Text::parse(&row.fields.name).map_err(|e| unreadable("name", e))?,
        fields: fields(&row.fields)?,
        schedule,
        created_by: (row.created_by_type, row.created_by_id),
        created_at: row.created_at,
        updated_at: row.updated_at,
        version: row.version,
    })
}

//! Templates into proto, and a template's task into the CreateTaskRequest it stands for (how a
//! template's fields are read, and what CreateTaskFromTemplate starts from).

use chrono::{DateTime, Datelike, Utc};

use crate::{
    domain::{
        body::BodyFormat,
        tasks::reminders::{Reminder, ReminderTime},
        templates::{Schedule, ScheduleStatus, TemplateFields, TemplateView},
    },
    grpc::{pb, tasks::convert::actor_to_proto, timestamp},
};

/// The CreateTaskRequest with a template's task fields (as given; no due).
pub(super) fn fields_to_request(fields: &pb::TaskTemplateFields) -> pb::CreateTaskRequest {
    pb::CreateTaskRequest {
        title: fields.title.clone(),
        body: fields.body.clone(),
        kind: fields.kind.clone(),
        priority: fields.priority,
        tags: fields.tags.clone(),
        linked_records: fields.linked_records.clone(),
        correlation_id: fields.correlation_id.clone(),
        completion_policy: fields.completion_policy,
        recipient_user_ids: fields.recipient_user_ids.clone(),
        recipient_channel_ids: fields.recipient_channel_ids.clone(),
        reminders: fields.reminders.clone(),
        ..pb::CreateTaskRequest::default()
    }
}

/// The CreateTaskRequest a task made from the template at `now` starts from: its fields, due
/// `due_after` after now.
pub(super) fn task_request(fields: &TemplateFields, now: DateTime<Utc>) -> pb::CreateTaskRequest {
    let mut request = fields_to_request(&fields_to_proto(fields));
    request.due = fields
        .due_after
        .and_then(|after| chrono::Duration::from_std(after).ok())
        .map(|after| pb::Due {
            value: Some(pb::due::Value::Time(timestamp(now + after))),
        });
    request
}

fn duration(span: std::time::Duration) -> Option<prost_types::Duration> {
    prost_types::Duration::try_from(span).ok()
}

fn reminder_to_proto(reminder: &Reminder) -> pb::Reminder {
    let who = &reminder.reminded;
    pb::Reminder {
        when: match reminder.when {
            ReminderTime::At(at) => Some(pb::reminder::When::At(timestamp(at))),
            ReminderTime::BeforeDue(before) => duration(before).map(pb::reminder::When::BeforeDue),
        },
        assignees: who.assignees,
        author: who.author,
        user_ids: who.user_ids.iter().map(ToString::to_string).collect(),
        note: who
            .note
            .as_ref()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
    }
}

pub(super) fn fields_to_proto(fields: &TemplateFields) -> pb::TaskTemplateFields {
    let body = &fields.body;
    let content = match body.written_as {
        BodyFormat::Plain => pb::task_body_input::Content::Plain(body.plain.clone()),
        BodyFormat::Html => pb::task_body_input::Content::Html(body.html.clone()),
        BodyFormat::Delta => pb::task_body_input::Content::Delta(body.delta.clone()),
    };
    pb::TaskTemplateFields {
        title: fields.title.as_str().to_owned(),
        body: Some(pb::TaskBodyInput {
            content: Some(content),
        }),
        kind: fields.kind.as_str().to_owned(),
        priority: pb::TaskPriority::from(fields.priority) as i32,
        tags: fields.tags.iter().map(|t| t.as_str().to_owned()).collect(),
        linked_records: fields
            .linked_records
            .iter()
            .map(|record| {
                let (object, record_id) = record.pair();
                pb::LinkedRecord { object, record_id }
            })
            .collect(),
        correlation_id: fields
            .correlation_id
            .as_ref()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        completion_policy: fields.completion_policy.map_or(
            pb::CompletionPolicy::Unspecified,
            pb::CompletionPolicy::from,
        ) as i32,
        recipient_user_ids: fields
            .recipient_user_ids
            .iter()
            .map(ToString::to_string)
            .collect(),
        recipient_channel_ids: fields
            .recipient_channel_ids
            .iter()
            .map(ToString::to_string)
            .collect(),
        due_after: fields.due_after.and_then(duration),
        reminders: fields.reminders.iter().map(reminder_to_proto).collect(),
    }
}

fn schedule_to_proto(schedule: &Schedule) -> pb::TaskSchedule {
    pb::TaskSchedule {
        rrule: schedule.rule.clone(),
        time_zone: schedule.zone.clone(),
        start: schedule.starts.format("%Y-%m-%dT%H:%M:%S").to_string(),
        skipped_dates: schedule
            .skipped
            .iter()
            .map(|date| pb::CalendarDate {
                year: date.year(),
                month: date.month() as i32,
                day: date.day() as i32,
            })
            .collect(),
        mode: pb::RecurrenceMode::from(schedule.mode) as i32,
        catch_up: pb::CatchUpPolicy::from(schedule.catch_up) as i32,
        lead_time: duration(schedule.lead),
        due_time: schedule
            .due_time
            .map(|time| time.format("%H:%M").to_string())
            .unwrap_or_default(),
    }
}

fn status_to_proto(status: &ScheduleStatus) -> pb::TaskScheduleStatus {
    pb::TaskScheduleStatus {
        state: pb::ScheduleState::from(status.state) as i32,
        reason: status.reason.clone().unwrap_or_default(),
        next_occurrence_at: status.next_at.map(timestamp),
        occurrences_made: status.last_index,
        latest_task_id: status
            .last_task_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
    }
}

pub(super) fn template_to_proto(view: TemplateView) -> pb::TaskTemplate {
    let etag = view.etag();
    pb::TaskTemplate {
        id: view.id.to_string(),
        workspace_id: view.workspace_id.to_string(),
        name: view.name.as_str().to_owned(),
        task: Some(fields_to_proto(&view.fields)),
        schedule: view.schedule.as_ref().map(|(s, _)| schedule_to_proto(s)),
        schedule_status: view.schedule.as_ref().map(|(_, s)| status_to_proto(s)),
        created_by: Some(actor_to_proto(view.created_by.0, view.created_by.1)),
        created_at: Some(timestamp(view.created_at)),
        updated_at: Some(timestamp(view.updated_at)),
        etag,
    }
}

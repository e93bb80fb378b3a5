//! TaskTemplateService requests read into checked domain values. A template's task is read as a
//! CreateTaskRequest would be (the same fields, names and rules, under `task.`), so the two
//! cannot drift apart.

use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use prost::Message;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::convert::fields_to_request;
use crate::{
    domain::{
        body::BodyFormat,
        input::{Text, Violations},
        tasks::{CreateRequest, reminders::ReminderTime},
        templates::{
            MAX_OFFSET, NewTemplate, ScheduleInput, TemplateChanges, TemplateFields,
            control::Control,
        },
    },
    grpc::{
        enums::optional,
        parse::{Parse, body_formats, duration, instant, mask_paths, one_id, uuid},
        pb,
    },
};

one_id!(template_id: GetTaskTemplateRequest, DeleteTaskTemplateRequest, ResumeTaskTemplateRequest);

/// The fields of a template's task, read as CreateTask reads a task (violations under `task.`).
fn fields(v: &mut Violations, input: Option<&pb::TaskTemplateFields>) -> Option<TemplateFields> {
    let Some(input) = input else {
        v.add("task", "give the task's fields (at least its title)");
        return None;
    };
    let due_after = input.due_after.as_ref().and_then(|after| {
        v.check(
            "task.due_after",
            duration(after, Duration::ZERO..=MAX_OFFSET),
        )
    });
    let completion_policy = v.check("task.completion_policy", optional(input.completion_policy));
    // Read as a create that has a due, so that reminders before it are read (the domain checks
    // that the template gives its tasks a due).
    let mut as_task = fields_to_request(input);
    as_task.due = Some(pb::Due {
        value: Some(pb::due::Value::Time(prost_types::Timestamp::default())),
    });
    let mut part = Violations::default();
    let task = as_task.parse(&mut part);
    v.nest("task", part);
    let task = task?.task;
    for (index, reminder) in task.reminders.iter().enumerate() {
        if let ReminderTime::At(_) = reminder.when {
            v.add(
                format!("task.reminders[{index}].at").as_str(),
                "a template's reminders are before_due",
            );
        }
    }
    Some(TemplateFields {
        title: task.title,
        body: task.body,
        kind: task.kind,
        priority: task.priority,
        tags: task.tags,
        linked_records: task.linked_records,
        correlation_id: task.correlation_id,
        completion_policy: completion_policy?,
        recipient_user_ids: task.recipient_user_ids,
        recipient_channel_ids: task.recipient_channel_ids,
        due_after,
        reminders: task.reminders,
    })
}

/// "2026-12-14T09:00" or with seconds.
fn local_date_time(raw: &str) -> Result<NaiveDateTime, &'static str> {
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M"))
        .map_err(|_| "a local date and time, e.g. 2026-12-14T09:00")
}

fn schedule(v: &mut Violations, input: &pb::TaskSchedule) -> Option<ScheduleInput> {
    let rule = if input.rrule.trim().is_empty() {
        v.add("schedule.rrule", "give a rule, e.g. FREQ=WEEKLY;BYDAY=MO");
        None
    } else if input.rrule.len() > 1000 {
        v.add("schedule.rrule", "at most 1,000 characters");
        None
    } else {
        Some(input.rrule.trim().to_owned())
    };
    let zone = (!input.time_zone.is_empty()).then(|| input.time_zone.clone());
    let starts = v.check("schedule.start", local_date_time(&input.start));
    let skipped = v.each(
        "schedule.skipped_dates",
        &input.skipped_dates,
        crate::domain::recurrence::MAX_SKIPPED,
        |date| {
            u32::try_from(date.month)
                .ok()
                .zip(u32::try_from(date.day).ok())
                .and_then(|(month, day)| NaiveDate::from_ymd_opt(date.year, month, day))
                .ok_or("not a date")
        },
    );
    let mode = v.check("schedule.mode", optional(input.mode));
    let catch_up = v.check("schedule.catch_up", optional(input.catch_up));
    let lead = match &input.lead_time {
        Some(lead) => v.check(
            "schedule.lead_time",
            duration(lead, Duration::ZERO..=MAX_OFFSET),
        ),
        None => Some(Duration::ZERO),
    };
    let due_time = match input.due_time.as_str() {
        "" => Some(None),
        raw => v
            .check(
                "schedule.due_time",
                NaiveTime::parse_from_str(raw, "%H:%M").map_err(|_| "a local time, HH:MM"),
            )
            .map(Some),
    };
    Some(ScheduleInput {
        rule: rule?,
        zone,
        starts: starts?,
        skipped,
        mode: mode?.unwrap_or(crate::domain::vocabulary::RecurrenceMode::Fixed),
        catch_up: catch_up?.unwrap_or(crate::domain::vocabulary::CatchUp::All),
        lead: lead?,
        due_time: due_time?,
    })
}

impl Parse for pb::CreateTaskTemplateRequest {
    type Checked = NewTemplate;

    fn parse(&self, v: &mut Violations) -> Option<NewTemplate> {
        let name = v.check("name", Text::parse(&self.name));
        let fields = fields(v, self.task.as_ref());
        let schedule = match &self.schedule {
            Some(input) => schedule(v, input).map(Some),
            None => Some(None),
        };
        Some(NewTemplate {
            name: name?,
            fields: fields?,
            schedule: schedule?,
        })
    }
}

/// UpdateTaskTemplate: the template and what its mask changes.
pub(crate) struct UpdateTemplate {
    pub template_id: Uuid,
    pub changes: TemplateChanges,
}

impl Parse for pb::UpdateTaskTemplateRequest {
    type Checked = UpdateTemplate;

    fn parse(&self, v: &mut Violations) -> Option<UpdateTemplate> {
        let template_id = v.check("template_id", uuid(&self.template_id));
        let paths = mask_paths(self.update_mask.as_ref());
        if paths.is_empty() {
            v.add(
                "update_mask",
                "name the fields to change: name, task, schedule",
            );
        }
        let empty = pb::CreateTaskTemplateRequest::default();
        let given = self.template.as_ref().unwrap_or(&empty);
        let mut changes = TemplateChanges {
            etag: (!self.etag.is_empty()).then(|| self.etag.clone()),
            paths: paths.to_vec(),
            ..TemplateChanges::default()
        };
        for path in paths {
            match path.as_str() {
                "name" => changes.name = v.check("template.name", Text::parse(&given.name)),
                "task" => {
                    let mut part = Violations::default();
                    changes.fields = fields(&mut part, given.task.as_ref());
                    v.nest("template", part);
                }
                "schedule" => {
                    changes.schedule = match &given.schedule {
                        Some(input) => {
                            let mut part = Violations::default();
                            let read = schedule(&mut part, input);
                            v.nest("template", part);
                            read.map(Some)
                        }
                        None => Some(None),
                    }
                }
                other => v.add(
                    "update_mask",
                    format!("{other:?} is not a template field: name, task or schedule"),
                ),
            }
        }
        Some(UpdateTemplate {
            template_id: template_id?,
            changes,
        })
    }
}

/// ListTaskTemplates: after which template, and how many.
pub(crate) struct ListTemplates {
    pub after: Option<Uuid>,
    pub limit: i64,
}

impl Parse for pb::ListTaskTemplatesRequest {
    type Checked = ListTemplates;

    fn parse(&self, v: &mut Violations) -> Option<ListTemplates> {
        let limit = match self.page_size {
            0 => Some(100),
            size @ 1..=500 => Some(i64::from(size)),
            _ => {
                v.add("page_size", "from 1 to 500");
                None
            }
        };
        let after = match self.page_token.as_str() {
            "" => Some(None),
            token => v.check("page_token", uuid(token)).map(Some),
        };
        Some(ListTemplates {
            after: after?,
            limit: limit?,
        })
    }
}

/// CreateTaskFromTemplate, read: the merge with the template's fields happens once it is read.
pub(crate) struct FromTemplate {
    pub template_id: Uuid,
    pub overrides: pb::CreateTaskRequest,
    pub paths: Vec<String>,
    pub request: Option<CreateRequest>,
    pub formats: Vec<BodyFormat>,
}

/// The CreateTaskRequest fields an override may name.
pub(crate) const OVERRIDABLE: &[&str] = &[
    "title",
    "body",
    "kind",
    "priority",
    "due",
    "tags",
    "linked_records",
    "external_id",
    "correlation_id",
    "sequence_id",
    "completion_policy",
    "recipient_user_ids",
    "recipient_channel_ids",
    "follow_up_at",
    "reminders",
    "source_occurred_at",
];

impl Parse for pb::CreateTaskFromTemplateRequest {
    type Checked = FromTemplate;

    fn parse(&self, v: &mut Violations) -> Option<FromTemplate> {
        let template_id = v.check("template_id", uuid(&self.template_id));
        let paths = mask_paths(self.override_mask.as_ref());
        for path in paths {
            if !OVERRIDABLE.contains(&path.as_str()) {
                v.add(
                    "override_mask",
                    format!("{path:?} is not a field a task from a template may override"),
                );
            }
        }
        let request_id = v.check("request_id", Text::optional(&self.request_id));
        let formats = body_formats(v, &self.body_formats);
        Some(FromTemplate {
            template_id: template_id?,
            overrides: self.overrides.clone().unwrap_or_default(),
            paths: paths.to_vec(),
            request: request_id?.map(|request_id| CreateRequest {
                request_id,
                payload_hash: payload_hash(self),
            }),
            formats,
        })
    }
}

/// What identifies the payload of a CreateTaskFromTemplate: the request without its request id
/// and the formats it wants back.
fn payload_hash(request: &pb::CreateTaskFromTemplateRequest) -> [u8; 32] {
    let mut canonical = request.clone();
    canonical.request_id.clear();
    canonical.body_formats.clear();
    Sha256::digest(canonical.encode_to_vec()).into()
}

/// A control of a schedule: the template and what to do.
pub(crate) struct ControlTemplate {
    pub template_id: Uuid,
    pub control: Control,
}

/// A control that takes a template and a reason (pause, end).
fn with_reason(
    v: &mut Violations,
    template_id: &str,
    reason: &str,
    control: fn(Option<Text<crate::domain::tasks::Reason>>) -> Control,
) -> Option<ControlTemplate> {
    let template_id = v.check("template_id", uuid(template_id));
    let reason = v.check("reason", Text::optional(reason));
    Some(ControlTemplate {
        template_id: template_id?,
        control: control(reason?),
    })
}

impl Parse for pb::PauseTaskTemplateRequest {
    type Checked = ControlTemplate;

    fn parse(&self, v: &mut Violations) -> Option<ControlTemplate> {
        with_reason(v, &self.template_id, &self.reason, |reason| {
            Control::Pause { reason }
        })
    }
}

impl Parse for pb::EndTaskTemplateSeriesRequest {
    type Checked = ControlTemplate;

    fn parse(&self, v: &mut Violations) -> Option<ControlTemplate> {
        with_reason(v, &self.template_id, &self.reason, |reason| Control::End {
            reason,
        })
    }
}

impl Parse for pb::SkipNextOccurrenceRequest {
    type Checked = ControlTemplate;

    fn parse(&self, v: &mut Violations) -> Option<ControlTemplate> {
        let template_id = v.check("template_id", uuid(&self.template_id));
        let scheduled_for = match &self.scheduled_for {
            Some(at) => v.check("scheduled_for", instant(at)).map(Some),
            None => Some(None),
        };
        Some(ControlTemplate {
            template_id: template_id?,
            control: Control::SkipNext {
                scheduled_for: scheduled_for?,
            },
        })
    }
}

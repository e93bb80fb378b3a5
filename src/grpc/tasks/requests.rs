//! TaskService requests read into checked domain values: one parser per request message, and the
//! readers of task fields that CreateTask and UpdateTask share (an update reads only the fields
//! its mask names, each as a create would).

use std::time::Duration;

use prost::Message;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    domain::{
        body::{Body, BodyFormat, BodyInput},
        directory::Page,
        input::{Field, Text, Violations},
        tasks::{
            CreateRequest, LinkedRecord, MoveDetails, NewTask, ObjectKey, Priority, ReassignScope,
            Tag, TaskChanges, TaskDraft, TaskField, TaskKind,
            input::{MAX_LINKED_RECORDS, MAX_RECIPIENTS, MAX_TAGS},
        },
        timers::{MAX_AHEAD, ReopenAfter},
    },
    grpc::{
        enums::optional,
        parse::{
            Parse, body_formats, due, duration, mask_paths, one_id, optional_instant,
            optional_uuid, page, past_instant, reminder_rule, uuid, uuids,
        },
        pb,
    },
};

pub(crate) struct CreateTask {
    pub task: NewTask,
    pub request: Option<CreateRequest>,
    pub formats: Vec<BodyFormat>,
}

/// A request about one task: its id and the body formats to answer with.
pub(crate) struct OneTask {
    pub task_id: Uuid,
    pub formats: Vec<BodyFormat>,
}

pub(crate) struct UpdateTask {
    pub task: OneTask,
    pub changes: TaskChanges,
    pub etag: Option<String>,
}

pub(crate) struct LifecycleMove {
    pub task: OneTask,
    pub details: MoveDetails,
}

pub(crate) struct ReassignTask {
    pub task: OneTask,
    pub assignee: Uuid,
    pub scope: ReassignScope,
}

pub(super) fn one_task(
    violations: &mut Violations,
    task_id: &str,
    formats: &[i32],
) -> Option<OneTask> {
    let task_id = violations.check("task_id", uuid(task_id));
    let formats = body_formats(violations, formats);
    Some(OneTask {
        task_id: task_id?,
        formats,
    })
}

impl Parse for pb::CreateTaskRequest {
    type Checked = CreateTask;

    fn parse(&self, v: &mut Violations) -> Option<CreateTask> {
        let title = v.check("title", Text::parse(&self.title));
        let body = body(v, self.body.as_ref());
        let kind = kind(v, &self.kind);
        let priority = priority(v, self.priority);
        let due = due(v, self.due.as_ref());
        let tags = tags(v, &self.tags);
        let linked_records = linked_records(v, &self.linked_records);
        let external_id = v.check("external_id", Text::optional(&self.external_id));
        let correlation_id = v.check("correlation_id", Text::optional(&self.correlation_id));
        let sequence_id = v.check("sequence_id", optional_uuid(&self.sequence_id));
        let completion_policy = v.check("completion_policy", optional(self.completion_policy));
        let recipients = self.recipient_user_ids.len() + self.recipient_channel_ids.len();
        let (users, channels) = if recipients > MAX_RECIPIENTS {
            v.add(
                "recipient_user_ids",
                format!("at most {MAX_RECIPIENTS} recipients in all, not {recipients}"),
            );
            (Vec::new(), Vec::new())
        } else {
            (
                uuids(
                    v,
                    "recipient_user_ids",
                    &self.recipient_user_ids,
                    MAX_RECIPIENTS,
                ),
                uuids(
                    v,
                    "recipient_channel_ids",
                    &self.recipient_channel_ids,
                    MAX_RECIPIENTS,
                ),
            )
        };
        let request_id = v.check("request_id", Text::optional(&self.request_id));
        let formats = body_formats(v, &self.body_formats);
        let follow_up_at = optional_instant(v, "follow_up_at", self.follow_up_at.as_ref());
        let source_occurred_at = self
            .source_occurred_at
            .as_ref()
            .and_then(|at| v.check("source_occurred_at", past_instant(at)));
        let has_due = matches!(due, Some(Some(_)));
        let reminders = super::reminders::read(v, &self.reminders, has_due).unwrap_or_default();
        let draft = TaskDraft {
            title: title?,
            body: body?,
            kind: kind?,
            priority: priority?,
            due: due?,
            tags,
            linked_records,
            external_id: external_id?,
            correlation_id: correlation_id?,
            sequence_id: sequence_id?,
            completion_policy: completion_policy?,
            recipient_user_ids: users,
            recipient_channel_ids: channels,
            follow_up_at,
            reminders,
            source_occurred_at,
        };
        Some(CreateTask {
            task: NewTask::from(draft),
            request: request_id?.map(|request_id| CreateRequest {
                request_id,
                payload_hash: payload_hash(self),
            }),
            formats,
        })
    }
}

/// What identifies a create's payload: the request without its request id and the formats it
/// wants back, which do not change what is created.
fn payload_hash(request: &pb::CreateTaskRequest) -> [u8; 32] {
    let mut canonical = request.clone();
    canonical.request_id.clear();
    canonical.body_formats.clear();
    Sha256::digest(canonical.encode_to_vec()).into()
}

impl Parse for pb::GetTaskRequest {
    type Checked = OneTask;

    fn parse(&self, v: &mut Violations) -> Option<OneTask> {
        one_task(v, &self.task_id, &self.body_formats)
    }
}

one_id!(task_id: DeleteTaskRequest);

/// ListTaskEvents: the task and the page.
pub(crate) struct TaskHistory {
    pub task_id: Uuid,
    pub page: Page,
}

impl Parse for pb::ListTaskEventsRequest {
    type Checked = TaskHistory;

    fn parse(&self, v: &mut Violations) -> Option<TaskHistory> {
        let task_id = v.check("task_id", uuid(&self.task_id));
        let page = page(v, &self.page_cursor, self.page_limit);
        Some(TaskHistory {
            task_id: task_id?,
            page: page?,
        })
    }
}

impl Parse for pb::UpdateTaskRequest {
    type Checked = UpdateTask;

    fn parse(&self, v: &mut Violations) -> Option<UpdateTask> {
        let task = one_task(v, &self.task_id, &self.body_formats);
        let fields = TaskField::of_mask(mask_paths(self.update_mask.as_ref()), v);
        let patch = self.task.clone().unwrap_or_default();
        let mut changes = TaskChanges::default();
        for field in fields {
            match field {
                TaskField::Title => changes.title = v.check("title", Text::parse(&patch.title)),
                TaskField::Body => changes.body = body(v, patch.body.as_ref()),
                TaskField::Kind => changes.kind = kind(v, &patch.kind),
                TaskField::Priority => changes.priority = priority(v, patch.priority),
                TaskField::Due => changes.due = due(v, patch.due.as_ref()),
                TaskField::Tags => changes.tags = Some(tags(v, &patch.tags)),
                TaskField::LinkedRecords => {
                    changes.linked_records = Some(linked_records(v, &patch.linked_records))
                }
                TaskField::ExternalId => {
                    changes.external_id = v.check("external_id", Text::optional(&patch.external_id))
                }
                TaskField::CorrelationId => {
                    changes.correlation_id =
                        v.check("correlation_id", Text::optional(&patch.correlation_id))
                }
                TaskField::SequenceId => {
                    changes.sequence_id = v.check("sequence_id", optional_uuid(&patch.sequence_id))
                }
                TaskField::Reminders => {
                    // Whether the task will have a due is the domain's to check.
                    changes.reminders = super::reminders::read(v, &patch.reminders, true)
                }
                TaskField::FollowUpAt => {
                    changes.follow_up_at = Some(optional_instant(
                        v,
                        "follow_up_at",
                        patch.follow_up_at.as_ref(),
                    ))
                }
                TaskField::CompletionPolicy => {
                    changes.completion_policy =
                        v.check("completion_policy", optional(patch.completion_policy))
                }
            }
        }
        Some(UpdateTask {
            task: task?,
            changes,
            etag: (!self.etag.is_empty()).then(|| self.etag.clone()),
        })
    }
}

impl Parse for pb::ReassignTaskRequest {
    type Checked = ReassignTask;

    fn parse(&self, v: &mut Violations) -> Option<ReassignTask> {
        let task = one_task(v, &self.task_id, &self.body_formats);
        let assignee = v.check("assignee_user_id", uuid(&self.assignee_user_id));
        let scope = v.check("scope", optional(self.scope));
        Some(ReassignTask {
            task: task?,
            assignee: assignee?,
            scope: scope?.unwrap_or(ReassignScope::Task),
        })
    }
}

/// The lifecycle moves that record nothing but the status.
macro_rules! plain_move {
    ($($request:ident),+) => {$(
        impl Parse for pb::$request {
            type Checked = LifecycleMove;

            fn parse(&self, v: &mut Violations) -> Option<LifecycleMove> {
                Some(LifecycleMove {
                    task: one_task(v, &self.task_id, &self.body_formats)?,
                    details: MoveDetails::default(),
                })
            }
        }
    )+};
}

plain_move!(
    StartTaskRequest,
    SubmitTaskForReviewRequest,
    SkipTaskRequest,
    CancelTaskRequest
);

/// CompleteTask: the move, and the reopen to schedule with it, if any.
pub(crate) struct CompleteTask {
    pub task: LifecycleMove,
    pub reopen: Option<ReopenAfter>,
}

impl Parse for pb::CompleteTaskRequest {
    type Checked = CompleteTask;

    fn parse(&self, v: &mut Violations) -> Option<CompleteTask> {
        let task = one_task(v, &self.task_id, &self.body_formats);
        let outcome = self.outcome.clone().unwrap_or_default();
        let disposition = v.check("outcome.disposition", optional(outcome.disposition));
        let note = v.check("outcome.note", Text::optional(&outcome.note));
        let reopen = match &self.reopen_after {
            Some(after) => {
                let after = v.check(
                    "reopen_after",
                    duration(after, Duration::from_secs(1)..=MAX_AHEAD),
                );
                let reason = v.check("reopen_reason", Text::optional(&self.reopen_reason));
                Some(ReopenAfter {
                    after: after?,
                    reason: reason?.unwrap_or_else(reminder_rule),
                })
            }
            None if !self.reopen_reason.is_empty() => {
                v.add("reopen_reason", "only with reopen_after");
                None
            }
            None => None,
        };
        Some(CompleteTask {
            task: LifecycleMove {
                task: task?,
                details: MoveDetails {
                    disposition: disposition?,
                    note: note?,
                    reopen_reason: None,
                },
            },
            reopen,
        })
    }
}

impl Parse for pb::ReopenTaskRequest {
    type Checked = LifecycleMove;

    fn parse(&self, v: &mut Violations) -> Option<LifecycleMove> {
        let task = one_task(v, &self.task_id, &self.body_formats);
        let reason = v.check("reason", Text::optional(&self.reason));
        Some(LifecycleMove {
            task: task?,
            details: MoveDetails {
                reopen_reason: reason?,
                ..Default::default()
            },
        })
    }
}

/// A body as written: plain text, HTML or a Quill Delta; none is an empty body.
fn body(v: &mut Violations, input: Option<&pb::TaskBodyInput>) -> Option<Body> {
    let Some(content) = input.and_then(|body| body.content.as_ref()) else {
        return Some(Body::empty());
    };
    let written = match content {
        pb::task_body_input::Content::Plain(text) => BodyInput::Plain(text),
        pb::task_body_input::Content::Html(html) => BodyInput::Html(html),
        pb::task_body_input::Content::Delta(delta) => BodyInput::Delta(delta),
    };
    v.check("body", Body::from_input(written))
}

/// A task's kind; none is GENERAL.
fn kind(v: &mut Violations, kind: &str) -> Option<TaskKind> {
    if kind.is_empty() {
        return Some(TaskKind::general());
    }
    v.check("kind", TaskKind::parse(kind))
}

/// A task's priority; unspecified is NORMAL.
fn priority(v: &mut Violations, number: i32) -> Option<Priority> {
    Some(
        v.check("priority", optional(number))?
            .unwrap_or(Priority::Normal),
    )
}

pub(super) fn tags(v: &mut Violations, tags: &[String]) -> Vec<Text<Tag>> {
    v.each("tags", tags, MAX_TAGS, |tag| Text::parse(tag))
}

fn linked_records(v: &mut Violations, records: &[pb::LinkedRecord]) -> Vec<LinkedRecord> {
    if !v.within("linked_records", records.len(), MAX_LINKED_RECORDS) {
        return Vec::new();
    }
    records
        .iter()
        .enumerate()
        .filter_map(|(index, record)| {
            linked_record(v, record, |part| {
                Field::ItemPart("linked_records", index, part)
            })
        })
        .collect()
}

pub(super) fn linked_record<'a>(
    v: &mut Violations,
    record: &pb::LinkedRecord,
    field: impl Fn(&'static str) -> Field<'a>,
) -> Option<LinkedRecord> {
    let object = v.check(field("object"), ObjectKey::parse(&record.object));
    let record_id = v.check(field("record_id"), Text::parse(&record.record_id));
    Some(LinkedRecord {
        object: object?,
        record_id: record_id?,
    })
}

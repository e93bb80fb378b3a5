//! Turning task requests into domain values (collecting every violation) and domain views into
//! proto tasks.

use chrono::{DateTime, NaiveDate};
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::Status;
use uuid::Uuid;

use crate::{
    db::assignments::ProgressCounts,
    domain::{
        body::{BodyFormat, BodyInput},
        tasks::{
            CompletionPolicy, Disposition, DistributionKind, Due, MAX_NOTE_CHARS, MoveDetails,
            Priority, Status as TaskStatus, TaskDraft, TaskView,
        },
    },
    error::{ApiError, FieldViolation},
    grpc::{parse_id, pb, timestamp},
};

/// The task id and body formats of a request, or every violation among them and `violations`.
pub(super) fn task_and_formats(
    task_id: &str,
    formats: &[i32],
    mut violations: Vec<FieldViolation>,
) -> Result<(Uuid, Vec<BodyFormat>), Status> {
    let id = parse_id("task_id", task_id).map_err(|v| violations.push(v));
    let formats = body_formats(formats).map_err(|v| violations.push(v));
    match (id, formats) {
        (Ok(id), Ok(formats)) if violations.is_empty() => Ok((id, formats)),
        _ => Err(ApiError::Validation(violations).into()),
    }
}

/// A completion response as the domain records it.
pub(super) fn outcome(
    outcome: Option<&pb::TaskOutcome>,
) -> Result<MoveDetails, Vec<FieldViolation>> {
    let Some(outcome) = outcome else {
        return Ok(MoveDetails::default());
    };
    let mut violations = Vec::new();
    let disposition = match pb::CallDisposition::try_from(outcome.disposition) {
        Ok(pb::CallDisposition::Unspecified) => None,
        Ok(pb::CallDisposition::Answered) => Some(Disposition::Answered),
        Ok(pb::CallDisposition::VoicemailLeft) => Some(Disposition::VoicemailLeft),
        Ok(pb::CallDisposition::NoAnswer) => Some(Disposition::NoAnswer),
        Err(_) => unknown_enum(&mut violations, "outcome.disposition", outcome.disposition),
    };
    let note = outcome.note.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        violations.push(FieldViolation::new(
            "outcome.note",
            format!("at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    if violations.is_empty() {
        Ok(MoveDetails {
            disposition,
            note: note.to_owned(),
            ..Default::default()
        })
    } else {
        Err(violations)
    }
}

/// The request as a domain draft, with the violations found turning proto values into domain ones.
pub(super) fn draft(request: &pb::CreateTaskRequest) -> (TaskDraft<'_>, Vec<FieldViolation>) {
    let mut violations = Vec::new();
    let mut ids = |field: &str, values: &[String]| -> Vec<Uuid> {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, value)| {
                parse_id(&format!("{field}[{i}]"), value)
                    .map_err(|v| violations.push(v))
                    .ok()
            })
            .collect()
    };
    let recipient_user_ids = ids("recipient_user_ids", &request.recipient_user_ids);
    let recipient_channel_ids = ids("recipient_channel_ids", &request.recipient_channel_ids);
    let sequence_id = match request.sequence_id.as_str() {
        "" => None,
        text => parse_id("sequence_id", text)
            .map_err(|v| violations.push(v))
            .ok(),
    };
    let priority = match pb::TaskPriority::try_from(request.priority) {
        Ok(pb::TaskPriority::Unspecified) => None,
        Ok(pb::TaskPriority::Urgent) => Some(Priority::Urgent),
        Ok(pb::TaskPriority::High) => Some(Priority::High),
        Ok(pb::TaskPriority::Normal) => Some(Priority::Normal),
        Ok(pb::TaskPriority::Low) => Some(Priority::Low),
        Err(_) => unknown_enum(&mut violations, "priority", request.priority),
    };
    let completion_policy = match pb::CompletionPolicy::try_from(request.completion_policy) {
        Ok(pb::CompletionPolicy::Unspecified) => None,
        Ok(pb::CompletionPolicy::Manual) => Some(CompletionPolicy::Manual),
        Ok(pb::CompletionPolicy::Any) => Some(CompletionPolicy::Any),
        Ok(pb::CompletionPolicy::All) => Some(CompletionPolicy::All),
        Err(_) => unknown_enum(
            &mut violations,
            "completion_policy",
            request.completion_policy,
        ),
    };
    let due = request.due.as_ref().and_then(|due| match &due.value {
        None => None,
        Some(pb::due::Value::Date(date)) => {
            let parsed = u32::try_from(date.month)
                .ok()
                .zip(u32::try_from(date.day).ok())
                .and_then(|(month, day)| NaiveDate::from_ymd_opt(date.year, month, day))
                .filter(|_| (1..=9999).contains(&date.year));
            if parsed.is_none() {
                violations.push(FieldViolation::new("due.date", "not a calendar date"));
            }
            parsed.map(Due::Date)
        }
        Some(pb::due::Value::Time(time)) => {
            let parsed = u32::try_from(time.nanos)
                .ok()
                .and_then(|nanos| DateTime::from_timestamp(time.seconds, nanos));
            if parsed.is_none() {
                violations.push(FieldViolation::new("due.time", "not a valid timestamp"));
            }
            parsed.map(Due::At)
        }
    });
    let body = request
        .body
        .as_ref()
        .and_then(|body| body.content.as_ref())
        .map(|content| match content {
            pb::task_body_input::Content::Plain(text) => BodyInput::Plain(text),
            pb::task_body_input::Content::Html(html) => BodyInput::Html(html),
            pb::task_body_input::Content::Delta(delta) => BodyInput::Delta(delta),
        });
    let draft = TaskDraft {
        title: &request.title,
        body,
        kind: &request.kind,
        priority,
        due,
        tags: &request.tags,
        linked_records: request
            .linked_records
            .iter()
            .map(|r| (r.object.as_str(), r.record_id.as_str()))
            .collect(),
        external_id: &request.external_id,
        correlation_id: &request.correlation_id,
        sequence_id,
        completion_policy,
        recipient_user_ids,
        recipient_channel_ids,
    };
    (draft, violations)
}

fn unknown_enum<T>(violations: &mut Vec<FieldViolation>, field: &str, value: i32) -> Option<T> {
    violations.push(FieldViolation::new(field, format!("unknown value {value}")));
    None
}

/// The formats a read asks for; none means all three.
pub(crate) fn body_formats(requested: &[i32]) -> Result<Vec<BodyFormat>, FieldViolation> {
    if requested.is_empty() {
        return Ok(vec![BodyFormat::Plain, BodyFormat::Html, BodyFormat::Delta]);
    }
    requested
        .iter()
        .enumerate()
        .map(|(i, value)| match pb::BodyFormat::try_from(*value) {
            Ok(pb::BodyFormat::Plain) => Ok(BodyFormat::Plain),
            Ok(pb::BodyFormat::Html) => Ok(BodyFormat::Html),
            Ok(pb::BodyFormat::Delta) => Ok(BodyFormat::Delta),
            _ => Err(FieldViolation::new(
                format!("body_formats[{i}]"),
                format!("unknown format {value}"),
            )),
        })
        .collect()
}

/// What identifies a create's payload: the request without its request id and the formats it
/// wants back, which do not change what is created.
pub(super) fn payload_hash(request: &pb::CreateTaskRequest) -> [u8; 32] {
    let mut canonical = request.clone();
    canonical.request_id.clear();
    canonical.body_formats.clear();
    Sha256::digest(canonical.encode_to_vec()).into()
}

pub(crate) fn task_to_proto(view: TaskView, formats: &[BodyFormat]) -> pb::Task {
    let due = view.due().map(|due| pb::Due {
        value: Some(match due {
            Due::Date(date) => pb::due::Value::Date(pb::CalendarDate {
                year: chrono::Datelike::year(&date),
                month: chrono::Datelike::month(&date) as i32,
                day: chrono::Datelike::day(&date) as i32,
            }),
            Due::At(at) => pb::due::Value::Time(timestamp(at)),
        }),
    });
    let etag = view.etag();
    let task = view.task;
    let wants = |format| formats.contains(&format);
    let body = pb::TaskBody {
        written_as: match task.body_format.as_str() {
            "HTML" => pb::BodyFormat::Html,
            "DELTA" => pb::BodyFormat::Delta,
            _ => pb::BodyFormat::Plain,
        } as i32,
        plain: wants(BodyFormat::Plain).then(|| task.body_plain.clone()),
        html: wants(BodyFormat::Html).then(|| task.body_html.clone()),
        delta: wants(BodyFormat::Delta).then(|| task.body_delta.clone()),
    };
    let outcome = task
        .outcome_disposition
        .as_deref()
        .map(|disposition| pb::TaskOutcome {
            disposition: match disposition {
                "ANSWERED" => pb::CallDisposition::Answered,
                "VOICEMAIL_LEFT" => pb::CallDisposition::VoicemailLeft,
                "NO_ANSWER" => pb::CallDisposition::NoAnswer,
                _ => pb::CallDisposition::Unspecified,
            } as i32,
            note: task.outcome_note.clone().unwrap_or_default(),
        });
    pb::Task {
        id: task.id.to_string(),
        workspace_id: task.workspace_id.to_string(),
        number: task.number,
        title: task.title,
        body: Some(body),
        kind: task.kind,
        priority: match Priority::parse(&task.priority) {
            Some(Priority::Urgent) => pb::TaskPriority::Urgent,
            Some(Priority::High) => pb::TaskPriority::High,
            Some(Priority::Low) => pb::TaskPriority::Low,
            Some(Priority::Normal) | None => pb::TaskPriority::Normal,
        } as i32,
        status: match TaskStatus::parse(&task.status) {
            Some(TaskStatus::New) | None => pb::TaskStatus::New,
            Some(TaskStatus::Open) => pb::TaskStatus::Open,
            Some(TaskStatus::InProgress) => pb::TaskStatus::InProgress,
            Some(TaskStatus::InReview) => pb::TaskStatus::InReview,
            Some(TaskStatus::Completed) => pb::TaskStatus::Completed,
            Some(TaskStatus::Skipped) => pb::TaskStatus::Skipped,
            Some(TaskStatus::Cancelled) => pb::TaskStatus::Cancelled,
        } as i32,
        due,
        tags: task.tags,
        linked_records: view
            .linked_records
            .into_iter()
            .map(|(object, record_id)| pb::LinkedRecord { object, record_id })
            .collect(),
        external_id: task.external_id.unwrap_or_default(),
        correlation_id: task.correlation_id.unwrap_or_default(),
        sequence_id: task
            .sequence_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        completion_policy: match CompletionPolicy::parse(&task.completion_policy) {
            Some(CompletionPolicy::Manual) => pb::CompletionPolicy::Manual,
            Some(CompletionPolicy::Any) => pb::CompletionPolicy::Any,
            Some(CompletionPolicy::All) | None => pb::CompletionPolicy::All,
        } as i32,
        created_by: Some(pb::Actor {
            r#type: match task.created_by_type.as_str() {
                "USER" => pb::ActorType::User,
                "API_TOKEN" => pb::ActorType::ApiToken,
                _ => pb::ActorType::System,
            } as i32,
            id: task.created_by_id,
        }),
        distribution_kind: match view.distribution_kind {
            DistributionKind::Personal => pb::DistributionKind::Personal,
            DistributionKind::Distributed => pb::DistributionKind::Distributed,
            DistributionKind::Received => pb::DistributionKind::Received,
        } as i32,
        assignment_summary: view.assignment_summary.map(summary_to_proto),
        outcome,
        created_at: Some(timestamp(task.created_at)),
        updated_at: Some(timestamp(task.updated_at)),
        first_started_at: task.first_started_at.map(timestamp),
        first_terminated_at: task.first_terminated_at.map(timestamp),
        completed_at: task.completed_at.map(timestamp),
        skipped_at: task.skipped_at.map(timestamp),
        cancelled_at: task.cancelled_at.map(timestamp),
        reopened_at: task.reopened_at.map(timestamp),
        reopen_reason: task.reopen_reason.unwrap_or_default(),
        etag,
    }
}

/// A patch read as a create request: the two share field names and rules, so one parser serves.
pub(super) fn patch_as_create(patch: &pb::TaskPatch) -> pb::CreateTaskRequest {
    pb::CreateTaskRequest {
        title: patch.title.clone(),
        body: patch.body.clone(),
        kind: patch.kind.clone(),
        priority: patch.priority,
        due: patch.due,
        tags: patch.tags.clone(),
        linked_records: patch.linked_records.clone(),
        external_id: patch.external_id.clone(),
        correlation_id: patch.correlation_id.clone(),
        sequence_id: patch.sequence_id.clone(),
        completion_policy: patch.completion_policy,
        ..Default::default()
    }
}

pub(crate) fn summary_to_proto(counts: ProgressCounts) -> pb::AssignmentSummary {
    pb::AssignmentSummary {
        new_count: counts.new,
        open_count: counts.open,
        finished_count: counts.finished,
        total_count: counts.total(),
    }
}

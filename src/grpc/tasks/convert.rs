//! Domain views into proto tasks and summaries, shared by every service that returns tasks.

use chrono::Datelike;

use crate::domain::records::ProgressCounts;
use crate::domain::vocabulary::ActorType;
use crate::{
    domain::{
        body::BodyFormat,
        tasks::{Due, Sla, SlaClockState, TaskView},
    },
    grpc::{pb, timestamp},
};

/// The task as the caller sees it, with the body renditions asked for.
pub(crate) fn task_to_proto(view: TaskView, formats: &[BodyFormat]) -> pb::Task {
    let due = view.due().map(|due| pb::Due {
        value: Some(match due {
            Due::Date(date) => pb::due::Value::Date(pb::CalendarDate {
                year: date.year(),
                month: date.month() as i32,
                day: date.day() as i32,
            }),
            Due::At(at) => pb::due::Value::Time(timestamp(at)),
        }),
    });
    let etag = view.etag();
    let template = template_ref(&view);
    let task = view.task;
    let wants = |format| formats.contains(&format);
    let body = pb::TaskBody {
        written_as: pb::BodyFormat::from(task.body_format) as i32,
        plain: wants(BodyFormat::Plain).then_some(task.body_plain),
        html: wants(BodyFormat::Html).then_some(task.body_html),
        delta: wants(BodyFormat::Delta).then_some(task.body_delta),
    };
    // The completion response: a disposition and/or a note.
    let has_note = task
        .outcome_note
        .as_deref()
        .is_some_and(|note| !note.is_empty());
    let outcome = (task.outcome_disposition.is_some() || has_note).then(|| pb::TaskOutcome {
        disposition: task
            .outcome_disposition
            .map_or(pb::CallDisposition::Unspecified, pb::CallDisposition::from)
            as i32,
        note: task.outcome_note.unwrap_or_default(),
    });
    pb::Task {
        id: task.id.to_string(),
        workspace_id: task.workspace_id.to_string(),
        number: task.number,
        title: task.title,
        body: Some(body),
        kind: task.kind,
        priority: pb::TaskPriority::from(task.priority) as i32,
        status: pb::TaskStatus::from(task.status) as i32,
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
        completion_policy: pb::CompletionPolicy::from(task.completion_policy) as i32,
        created_by: Some(actor_to_proto(task.created_by_type, task.created_by_id)),
        distribution_kind: pb::DistributionKind::from(view.distribution_kind) as i32,
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
        follow_up_at: task.follow_up_at.map(timestamp),
        snoozed_until: task.snoozed_until.map(timestamp),
        snooze_reason: task.snooze_reason.unwrap_or_default(),
        source_occurred_at: task.source_occurred_at.map(timestamp),
        sla: Sla::of(&task.sla).map(sla_to_proto),
        template,
    }
}

/// Where the task came from, if a template made it.
fn template_ref(view: &TaskView) -> Option<pb::TaskTemplateRef> {
    let provenance = &view.task.provenance;
    let id = |id: Option<uuid::Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
    Some(pb::TaskTemplateRef {
        template_id: provenance.template_id?.to_string(),
        template_name: provenance.template_name.clone().unwrap_or_default(),
        recurring: provenance.occurrence_index.is_some(),
        occurrence_index: provenance.occurrence_index.unwrap_or_default(),
        scheduled_for: provenance.scheduled_for.map(timestamp),
        previous_task_id: id(provenance.series_previous_id),
        next_task_id: id(provenance.series_next_id),
    })
}

/// The task's SLA clocks, if a policy matched it.
fn sla_to_proto(sla: Sla) -> pb::TaskSla {
    let clock = |clock: SlaClockState| pb::SlaClock {
        due_at: clock.due_at.map(timestamp),
        met_at: clock.met_at.map(timestamp),
        paused_remaining: clock
            .paused_remaining
            .and_then(|left| prost_types::Duration::try_from(left).ok()),
    };
    pb::TaskSla {
        policy: sla.policy,
        started_at: sla.started_at.map(timestamp),
        first_response: sla.first_response.map(clock),
        resolution: sla.resolution.map(clock),
        paused_since: sla.paused_since.map(timestamp),
        breached_at: sla.breached_at.map(timestamp),
    }
}

pub(crate) fn actor_to_proto(kind: ActorType, id: String) -> pb::Actor {
    pb::Actor {
        r#type: pb::ActorType::from(kind) as i32,
        id,
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

//! ListTasks and CountTasks requests as domain queries. The two requests share their filter fields
//! (same names and numbers), so a list request is read through its filters as a count request.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    domain::tasks::{
        DistributionKind, Priority, Status,
        list::{TaskQuery, TaskQueryDraft, TaskSort, TaskSortKey},
    },
    error::FieldViolation,
    grpc::{parse_id, pb},
};

/// The filters of a list request.
pub(super) fn filters_of(request: &pb::ListTasksRequest) -> pb::CountTasksRequest {
    pb::CountTasksRequest {
        distribution_kinds: request.distribution_kinds.clone(),
        statuses: request.statuses.clone(),
        priorities: request.priorities.clone(),
        kinds: request.kinds.clone(),
        assignee_user_ids: request.assignee_user_ids.clone(),
        include_unassigned: request.include_unassigned,
        tags: request.tags.clone(),
        linked_record: request.linked_record.clone(),
        sequence_id: request.sequence_id.clone(),
        external_id: request.external_id.clone(),
        correlation_id: request.correlation_id.clone(),
        due_before: request.due_before,
        due_after: request.due_after,
        created_before: request.created_before,
        created_after: request.created_after,
        query: request.query.clone(),
    }
}

/// The checked query, or every violation in the request (and in `violations`).
pub(super) fn task_query(
    request: &pb::CountTasksRequest,
    mut violations: Vec<FieldViolation>,
) -> Result<TaskQuery, Vec<FieldViolation>> {
    let mut v = Violations(&mut violations);
    let distribution_kinds = v.enums("distribution_kinds", &request.distribution_kinds, |value| {
        match pb::DistributionKind::try_from(value) {
            Ok(pb::DistributionKind::Personal) => Some(DistributionKind::Personal),
            Ok(pb::DistributionKind::Distributed) => Some(DistributionKind::Distributed),
            Ok(pb::DistributionKind::Received) => Some(DistributionKind::Received),
            _ => None,
        }
    });
    let statuses = v.enums(
        "statuses",
        &request.statuses,
        |value| match pb::TaskStatus::try_from(value) {
            Ok(pb::TaskStatus::New) => Some(Status::New),
            Ok(pb::TaskStatus::Open) => Some(Status::Open),
            Ok(pb::TaskStatus::InProgress) => Some(Status::InProgress),
            Ok(pb::TaskStatus::InReview) => Some(Status::InReview),
            Ok(pb::TaskStatus::Completed) => Some(Status::Completed),
            Ok(pb::TaskStatus::Skipped) => Some(Status::Skipped),
            Ok(pb::TaskStatus::Cancelled) => Some(Status::Cancelled),
            _ => None,
        },
    );
    let priorities =
        v.enums(
            "priorities",
            &request.priorities,
            |value| match pb::TaskPriority::try_from(value) {
                Ok(pb::TaskPriority::Urgent) => Some(Priority::Urgent),
                Ok(pb::TaskPriority::High) => Some(Priority::High),
                Ok(pb::TaskPriority::Normal) => Some(Priority::Normal),
                Ok(pb::TaskPriority::Low) => Some(Priority::Low),
                _ => None,
            },
        );
    let assignee_user_ids: Vec<Uuid> = request
        .assignee_user_ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| v.ok(parse_id(&format!("assignee_user_ids[{i}]"), id)))
        .collect();
    let sequence_id = match request.sequence_id.as_str() {
        "" => None,
        id => v.ok(parse_id("sequence_id", id)),
    };
    let due_before = v.instant("due_before", request.due_before.as_ref());
    let due_after = v.instant("due_after", request.due_after.as_ref());
    let created_before = v.instant("created_before", request.created_before.as_ref());
    let created_after = v.instant("created_after", request.created_after.as_ref());
    let draft = TaskQueryDraft {
        distribution_kinds,
        statuses,
        priorities,
        kinds: &request.kinds,
        assignee_user_ids,
        include_unassigned: request.include_unassigned,
        tags: &request.tags,
        linked_record: request
            .linked_record
            .as_ref()
            .map(|r| (r.object.as_str(), r.record_id.as_str())),
        sequence_id,
        external_id: &request.external_id,
        correlation_id: &request.correlation_id,
        due_before,
        due_after,
        created_before,
        created_after,
        query: &request.query,
    };
    let query = TaskQuery::check(draft);
    match query {
        Ok(query) if violations.is_empty() => Ok(query),
        Ok(_) => Err(violations),
        Err(more) => {
            violations.extend(more);
            Err(violations)
        }
    }
}

pub(super) fn sort(value: i32) -> Result<TaskSort, FieldViolation> {
    let (key, descending) = match pb::TaskSort::try_from(value) {
        Ok(pb::TaskSort::Unspecified | pb::TaskSort::CreatedAtDesc) => {
            (TaskSortKey::CreatedAt, true)
        }
        Ok(pb::TaskSort::CreatedAtAsc) => (TaskSortKey::CreatedAt, false),
        Ok(pb::TaskSort::UpdatedAtAsc) => (TaskSortKey::UpdatedAt, false),
        Ok(pb::TaskSort::UpdatedAtDesc) => (TaskSortKey::UpdatedAt, true),
        Ok(pb::TaskSort::DueAsc) => (TaskSortKey::Due, false),
        Ok(pb::TaskSort::DueDesc) => (TaskSortKey::Due, true),
        Ok(pb::TaskSort::NumberAsc) => (TaskSortKey::Number, false),
        Ok(pb::TaskSort::NumberDesc) => (TaskSortKey::Number, true),
        Ok(pb::TaskSort::PriorityAsc) => (TaskSortKey::Priority, false),
        Ok(pb::TaskSort::PriorityDesc) => (TaskSortKey::Priority, true),
        Err(_) => {
            return Err(FieldViolation::new(
                "sort",
                format!("unknown value {value}"),
            ));
        }
    };
    Ok(TaskSort { key, descending })
}

/// Collects violations while parsing.
struct Violations<'a>(&'a mut Vec<FieldViolation>);

impl Violations<'_> {
    fn ok<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        result.map_err(|v| self.0.push(v)).ok()
    }

    /// Each value mapped, or a violation naming it (UNSPECIFIED and unknown numbers alike).
    fn enums<T>(&mut self, field: &str, values: &[i32], map: impl Fn(i32) -> Option<T>) -> Vec<T> {
        let mut mapped = Vec::with_capacity(values.len());
        for (index, value) in values.iter().enumerate() {
            match map(*value) {
                Some(item) => mapped.push(item),
                None => self.0.push(FieldViolation::new(
                    format!("{field}[{index}]"),
                    format!("{value} is not one of the values this filter takes"),
                )),
            }
        }
        mapped
    }

    fn instant(
        &mut self,
        field: &str,
        value: Option<&prost_types::Timestamp>,
    ) -> Option<DateTime<Utc>> {
        let value = value?;
        let parsed = u32::try_from(value.nanos)
            .ok()
            .and_then(|nanos| DateTime::from_timestamp(value.seconds, nanos));
        if parsed.is_none() {
            self.0
                .push(FieldViolation::new(field, "not a valid timestamp"));
        }
        parsed
    }
}

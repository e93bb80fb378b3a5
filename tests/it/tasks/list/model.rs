//! What a listing should return, computed by the test itself: how the contract orders and matches
//! tasks, independently of the server's SQL.

use std::{cmp::Ordering, collections::HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use docket::grpc::pb;
use uuid::Uuid;

use crate::helpers::{database::connect, team::Team};

pub(super) fn count_request(list: &pb::ListTasksRequest) -> pb::CountTasksRequest {
    pb::CountTasksRequest {
        distribution_kinds: list.distribution_kinds.clone(),
        statuses: list.statuses.clone(),
        priorities: list.priorities.clone(),
        kinds: list.kinds.clone(),
        assignee_user_ids: list.assignee_user_ids.clone(),
        include_unassigned: list.include_unassigned,
        tags: list.tags.clone(),
        linked_record: list.linked_record.clone(),
        sequence_id: list.sequence_id.clone(),
        external_id: list.external_id.clone(),
        correlation_id: list.correlation_id.clone(),
        due_before: list.due_before,
        due_after: list.due_after,
        created_before: list.created_before,
        created_after: list.created_after,
        query: list.query.clone(),
        follow_up_before: list.follow_up_before,
        follow_up_after: list.follow_up_after,
        snoozed: list.snoozed,
        sla_due_before: list.sla_due_before,
        sla_due_after: list.sla_due_after,
        sla: list.sla,
        from_recurring_template: list.from_recurring_template,
        template_ids: list.template_ids.clone(),
    }
}

pub(super) fn record(object: &str, id: &str) -> pb::LinkedRecord {
    pb::LinkedRecord {
        object: object.into(),
        record_id: id.into(),
    }
}

pub(super) fn date(day: u32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 12, day)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date")
        .and_utc()
}

pub(super) fn instant(ts: &prost_types::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(ts.seconds, ts.nanos as u32).expect("timestamp")
}

pub(super) fn proto_time(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

/// When a task is due, as the contract orders it: a time as is, a date as the end of that day
/// (UTC), none after everything.
pub(super) fn due_moment(task: &pb::Task) -> Option<DateTime<Utc>> {
    match task.due.as_ref()?.value.as_ref()? {
        pb::due::Value::Time(ts) => Some(instant(ts)),
        pb::due::Value::Date(d) => Some(
            NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32)?
                .succ_opt()?
                .and_hms_opt(0, 0, 0)?
                .and_utc(),
        ),
    }
}

pub(super) fn urgency(task: &pb::Task) -> u8 {
    match task.priority() {
        pb::TaskPriority::Low => 1,
        pb::TaskPriority::Normal => 2,
        pb::TaskPriority::High => 3,
        _ => 4,
    }
}

pub(super) fn compare(sort: pb::TaskSort, a: &pb::Task, b: &pb::Task) -> Ordering {
    use pb::TaskSort::*;
    let created = |t: &pb::Task| instant(t.created_at.as_ref().expect("created_at"));
    let updated = |t: &pb::Task| instant(t.updated_at.as_ref().expect("updated_at"));
    // Ids compare as UUIDs do in PostgreSQL: bytewise, which their canonical text also does.
    let by_id = || a.id.cmp(&b.id);
    let due = |t: &pb::Task| (due_moment(t).is_none(), due_moment(t));
    let follow_up = |t: &pb::Task| {
        let at = t.follow_up_at.as_ref().map(instant);
        (at.is_none(), at)
    };
    let sla_due = |t: &pb::Task| {
        let at = sla_next_due(t);
        (at.is_none(), at)
    };
    let ascending = match sort {
        Unspecified | CreatedAtDesc | CreatedAtAsc => created(a).cmp(&created(b)).then_with(by_id),
        UpdatedAtAsc | UpdatedAtDesc => updated(a).cmp(&updated(b)).then_with(by_id),
        DueAsc | DueDesc => due(a).cmp(&due(b)).then_with(by_id),
        NumberAsc | NumberDesc => a.number.cmp(&b.number),
        PriorityAsc | PriorityDesc => urgency(a).cmp(&urgency(b)).then_with(by_id),
        FollowUpAsc | FollowUpDesc => follow_up(a).cmp(&follow_up(b)).then_with(by_id),
        SlaDueAsc | SlaDueDesc => sla_due(a).cmp(&sla_due(b)).then_with(by_id),
    };
    match sort {
        Unspecified | CreatedAtDesc | UpdatedAtDesc | DueDesc | NumberDesc | PriorityDesc
        | FollowUpDesc | SlaDueDesc => ascending.reverse(),
        _ => ascending,
    }
}

/// The next due of the task's running SLA clocks not met yet.
pub(super) fn sla_next_due(task: &pb::Task) -> Option<DateTime<Utc>> {
    let sla = task.sla.as_ref()?;
    [&sla.first_response, &sla.resolution]
        .into_iter()
        .flatten()
        .filter(|clock| clock.met_at.is_none())
        .filter_map(|clock| clock.due_at.as_ref().map(instant))
        .min()
}

/// `query` as the contract reads it: a task number, or words that each begin a word of the title.
pub(super) fn query_matches(query: &str, task: &pb::Task) -> bool {
    let number = query.trim_start_matches('#').parse::<i64>().ok();
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let title = words(&task.title);
    number == Some(task.number)
        || words(query)
            .iter()
            .all(|q| title.iter().any(|w| w.starts_with(q.as_str())))
}

pub(super) async fn assignees(team: &Team) -> HashMap<String, Vec<Uuid>> {
    let rows = connect(&team.app.db.url())
        .await
        .query("SELECT task_id, user_id FROM assignments", &[])
        .await
        .expect("assignments");
    let mut all: HashMap<String, Vec<Uuid>> = HashMap::new();
    for row in rows {
        let (task, user): (Uuid, Uuid) = (row.get(0), row.get(1));
        all.entry(task.to_string()).or_default().push(user);
    }
    all
}

//! The listing test's cases: every sort, and each filter on its own with what it means, written
//! independently of the server (against the fixture's tasks and what the test knows of them).

use docket::grpc::pb;

use super::{fixture::*, model::*};

pub const SORTS: [pb::TaskSort; 15] = [
    pb::TaskSort::Unspecified,
    pb::TaskSort::CreatedAtAsc,
    pb::TaskSort::CreatedAtDesc,
    pb::TaskSort::UpdatedAtAsc,
    pb::TaskSort::UpdatedAtDesc,
    pb::TaskSort::DueAsc,
    pb::TaskSort::DueDesc,
    pb::TaskSort::NumberAsc,
    pb::TaskSort::NumberDesc,
    pb::TaskSort::PriorityAsc,
    pb::TaskSort::PriorityDesc,
    pb::TaskSort::FollowUpAsc,
    pb::TaskSort::FollowUpDesc,
    pb::TaskSort::SlaDueAsc,
    pb::TaskSort::SlaDueDesc,
];

pub type Case = (
    &'static str,
    Box<dyn Fn(&Fixture) -> pb::ListTasksRequest>,
    Box<dyn Fn(&Fixture, &Known) -> bool>,
);

/// Each filter on its own: the request, and what it means, written independently of the server.
pub fn single_filters() -> Vec<Case> {
    let status = |s: pb::TaskStatus| s as i32;
    vec![
        (
            "statuses",
            Box::new(move |_| pb::ListTasksRequest {
                statuses: vec![status(pb::TaskStatus::New), status(pb::TaskStatus::Open)],
                ..Default::default()
            }),
            Box::new(|_, k| matches!(k.task.status(), pb::TaskStatus::New | pb::TaskStatus::Open)),
        ),
        (
            "priorities",
            Box::new(|_| pb::ListTasksRequest {
                priorities: vec![
                    pb::TaskPriority::Urgent as i32,
                    pb::TaskPriority::Low as i32,
                ],
                ..Default::default()
            }),
            Box::new(|_, k| {
                matches!(
                    k.task.priority(),
                    pb::TaskPriority::Urgent | pb::TaskPriority::Low
                )
            }),
        ),
        (
            "kinds",
            Box::new(|_| pb::ListTasksRequest {
                kinds: vec!["CALL".into(), "GENERAL".into()],
                ..Default::default()
            }),
            Box::new(|_, k| k.task.kind == "CALL" || k.task.kind == "GENERAL"),
        ),
        (
            "assignee",
            Box::new(|f| pb::ListTasksRequest {
                assignee_user_ids: vec![f.team.alice.0.to_string()],
                ..Default::default()
            }),
            Box::new(|f, k| k.assignees.contains(&f.team.alice.0)),
        ),
        (
            // Channel tasks reach both: each counts once.
            "either of two assignees",
            Box::new(|f| pb::ListTasksRequest {
                assignee_user_ids: vec![f.team.alice.0.to_string(), f.team.bob.to_string()],
                ..Default::default()
            }),
            Box::new(|f, k| {
                k.assignees.contains(&f.team.alice.0) || k.assignees.contains(&f.team.bob)
            }),
        ),
        (
            "unassigned only",
            Box::new(|_| pb::ListTasksRequest {
                include_unassigned: true,
                ..Default::default()
            }),
            Box::new(|_, k| k.assignees.is_empty()),
        ),
        (
            "assignee or unassigned",
            Box::new(|f| pb::ListTasksRequest {
                assignee_user_ids: vec![f.team.author.0.to_string()],
                include_unassigned: true,
                ..Default::default()
            }),
            Box::new(|f, k| k.assignees.is_empty() || k.assignees.contains(&f.team.author.0)),
        ),
        (
            "tags (any of)",
            Box::new(|_| pb::ListTasksRequest {
                tags: vec!["billing".into(), "ops".into()],
                ..Default::default()
            }),
            Box::new(|_, k| k.task.tags.iter().any(|t| t == "billing" || t == "ops")),
        ),
        (
            "linked record",
            Box::new(|_| pb::ListTasksRequest {
                linked_record: Some(record("people", "p1")),
                ..Default::default()
            }),
            Box::new(|_, k| {
                k.task
                    .linked_records
                    .iter()
                    .any(|r| r.object == "people" && r.record_id == "p1")
            }),
        ),
        (
            "sequence",
            Box::new(|f| pb::ListTasksRequest {
                sequence_id: f.sequence[1].to_string(),
                ..Default::default()
            }),
            Box::new(|f, k| k.task.sequence_id == f.sequence[1].to_string()),
        ),
        (
            "external id",
            Box::new(|_| pb::ListTasksRequest {
                external_id: "ext-30".into(),
                ..Default::default()
            }),
            Box::new(|_, k| k.task.external_id == "ext-30"),
        ),
        (
            "correlation id",
            Box::new(|_| pb::ListTasksRequest {
                correlation_id: "corr-1".into(),
                ..Default::default()
            }),
            Box::new(|_, k| k.task.correlation_id == "corr-1"),
        ),
        (
            "due before",
            // The end of 3 December: tasks due on the 2nd (a date) and up to noon on the 3rd.
            Box::new(|_| pb::ListTasksRequest {
                due_before: Some(proto_time(date(3))),
                ..Default::default()
            }),
            Box::new(|_, k| due_moment(&k.task).is_some_and(|d| d < date(3))),
        ),
        (
            "due after",
            Box::new(|_| pb::ListTasksRequest {
                due_after: Some(proto_time(date(4))),
                ..Default::default()
            }),
            Box::new(|_, k| due_moment(&k.task).is_some_and(|d| d >= date(4))),
        ),
        (
            "created before",
            Box::new(|f| pb::ListTasksRequest {
                created_before: f.tasks[25].task.created_at,
                ..Default::default()
            }),
            Box::new(|f, k| {
                instant(k.task.created_at.as_ref().expect("created"))
                    < instant(f.tasks[25].task.created_at.as_ref().expect("created"))
            }),
        ),
        (
            "created after",
            Box::new(|f| pb::ListTasksRequest {
                created_after: f.tasks[40].task.created_at,
                ..Default::default()
            }),
            Box::new(|f, k| {
                instant(k.task.created_at.as_ref().expect("created"))
                    >= instant(f.tasks[40].task.created_at.as_ref().expect("created"))
            }),
        ),
        (
            "query: words",
            Box::new(|_| pb::ListTasksRequest {
                query: "acm INV".into(),
                ..Default::default()
            }),
            Box::new(|_, k| query_matches("acm INV", &k.task)),
        ),
        (
            "query: number",
            Box::new(|f| pb::ListTasksRequest {
                query: format!("#{}", f.tasks[6].task.number),
                ..Default::default()
            }),
            Box::new(|f, k| k.task.number == f.tasks[6].task.number),
        ),
        (
            "follow-up before",
            Box::new(|_| pb::ListTasksRequest {
                follow_up_before: Some(proto_time(date(3))),
                ..Default::default()
            }),
            Box::new(|_, k| follow_up(k).is_some_and(|at| at < date(3))),
        ),
        (
            "follow-up after",
            Box::new(|_| pb::ListTasksRequest {
                follow_up_after: Some(proto_time(date(3))),
                ..Default::default()
            }),
            Box::new(|_, k| follow_up(k).is_some_and(|at| at >= date(3))),
        ),
        (
            // The harness leaves snoozed tasks out unless the request asks for them.
            "snoozed only",
            Box::new(|_| pb::ListTasksRequest {
                snoozed: pb::SnoozeFilter::Snoozed as i32,
                ..Default::default()
            }),
            Box::new(|_, k| k.task.snoozed_until.is_some()),
        ),
        (
            "snoozed or not",
            Box::new(|_| pb::ListTasksRequest {
                snoozed: pb::SnoozeFilter::Any as i32,
                ..Default::default()
            }),
            Box::new(|_, _| true),
        ),
        (
            "with an SLA",
            Box::new(|_| pb::ListTasksRequest {
                sla: pb::SlaFilter::WithSla as i32,
                ..Default::default()
            }),
            Box::new(|_, k| k.task.sla.is_some()),
        ),
        (
            "SLA breached",
            Box::new(|_| pb::ListTasksRequest {
                sla: pb::SlaFilter::Breached as i32,
                ..Default::default()
            }),
            Box::new(|_, k| sla_breached(k)),
        ),
        (
            "SLA not breached",
            Box::new(|_| pb::ListTasksRequest {
                sla: pb::SlaFilter::NotBreached as i32,
                ..Default::default()
            }),
            Box::new(|_, k| k.task.sla.is_some() && !sla_breached(k)),
        ),
        (
            "SLA due before",
            Box::new(|_| pb::ListTasksRequest {
                sla_due_before: Some(proto_time(half_a_day())),
                ..Default::default()
            }),
            Box::new(|_, k| sla_next_due(&k.task).is_some_and(|due| due < half_a_day())),
        ),
        (
            "SLA due after",
            Box::new(|_| pb::ListTasksRequest {
                sla_due_after: Some(proto_time(half_a_day())),
                ..Default::default()
            }),
            Box::new(|_, k| sla_next_due(&k.task).is_some_and(|due| due >= half_a_day())),
        ),
    ]
}

/// Twelve hours from now: no fixture task's SLA due is within hours of it.
fn half_a_day() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::hours(12)
}

/// A breach recorded, or a running clock past its due.
fn sla_breached(k: &Known) -> bool {
    let sla = k.task.sla.as_ref();
    sla.is_some_and(|sla| sla.breached_at.is_some())
        || sla_next_due(&k.task).is_some_and(|due| due <= chrono::Utc::now())
}

fn follow_up(k: &Known) -> Option<chrono::DateTime<chrono::Utc>> {
    k.task.follow_up_at.as_ref().map(instant)
}

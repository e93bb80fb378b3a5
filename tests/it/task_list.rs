//! ListTasks and CountTasks: every filter and sort, alone and combined, against expectations this
//! test computes itself from the tasks it created; resuming from cursors; refusing bad filters and
//! foreign or edited cursors.

use std::{cmp::Ordering, collections::HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use docket::grpc::pb;
use tonic::Code;
use uuid::Uuid;

use crate::{
    auth::authorized,
    directory::drain,
    helpers::{
        database::connect,
        raw::{assert_error, call, violated_fields},
        team::{Team, titled},
    },
};

const VERBS: [&str; 3] = ["Call", "Email", "Visit"];
const COMPANIES: [&str; 3] = ["Acme", "Globex", "Initech"];
const TOPICS: [&str; 4] = ["invoice", "renewal", "onboarding", "complaint"];
const KINDS: [&str; 4] = ["CALL", "EMAIL_REPLY", "", "NEW_LEAD_REVIEW"];
const PRIORITIES: [pb::TaskPriority; 5] = [
    pb::TaskPriority::Urgent,
    pb::TaskPriority::High,
    pb::TaskPriority::Unspecified,
    pb::TaskPriority::Low,
    pb::TaskPriority::Normal,
];

/// Who a task's creator is, in the test's own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Author,
    Alice,
    Admin,
    Outsider,
}

/// A created task as the test knows it: the final task (read back by the admin) and its recipients
/// (read from the database).
struct Known {
    task: pb::Task,
    creator: Who,
    distributed: bool,
    assignees: Vec<Uuid>,
}

struct Fixture {
    team: Team,
    tasks: Vec<Known>,
    sequence: [Uuid; 2],
}

impl Fixture {
    /// 60 tasks by four creators, with every field varied and every status reached.
    async fn new() -> Self {
        let team = Team::new().await;
        let sequence = [Uuid::new_v4(), Uuid::new_v4()];
        let mut created = Vec::new();
        for i in 0..60usize {
            let creator = match i % 6 {
                0..=2 => Who::Author,
                3 => Who::Alice,
                4 => Who::Admin,
                _ => Who::Outsider,
            };
            let (mut users, mut channels) = (vec![], vec![]);
            match (creator, i % 4) {
                (Who::Author, 1) => users.push(team.alice.0.to_string()),
                (Who::Author, 2) => channels.push(team.channel.to_string()),
                (Who::Alice, 1 | 3) => users.push(team.author.0.to_string()),
                (Who::Admin, 0) => users.push(team.alice.0.to_string()),
                _ => {}
            }
            let distributed = !users.is_empty() || !channels.is_empty();
            let due = match i % 3 {
                0 => Some(pb::due::Value::Date(pb::CalendarDate {
                    year: 2026,
                    month: 12,
                    day: 1 + (i % 5) as i32,
                })),
                1 => Some(pb::due::Value::Time(prost_types::Timestamp {
                    seconds: date(1 + (i % 5) as u32).timestamp() + 12 * 3600,
                    nanos: 0,
                })),
                _ => None,
            };
            let mut linked_records = Vec::new();
            if i % 3 == 0 {
                linked_records.push(record("people", &format!("p{}", i % 2)));
            }
            if i % 7 == 0 {
                linked_records.push(record("companies", "c1"));
            }
            let request = pb::CreateTaskRequest {
                kind: KINDS[i % 4].into(),
                priority: PRIORITIES[i % 5] as i32,
                due: due.map(|value| pb::Due { value: Some(value) }),
                tags: match i % 5 {
                    0 => vec![],
                    1 => vec!["vip".into()],
                    2 => vec!["billing".into()],
                    3 => vec!["vip".into(), "billing".into()],
                    _ => vec!["ops".into()],
                },
                linked_records,
                external_id: if i % 10 == 0 {
                    format!("ext-{i}")
                } else {
                    String::new()
                },
                correlation_id: if i % 3 == 1 {
                    format!("corr-{}", i % 2)
                } else {
                    String::new()
                },
                sequence_id: match i % 4 {
                    1 => sequence[0].to_string(),
                    2 => sequence[1].to_string(),
                    _ => String::new(),
                },
                recipient_user_ids: users,
                recipient_channel_ids: channels,
                ..titled(&format!(
                    "{} {} about {}",
                    VERBS[i % 3],
                    COMPANIES[(i / 3) % 3],
                    TOPICS[i % 4]
                ))
            };
            let token = team.token(creator);
            let task = team.create(&token, request).await.expect("create");
            // Statuses, and updated_at orders unlike created_at.
            let moves: &[&str] = match i % 7 {
                1 => &["StartTask"],
                2 => &["StartTask", "SubmitTaskForReview"],
                3 => &["CompleteTask"],
                4 => &["SkipTask"],
                5 => &["CancelTask"],
                6 => &["CompleteTask", "ReopenTask"],
                _ => &[],
            };
            for action in moves {
                team.move_task(&token, action, &task.id).await;
            }
            created.push((task.id, creator, distributed));
        }
        let assignees = assignees(&team).await;
        let mut tasks = Vec::new();
        for (id, creator, distributed) in created {
            let task = team.get(&team.admin, &id).await.expect("admin reads");
            let assignees = assignees.get(&id).cloned().unwrap_or_default();
            tasks.push(Known {
                task,
                creator,
                distributed,
                assignees,
            });
        }
        Self {
            team,
            tasks,
            sequence,
        }
    }

    /// The ids ListTasks should send `who`, computed here: visible, matching, sorted.
    fn expected(
        &self,
        who: Who,
        request: &pb::ListTasksRequest,
        matches: &dyn Fn(&Known) -> bool,
    ) -> Vec<String> {
        let me = self.team.user_id(who);
        let kinds: Vec<pb::DistributionKind> = request.distribution_kinds().collect();
        let mut visible: Vec<&Known> = self
            .tasks
            .iter()
            .filter(|k| {
                if who == Who::Admin && kinds.is_empty() {
                    return true;
                }
                let wants = |kind| kinds.is_empty() || kinds.contains(&kind);
                let authored = k.creator == who;
                let received = !authored && me.is_some_and(|me| k.assignees.contains(&me));
                (authored
                    && wants(if k.distributed {
                        pb::DistributionKind::Distributed
                    } else {
                        pb::DistributionKind::Personal
                    }))
                    || (received && wants(pb::DistributionKind::Received))
            })
            .filter(|k| matches(k))
            .collect();
        visible.sort_by(|a, b| compare(request.sort(), &a.task, &b.task));
        visible.into_iter().map(|k| k.task.id.clone()).collect()
    }

    /// Lists, checks order and count, and checks resuming from cursors at several points.
    async fn check(
        &self,
        who: Who,
        request: pb::ListTasksRequest,
        matches: &dyn Fn(&Known) -> bool,
    ) {
        let token = self.team.token(who);
        let expected = self.expected(who, &request, matches);
        let context = format!("{who:?} {request:?}");
        let items = self
            .team
            .list(&token, request.clone())
            .await
            .unwrap_or_else(|e| panic!("{context}: {e:?}"));
        let ids: Vec<String> = items.iter().map(|i| i.0.id.clone()).collect();
        assert_eq!(ids, expected, "{context}");

        let count = self
            .team
            .count_tasks(&token, count_request(&request))
            .await
            .unwrap_or_else(|e| panic!("{context}: {e:?}"));
        assert_eq!(count, expected.len() as i64, "count: {context}");

        let n = items.len();
        for at in [0, n / 3, n / 2, n.saturating_sub(1)] {
            let Some((_, cursor)) = items.get(at) else {
                continue;
            };
            let resumed = self
                .team
                .list(
                    &token,
                    pb::ListTasksRequest {
                        page_cursor: cursor.clone(),
                        ..request.clone()
                    },
                )
                .await
                .unwrap_or_else(|e| panic!("{context}: {e:?}"));
            let resumed: Vec<String> = resumed.into_iter().map(|i| i.0.id).collect();
            assert_eq!(resumed, expected[at + 1..], "resume after {at}: {context}");
            // A page limit sends the first items and nothing else.
            let limited = self
                .team
                .list(
                    &token,
                    pb::ListTasksRequest {
                        page_cursor: cursor.clone(),
                        page_limit: 2,
                        ..request.clone()
                    },
                )
                .await
                .unwrap_or_else(|e| panic!("{context}: {e:?}"));
            let limited: Vec<String> = limited.into_iter().map(|i| i.0.id).collect();
            let end = (at + 3).min(n);
            assert_eq!(
                limited,
                expected[at + 1..end],
                "limit 2 after {at}: {context}"
            );
        }
    }
}

impl Team {
    fn token(&self, who: Who) -> String {
        match who {
            Who::Author => self.author.1.clone(),
            Who::Alice => self.alice.1.clone(),
            Who::Admin => self.admin.clone(),
            Who::Outsider => self.outsider.1.clone(),
        }
    }

    fn user_id(&self, who: Who) -> Option<Uuid> {
        match who {
            Who::Author => Some(self.author.0),
            Who::Alice => Some(self.alice.0),
            Who::Admin => None,
            Who::Outsider => Some(self.outsider.0),
        }
    }

    /// A lifecycle move by name. Every lifecycle request has `task_id` as field 1, so one encoded
    /// message serves them all.
    async fn move_task(&self, token: &str, action: &str, id: &str) {
        let by_id = prost::Message::encode_to_vec(&pb::StartTaskRequest {
            task_id: id.to_owned(),
            body_formats: vec![],
        });
        let path = format!("/docket.v1.TaskService/{action}");
        call(self.app.channel().await, &path, Some(token), by_id)
            .await
            .unwrap_or_else(|e| panic!("{action}: {e:?}"));
    }

    /// Every streamed task with its cursor.
    pub async fn list(
        &self,
        token: &str,
        request: pb::ListTasksRequest,
    ) -> Result<Vec<(pb::Task, String)>, tonic::Status> {
        let stream = self
            .client()
            .await
            .list_tasks(authorized(request, token))
            .await?;
        Ok(drain(stream.into_inner())
            .await?
            .into_iter()
            .map(|item| (item.task.expect("task"), item.cursor))
            .collect())
    }

    pub async fn count_tasks(
        &self,
        token: &str,
        request: pb::CountTasksRequest,
    ) -> Result<i64, tonic::Status> {
        let response = self
            .client()
            .await
            .count_tasks(authorized(request, token))
            .await?;
        Ok(response.into_inner().count)
    }
}

fn count_request(list: &pb::ListTasksRequest) -> pb::CountTasksRequest {
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
    }
}

fn record(object: &str, id: &str) -> pb::LinkedRecord {
    pb::LinkedRecord {
        object: object.into(),
        record_id: id.into(),
    }
}

fn date(day: u32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 12, day)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date")
        .and_utc()
}

fn instant(ts: &prost_types::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(ts.seconds, ts.nanos as u32).expect("timestamp")
}

fn proto_time(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

/// When a task is due, as the contract orders it: a time as is, a date as the end of that day
/// (UTC), none after everything.
fn due_moment(task: &pb::Task) -> Option<DateTime<Utc>> {
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

fn urgency(task: &pb::Task) -> u8 {
    match task.priority() {
        pb::TaskPriority::Low => 1,
        pb::TaskPriority::Normal => 2,
        pb::TaskPriority::High => 3,
        _ => 4,
    }
}

fn compare(sort: pb::TaskSort, a: &pb::Task, b: &pb::Task) -> Ordering {
    use pb::TaskSort::*;
    let created = |t: &pb::Task| instant(t.created_at.as_ref().expect("created_at"));
    let updated = |t: &pb::Task| instant(t.updated_at.as_ref().expect("updated_at"));
    // Ids compare as UUIDs do in PostgreSQL: bytewise, which their canonical text also does.
    let by_id = || a.id.cmp(&b.id);
    let due = |t: &pb::Task| (due_moment(t).is_none(), due_moment(t));
    let ascending = match sort {
        Unspecified | CreatedAtDesc | CreatedAtAsc => created(a).cmp(&created(b)).then_with(by_id),
        UpdatedAtAsc | UpdatedAtDesc => updated(a).cmp(&updated(b)).then_with(by_id),
        DueAsc | DueDesc => due(a).cmp(&due(b)).then_with(by_id),
        NumberAsc | NumberDesc => a.number.cmp(&b.number),
        PriorityAsc | PriorityDesc => urgency(a).cmp(&urgency(b)).then_with(by_id),
    };
    match sort {
        Unspecified | CreatedAtDesc | UpdatedAtDesc | DueDesc | NumberDesc | PriorityDesc => {
            ascending.reverse()
        }
        _ => ascending,
    }
}

/// `query` as the contract reads it: a task number, or words that each begin a word of the title.
fn query_matches(query: &str, task: &pb::Task) -> bool {
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

async fn assignees(team: &Team) -> HashMap<String, Vec<Uuid>> {
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

const SORTS: [pb::TaskSort; 11] = [
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
];

type Case = (
    &'static str,
    Box<dyn Fn(&Fixture) -> pb::ListTasksRequest>,
    Box<dyn Fn(&Fixture, &Known) -> bool>,
);

/// Each filter on its own: the request, and what it means, written independently of the server.
fn single_filters() -> Vec<Case> {
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
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_filter_and_sort_alone_and_combined_matches_an_independent_model() {
    let f = Fixture::new().await;

    // Every sort, unfiltered, for each kind of caller.
    for who in [Who::Author, Who::Alice, Who::Admin, Who::Outsider] {
        for sort in SORTS {
            let request = pb::ListTasksRequest {
                sort: sort as i32,
                ..Default::default()
            };
            f.check(who, request, &|_| true).await;
        }
    }

    // Distribution kinds, alone and in pairs.
    use pb::DistributionKind::{Distributed, Personal, Received};
    for kinds in [
        vec![Personal],
        vec![Distributed],
        vec![Received],
        vec![Personal, Received],
        vec![Distributed, Received],
        vec![Personal, Distributed, Received],
    ] {
        for who in [Who::Author, Who::Alice, Who::Admin] {
            let request = pb::ListTasksRequest {
                distribution_kinds: kinds.iter().map(|k| *k as i32).collect(),
                sort: pb::TaskSort::NumberAsc as i32,
                ..Default::default()
            };
            f.check(who, request, &|_| true).await;
        }
    }

    // Each filter alone, under two sorts each (all sorts covered across the filters), for the
    // author and for the admin who sees the whole workspace.
    let cases = single_filters();
    for (index, (name, request, matches)) in cases.iter().enumerate() {
        for who in [Who::Author, Who::Admin] {
            for sort in [SORTS[index % SORTS.len()], SORTS[(index + 5) % SORTS.len()]] {
                let request = pb::ListTasksRequest {
                    sort: sort as i32,
                    ..request(&f)
                };
                let expected = f.expected(who, &request, &|k| matches(&f, k));
                assert!(
                    who != Who::Admin || !expected.is_empty(),
                    "{name}: the data set must give the admin something to find"
                );
                f.check(who, request, &|k| matches(&f, k)).await;
            }
        }
    }

    // Pairs and triples of filters: every request's fields merged, every meaning ANDed.
    for (a, b, c) in [
        (0, 6, 16),
        (1, 3, 12),
        (2, 7, 14),
        (5, 9, 15),
        (10, 11, 13),
        (4, 8, 1),
    ] {
        for (who, sort) in [
            (Who::Admin, pb::TaskSort::DueAsc),
            (Who::Author, pb::TaskSort::PriorityDesc),
            (Who::Alice, pb::TaskSort::UpdatedAtDesc),
        ] {
            for pick in [vec![a, b], vec![a, b, c]] {
                let mut request = pb::ListTasksRequest {
                    sort: sort as i32,
                    ..Default::default()
                };
                for &i in &pick {
                    merge(&mut request, cases[i].1(&f));
                }
                let all = |k: &Known| pick.iter().all(|&i| (cases[i].2)(&f, k));
                f.check(who, request, &all).await;
            }
        }
    }
    f.team.app.stop().await;
}

/// `into` with every filter `from` sets.
fn merge(into: &mut pb::ListTasksRequest, from: pb::ListTasksRequest) {
    let d = pb::ListTasksRequest::default();
    macro_rules! take {
        ($($field:ident),*) => { $( if from.$field != d.$field { into.$field = from.$field.clone(); } )* };
    }
    take!(
        distribution_kinds,
        statuses,
        priorities,
        kinds,
        assignee_user_ids,
        include_unassigned,
        tags,
        linked_record,
        sequence_id,
        external_id,
        correlation_id,
        due_before,
        due_after,
        created_before,
        created_after,
        query
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn foreign_edited_and_malformed_requests_are_invalid_arguments() {
    let team = Team::new().await;
    for i in 0..3 {
        team.create(&team.author.1, titled(&format!("Task {i}")))
            .await
            .expect("create");
    }
    let token = &team.author.1;
    let by_number = pb::ListTasksRequest {
        sort: pb::TaskSort::NumberAsc as i32,
        ..Default::default()
    };
    let items = team.list(token, by_number.clone()).await.expect("list");
    let cursor = items[0].1.clone();

    let mut edited = cursor.clone().into_bytes();
    edited[5] = if edited[5] == b'A' { b'B' } else { b'A' };
    let edited = String::from_utf8(edited).expect("ascii");
    let bad_cursors = [
        (
            "another sort",
            pb::ListTasksRequest {
                sort: pb::TaskSort::NumberDesc as i32,
                page_cursor: cursor.clone(),
                ..Default::default()
            },
        ),
        (
            "another filter",
            pb::ListTasksRequest {
                statuses: vec![pb::TaskStatus::New as i32],
                page_cursor: cursor.clone(),
                ..by_number.clone()
            },
        ),
        (
            "edited",
            pb::ListTasksRequest {
                page_cursor: edited,
                ..by_number.clone()
            },
        ),
        (
            "not a cursor",
            pb::ListTasksRequest {
                page_cursor: "hello".into(),
                ..by_number.clone()
            },
        ),
    ];
    for (name, request) in bad_cursors {
        let status = team.list(token, request).await.expect_err(name);
        assert_error(&status, Code::InvalidArgument, "VALIDATION_ERROR", name);
        assert_eq!(violated_fields(&status), ["page_cursor"], "{name}");
    }
    // Someone else's cursor for the same filters is someone else's listing.
    let status = team
        .list(
            &team.alice.1,
            pb::ListTasksRequest {
                page_cursor: cursor,
                ..by_number.clone()
            },
        )
        .await
        .expect_err("another caller's cursor");
    assert_error(
        &status,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        "another caller's cursor",
    );

    let bad_filters: Vec<(pb::ListTasksRequest, &[&str])> = vec![
        (
            pb::ListTasksRequest {
                statuses: vec![pb::TaskStatus::Unspecified as i32, 99],
                ..Default::default()
            },
            &["statuses[0]", "statuses[1]"],
        ),
        (
            pb::ListTasksRequest {
                priorities: vec![42],
                distribution_kinds: vec![7],
                ..Default::default()
            },
            &["distribution_kinds[0]", "priorities[0]"],
        ),
        (
            pb::ListTasksRequest {
                assignee_user_ids: vec!["not-a-uuid".into()],
                sequence_id: "nope".into(),
                ..Default::default()
            },
            &["assignee_user_ids[0]", "sequence_id"],
        ),
        (
            pb::ListTasksRequest {
                kinds: vec!["call".into()],
                tags: vec!["x".repeat(65)],
                ..Default::default()
            },
            &["kinds[0]", "tags[0]"],
        ),
        (
            pb::ListTasksRequest {
                query: "q".repeat(201),
                linked_record: Some(record("People", "")),
                ..Default::default()
            },
            &["linked_record.object", "linked_record.record_id", "query"],
        ),
        (
            pb::ListTasksRequest {
                sort: 77,
                page_limit: -1,
                body_formats: vec![9],
                due_before: Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -5,
                }),
                ..Default::default()
            },
            &["body_formats[0]", "due_before", "page_limit", "sort"],
        ),
    ];
    for (request, fields) in bad_filters {
        let status = team
            .list(token, request.clone())
            .await
            .expect_err("bad filter");
        assert_error(
            &status,
            Code::InvalidArgument,
            "VALIDATION_ERROR",
            &format!("{request:?}"),
        );
        let mut got = violated_fields(&status);
        got.sort();
        assert_eq!(got, fields, "{request:?}");
        if request.sort == 0 && request.body_formats.is_empty() {
            let status = team
                .count_tasks(token, count_request(&request))
                .await
                .expect_err("bad count filter");
            assert_error(
                &status,
                Code::InvalidArgument,
                "VALIDATION_ERROR",
                "CountTasks",
            );
        }
    }
    team.app.stop().await;
}

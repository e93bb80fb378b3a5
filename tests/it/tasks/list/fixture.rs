//! The 60 tasks the listing tests read: four creators, every field varied, every status reached.

use docket::grpc::pb;
use uuid::Uuid;

use super::model::*;
use crate::{
    helpers::rpc::authorized,
    helpers::rpc::drain,
    helpers::{
        raw::call,
        team::{Team, titled},
    },
};

pub(super) const VERBS: [&str; 3] = ["Call", "Email", "Visit"];
pub(super) const COMPANIES: [&str; 3] = ["Acme", "Globex", "Initech"];
pub(super) const TOPICS: [&str; 4] = ["invoice", "renewal", "onboarding", "complaint"];
pub(super) const KINDS: [&str; 4] = ["CALL", "EMAIL_REPLY", "", "NEW_LEAD_REVIEW"];
pub(super) const PRIORITIES: [pb::TaskPriority; 5] = [
    pb::TaskPriority::Urgent,
    pb::TaskPriority::High,
    pb::TaskPriority::Unspecified,
    pb::TaskPriority::Low,
    pb::TaskPriority::Normal,
];

/// Who a task's creator is, in the test's own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Who {
    Author,
    Alice,
    Admin,
    Outsider,
}

/// A created task as the test knows it: the final task (read back by the admin) and its recipients
/// (read from the database).
pub(super) struct Known {
    pub(super) task: pb::Task,
    pub(super) creator: Who,
    pub(super) distributed: bool,
    pub(super) assignees: Vec<Uuid>,
}

/// SLAs for calls (by kind) and urgent tasks (by priority), around the clock.
async fn set_sla_policies(team: &Team) {
    let hours = |h: i64| {
        Some(prost_types::Duration {
            seconds: h * 3600,
            nanos: 0,
        })
    };
    team.set_sla_policies(vec![
        pb::SlaPolicy {
            name: "calls".into(),
            kinds: vec!["CALL".into()],
            first_response_within: hours(1),
            resolution_within: hours(24),
            ..Default::default()
        },
        pb::SlaPolicy {
            name: "urgent".into(),
            priorities: vec![pb::TaskPriority::Urgent as i32],
            resolution_within: hours(2),
            pause_statuses: vec![pb::TaskStatus::InReview as i32],
            ..Default::default()
        },
    ])
    .await
    .expect("SLA policies");
}

pub(super) struct Fixture {
    pub(super) team: Team,
    pub(super) tasks: Vec<Known>,
    pub(super) sequence: [Uuid; 2],
}

impl Fixture {
    /// 60 tasks by four creators, with every field varied and every status reached.
    pub(super) async fn new() -> Self {
        let team = Team::new().await;
        set_sla_policies(&team).await;
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
                follow_up_at: match i % 4 {
                    0 => Some(proto_time(
                        date(1 + (i % 5) as u32) + chrono::Duration::hours(9),
                    )),
                    3 => Some(proto_time(
                        date(1 + (i % 3) as u32) + chrono::Duration::hours(15),
                    )),
                    _ => None,
                },
                // Some clocks counted from days ago: past their dues at once.
                source_occurred_at: (i % 5 == 0)
                    .then(|| proto_time(chrono::Utc::now() - chrono::Duration::days(3))),
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
            // Some open tasks snoozed: out of the listings unless a request asks for them.
            if i % 9 == 2
                && moves
                    .iter()
                    .all(|m| *m != "CompleteTask" && *m != "SkipTask" && *m != "CancelTask")
            {
                let snooze = pb::SnoozeTaskRequest {
                    task_id: task.id.clone(),
                    when: Some(pb::snooze_task_request::When::SnoozeFor(
                        prost_types::Duration {
                            seconds: 86_400,
                            nanos: 0,
                        },
                    )),
                    reason: "next week".into(),
                    body_formats: vec![],
                };
                team.client()
                    .await
                    .snooze_task(crate::helpers::rpc::authorized(snooze, &token))
                    .await
                    .expect("snooze");
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
    pub(super) fn expected(
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
            .filter(|k| match request.snoozed() {
                pb::SnoozeFilter::Unspecified | pb::SnoozeFilter::Awake => {
                    k.task.snoozed_until.is_none()
                }
                pb::SnoozeFilter::Snoozed => k.task.snoozed_until.is_some(),
                pb::SnoozeFilter::Any => true,
            })
            .filter(|k| matches(k))
            .collect();
        visible.sort_by(|a, b| compare(request.sort(), &a.task, &b.task));
        visible.into_iter().map(|k| k.task.id.clone()).collect()
    }

    /// Lists, checks order and count, and checks resuming from cursors at several points.
    pub(super) async fn check(
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
    pub(super) fn token(&self, who: Who) -> String {
        match who {
            Who::Author => self.author.1.clone(),
            Who::Alice => self.alice.1.clone(),
            Who::Admin => self.admin.clone(),
            Who::Outsider => self.outsider.1.clone(),
        }
    }

    pub(super) fn user_id(&self, who: Who) -> Option<Uuid> {
        match who {
            Who::Author => Some(self.author.0),
            Who::Alice => Some(self.alice.0),
            Who::Admin => None,
            Who::Outsider => Some(self.outsider.0),
        }
    }

    /// A lifecycle move by name. Every lifecycle request has `task_id` as field 1, so one encoded
    /// message serves them all.
    pub(super) async fn move_task(&self, token: &str, action: &str, id: &str) {
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

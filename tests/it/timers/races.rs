//! Races between a timer coming due and a caller's change to the same task or action, many at
//! once so that both orders happen: each must end as one or the other, never both, never half.

use std::time::Duration;

use docket::grpc::pb;
use futures_util::future::join_all;
use tonic::Code;
use uuid::Uuid;

use super::{cancel, escalate, schedule};
use crate::helpers::{
    database::connect,
    rpc::authorized,
    team::{Team, titled},
    watch,
};

const TASKS: usize = 40;
/// When the actions come due; the callers act around then, each a little earlier or later.
const DUE: Duration = Duration::from_millis(1000);

/// Escalations of every task to `to`, coming due at DUE.
async fn escalate_all(
    team: &Team,
    ids: &[String],
    to: pb::TaskPriority,
) -> Vec<Result<pb::ScheduledTaskAction, tonic::Status>> {
    join_all(
        ids.iter()
            .map(|id| schedule(team, &team.author.1, id, escalate(to), DUE)),
    )
    .await
}

async fn tasks(team: &Team) -> Vec<String> {
    created(team, TASKS, |i| titled(&format!("Race {i}"))).await
}

/// `count` tasks made at once by the author, the `i`th from `request(i)`; their ids.
pub(super) async fn created(
    team: &Team,
    count: usize,
    request: impl Fn(usize) -> pb::CreateTaskRequest,
) -> Vec<String> {
    let made = (0..count).map(|i| team.create(&team.author.1, request(i)));
    join_all(made)
        .await
        .into_iter()
        .map(|t| t.unwrap().id)
        .collect()
}

/// `i`'s moment around DUE: from 150 ms before to 150 ms after.
fn around(i: usize) -> Duration {
    DUE - Duration::from_millis(150) + Duration::from_millis((i as u64 * 300) / TASKS as u64)
}

/// The kinds of the task's events, by whom, in order, straight from the log.
async fn logged(team: &Team, task: &str) -> Vec<(String, String)> {
    let id: Uuid = task.parse().unwrap();
    connect(&team.app.db.url())
        .await
        .query(
            "SELECT kind, actor_type FROM task_events WHERE task_id = $1 ORDER BY position",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

pub(super) async fn wait_until_settled(team: &Team) {
    let client = connect(&team.app.db.url()).await;
    for _ in 0..400 {
        let pending: i64 = client
            .query_one(
                "SELECT count(*) FROM task_timers WHERE state = 'PENDING'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timers still pending after 20 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_and_a_firing_end_as_one_of_the_two() {
    let team = &Team::new().await;
    let ids = tasks(team).await;
    let actions = escalate_all(team, &ids, pb::TaskPriority::High).await;
    let cancels = actions.iter().enumerate().map(|(i, action)| async move {
        tokio::time::sleep(around(i)).await;
        cancel(team, &team.author.1, &action.as_ref().unwrap().id).await
    });
    let outcomes = join_all(cancels).await;
    wait_until_settled(team).await;
    let (mut fired, mut cancelled) = (0, 0);
    for (id, outcome) in ids.iter().zip(outcomes) {
        let task = team.get(&team.author.1, id).await.unwrap();
        let events = logged(team, id).await;
        let escalated = events
            .iter()
            .any(|(k, a)| k == "TASK_UPDATED" && a == "SYSTEM");
        let recorded_cancel = events.iter().any(|(k, _)| k == "TASK_ACTION_CANCELLED");
        match outcome {
            Ok(action) => {
                assert_eq!(action.state, pb::ScheduledActionState::Cancelled as i32);
                assert!(!escalated && recorded_cancel, "{events:?}");
                assert_eq!(task.priority, pb::TaskPriority::Normal as i32);
                cancelled += 1;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                assert!(escalated && !recorded_cancel, "{events:?}");
                assert_eq!(task.priority, pb::TaskPriority::High as i32);
                fired += 1;
            }
        }
    }
    eprintln!("cancel vs fire: {cancelled} cancelled, {fired} fired");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reopen_by_hand_and_a_scheduled_reopen_reopen_once() {
    let team = &Team::new().await;
    let ids = tasks(team).await;
    let completions = ids
        .iter()
        .map(|id| super::fired::complete_reopening(team, id, DUE));
    join_all(completions).await;
    let reopens = ids.iter().enumerate().map(|(i, id)| async move {
        tokio::time::sleep(around(i)).await;
        let request = pb::ReopenTaskRequest {
            task_id: id.clone(),
            reason: "called back".into(),
            body_formats: vec![],
        };
        team.client()
            .await
            .reopen_task(authorized(request, &team.author.1))
            .await
    });
    let outcomes = join_all(reopens).await;
    wait_until_settled(team).await;
    for (id, outcome) in ids.iter().zip(outcomes) {
        let events = logged(team, id).await;
        let reopened: Vec<&String> = events
            .iter()
            .filter(|(k, _)| k == "TASK_REOPENED")
            .map(|(_, actor)| actor)
            .collect();
        match outcome {
            Ok(_) => assert_eq!(reopened, ["USER"], "{events:?}"),
            Err(status) => {
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                assert_eq!(reopened, ["SYSTEM"], "{events:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_completion_and_an_escalation_apply_in_one_order() {
    let team = &Team::new().await;
    let ids = tasks(team).await;
    escalate_all(team, &ids, pb::TaskPriority::Urgent).await;
    let completions = ids.iter().enumerate().map(|(i, id)| async move {
        tokio::time::sleep(around(i)).await;
        let request = pb::CompleteTaskRequest {
            task_id: id.clone(),
            ..Default::default()
        };
        team.client()
            .await
            .complete_task(authorized(request, &team.author.1))
            .await
            .expect("the completion always succeeds")
    });
    join_all(completions).await;
    wait_until_settled(team).await;
    for id in &ids {
        let task = team.get(&team.author.1, id).await.unwrap();
        let kinds: Vec<String> = logged(team, id).await.into_iter().map(|(k, _)| k).collect();
        let listed = super::list(team, &team.author.1, id).await.unwrap();
        let fired = listed[0].state == pb::ScheduledActionState::Fired as i32;
        let completed_at = kinds.iter().position(|k| k == "TASK_COMPLETED").unwrap();
        match kinds.iter().position(|k| k == "TASK_UPDATED") {
            // Escalated while open, then completed.
            Some(updated) => {
                assert!(fired && updated < completed_at, "{kinds:?}");
                assert_eq!(task.priority, pb::TaskPriority::Urgent as i32);
            }
            // Completed first: the escalation found it closed.
            None => {
                assert!(!fired, "{listed:?}");
                assert_eq!(task.priority, pb::TaskPriority::Normal as i32);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_and_a_firing_leave_nothing_behind() {
    let team = &Team::new().await;
    let ids = tasks(team).await;
    escalate_all(team, &ids, pb::TaskPriority::High).await;
    let deletions = ids.iter().enumerate().map(|(i, id)| async move {
        tokio::time::sleep(around(i)).await;
        let request = pb::DeleteTaskRequest {
            task_id: id.clone(),
        };
        team.client()
            .await
            .delete_task(authorized(request, &team.author.1))
            .await
            .expect("the deletion always succeeds")
    });
    join_all(deletions).await;
    wait_until_settled(team).await;
    assert_eq!(
        team.count("task_timers").await,
        0,
        "the timers went with their tasks"
    );
    for id in &ids {
        let kinds: Vec<String> = logged(team, id).await.into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            kinds.last().map(String::as_str),
            Some("TASK_DELETED"),
            "{kinds:?}"
        );
    }
}

/// A backlog whose task another transaction holds is left for the next poll, not looked at again
/// and again meanwhile (the worker's own counter of looks says how often it looked); once the
/// task is free, the backlog fires.
#[tokio::test(flavor = "multi_thread")]
async fn a_backlog_held_by_another_transaction_waits_for_the_next_poll() {
    let team = Team::with_config(|config| config.timer_batch = 4).await;
    let task = team.create(&team.author.1, titled("Held")).await.unwrap();
    let id: Uuid = task.id.parse().unwrap();
    let db = connect(&team.app.db.url()).await;
    // Ten timers due in a second (more than one look takes: a backlog), all on one task, which
    // another transaction holds before they come due, and for two seconds after.
    db.execute(
        "INSERT INTO task_timers (workspace_id, id, task_id, action, params, fire_at, \
         created_by_type, created_by_id) SELECT workspace_id, gen_random_uuid(), id, 'REMIND', \
         '{\"author\": true}', now() + interval '1 s', 'SYSTEM', 'docket' \
         FROM tasks, generate_series(1, 10) WHERE id = $1",
        &[&id],
    )
    .await
    .unwrap();
    let holder = connect(&team.app.db.url()).await;
    holder.batch_execute("BEGIN").await.unwrap();
    holder
        .execute("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", &[&id])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let metrics = team.app.metrics_addr.expect("metrics");
    let looks = || crate::helpers::scrape::sum(metrics, "docket_timer_looks_total");
    let before = looks().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let looked = looks().await - before;
    assert!(looked <= 20.0, "{looked} looks in 2 s, at a 250 ms poll");
    let fired: i64 = db
        .query_one(
            "SELECT count(*) FROM task_timers WHERE state <> 'PENDING'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(fired, 0, "nothing fires while the task is held");
    holder.batch_execute("COMMIT").await.unwrap();
    wait_until_settled(&team).await;
}

/// A first response at about its SLA due: each clock ends met in time (no breach), or breached
/// once (recorded as its due; the SLA_BREACHED event at most once, none if the late response came
/// before the worker did), never both.
#[tokio::test(flavor = "multi_thread")]
async fn a_response_at_its_sla_due_is_in_time_or_breached_never_both() {
    let team = &Team::new().await;
    let policy = pb::SlaPolicy {
        name: "fast".into(),
        first_response_within: Some(prost_types::Duration {
            seconds: 60,
            nanos: 0,
        }),
        ..Default::default()
    };
    team.set_sla_policies(vec![policy]).await.unwrap();
    let (due, due_instant) = (
        chrono::Utc::now() + chrono::Duration::seconds(2),
        tokio::time::Instant::now() + Duration::from_secs(2),
    );
    let source = due - chrono::Duration::seconds(60);
    let ids = created(team, TASKS, |i| {
        let mut request = titled(&format!("Respond {i}"));
        request.source_occurred_at = Some(prost_types::Timestamp {
            seconds: source.timestamp(),
            nanos: source.timestamp_subsec_nanos() as i32,
        });
        request
    })
    .await;
    let starts = ids.iter().enumerate().map(|(i, id)| async move {
        tokio::time::sleep_until(due_instant - DUE + around(i)).await;
        watch::start(team, id, &team.author.1).await;
    });
    join_all(starts).await;
    wait_until_settled(team).await;
    let rows = connect(&team.app.db.url())
        .await
        .query(
            "SELECT t.sla_response_met_at <= t.sla_response_due_at, \
             t.sla_breached_at IS NOT DISTINCT FROM t.sla_response_due_at, \
             t.sla_breached_at IS NULL, \
             (SELECT count(*) FROM task_events e WHERE e.workspace_id = t.workspace_id \
              AND e.task_id = t.id AND e.kind = 'SLA_BREACHED') \
             FROM tasks t WHERE t.sla_policy_id IS NOT NULL",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), TASKS);
    let (mut in_time, mut breached) = (0, 0);
    for row in rows {
        let (met_in_time, breached_at_due, no_breach, events): (bool, bool, bool, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if met_in_time {
            assert!(no_breach && events == 0, "met in time, yet breached");
            in_time += 1;
        } else {
            assert!(breached_at_due && events <= 1, "late: the breach, once");
            breached += 1;
        }
    }
    eprintln!("response vs breach: {in_time} in time, {breached} breached");
}

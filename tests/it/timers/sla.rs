//! SLA clocks: a workspace policy matched by kind gives a task its clocks, counted from its
//! source_occurred_at; a clock that passes its due unmet is breached once (an SLA_BREACHED event,
//! actor SYSTEM, and `breached_at`), and counted by the BREACHED filter; a paused status keeps
//! what a clock has left; business hours follow the workspace's zone across DST changes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use docket::grpc::pb::{
    self, TaskEventKind as Kind, workspace_service_client::WorkspaceServiceClient,
};

use crate::helpers::{
    database::connect,
    history::history,
    raw::{call, violated_fields},
    rpc::authorized,
    seed,
    team::{Team, titled},
    watch,
};

fn seconds(seconds: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos: 0 })
}

fn support() -> pb::SlaPolicy {
    pb::SlaPolicy {
        name: "support".into(),
        kinds: vec!["COMPLAINT".into()],
        first_response_within: seconds(60),
        resolution_within: seconds(120),
        pause_statuses: vec![pb::TaskStatus::InReview as i32],
        ..Default::default()
    }
}

fn instant(t: &prost_types::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("instant")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unmet_clock_is_breached_once_and_counted() {
    let team = Team::new().await;
    let workspace = team
        .set_sla_policies(vec![support()])
        .await
        .expect("policies");
    assert_eq!(
        workspace.settings.expect("settings").sla_policies[0].name,
        "support"
    );
    let mut watch = watch::watch(
        team.app.channel().await,
        &team.author.1,
        pb::WatchTasksRequest::default(),
    )
    .await
    .expect("watch");
    watch::start_now(&mut watch).await;
    let occurred = Utc::now() - chrono::Duration::seconds(119);
    let mut request = titled("The parcel never came");
    request.kind = "COMPLAINT".into();
    request.source_occurred_at = Some(prost_types::Timestamp {
        seconds: occurred.timestamp(),
        nanos: 0,
    });
    let task = team.create(&team.author.1, request).await.expect("create");
    let other = team
        .create(&team.author.1, titled("No SLA"))
        .await
        .expect("create");
    assert!(other.sla.is_none(), "no policy matches its kind");
    let sla = task.sla.expect("an SLA");
    assert_eq!(sla.policy, "support");
    let started = instant(sla.started_at.as_ref().expect("started"));
    assert_eq!(
        started.timestamp(),
        occurred.timestamp(),
        "counted from the source"
    );
    let response_due = instant(sla.first_response.unwrap().due_at.as_ref().expect("due"));
    assert_eq!(response_due - started, chrono::Duration::seconds(60));

    // Both clocks pass their dues unmet (the first response's already has): once each.
    let events = history(&team, &team.author.1, &task.id, "", 3)
        .await
        .expect("history");
    let breaches: Vec<_> = events
        .iter()
        .filter(|e| e.event.as_ref().expect("event").kind == Kind::SlaBreached as i32)
        .collect();
    assert_eq!(breaches.len(), 2, "{events:?}");
    // A watcher sees them too, by the system (the two creations come as well).
    let watched = watch::events(&mut watch, 4).await.expect("watched");
    let system_breaches = watched
        .iter()
        .filter(|(e, _)| e.kind() == Kind::SlaBreached && e.task_id == task.id)
        .filter(|(e, _)| e.actor.as_ref().map(|a| a.r#type()) == Some(pb::ActorType::System))
        .count();
    assert_eq!(system_breaches, 2, "{watched:?}");
    let now = team.get(&team.author.1, &task.id).await.expect("get");
    let breached = now.sla.expect("sla").breached_at.expect("breached_at");
    assert_eq!(instant(&breached), response_due, "the first due passed");
    let count = |sla: pb::SlaFilter| {
        let request = pb::CountTasksRequest {
            sla: sla as i32,
            ..Default::default()
        };
        let token = team.author.1.clone();
        let team = &team;
        async move {
            team.client()
                .await
                .count_tasks(authorized(request, &token))
                .await
                .expect("count")
                .into_inner()
                .count
        }
    };
    assert_eq!(count(pb::SlaFilter::Breached).await, 1);
    assert_eq!(count(pb::SlaFilter::NotBreached).await, 0);
    assert_eq!(count(pb::SlaFilter::WithSla).await, 1);
    assert_eq!(count(pb::SlaFilter::Unspecified).await, 2);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let again = history(&team, &team.author.1, &task.id, "", 3)
        .await
        .expect("history");
    assert_eq!(
        again.len(),
        events.len(),
        "nothing more: each clock breached once"
    );
}

/// The task after `action` (StartTask, SubmitTaskForReview: the same request) by its author.
async fn moved(team: &Team, action: &str, task: &str) -> pb::Task {
    let request = prost::Message::encode_to_vec(&pb::StartTaskRequest {
        task_id: task.into(),
        body_formats: vec![],
    });
    let path = format!("/docket.v1.TaskService/{action}");
    call(
        team.app.channel().await,
        &path,
        Some(&team.author.1),
        request,
    )
    .await
    .unwrap_or_else(|e| panic!("{action}: {e:?}"));
    team.get(&team.author.1, task).await.expect("get")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_clock_keeps_what_it_had_left() {
    let team = Team::new().await;
    let mut policy = support();
    policy.first_response_within = seconds(3600);
    policy.resolution_within = seconds(7200);
    team.set_sla_policies(vec![policy]).await.expect("policies");
    let mut request = titled("Refund");
    request.kind = "COMPLAINT".into();
    let task = team.create(&team.author.1, request).await.expect("create");

    let started = moved(&team, "StartTask", &task.id).await.sla.expect("sla");
    let response = started.first_response.expect("first response");
    assert!(response.met_at.is_some(), "started: responded to");
    assert_eq!(started.breached_at, None);

    let paused = moved(&team, "SubmitTaskForReview", &task.id)
        .await
        .sla
        .expect("sla");
    assert!(paused.paused_since.is_some(), "IN_REVIEW pauses");
    let resolution = paused.resolution.expect("resolution");
    assert!(resolution.due_at.is_none(), "no due while paused");
    let left = resolution.paused_remaining.expect("left").seconds;
    assert!((7190..=7200).contains(&left), "{left}");
    let pending = super::list(&team, &team.author.1, &task.id)
        .await
        .expect("actions")
        .into_iter()
        .filter(|a| a.state == pb::ScheduledActionState::Pending as i32)
        .count();
    assert_eq!(pending, 0, "a paused clock has no moments to come");

    tokio::time::sleep(Duration::from_secs(2)).await;
    let resumed = moved(&team, "StartTask", &task.id).await.sla.expect("sla");
    let due = instant(
        resumed
            .resolution
            .expect("clock")
            .due_at
            .as_ref()
            .expect("due"),
    );
    let from_now = (due - Utc::now()).num_seconds();
    assert!(
        (left - 2..=left).contains(&from_now),
        "{from_now} of {left}"
    );
    assert!(resumed.paused_since.is_none());
    let actions = super::list(&team, &team.author.1, &task.id)
        .await
        .expect("actions");
    let breach = actions
        .iter()
        .find(|a| a.state == pb::ScheduledActionState::Pending as i32)
        .expect("the resolution's breach, to come");
    assert_eq!(instant(breach.run_at.as_ref().expect("run_at")), due);
    // SLA moments follow the clocks: no caller cancels or schedules one.
    let cancel = pb::CancelScheduledTaskActionRequest {
        scheduled_action_id: breach.id.clone(),
    };
    let status = team
        .client()
        .await
        .cancel_scheduled_task_action(authorized(cancel, &team.author.1))
        .await
        .expect_err("not cancelled");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let sla = breach.action.clone().expect("action");
    let status = super::schedule(
        &team,
        &team.author.1,
        &task.id,
        sla,
        Duration::from_secs(60),
    )
    .await
    .expect_err("not scheduled");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_are_checked_and_apply_in_their_own_workspace_only() {
    let team = Team::new().await;
    let mut bad = support();
    bad.pause_statuses = vec![pb::TaskStatus::Completed as i32];
    bad.business_hours = Some(pb::BusinessHours {
        days: vec![1, 1],
        opens: "18:00".into(),
        closes: "09:00".into(),
    });
    let mut thin = support();
    thin.name = "thin".into();
    thin.resolution_within = seconds(366 * 86_400);
    thin.business_hours = Some(pb::BusinessHours {
        days: vec![pb::Weekday::Monday as i32],
        opens: "09:00".into(),
        closes: "09:01".into(),
    });
    let status = team
        .set_sla_policies(vec![bad, support(), thin])
        .await
        .expect_err("refused");
    let fields = violated_fields(&status);
    for field in [
        "settings.sla_policies[0].pause_statuses",
        "settings.sla_policies[0].business_hours.days",
        "settings.sla_policies[0].business_hours.closes",
        "settings.sla_policies[1].name",
        "settings.sla_policies[2].business_hours",
    ] {
        assert!(fields.iter().any(|f| f == field), "{field}: {fields:?}");
    }
    // A caller without workspace:admin cannot set them.
    let request = pb::UpdateWorkspaceSettingsRequest {
        settings: Some(pb::WorkspaceSettings {
            sla_policies: vec![support()],
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["sla_policies".into()],
        }),
    };
    let status = WorkspaceServiceClient::new(team.app.channel().await)
        .update_workspace_settings(authorized(request, &team.author.1))
        .await
        .expect_err("not an admin");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");

    // Another workspace's policies (on the same server) do not reach this one's tasks.
    let (other, other_admin) = seed::workspace(&team.app.db, "other").await;
    let request = pb::UpdateWorkspaceSettingsRequest {
        settings: Some(pb::WorkspaceSettings {
            sla_policies: vec![pb::SlaPolicy {
                kinds: vec![],
                ..support()
            }],
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["sla_policies".into()],
        }),
    };
    WorkspaceServiceClient::new(team.app.channel().await)
        .update_workspace_settings(authorized(request, &other_admin))
        .await
        .expect("the other workspace's admin sets its own");
    let here = team
        .create(&team.author.1, titled("Here"))
        .await
        .expect("create");
    assert!(here.sla.is_none(), "no policy of this workspace");
    let there = team
        .client()
        .await
        .create_task(authorized(titled("There"), &other_admin))
        .await
        .expect("create")
        .into_inner()
        .task
        .expect("task");
    assert_eq!(there.workspace_id, other.id.to_string());
    assert_eq!(there.sla.expect("its own policy").policy, "support");
    let mine = WorkspaceServiceClient::new(team.app.channel().await)
        .get_workspace(authorized(pb::GetWorkspaceRequest {}, &team.admin))
        .await
        .expect("get")
        .into_inner()
        .workspace
        .expect("workspace");
    assert!(mine.settings.expect("settings").sla_policies.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn business_hours_count_in_the_zone_across_dst() {
    let team = Team::new().await;
    let db = connect(&team.app.db.url()).await;
    let add = |start: &str, hours: i32, zone: &str| {
        format!(
            "SELECT sla_add('{start}', {hours} * 3600, '{zone}', '{{1,2,3,4,5}}', '09:00', '17:00')::text"
        )
    };
    let cases = [
        // Friday 16:00 in Berlin, the weekend of the spring change: 1 h Friday, 3 h Monday (CEST).
        (
            add("2026-03-27 16:00+01", 4, "Europe/Berlin"),
            "2026-03-30 10:00:00+00",
        ),
        (
            add("2026-03-27 16:00+01", 10, "Europe/Berlin"),
            "2026-03-31 08:00:00+00",
        ),
        // New York after its autumn change (EST): 6 h Friday, 2 h Monday.
        (
            add("2026-11-06 11:00-05", 8, "America/New_York"),
            "2026-11-09 16:00:00+00",
        ),
        // Tokyo has no DST: 8 h is one working day.
        (
            add("2026-03-27 09:00+09", 8, "Asia/Tokyo"),
            "2026-03-27 08:00:00+00",
        ),
    ];
    for (query, want) in cases {
        let got: String = db.query_one(&query, &[]).await.expect(&query).get(0);
        assert_eq!(got, want, "{query}");
    }
    let between: f64 = db
        .query_one(
            "SELECT sla_between('2026-03-27 16:00+01', '2026-03-30 12:00+02', 'Europe/Berlin', \
             '{1,2,3,4,5}', '09:00', '17:00')",
            &[],
        )
        .await
        .expect("between")
        .get(0);
    assert_eq!(between, 4.0 * 3600.0);
}

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
    rpc::authorized,
    team::{Team, titled},
};

fn seconds(seconds: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos: 0 })
}

async fn set_policies(
    team: &Team,
    policies: Vec<pb::SlaPolicy>,
) -> Result<pb::Workspace, tonic::Status> {
    let request = pb::UpdateWorkspaceSettingsRequest {
        settings: Some(pb::WorkspaceSettings {
            sla_policies: policies,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["sla_policies".into()],
        }),
    };
    Ok(WorkspaceServiceClient::new(team.app.channel().await)
        .update_workspace_settings(authorized(request, &team.admin))
        .await?
        .into_inner()
        .workspace
        .expect("workspace"))
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
    let workspace = set_policies(&team, vec![support()])
        .await
        .expect("policies");
    assert_eq!(
        workspace.settings.expect("settings").sla_policies[0].name,
        "support"
    );
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

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_clock_keeps_what_it_had_left_and_policies_are_checked() {
    let team = Team::new().await;
    let mut policy = support();
    policy.first_response_within = seconds(3600);
    policy.resolution_within = seconds(7200);
    set_policies(&team, vec![policy]).await.expect("policies");
    let mut request = titled("Refund");
    request.kind = "COMPLAINT".into();
    let task = team.create(&team.author.1, request).await.expect("create");
    let db = connect(&team.app.db.url()).await;
    let id: uuid::Uuid = task.id.parse().expect("id");
    db.execute(
        "UPDATE tasks SET status = 'IN_REVIEW' WHERE id = $1",
        &[&id],
    )
    .await
    .expect("pause");
    let paused = team
        .get(&team.author.1, &task.id)
        .await
        .expect("get")
        .sla
        .expect("sla");
    assert!(paused.paused_since.is_some());
    assert!(
        paused.first_response.as_ref().unwrap().met_at.is_some(),
        "a response"
    );
    let resolution = paused.resolution.expect("resolution");
    assert!(resolution.due_at.is_none(), "no due while paused");
    let left = resolution.paused_remaining.expect("left").seconds;
    assert!((7190..=7200).contains(&left), "{left}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    db.execute(
        "UPDATE tasks SET status = 'IN_PROGRESS' WHERE id = $1",
        &[&id],
    )
    .await
    .expect("resume");
    let resumed = team
        .get(&team.author.1, &task.id)
        .await
        .expect("get")
        .sla
        .expect("sla");
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

    // What a policy must hold.
    let mut bad = support();
    bad.pause_statuses = vec![pb::TaskStatus::Completed as i32];
    bad.business_hours = Some(pb::BusinessHours {
        days: vec![1, 1],
        opens: "18:00".into(),
        closes: "09:00".into(),
    });
    let status = set_policies(&team, vec![bad, support()])
        .await
        .expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    for field in [
        "pause_statuses",
        "business_hours.days",
        "business_hours.closes",
        "[1].name",
    ] {
        assert!(
            status.message().contains(field) || format!("{status:?}").contains(field),
            "{field}: {status:?}"
        );
    }
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

//! Time zones: a task due on a date is due at the end of that day in its workspace's zone,
//! daylight saving time included (Europe/Berlin and America/New_York across their spring and
//! autumn changes, Asia/Tokyo without any), for filters, sorting and reminders; a new zone moves
//! every dated task and its reminders at once; and what a zone must be.

use chrono::{DateTime, Utc};
use docket::grpc::pb::{self, workspace_service_client::WorkspaceServiceClient};
use tonic::Code;

use super::list;
use crate::helpers::{
    raw::assert_error,
    rpc::{authorized, drain},
    team::{Team, titled},
};

async fn set_zone(team: &Team, zone: &str) -> Result<pb::Workspace, tonic::Status> {
    let request = pb::UpdateWorkspaceSettingsRequest {
        settings: Some(pb::WorkspaceSettings {
            time_zone: zone.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["time_zone".into()],
        }),
    };
    Ok(WorkspaceServiceClient::new(team.app.channel().await)
        .update_workspace_settings(authorized(request, &team.admin))
        .await?
        .into_inner()
        .workspace
        .expect("workspace"))
}

fn on(year: i32, month: i32, day: i32) -> Option<pb::Due> {
    Some(pb::Due {
        value: Some(pb::due::Value::Date(pb::CalendarDate { year, month, day })),
    })
}

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 instant")
}

fn proto(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

/// A task due on the date, with a reminder at the due itself: the reminder's time is the task's
/// due instant.
async fn due_instant(team: &Team, due: Option<pb::Due>) -> (String, DateTime<Utc>) {
    let mut request = titled("Dated");
    request.due = due;
    request.reminders = vec![pb::Reminder {
        when: Some(pb::reminder::When::BeforeDue(
            prost_types::Duration::default(),
        )),
        ..Default::default()
    }];
    let task = team.create(&team.author.1, request).await.unwrap();
    let reminder = list(team, &team.author.1, &task.id)
        .await
        .unwrap()
        .remove(0);
    let at = reminder.run_at.unwrap();
    (task.id, DateTime::from_timestamp(at.seconds, 0).unwrap())
}

/// The tasks the author lists due strictly before `before`.
async fn due_before(team: &Team, before: DateTime<Utc>) -> Vec<String> {
    let request = pb::ListTasksRequest {
        due_before: Some(proto(before)),
        snoozed: pb::SnoozeFilter::Any as i32,
        ..Default::default()
    };
    listed(team, request).await
}

/// The ids of the tasks the author lists with `request`.
async fn listed(team: &Team, request: pb::ListTasksRequest) -> Vec<String> {
    let stream = team
        .client()
        .await
        .list_tasks(authorized(request, &team.author.1))
        .await
        .unwrap()
        .into_inner();
    drain(stream)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.task.unwrap().id)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_due_date_ends_at_local_midnight_across_daylight_saving_changes() {
    let team = Team::new().await;
    let cases = [
        // The day before Berlin's spring change, CET: 23:00 UTC.
        ("Europe/Berlin", (2026, 3, 28), "2026-03-28T23:00:00Z"),
        // The day of the change (a 23-hour day), ending in CEST: 22:00 UTC.
        ("Europe/Berlin", (2026, 3, 29), "2026-03-29T22:00:00Z"),
        // The autumn change (a 25-hour day), ending in CET again: 23:00 UTC.
        ("Europe/Berlin", (2026, 10, 25), "2026-10-25T23:00:00Z"),
        // New York's spring change, ending in EDT: 04:00 UTC the next day.
        ("America/New_York", (2026, 3, 8), "2026-03-09T04:00:00Z"),
        // New York's autumn change, ending in EST: 05:00 UTC the next day.
        ("America/New_York", (2026, 11, 1), "2026-11-02T05:00:00Z"),
        // Tokyo keeps +09:00 all year.
        ("Asia/Tokyo", (2026, 7, 1), "2026-07-01T15:00:00Z"),
        ("UTC", (2026, 7, 1), "2026-07-02T00:00:00Z"),
    ];
    for (zone, (year, month, day), end) in cases {
        set_zone(&team, zone).await.unwrap();
        let (task, instant) = due_instant(&team, on(year, month, day)).await;
        assert_eq!(instant, utc(end), "{zone} {year}-{month}-{day}");
        // Overdue exactly from that instant: not due before it, due before a second after.
        assert!(!due_before(&team, utc(end)).await.contains(&task), "{zone}");
        let second_later = utc(end) + chrono::Duration::seconds(1);
        assert!(
            due_before(&team, second_later).await.contains(&task),
            "{zone}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_zone_moves_dated_tasks_and_their_reminders_but_not_due_times() {
    let team = Team::new().await;
    // Dues years ahead, so that no reminder fires before the zone changes.
    let (dated, before) = due_instant(&team, on(2031, 6, 10)).await;
    assert_eq!(before, utc("2031-06-11T00:00:00Z"), "UTC by default");
    let timed_at = Some(pb::Due {
        value: Some(pb::due::Value::Time(proto(utc("2031-06-10T18:00:00Z")))),
    });
    let (timed, timed_instant) = due_instant(&team, timed_at).await;
    assert_eq!(by_due(&team).await, [timed.clone(), dated.clone()]);

    let workspace = set_zone(&team, "Asia/Tokyo").await.unwrap();
    assert_eq!(workspace.settings.unwrap().time_zone, "Asia/Tokyo");
    let moved = list(&team, &team.author.1, &dated).await.unwrap().remove(0);
    assert_eq!(
        moved.run_at.unwrap().seconds,
        utc("2031-06-10T15:00:00Z").timestamp()
    );
    let kept = list(&team, &team.author.1, &timed).await.unwrap().remove(0);
    assert_eq!(
        kept.run_at.unwrap().seconds,
        timed_instant.timestamp(),
        "a time stays put"
    );
    assert_eq!(
        by_due(&team).await,
        [dated, timed],
        "the dated task now ends first"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zone_must_be_one_the_server_knows() {
    let team = Team::new().await;
    for bad in [
        "Mars/Olympus_Mons",
        "Europe/Berlin; DROP TABLE tasks",
        "x".repeat(65).as_str(),
    ] {
        let status = set_zone(&team, bad).await.unwrap_err();
        assert_error(&status, Code::InvalidArgument, "VALIDATION_ERROR", bad);
    }
    set_zone(&team, "America/Sao_Paulo").await.unwrap();
    // An update that replaces every setting and leaves the zone empty sets the default.
    let request = pb::UpdateWorkspaceSettingsRequest {
        settings: Some(pb::WorkspaceSettings {
            assignments_enabled: true,
            ..Default::default()
        }),
        update_mask: None,
    };
    let workspace = WorkspaceServiceClient::new(team.app.channel().await)
        .update_workspace_settings(authorized(request, &team.admin))
        .await
        .unwrap()
        .into_inner()
        .workspace
        .unwrap();
    assert_eq!(workspace.settings.unwrap().time_zone, "UTC");
}

/// The author's tasks, soonest due first.
async fn by_due(team: &Team) -> Vec<String> {
    let request = pb::ListTasksRequest {
        sort: pb::TaskSort::DueAsc as i32,
        ..Default::default()
    };
    listed(team, request).await
}

//! Fixed schedules making their occurrences: when their time (less the lead) comes, as tasks of
//! the author created by SYSTEM with their provenance; at the same local time on both sides of a
//! clock change, through a spring-forward gap and an autumn overlap; and the occurrences missed
//! while no server ran, by catch-up policy.

use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Europe::Berlin;
use docket::grpc::pb::{self, TaskEventKind as Kind};

use super::{create, database, fields, get, instant, made, schedule, seconds, wait_for_made};
use crate::helpers::{team::Team, watch};

const PATIENCE: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread")]
async fn an_occurrence_is_made_when_its_time_comes_by_system_for_the_author() {
    let team = Team::new().await;
    let token = &team.author.1;
    let mut watch = watch::watch(
        team.app.channel().await,
        token,
        pb::WatchTasksRequest::default(),
    )
    .await
    .expect("watch");
    watch::start_now(&mut watch).await;
    let at = Utc::now() + chrono::Duration::seconds(3);
    let start = at.format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut task = fields("Daily review");
    task.due_after = seconds(3600);
    let template = create(
        &team,
        token,
        "Review",
        task,
        Some(schedule("FREQ=DAILY", "UTC", &start)),
    )
    .await
    .expect("create");
    let status = template.schedule_status.clone().expect("status");
    assert_eq!(status.state, pb::ScheduleState::Active as i32);
    let next = instant(status.next_occurrence_at.as_ref().expect("next"));
    assert_eq!(next.timestamp(), at.timestamp());
    let db = database(&team).await;
    let first = wait_for_made(&db, &template.id, 1, PATIENCE).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].index, Some(1));
    let task = team
        .get(token, &first[0].id.to_string())
        .await
        .expect("get");
    let provenance = task.template.expect("provenance");
    assert!(provenance.recurring);
    assert_eq!(
        (
            provenance.occurrence_index,
            provenance.template_name.as_str()
        ),
        (1, "Review")
    );
    assert_eq!(
        instant(&provenance.scheduled_for.expect("scheduled")).timestamp(),
        at.timestamp()
    );
    assert_eq!(
        task.created_by.expect("author").id,
        team.author.0.to_string()
    );
    let due = match task.due.and_then(|d| d.value) {
        Some(pb::due::Value::Time(due)) => instant(&due),
        other => panic!("a due time, not {other:?}"),
    };
    assert_eq!(due.timestamp(), at.timestamp() + 3600);
    let got = watch::events(&mut watch, 2).await.expect("events");
    let created = &got[1].0;
    assert_eq!(got[0].0.kind, Kind::TemplateCreated as i32);
    assert_eq!(created.kind, Kind::TaskCreated as i32);
    assert_eq!(
        created.actor.as_ref().map(|a| a.r#type),
        Some(pb::ActorType::System as i32)
    );
    assert_eq!(created.template_id, template.id);
    let details = created.details.as_ref().expect("details");
    assert!(
        details.fields.contains_key("scheduled_for")
            && details.fields.contains_key("occurrence_index")
    );
    let after = get(&team, token, &template.id).await.expect("get");
    let status = after.schedule_status.expect("status");
    assert_eq!(status.occurrences_made, 1);
    assert_eq!(status.latest_task_id, first[0].id.to_string());
    assert_eq!(
        instant(status.next_occurrence_at.as_ref().expect("next")).timestamp(),
        at.timestamp() + 86_400
    );
}

fn local(at: DateTime<Utc>) -> String {
    at.with_timezone(&Berlin)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn berlin_occurrences_keep_their_local_time_through_clock_changes_gaps_and_overlaps() {
    let team = Team::new().await;
    let token = &team.author.1;
    let db = database(&team).await;
    let ahead = |s: pb::TaskSchedule| pb::TaskSchedule {
        lead_time: seconds(366 * 86_400),
        ..s
    };
    // Weekly on Mondays at 09:00, due at 17:00 local, a year ahead: both clock changes of 2027.
    let weekly = pb::TaskSchedule {
        due_time: "17:00".into(),
        ..ahead(schedule(
            "FREQ=WEEKLY;BYDAY=MO;COUNT=34",
            "Europe/Berlin",
            "2027-03-15T09:00",
        ))
    };
    let template = create(&team, token, "Weekly", fields("Weekly"), Some(weekly))
        .await
        .expect("create");
    let weeks = wait_for_made(&db, &template.id, 34, PATIENCE).await;
    for week in &weeks {
        let at = week.scheduled_for.expect("scheduled");
        let berlin = at.with_timezone(&Berlin);
        assert_eq!((berlin.hour(), berlin.minute()), (9, 0), "{}", local(at));
        let task = team.get(token, &week.id.to_string()).await.expect("get");
        let Some(pb::due::Value::Time(due)) = task.due.and_then(|d| d.value) else {
            panic!("a due");
        };
        let due = instant(&due).with_timezone(&Berlin);
        assert_eq!((due.date_naive(), due.hour()), (berlin.date_naive(), 17));
    }
    let offsets: Vec<i32> = weeks
        .iter()
        .map(|w| {
            let at = w.scheduled_for.expect("scheduled");
            at.with_timezone(&Berlin).naive_local().hour() as i32 - at.hour() as i32
        })
        .collect();
    assert!(
        offsets.contains(&1) && offsets.contains(&2),
        "winter and summer: {offsets:?}"
    );
    let ended = get(&team, token, &template.id).await.expect("get");
    assert_eq!(
        ended.schedule_status.expect("status").state,
        pb::ScheduleState::Ended as i32,
        "COUNT ran out"
    );

    // 02:30 daily: on 28 March 2027 02:30 does not exist (03:30 CEST); on 31 October it exists
    // twice (the first, CEST).
    let spring = create(
        &team,
        token,
        "Spring",
        fields("Spring"),
        Some(ahead(schedule(
            "FREQ=DAILY;COUNT=3",
            "Europe/Berlin",
            "2027-03-27T02:30",
        ))),
    )
    .await
    .expect("create");
    let autumn = create(
        &team,
        token,
        "Autumn",
        fields("Autumn"),
        Some(ahead(schedule(
            "FREQ=DAILY;COUNT=3",
            "Europe/Berlin",
            "2027-10-30T02:30",
        ))),
    )
    .await
    .expect("create");
    let times = async |id: &str| -> Vec<String> {
        wait_for_made(&db, id, 3, PATIENCE)
            .await
            .iter()
            .map(|m| local(m.scheduled_for.expect("scheduled")))
            .collect()
    };
    assert_eq!(
        times(&spring.id).await,
        [
            "2027-03-27 02:30 CET",
            "2027-03-28 03:30 CEST",
            "2027-03-29 02:30 CEST"
        ]
    );
    assert_eq!(
        times(&autumn.id).await,
        [
            "2027-10-30 02:30 CEST",
            "2027-10-31 02:30 CEST",
            "2027-11-01 02:30 CET"
        ]
    );
}

/// Sets the template's next occurrence `days` days back at `hour`:00 UTC, due now: what a
/// schedule looks like to the first server that starts after `days` days with none running.
async fn down_for(db: &tokio_postgres::Client, template: &str, days: i32, hour: i32) {
    let id: uuid::Uuid = template.parse().expect("uuid");
    db.execute(
        "UPDATE task_templates SET next_at = date_trunc('day', now()) - make_interval(days => $2) \
         + make_interval(hours => $3), wake_at = now() WHERE id = $1",
        &[&id, &days, &hour],
    )
    .await
    .expect("down");
}

#[tokio::test(flavor = "multi_thread")]
async fn occurrences_missed_while_no_server_ran_follow_the_catch_up_policy() {
    let team = Team::new().await;
    let token = &team.author.1;
    let db = database(&team).await;
    let mut watch = watch::watch(
        team.app.channel().await,
        token,
        pb::WatchTasksRequest::default(),
    )
    .await
    .expect("watch");
    watch::start_now(&mut watch).await;
    // Daily at an hour twelve hours from now (so no occurrence is within a minute of now),
    // then "down" for five days.
    let now = Utc::now();
    let hour = (now.hour() + 12) % 24;
    let today = now
        .date_naive()
        .and_hms_opt(hour, 0, 0)
        .expect("hour")
        .and_utc();
    let missed = 5 + usize::from(today < now);
    let mut templates = Vec::new();
    for policy in [
        pb::CatchUpPolicy::All,
        pb::CatchUpPolicy::Latest,
        pb::CatchUpPolicy::None,
    ] {
        let daily = pb::TaskSchedule {
            catch_up: policy as i32,
            ..schedule("FREQ=DAILY", "UTC", &format!("2026-01-01T{hour:02}:00"))
        };
        let template = create(
            &team,
            token,
            policy.as_str_name(),
            fields("Daily"),
            Some(daily),
        )
        .await
        .expect("create");
        templates.push(template.id);
    }
    watch::events(&mut watch, 3).await.expect("created");
    for template in &templates {
        down_for(&db, template, 5, hour as i32).await;
    }
    let all = wait_for_made(&db, &templates[0], missed, PATIENCE).await;
    assert_eq!(
        all.iter().map(|m| m.index).collect::<Vec<_>>(),
        (1..=missed as i32).map(Some).collect::<Vec<_>>()
    );
    let latest = wait_for_made(&db, &templates[1], 1, PATIENCE).await;
    assert_eq!(latest.len(), 1);
    assert_eq!(
        latest[0].scheduled_for,
        all.last().and_then(|m| m.scheduled_for),
        "the latest"
    );
    // Every occurrence left is an OCCURRENCE_SKIPPED event (MISSED): LATEST's and NONE's.
    let skipped = watch::events(&mut watch, missed + 1 + (missed - 1) + missed)
        .await
        .expect("events");
    let of = |template: &str| {
        skipped
            .iter()
            .filter(|(e, _)| e.kind == Kind::OccurrenceSkipped as i32 && e.template_id == template)
            .count()
    };
    assert_eq!(
        (of(&templates[0]), of(&templates[1]), of(&templates[2])),
        (0, missed - 1, missed)
    );
    assert!(made(&db, &templates[2]).await.is_empty(), "NONE makes none");
    for template in &templates {
        let status = get(&team, token, template)
            .await
            .expect("get")
            .schedule_status
            .expect("status");
        let next = instant(status.next_occurrence_at.as_ref().expect("next"));
        assert!(
            next > now && next <= now + chrono::Duration::days(1),
            "the next is tomorrow's or today's"
        );
    }
}

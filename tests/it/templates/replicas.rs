//! Three server processes on one database make occurrences while one of them is killed with
//! SIGKILL and started again every second and a half: 60 schedules come due one a second for a
//! minute, and 20 more catch up on 60 days each (as after an outage, catch-up ALL). Every
//! expected occurrence must exist exactly once, indexed 1, 2, 3... and linked to its neighbours,
//! and none may be passed over. The lateness of the live ones is printed (`--nocapture`).

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use docket::domain::recurrence::Recurrence;
use docket::grpc::pb::{self, task_template_service_client::TaskTemplateServiceClient};
use nix::sys::signal::Signal;

use crate::helpers::{
    app::channel, database::TestDb, process::DocketProcess, rpc::authorized, seed,
};

const LIVE: i64 = 60;
const BACKLOG: usize = 20;
const BACKLOG_DAYS: i64 = 60;

async fn create(
    api: &mut TaskTemplateServiceClient<tonic::transport::Channel>,
    token: &str,
    rule: &str,
    zone: &str,
    start: NaiveDateTime,
) -> String {
    let request = pb::CreateTaskTemplateRequest {
        name: "storm".into(),
        task: Some(super::fields("Storm")),
        schedule: Some(pb::TaskSchedule {
            rrule: rule.into(),
            time_zone: zone.into(),
            start: start.format("%Y-%m-%dT%H:%M:%S").to_string(),
            ..Default::default()
        }),
    };
    let template = api
        .create_task_template(authorized(request, token))
        .await
        .expect("create")
        .into_inner()
        .template
        .expect("template");
    template.id
}

#[tokio::test(flavor = "multi_thread")]
async fn occurrences_are_made_exactly_once_through_sigkills_of_servers() {
    let db = TestDb::migrated().await;
    let (_, token) = seed::workspace(&db, "recurring").await;
    let url = db.url();
    let envs = [("DATABASE_URL", url.as_str())];
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(DocketProcess::start(&envs).await);
    }
    servers[0].wait_until_serving().await;
    let mut api = TaskTemplateServiceClient::new(channel(servers[0].addr).await);
    let zero = Utc::now() + chrono::Duration::seconds(10);
    let mut live = Vec::new();
    for n in 0..LIVE {
        let at = (zero + chrono::Duration::seconds(n)).naive_utc();
        live.push(create(&mut api, &token, "FREQ=DAILY", "UTC", at).await);
    }
    let client = crate::helpers::database::connect(&url).await;
    let mut backlog = Vec::new();
    for n in 0..BACKLOG {
        let (rule, zone) = [
            ("FREQ=DAILY", "Europe/Berlin"),
            ("FREQ=WEEKLY;BYDAY=MO,WE,FR", "America/New_York"),
            ("FREQ=DAILY;INTERVAL=2", "Asia/Tokyo"),
        ][n % 3];
        let start = NaiveDateTime::parse_from_str("2026-01-01T09:30:00", "%Y-%m-%dT%H:%M:%S")
            .expect("start");
        let id = create(&mut api, &token, rule, zone, start).await;
        let recurrence = Recurrence::parse(rule, zone, start, &[]).expect("rule");
        let first = recurrence
            .next_after(Utc::now() - chrono::Duration::days(BACKLOG_DAYS))
            .expect("first");
        let uuid: uuid::Uuid = id.parse().expect("uuid");
        let wake = chrono::Duration::milliseconds(n as i64 * 3000);
        client
            .execute(
                "UPDATE task_templates SET next_at = $2, wake_at = now() + $3::float8 * interval '1 s' \
                 WHERE id = $1",
                &[&uuid, &first, &(wake.num_milliseconds() as f64 / 1000.0)],
            )
            .await
            .expect("an outage");
        backlog.push((id, recurrence, first));
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(150);
    let mut kills = 0;
    loop {
        let due: i64 = client
            .query_one(
                "SELECT count(*) FROM task_templates WHERE state = 'ACTIVE' AND wake_at <= now()",
                &[],
            )
            .await
            .expect("due")
            .get(0);
        let last_live = zero + chrono::Duration::seconds(LIVE);
        if due == 0 && Utc::now() > last_live + chrono::Duration::seconds(2) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{due} schedules still due"
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let victim = kills % servers.len();
        servers[victim].signal(Signal::SIGKILL);
        servers[victim] = DocketProcess::start(&envs).await;
        kills += 1;
    }
    assert!(kills >= 20, "the run outlived twenty kills ({kills})");

    let horizon = Utc::now();
    let mut expected_total = 0;
    for (id, recurrence, first) in &backlog {
        let (rest, _) = recurrence.between(*first, horizon, 1000);
        let expected: Vec<DateTime<Utc>> = std::iter::once(*first).chain(rest).collect();
        check_series(&client, id, &expected).await;
        expected_total += expected.len();
    }
    for (n, id) in live.iter().enumerate() {
        let at = zero + chrono::Duration::seconds(n as i64);
        let at = DateTime::from_timestamp(at.timestamp(), 0).expect("whole seconds");
        check_series(&client, id, &[at]).await;
        expected_total += 1;
    }
    let made: i64 = client
        .query_one(
            "SELECT count(*) FROM tasks WHERE template_id IS NOT NULL",
            &[],
        )
        .await
        .expect("made")
        .get(0);
    assert_eq!(
        made as usize, expected_total,
        "no task beyond the expected ones"
    );
    let skipped: i64 = client
        .query_one(
            "SELECT count(*) FROM task_events WHERE kind = 'OCCURRENCE_SKIPPED'",
            &[],
        )
        .await
        .expect("skipped")
        .get(0);
    assert_eq!(skipped, 0, "catch-up ALL passes none over");
    let lateness = client
        .query_one(
            "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP \
             (ORDER BY extract(epoch FROM created_at - scheduled_for))::float8[] FROM tasks \
             WHERE template_id = ANY($1::uuid[])",
            &[&live
                .iter()
                .map(|id| id.parse::<uuid::Uuid>().expect("uuid"))
                .collect::<Vec<_>>()],
        )
        .await
        .expect("lateness");
    let lateness: Vec<f64> = lateness.get(0);
    eprintln!(
        "{expected_total} occurrences, 3 servers, {kills} SIGKILLs: live lateness p50 {:.3} s, p99 {:.3} s",
        lateness[0], lateness[1]
    );
}

/// The template made exactly `expected`, in order, indexed from 1, each linked to its neighbours.
async fn check_series(client: &tokio_postgres::Client, id: &str, expected: &[DateTime<Utc>]) {
    let uuid: uuid::Uuid = id.parse().expect("uuid");
    let rows = client
        .query(
            "SELECT id, occurrence_index, scheduled_for, series_previous_id, series_next_id \
             FROM tasks WHERE template_id = $1 ORDER BY scheduled_for",
            &[&uuid],
        )
        .await
        .expect("series");
    let times: Vec<DateTime<Utc>> = rows.iter().map(|r| r.get(2)).collect();
    assert_eq!(times, expected, "template {id}");
    for (n, row) in rows.iter().enumerate() {
        let index: i32 = row.get(1);
        assert_eq!(index as usize, n + 1, "template {id}");
        let previous: Option<uuid::Uuid> = row.get(3);
        let next: Option<uuid::Uuid> = row.get(4);
        assert_eq!(
            previous,
            n.checked_sub(1).map(|p| rows[p].get::<_, uuid::Uuid>(0))
        );
        assert_eq!(next, rows.get(n + 1).map(|r| r.get::<_, uuid::Uuid>(0)));
    }
}

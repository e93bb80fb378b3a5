//! Three server processes on one database fire 20,000 timers due within a few seconds while one
//! of them is killed with SIGKILL and started again every second and a half: each timer must have
//! exactly one effect (one REMINDER_DUE event naming it) and end FIRED. The lateness of the run is
//! printed (`--nocapture`); the benchmark (`.ci/timers-bench`) measures it in steady state.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::helpers::{database::TestDb, process::DocketProcess, seed};

const WORKSPACES: usize = 3;
const TASKS_PER_WORKSPACE: i32 = 400;
/// Timers per task: 3 × 400 × 17 = 20,400 timers.
const TIMERS_PER_TASK: i32 = 17;

#[tokio::test(flavor = "multi_thread")]
async fn timers_fire_exactly_once_through_sigkills_of_servers() {
    let db = TestDb::migrated().await;
    for n in 0..WORKSPACES {
        let (workspace, _) = seed::workspace(&db, &format!("storm-{n}")).await;
        seed::bulk_tasks(&db, workspace.id, TASKS_PER_WORKSPACE, 32).await;
    }
    let client = crate::helpers::database::connect(&db.url()).await;
    let timers = client
        .execute(
            "INSERT INTO task_timers (workspace_id, id, task_id, action, params, fire_at, \
             created_by_type, created_by_id) SELECT t.workspace_id, gen_random_uuid(), t.id, \
             'REMIND', '{\"author\": true}', now() + interval '4 s' + random() * interval '3 s', \
             'SYSTEM', 'docket' FROM tasks t, generate_series(1, $1)",
            &[&TIMERS_PER_TASK],
        )
        .await
        .expect("timers");
    assert_eq!(timers, 20_400);

    let url = db.url();
    let envs = [("DATABASE_URL", url.as_str())];
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(DocketProcess::start(&envs).await);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut kills = 0;
    loop {
        let pending: i64 = client
            .query_one(
                "SELECT count(*) FROM task_timers WHERE state = 'PENDING'",
                &[],
            )
            .await
            .expect("pending")
            .get(0);
        if pending == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} timers still pending after 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let victim = kills % servers.len();
        servers[victim].signal(Signal::SIGKILL);
        servers[victim] = DocketProcess::start(&envs).await;
        kills += 1;
    }
    assert!(
        kills >= 3,
        "the run outlived at least three kills ({kills})"
    );

    let states = client
        .query(
            "SELECT state, count(*) FROM task_timers GROUP BY state ORDER BY state",
            &[],
        )
        .await
        .expect("states");
    let states: Vec<(String, i64)> = states.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(states, [("FIRED".to_owned(), 20_400)]);
    let effects = client
        .query_one(
            "SELECT count(*), count(DISTINCT e.details->>'scheduled_action_id'), \
             count(*) FILTER (WHERE t.id IS NULL) FROM task_events e LEFT JOIN task_timers t \
             ON t.id = (e.details->>'scheduled_action_id')::uuid WHERE e.kind = 'REMINDER_DUE'",
            &[],
        )
        .await
        .expect("effects");
    let (events, distinct, strays): (i64, i64, i64) =
        (effects.get(0), effects.get(1), effects.get(2));
    assert_eq!(
        (events, distinct, strays),
        (20_400, 20_400, 0),
        "one effect per timer"
    );
    // Positions stay gap-free in each workspace through the kills.
    let gaps: i64 = client
        .query_one(
            "SELECT count(*) FROM (SELECT workspace_id, max(position) - count(*) AS gap \
             FROM task_events GROUP BY workspace_id) g WHERE gap <> 0",
            &[],
        )
        .await
        .expect("gaps")
        .get(0);
    assert_eq!(gaps, 0);
    let lateness = client
        .query_one(
            "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP \
             (ORDER BY extract(epoch FROM settled_at - fire_at))::float8[] FROM task_timers",
            &[],
        )
        .await
        .expect("lateness");
    let lateness: Vec<f64> = lateness.get(0);
    eprintln!(
        "20,400 timers, 3 servers, {kills} SIGKILLs: lateness p50 {:.3} s, p99 {:.3} s",
        lateness[0], lateness[1]
    );
}

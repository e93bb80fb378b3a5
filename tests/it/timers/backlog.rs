//! A backlog shared out in turn: when more workspaces have timers due than one look serves (256),
//! the next look starts after the last one served and wraps round, so that every workspace is
//! served within two looks, before any is served three times: none waits for the others' backlogs
//! to be worked through.

use super::races::wait_until_settled;
use crate::helpers::{database::connect, seed, team::Team};

/// Workspaces with a backlog each: more than one look serves.
const WORKSPACES: usize = 300;
/// Due timers of each: three looks' worth at 16 a look.
const TIMERS: i32 = 40;

#[tokio::test(flavor = "multi_thread")]
async fn every_workspace_is_served_before_any_backlog_is_through() {
    let team = Team::with_config(|config| config.timer_batch = 8).await;
    let db = &team.app.db;
    for i in 0..WORKSPACES {
        let (workspace, _) = seed::workspace(db, &format!("backlog {i}")).await;
        seed::bulk_tasks(db, workspace.id, TIMERS, 32).await;
    }
    let client = connect(&db.url()).await;
    // All due at once, in one commit; REMIND with nobody to remind is skipped, which settles it
    // as surely as firing would.
    client
        .execute(
            "INSERT INTO task_timers (workspace_id, id, task_id, action, fire_at, \
             created_by_type, created_by_id) SELECT workspace_id, gen_random_uuid(), id, \
             'REMIND', now(), 'SYSTEM', 'docket' FROM tasks",
            &[],
        )
        .await
        .expect("timers");
    wait_until_settled(&team).await;
    // A firing's settled_at is its transaction's start, and a look's firings all end before the
    // next look begins.
    let row = client
        .query_one(
            "SELECT count(*), max(first) < min(last) FROM (SELECT workspace_id, \
             min(settled_at) AS first, max(settled_at) AS last FROM task_timers \
             GROUP BY workspace_id) w",
            &[],
        )
        .await
        .expect("settled");
    let (served, all_before_any_done): (i64, bool) = (row.get(0), row.get(1));
    assert_eq!(served, WORKSPACES as i64);
    assert!(
        all_before_any_done,
        "every workspace had timers fired before any workspace's backlog was through"
    );
}

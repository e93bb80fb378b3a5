//! ListTasks and CountTasks are served by indexes: on a workspace of 100,000 tasks, the plans
//! PostgreSQL picks for the exact queries Docket sends never scan the tasks table sequentially, and
//! a keyset page in any sort order never sorts the workspace's tasks.

use chrono::{TimeZone, Utc};
use docket::db::tasks::list::{
    Position, Sort, SortKey, TaskFilter, Visibility, explain_count, explain_page,
};
use docket::domain::vocabulary::{ActorType, Priority, Status};
use uuid::Uuid;

use crate::helpers::{
    database::{TestDb, connect},
    seed,
};

const WORKSPACE: Uuid = Uuid::from_u128(0xaa);
const TASKS: i64 = 100_000;

/// User `n` (1..=50) of the seeded workspace.
fn user(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// 100,000 tasks by 50 users, a third distributed to two others, the rest personal; every filter
/// column varied; and a second workspace so the first is not the whole table, each of whose tasks
/// has a tag that only 10 of the first's have.
const SEED: &str = r"
INSERT INTO workspaces (id, name) VALUES ('00000000-0000-0000-0000-0000000000aa', 'big'),
                                         ('00000000-0000-0000-0000-0000000000bb', 'other');
INSERT INTO users (workspace_id, id, first_name, last_name, email)
SELECT w, ('00000000-0000-0000-0000-' || lpad(to_hex(u), 12, '0'))::uuid, 'U' || u, 'L' || u,
       'u' || u || '@example.com'
FROM generate_series(1, 50) u,
     unnest(ARRAY['00000000-0000-0000-0000-0000000000aa', '00000000-0000-0000-0000-0000000000bb']::uuid[]) w;
INSERT INTO tasks (workspace_id, id, number, title, kind, priority, status, due_date, due_at, tags,
                   correlation_id, sequence_id, completion_policy, distributed, created_by_type,
                   created_by_id, created_at, updated_at)
SELECT CASE WHEN i <= 100000 THEN '00000000-0000-0000-0000-0000000000aa'::uuid
            ELSE '00000000-0000-0000-0000-0000000000bb'::uuid END,
       gen_random_uuid(), i,
       'Task ' || i || ' call ' || (ARRAY['acme', 'globex', 'initech', 'umbrella'])[1 + i % 4],
       (ARRAY['CALL', 'EMAIL_REPLY', 'GENERAL'])[1 + i % 3],
       (ARRAY['URGENT', 'HIGH', 'NORMAL', 'LOW'])[1 + i % 4],
       (ARRAY['NEW', 'OPEN', 'IN_PROGRESS', 'IN_REVIEW', 'COMPLETED', 'SKIPPED', 'CANCELLED'])[1 + i % 7],
       CASE WHEN i % 5 = 0 THEN date '2026-01-01' + (i % 365) END,
       CASE WHEN i % 5 = 1 THEN timestamptz '2026-01-01' + (i % 1000) * interval '1 hour' END,
       CASE WHEN i > 100000 OR i % 10000 = 7 THEN ARRAY['elsewhere'] WHEN i % 10 = 0 THEN ARRAY['vip']
            WHEN i % 10 = 1 THEN ARRAY['billing', 'vip'] ELSE '{}' END,
       CASE WHEN i % 100 = 0 THEN 'corr-' || (i / 100) END,
       CASE WHEN i % 50 = 0 THEN ('00000000-0000-0000-0001-' || lpad(to_hex(i / 500), 12, '0'))::uuid END,
       CASE WHEN i % 3 = 0 THEN 'ALL' ELSE 'ANY' END,
       i % 3 = 0,
       'USER', '00000000-0000-0000-0000-' || lpad(to_hex(1 + i % 50), 12, '0'),
       timestamptz '2026-01-01' + i * interval '1 minute',
       timestamptz '2026-01-01' + i * interval '1 minute'
FROM generate_series(1, 150000) i;
INSERT INTO assignments (workspace_id, id, task_id, user_id, progress_status)
SELECT workspace_id, gen_random_uuid(), id, created_by_id::uuid, 'OPEN' FROM tasks WHERE NOT distributed;
INSERT INTO assignments (workspace_id, id, task_id, user_id, progress_status)
SELECT t.workspace_id, gen_random_uuid(), t.id,
       ('00000000-0000-0000-0000-' || lpad(to_hex(1 + (t.number + k) % 50), 12, '0'))::uuid, 'NEW'
FROM tasks t, generate_series(1, 2) k WHERE t.distributed;
INSERT INTO task_linked_records (workspace_id, task_id, object, record_id)
SELECT workspace_id, id, 'people', 'p' || (number % 1000) FROM tasks WHERE number % 4 = 0;
";

/// A change to a filter.
type Edit = Box<dyn Fn(&mut TaskFilter)>;

fn related(user_id: Uuid, personal: bool, distributed: bool, received: bool) -> Visibility {
    Visibility::Related {
        actor_type: ActorType::User,
        actor_id: user_id.to_string(),
        user_id: Some(user_id),
        personal,
        distributed,
        received,
    }
}

fn unfiltered(visibility: Visibility) -> TaskFilter {
    TaskFilter::unfiltered(WORKSPACE, visibility)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sort_and_filter_is_served_by_an_index_on_100k_tasks() {
    let db = TestDb::migrated().await;
    let client = connect(&db.url()).await;
    client.batch_execute(SEED).await.expect("seed");
    client
        .batch_execute("VACUUM ANALYZE tasks, assignments, task_linked_records")
        .await
        .expect("analyze");
    let count: i64 = client
        .query_one(
            "SELECT count(*) FROM tasks WHERE workspace_id = $1",
            &[&WORKSPACE],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, TASKS);
    let mut conn = seed::diesel(&db).await;
    let no_seq_scan = |plan: &[String], context: &str| {
        assert!(
            !plan.iter().any(|line| line.contains("Seq Scan on tasks")),
            "{context}: sequential scan of tasks\n{}",
            plan.join("\n")
        );
    };

    // A page may sort what a selective index found (say, the caller's 2,000 received tasks),
    // never a sizeable part of the workspace.
    let no_large_sort = |plan: &[String], context: &str| {
        for line in plan.iter().filter(|line| line.contains("Sort  (")) {
            let rows: i64 = line
                .split("rows=")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(i64::MAX);
            assert!(
                rows < TASKS / 20,
                "{context}: sorts {rows} rows\n{}",
                plan.join("\n")
            );
        }
    };

    // The byte budget's running sum reads the page's rows in the order the page query returns
    // them: nothing between the window and the page's own scan sorts them again.
    let budget_sorts_nothing = |plan: &[String], context: &str| {
        let nodes: Vec<&String> = plan.iter().filter(|line| line.contains("->")).collect();
        let window = nodes.iter().position(|line| line.contains("WindowAgg"));
        let below = window.and_then(|at| nodes.get(at + 1));
        assert!(
            below.is_some_and(|line| line.contains("Subquery Scan on p ")),
            "{context}: the budget sorts the page\n{}",
            plan.join("\n")
        );
    };

    // Every sort, both directions, from the start and from a cursor, for a user (their own and
    // received tasks), a user's received tasks only, and an admin (the whole workspace).
    let mid = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).single();
    let visibilities = [
        related(user(7), true, true, true),
        related(user(7), false, false, true),
        Visibility::Workspace,
    ];
    for visibility in visibilities {
        let filter = unfiltered(visibility);
        for key in [
            SortKey::CreatedAt,
            SortKey::UpdatedAt,
            SortKey::Due,
            SortKey::Number,
            SortKey::Priority,
            SortKey::FollowUp,
            SortKey::SlaDue,
        ] {
            let after = match key {
                SortKey::Number => Position::Number(TASKS / 2),
                SortKey::Priority => Position::Rank(2, Uuid::from_u128(1 << 127)),
                _ => Position::At(mid, Uuid::from_u128(1 << 127)),
            };
            for descending in [false, true] {
                for after in [None, Some(after)] {
                    let sort = Sort { key, descending };
                    let context = format!("{:?} {sort:?} after {after:?}", filter.visibility);
                    let plan = explain_page(&mut conn, &filter, sort, after, 256)
                        .await
                        .expect("explain");
                    no_seq_scan(&plan, &context);
                    no_large_sort(&plan, &context);
                    budget_sorts_nothing(&plan, &context);
                }
            }
        }
        let plan = explain_count(&mut conn, &filter).await.expect("explain");
        no_seq_scan(&plan, &format!("count {:?}", filter.visibility));
    }

    // Every filter, for a user and for an admin, as a page and as a count.
    let at = |day| Utc.with_ymd_and_hms(2026, 3, day, 0, 0, 0).single();
    let filters: Vec<(&str, Edit)> = vec![
        (
            "statuses",
            Box::new(|f| f.statuses = vec![Status::New, Status::Open]),
        ),
        (
            "priorities",
            Box::new(|f| f.priorities = vec![Priority::Urgent]),
        ),
        ("kinds", Box::new(|f| f.kinds = vec!["CALL".into()])),
        (
            "assignees",
            Box::new(|f| f.assignee_user_ids = vec![user(3)]),
        ),
        ("unassigned", Box::new(|f| f.include_unassigned = true)),
        (
            "assignees or unassigned",
            Box::new(|f| {
                f.assignee_user_ids = vec![user(3), user(4)];
                f.include_unassigned = true;
            }),
        ),
        ("tags", Box::new(|f| f.tags = vec!["billing".into()])),
        (
            "linked record",
            Box::new(|f| f.linked_record = Some(("people".into(), "p12".into()))),
        ),
        (
            "sequence",
            Box::new(|f| f.sequence_id = Some(Uuid::from_u128((1 << 64) + 3))),
        ),
        (
            "external id",
            Box::new(|f| f.external_id = Some("x-1".into())),
        ),
        (
            "correlation id",
            Box::new(|f| f.correlation_id = Some("corr-12".into())),
        ),
        ("due before", Box::new(move |f| f.due_before = at(2))),
        ("due after", Box::new(move |f| f.due_after = at(20))),
        (
            "created before",
            Box::new(move |f| f.created_before = at(2)),
        ),
        ("created after", Box::new(move |f| f.created_after = at(20))),
        (
            "follow-up before",
            Box::new(move |f| f.follow_up_before = at(2)),
        ),
        (
            "follow-up after",
            Box::new(move |f| f.follow_up_after = at(20)),
        ),
        (
            "snoozed only",
            Box::new(|f| f.snoozed = docket::db::tasks::list::SnoozeFilter::Snoozed),
        ),
        (
            "snoozed or not",
            Box::new(|f| f.snoozed = docket::db::tasks::list::SnoozeFilter::Any),
        ),
        (
            "title words",
            Box::new(|f| f.title_words = Some("umbrel 4242".into())),
        ),
        (
            "title words or number",
            Box::new(|f| {
                f.title_words = Some("4242".into());
                f.number = Some(4242);
            }),
        ),
    ];
    // A tag on every task of the other workspace but on 10 here: read from the tag index, not by
    // walking this workspace's tasks in sort order.
    let mut rare_here = unfiltered(Visibility::Workspace);
    rare_here.tags = vec!["elsewhere".into()];
    let sort = Sort {
        key: SortKey::CreatedAt,
        descending: true,
    };
    for plan in [
        explain_page(&mut conn, &rare_here, sort, None, 256).await,
        explain_count(&mut conn, &rare_here).await,
    ] {
        let plan = plan.expect("explain");
        assert!(
            plan.iter().any(|line| line.contains("tasks_tag_keys_idx")),
            "a tag rare here but common elsewhere:\n{}",
            plan.join("\n")
        );
    }

    for (name, apply) in &filters {
        for visibility in [related(user(7), true, true, true), Visibility::Workspace] {
            let mut filter = unfiltered(visibility);
            apply(&mut filter);
            for key in [SortKey::CreatedAt, SortKey::Due] {
                let sort = Sort {
                    key,
                    descending: true,
                };
                let context = format!("{name}, {:?}, {sort:?}", filter.visibility);
                let plan = explain_page(&mut conn, &filter, sort, None, 256)
                    .await
                    .expect("explain");
                no_seq_scan(&plan, &context);
                no_large_sort(&plan, &context);
                if ["assignees", "linked record"].contains(name) {
                    // An EXISTS on its own is a join, not a subplan run for each task in sort
                    // order (a first page then took 270 ms on 1,000,000 tasks).
                    assert!(
                        !plan.iter().any(|line| line.contains("SubPlan")),
                        "{context}:\n{}",
                        plan.join("\n")
                    );
                }
            }
            let plan = explain_count(&mut conn, &filter).await.expect("explain");
            no_seq_scan(&plan, &format!("count: {name}, {:?}", filter.visibility));
        }
    }
}

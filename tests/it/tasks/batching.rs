//! Creates and reads that arrive together share statements (`db::query::batch`). Nothing about a call may
//! change for it: each gets its own task, with its own tags and links, as its own caller sees it;
//! a write that fails fails alone; and no caller reads another workspace's task by sharing a
//! statement with its owner.

use std::collections::{HashMap, HashSet};

use docket::grpc::pb;
use futures_util::future::join_all;
use tonic::Code;

use crate::helpers::{
    raw::assert_error,
    seed,
    team::{Team, titled},
};

/// Calls fired at once: enough to queue behind the two runners, so that batches form.
const AT_ONCE: usize = 64;

fn stamp(task: &pb::Task) -> (i64, i32) {
    let at = task.created_at.as_ref().expect("created_at");
    (at.seconds, at.nanos)
}

#[tokio::test(flavor = "multi_thread")]
async fn creates_that_share_a_statement_each_get_their_own_task() {
    let team = Team::new().await;
    let requests: Vec<pb::CreateTaskRequest> = (0..AT_ONCE)
        .map(|i| pb::CreateTaskRequest {
            tags: (0..i % 4).map(|t| format!("t{i}-{t}")).collect(),
            linked_records: (0..i % 3)
                .map(|r| pb::LinkedRecord {
                    object: "calls".into(),
                    record_id: format!("call-{i}-{r}"),
                })
                .collect(),
            ..titled(&format!("Batch {i}"))
        })
        .collect();
    let created = join_all(
        requests
            .iter()
            .map(|request| team.create(&team.author.1, request.clone())),
    )
    .await;

    let mut numbers = HashSet::new();
    let mut stamps: HashMap<(i64, i32), usize> = HashMap::new();
    for (request, task) in requests.iter().zip(created) {
        let task = task.expect("every create succeeds");
        assert_eq!(task.title, request.title);
        assert_eq!(task.tags, request.tags, "{}", task.title);
        let mut links: Vec<_> = task
            .linked_records
            .iter()
            .map(|l| l.record_id.clone())
            .collect();
        links.sort();
        let mut asked: Vec<_> = request
            .linked_records
            .iter()
            .map(|l| l.record_id.clone())
            .collect();
        asked.sort();
        assert_eq!(links, asked, "{}", task.title);
        assert_eq!(
            task.distribution_kind,
            pb::DistributionKind::Personal as i32
        );
        assert!(numbers.insert(task.number), "number {} twice", task.number);
        *stamps.entry(stamp(&task)).or_default() += 1;
        let read = team.get(&team.author.1, &task.id).await.expect("read back");
        assert_eq!((read.title, read.tags), (task.title, task.tags));
    }
    assert!(
        stamps.values().any(|n| *n > 1),
        "tasks written by one statement share its transaction's time: no two did, so no \
         batch formed among {AT_ONCE} creates at once"
    );
    assert_eq!(team.count("tasks").await, AT_ONCE as i64);
    assert_eq!(
        team.count("assignments").await,
        AT_ONCE as i64,
        "each personal task is assigned to its author"
    );
    assert_eq!(
        team.count("task_linked_records").await,
        (0..AT_ONCE).map(|i| (i % 3) as i64).sum::<i64>()
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_that_fails_in_a_batch_fails_alone() {
    let team = Team::new().await;
    let taken = pb::CreateTaskRequest {
        external_id: "crm-taken".into(),
        ..titled("First")
    };
    team.create(&team.author.1, taken).await.expect("first");
    let clashing = 7;
    let created = join_all((0..AT_ONCE).map(|i| {
        let external_id = if i == clashing {
            "crm-taken".to_owned()
        } else {
            format!("crm-{i}")
        };
        team.create(
            &team.author.1,
            pb::CreateTaskRequest {
                external_id,
                ..titled(&format!("Batch {i}"))
            },
        )
    }))
    .await;
    for (i, result) in created.into_iter().enumerate() {
        match result {
            Ok(task) => {
                assert_ne!(i, clashing, "the clashing create was accepted");
                assert_eq!(task.external_id, format!("crm-{i}"));
            }
            Err(status) => {
                assert_eq!(i, clashing, "create {i} failed: {status:?}");
                assert_error(
                    &status,
                    Code::AlreadyExists,
                    "EXTERNAL_ID_TAKEN",
                    "the clashing create",
                );
            }
        }
    }
    assert_eq!(team.count("tasks").await, AT_ONCE as i64);
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_that_share_a_statement_see_as_their_own_caller() {
    let team = Team::new().await;
    let shared = team
        .create(
            &team.author.1,
            pb::CreateTaskRequest {
                recipient_user_ids: vec![team.alice.0.to_string()],
                ..titled("Distributed")
            },
        )
        .await
        .expect("distributed task");
    let (_, other_admin) = seed::workspace(&team.app.db, "other").await;
    let foreign = team
        .create(&other_admin, titled("Elsewhere"))
        .await
        .expect("other workspace's task");

    // Who reads what, and what they must see: the author the counts, Alice her assignment, the
    // outsider and the other workspace nothing of acme's, and acme's admin nothing of theirs.
    let cases = [
        (
            &team.author.1,
            &shared.id,
            Some(pb::DistributionKind::Distributed),
        ),
        (
            &team.alice.1,
            &shared.id,
            Some(pb::DistributionKind::Received),
        ),
        (&team.outsider.1, &shared.id, None),
        (&other_admin, &shared.id, None),
        (&team.admin, &foreign.id, None),
        (
            &other_admin,
            &foreign.id,
            Some(pb::DistributionKind::Personal),
        ),
    ];
    let reads = join_all(
        (0..AT_ONCE)
            .map(|i| cases[i % cases.len()])
            .map(|(token, id, _)| team.get(token, id)),
    )
    .await;
    for (i, read) in reads.into_iter().enumerate() {
        let (_, id, expected) = cases[i % cases.len()];
        match (read, expected) {
            (Ok(task), Some(kind)) => {
                assert_eq!(&task.id, id);
                assert_eq!(
                    task.distribution_kind,
                    kind as i32,
                    "case {}",
                    i % cases.len()
                );
                let summary = task.assignment_summary.unwrap_or_default();
                if kind == pb::DistributionKind::Distributed {
                    assert_eq!(summary.total_count, 1, "the author sees the counts");
                }
            }
            (Err(status), None) => assert_error(
                &status,
                Code::NotFound,
                "TASK_NOT_FOUND",
                "not theirs to see",
            ),
            (read, expected) => panic!("case {}: {read:?}, expected {expected:?}", i % cases.len()),
        }
    }
    team.app.stop().await;
}

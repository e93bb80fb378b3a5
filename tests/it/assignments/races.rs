//! AssignmentService under concurrency: the invariants hold by construction (the task's row lock),
//! not by luck.

use docket::grpc::pb;
use futures_util::future::join_all;
use pb::create_assignment_request::Recipient;
use tonic::Code;

use crate::helpers::{raw::assert_error, team::Team};

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_changes_keep_every_invariant() {
    let team = Team::new().await;
    let token = &team.author.1;

    // 50 rounds of two concurrent deletes on a task with two recipients: exactly one wins.
    for round in 0..50 {
        let task = team.distributed(&[team.alice.0, team.outsider.0]).await;
        let ids: Vec<String> = team
            .task_assignments(&task.id)
            .await
            .into_iter()
            .map(|a| a.id)
            .collect();
        let results = join_all(ids.iter().map(|id| team.delete_assignment(token, id))).await;
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        for status in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_error(
                status,
                Code::FailedPrecondition,
                "TASK_ASSIGNMENTS_LOWER_LIMIT_VIOLATION",
                "the loser",
            );
        }
        assert_eq!(
            team.task_assignments(&task.id).await.len(),
            1,
            "round {round}"
        );
    }

    // 20 concurrent creates of one recipient: one assignment, one `created`.
    let task = team.distributed(&[team.alice.0]).await;
    let results = join_all((0..20).map(|_| {
        team.create_assignment(
            token,
            &task.id,
            Recipient::UserId(team.outsider.0.to_string()),
        )
    }))
    .await;
    let created = results
        .iter()
        .map(|r| r.as_ref().expect("create").created)
        .filter(|c| *c)
        .count();
    assert_eq!(created, 1);
    assert_eq!(team.task_assignments(&task.id).await.len(), 2);

    // The last two recipients finishing at once under ALL: the task completes exactly once.
    let all = team.distributed(&[team.alice.0, team.outsider.0]).await;
    let list = team.task_assignments(&all.id).await;
    let token_of = |user: &str| {
        if user == team.alice.0.to_string() {
            team.alice.1.clone()
        } else {
            team.outsider.1.clone()
        }
    };
    let results = join_all(
        list.iter()
            .map(|a| async { team.finish(&token_of(&a.user_id), &a.id).await }),
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let done = team.get(token, &all.id).await.expect("get");
    assert_eq!(done.status, pb::TaskStatus::Completed as i32);
    let before: i64 = all
        .etag
        .trim_matches(|c| !char::is_numeric(c))
        .parse()
        .expect("etag");
    let after: i64 = done
        .etag
        .trim_matches(|c| !char::is_numeric(c))
        .parse()
        .expect("etag");
    assert_eq!(after, before + 1, "one status change: completed once");
    team.app.stop().await;
}

//! The assignment rules as properties of the end state, whatever sequence of calls led there: a
//! task that has assignments keeps at least one; already-assigned recipients are no-ops even once
//! deactivated; a task its policy completed is completed exactly while the policy holds over its
//! current assignments. Each is checked call by call and under concurrency.

use docket::grpc::pb;
use futures_util::future::join_all;
use pb::create_assignment_request::Recipient;
use tonic::Code;

use crate::{
    helpers::rpc::authorized,
    helpers::update::{patch_of, update},
    helpers::{
        raw::assert_error,
        team::{Team, titled},
    },
};

/// Hole 5 of issue 9: deleting assignments one by one emptied a task that a batch could not.
#[tokio::test(flavor = "multi_thread")]
async fn no_sequence_of_deletes_leaves_a_task_without_assignments() {
    let team = Team::new().await;
    let (token, author, alice) = (&team.author.1, team.author.0, team.alice.0);

    // Distributed to Alice, and the author assigns themself too: delete Alice, then their own.
    let task = team.distributed(&[alice]).await;
    team.create_assignment(token, &task.id, Recipient::UserId(author.to_string()))
        .await
        .expect("self-assign");
    let ids = team.assignment_of(&task.id).await;
    team.delete_assignment(token, &ids[&alice])
        .await
        .expect("two left, one goes");
    let status = team
        .delete_assignment(token, &ids[&author])
        .await
        .expect_err("the last one stays");
    assert_error(
        &status,
        Code::FailedPrecondition,
        "TASK_ASSIGNMENTS_LOWER_LIMIT_VIOLATION",
        "the author's own after the recipient's",
    );

    // A personal task: the author's only assignment stays, alone or in a batch.
    let personal = team.create(token, titled("Mine")).await.expect("personal");
    let own = team.assignment_of(&personal.id).await[&author].clone();
    let status = team
        .delete_assignment(token, &own)
        .await
        .expect_err("personal");
    assert_error(
        &status,
        Code::FailedPrecondition,
        "TASK_ASSIGNMENTS_LOWER_LIMIT_VIOLATION",
        "the author's only assignment",
    );
    let request = pb::BatchDeleteAssignmentsRequest {
        task_id: personal.id.clone(),
        assignment_ids: vec![own],
    };
    let status = team
        .assignments()
        .await
        .batch_delete_assignments(authorized(request, token))
        .await
        .expect_err("batch");
    assert_error(
        &status,
        Code::FailedPrecondition,
        "TASK_ASSIGNMENTS_LOWER_LIMIT_VIOLATION",
        "a batch of the only assignment",
    );
    team.assert_rules_hold().await;
    team.app.stop().await;
}

/// Hole 6 of issue 9: an already-assigned recipient who was deactivated since made
/// CreateAssignment fail UNKNOWN_USER_ID, and failed a whole batch; the seed says already-assigned
/// recipients are a no-op. Only new recipients must be active.
#[tokio::test(flavor = "multi_thread")]
async fn already_assigned_users_are_skipped_even_once_deactivated() {
    let team = Team::new().await;
    let token = &team.author.1;
    let alice = team.alice.0;
    let task = team.distributed(&[alice]).await;
    let alices = team.assignment_of(&task.id).await[&alice].clone();
    let request = pb::DeactivateUserRequest {
        user_id: alice.to_string(),
    };
    pb::directory_service_client::DirectoryServiceClient::new(team.app.channel().await)
        .deactivate_user(authorized(request, &team.admin))
        .await
        .expect("deactivate Alice");

    let again = team
        .create_assignment(token, &task.id, Recipient::UserId(alice.to_string()))
        .await
        .expect("already assigned: a no-op");
    assert!(!again.created);
    let ids: Vec<&str> = again.assignments.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, [alices.as_str()], "her existing assignment");

    let batch = team
        .batch_create(&task.id, &[alice, team.outsider.0])
        .await
        .expect("Alice skipped, the outsider added");
    assert!(batch.created);
    let batch = team
        .batch_create(&task.id, &[alice])
        .await
        .expect("nothing new");
    assert!(!batch.created);
    let status = team
        .batch_create(&task.id, &[alice, team.inactive])
        .await
        .expect_err("a new recipient must be active");
    assert_error(
        &status,
        Code::NotFound,
        "UNKNOWN_USER_ID",
        "inactive newcomer",
    );
    assert_eq!(team.task_assignments(&task.id).await.len(), 2);
    team.app.stop().await;
}

async fn complete_by_hand(team: &Team, task: &str) {
    let request = pb::CompleteTaskRequest {
        task_id: task.into(),
        ..Default::default()
    };
    team.client()
        .await
        .complete_task(authorized(request, &team.author.1))
        .await
        .expect("complete by hand");
}

/// Hole 7 of issue 9: the completion policy was only applied when someone finished, so deleting
/// the last unfinished assignment under ALL left the task open forever, and adding a recipient to
/// a task ALL had completed left it completed.
#[tokio::test(flavor = "multi_thread")]
async fn the_policy_holds_over_the_current_assignments_after_every_change() {
    use pb::TaskStatus::{Completed, InProgress, New};
    let team = Team::new().await;
    let token = &team.author.1;
    let (alice, outsider) = (team.alice.0, team.outsider.0);
    let (dora, _) = team.extra_user("Dora").await;

    // ALL: Alice finished, the outsider has not; removing the outsider completes the task.
    let task = team.distributed(&[alice, outsider]).await;
    let ids = team.assignment_of(&task.id).await;
    team.finish(&team.alice.1, &ids[&alice])
        .await
        .expect("finish");
    assert_eq!(team.status(&task.id).await, New);
    team.delete_assignment(token, &ids[&outsider])
        .await
        .expect("delete");
    assert_eq!(team.status(&task.id).await, Completed, "ALL holds now");

    // ALL completed; a new recipient reopens it, and their finishing completes it again.
    let task = team.distributed(&[alice]).await;
    let ids = team.assignment_of(&task.id).await;
    team.finish(&team.alice.1, &ids[&alice])
        .await
        .expect("finish");
    assert_eq!(team.status(&task.id).await, Completed);
    team.create_assignment(token, &task.id, Recipient::UserId(outsider.to_string()))
        .await
        .expect("add");
    assert_eq!(
        team.status(&task.id).await,
        InProgress,
        "ALL no longer holds"
    );
    let ids = team.assignment_of(&task.id).await;
    team.finish(&team.outsider.1, &ids[&outsider])
        .await
        .expect("finish");
    assert_eq!(team.status(&task.id).await, Completed);
    team.batch_create(&task.id, &[dora])
        .await
        .expect("batch add");
    assert_eq!(team.status(&task.id).await, InProgress, "batch adds too");

    // ANY: completed by Alice; removing her finished assignment reopens it.
    let any = pb::CreateTaskRequest {
        recipient_user_ids: vec![alice.to_string(), outsider.to_string()],
        completion_policy: pb::CompletionPolicy::Any as i32,
        ..titled("Any")
    };
    let task = team.create(token, any).await.expect("create");
    let ids = team.assignment_of(&task.id).await;
    team.finish(&team.alice.1, &ids[&alice])
        .await
        .expect("finish");
    assert_eq!(team.status(&task.id).await, Completed);
    team.delete_assignment(token, &ids[&alice])
        .await
        .expect("delete");
    assert_eq!(
        team.status(&task.id).await,
        InProgress,
        "ANY no longer holds"
    );

    // A new policy over the same assignments: ALL no longer holds (the outsider has not
    // finished), and back to ANY it holds again.
    let task = team
        .create(
            token,
            pb::CreateTaskRequest {
                recipient_user_ids: vec![alice.to_string(), outsider.to_string()],
                completion_policy: pb::CompletionPolicy::Any as i32,
                ..titled("Any, then All")
            },
        )
        .await
        .expect("create");
    let ids = team.assignment_of(&task.id).await;
    team.finish(&team.alice.1, &ids[&alice])
        .await
        .expect("finish");
    for (policy, status) in [
        (pb::CompletionPolicy::All, InProgress),
        (pb::CompletionPolicy::Any, Completed),
    ] {
        let patch = pb::TaskPatch {
            completion_policy: policy as i32,
            ..Default::default()
        };
        update(
            &team,
            token,
            patch_of(&task.id, patch, &["completion_policy"]),
        )
        .await
        .expect("new policy");
        assert_eq!(team.status(&task.id).await, status, "{policy:?}");
    }

    // Reassigning a task ALL completed to someone new reopens it.
    let task = team.distributed(&[alice]).await;
    let ids = team.assignment_of(&task.id).await;
    team.finish(&team.alice.1, &ids[&alice])
        .await
        .expect("finish");
    let request = pb::ReassignTaskRequest {
        task_id: task.id.clone(),
        assignee_user_id: outsider.to_string(),
        ..Default::default()
    };
    team.client()
        .await
        .reassign_task(authorized(request, token))
        .await
        .expect("reassign");
    assert_eq!(team.status(&task.id).await, InProgress);

    // Completed by hand: it stays completed whatever the recipients do.
    let task = team.distributed(&[alice, outsider]).await;
    complete_by_hand(&team, &task.id).await;
    team.create_assignment(token, &task.id, Recipient::UserId(dora.to_string()))
        .await
        .expect("add");
    let ids = team.assignment_of(&task.id).await;
    team.delete_assignment(token, &ids[&dora])
        .await
        .expect("delete");
    team.finish(&team.alice.1, &ids[&alice])
        .await
        .expect("finish");
    team.open(&team.alice.1, &ids[&alice]).await.expect("open");
    assert_eq!(team.status(&task.id).await, Completed, "by hand");

    // MANUAL: never by policy.
    let manual = pb::CreateTaskRequest {
        recipient_user_ids: vec![alice.to_string()],
        completion_policy: pb::CompletionPolicy::Manual as i32,
        ..titled("Manual")
    };
    let task = team.create(token, manual).await.expect("create");
    let ids = team.assignment_of(&task.id).await;
    team.finish(&team.alice.1, &ids[&alice])
        .await
        .expect("finish");
    assert_eq!(team.status(&task.id).await, New);
    team.assert_rules_hold().await;
    team.app.stop().await;
}

/// Holes 5 and 7 under concurrency: whichever order the task's lock serialises them in, the end
/// state is one the rules allow.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_deletes_adds_and_finishes_end_where_the_rules_allow() {
    use pb::TaskStatus::Completed;
    let team = Team::new().await;
    let token = &team.author.1;
    let (author, alice, outsider) = (team.author.0, team.alice.0, team.outsider.0);
    let (dora, _) = team.extra_user("Dora").await;
    for round in 0..20 {
        // The recipient's and the author's own assignment deleted at once: one stays.
        let task = team.distributed(&[alice]).await;
        team.create_assignment(token, &task.id, Recipient::UserId(author.to_string()))
            .await
            .expect("self-assign");
        let ids = team.assignment_of(&task.id).await;
        let results = join_all(ids.values().map(|id| team.delete_assignment(token, id))).await;
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        assert_eq!(team.task_assignments(&task.id).await.len(), 1);

        // ALL: Alice finishes while the author removes the outsider: completed either way.
        let task = team.distributed(&[alice, outsider]).await;
        let ids = team.assignment_of(&task.id).await;
        let (finished, deleted) = tokio::join!(
            team.finish(&team.alice.1, &ids[&alice]),
            team.delete_assignment(token, &ids[&outsider]),
        );
        finished.expect("finish");
        deleted.expect("delete");
        assert_eq!(team.status(&task.id).await, Completed, "round {round}");

        // ALL with Alice done: the outsider finishes while the author adds Dora: not completed
        // either way (Dora has not finished), though it may have been for a moment.
        let task = team.distributed(&[alice, outsider]).await;
        let ids = team.assignment_of(&task.id).await;
        team.finish(&team.alice.1, &ids[&alice])
            .await
            .expect("finish");
        let (finished, added) = tokio::join!(
            team.finish(&team.outsider.1, &ids[&outsider]),
            team.create_assignment(token, &task.id, Recipient::UserId(dora.to_string())),
        );
        finished.expect("finish");
        added.expect("add");
        assert_ne!(team.status(&task.id).await, Completed, "round {round}");
    }
    team.assert_rules_hold().await;
    team.app.stop().await;
}

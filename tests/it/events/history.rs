//! The audit trail: every mutating RPC records exactly the events documented for it (a table
//! of calls, each with its own request id, and the events each must add), in commit order, with
//! the actor and request id of the call; a call that fails records nothing; ListTaskEvents
//! shows a task's history to whoever may see the task, resumes from a cursor, and shows nothing
//! of a deleted task or to anyone else.

use crate::helpers::history::{history, req, text};

use docket::grpc::pb::{self, TaskEventKind as Kind, create_assignment_request::Recipient};
use prost_types::value::Kind as ValueKind;
use tonic::Code;

use crate::helpers::{
    database::connect,
    team::{Team, titled},
};

#[tokio::test(flavor = "multi_thread")]
async fn every_mutating_rpc_records_exactly_its_events() {
    let team = Team::new().await;
    let (author, alice) = (&team.author.1, &team.alice.1);
    let bob_token = team.user_token(team.bob).await;
    let mut tasks = team.client().await;
    let mut assignments = team.assignments().await;

    let create = pb::CreateTaskRequest {
        recipient_user_ids: vec![team.alice.0.to_string()],
        ..titled("Audit me")
    };
    let task = tasks
        .create_task(req(create, author, "create"))
        .await
        .expect("create")
        .into_inner()
        .task
        .expect("task");
    let id = task.id.clone();
    // (request id, caller's token, the events the call adds)
    let mut table: Vec<(&str, &str, Vec<Kind>)> = vec![("create", author, vec![Kind::TaskCreated])];

    let get = pb::GetTaskRequest {
        task_id: id.clone(),
        body_formats: vec![],
    };
    tasks
        .get_task(req(get.clone(), alice, "seen"))
        .await
        .expect("get");
    table.push(("seen", alice, vec![Kind::AssignmentOpened]));
    // A second read changes nothing and records nothing.
    tasks
        .get_task(req(get, alice, "seen-again"))
        .await
        .expect("get");

    let update = pb::UpdateTaskRequest {
        task_id: id.clone(),
        task: Some(pb::TaskPatch {
            title: "Audited".into(),
            tags: vec!["audit".into()],
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into(), "tags".into(), "kind".into()],
        }),
        ..Default::default()
    };
    tasks
        .update_task(req(update, author, "update"))
        .await
        .expect("update");
    table.push(("update", author, vec![Kind::TaskUpdated]));

    macro_rules! lifecycle {
        ($method:ident, $request:expr, $token:expr, $id:literal, $kind:expr) => {
            tasks.$method(req($request, $token, $id)).await.expect($id);
            table.push(($id, $token, vec![$kind]));
        };
    }
    lifecycle!(
        start_task,
        pb::StartTaskRequest {
            task_id: id.clone(),
            body_formats: vec![]
        },
        alice,
        "start",
        Kind::TaskStarted
    );
    lifecycle!(
        submit_task_for_review,
        pb::SubmitTaskForReviewRequest {
            task_id: id.clone(),
            body_formats: vec![]
        },
        alice,
        "submit",
        Kind::TaskSubmittedForReview
    );
    let outcome = pb::TaskOutcome {
        disposition: pb::CallDisposition::Answered as i32,
        note: "Done well".into(),
    };
    lifecycle!(
        complete_task,
        pb::CompleteTaskRequest {
            task_id: id.clone(),
            outcome: Some(outcome),
            body_formats: vec![]
        },
        author,
        "complete",
        Kind::TaskCompleted
    );
    lifecycle!(
        reopen_task,
        pb::ReopenTaskRequest {
            task_id: id.clone(),
            reason: "Not quite".into(),
            body_formats: vec![]
        },
        author,
        "reopen-1",
        Kind::TaskReopened
    );
    lifecycle!(
        skip_task,
        pb::SkipTaskRequest {
            task_id: id.clone(),
            body_formats: vec![]
        },
        author,
        "skip",
        Kind::TaskSkipped
    );
    lifecycle!(
        reopen_task,
        pb::ReopenTaskRequest {
            task_id: id.clone(),
            reason: String::new(),
            body_formats: vec![]
        },
        author,
        "reopen-2",
        Kind::TaskReopened
    );
    lifecycle!(
        cancel_task,
        pb::CancelTaskRequest {
            task_id: id.clone(),
            body_formats: vec![]
        },
        author,
        "cancel",
        Kind::TaskCancelled
    );
    lifecycle!(
        reopen_task,
        pb::ReopenTaskRequest {
            task_id: id.clone(),
            reason: String::new(),
            body_formats: vec![]
        },
        author,
        "reopen-3",
        Kind::TaskReopened
    );

    // A call that fails records nothing: a reopen from OPEN is not a move.
    let refused = tasks
        .reopen_task(req(
            pb::ReopenTaskRequest {
                task_id: id.clone(),
                reason: String::new(),
                body_formats: vec![],
            },
            author,
            "refused",
        ))
        .await
        .expect_err("not a move from OPEN");
    assert_eq!(refused.code(), Code::FailedPrecondition);

    let bob = assignments
        .create_assignment(req(
            pb::CreateAssignmentRequest {
                task_id: id.clone(),
                recipient: Some(Recipient::UserId(team.bob.to_string())),
            },
            author,
            "assign-bob",
        ))
        .await
        .expect("assign bob")
        .into_inner()
        .assignments
        .remove(0);
    table.push(("assign-bob", author, vec![Kind::AssignmentCreated]));
    let outsider = assignments
        .batch_create_assignments(req(
            pb::BatchCreateAssignmentsRequest {
                task_id: id.clone(),
                user_ids: vec![team.outsider.0.to_string()],
            },
            author,
            "assign-outsider",
        ))
        .await
        .expect("assign outsider")
        .into_inner()
        .assignments
        .remove(0);
    table.push(("assign-outsider", author, vec![Kind::AssignmentCreated]));
    assignments
        .delete_assignment(req(
            pb::DeleteAssignmentRequest {
                assignment_id: outsider.id.clone(),
            },
            author,
            "unassign-outsider",
        ))
        .await
        .expect("unassign outsider");
    table.push(("unassign-outsider", author, vec![Kind::AssignmentDeleted]));
    assignments
        .batch_delete_assignments(req(
            pb::BatchDeleteAssignmentsRequest {
                task_id: id.clone(),
                assignment_ids: vec![bob.id.clone()],
            },
            author,
            "unassign-bob",
        ))
        .await
        .expect("unassign bob");
    table.push(("unassign-bob", author, vec![Kind::AssignmentDeleted]));

    // Alice is the only recipient and the policy is ALL: her finishing completes the task, her
    // reopening takes it back to IN_PROGRESS.
    let alices = team.task_assignments(&id).await.remove(0).id;
    assignments
        .finish_assignment(req(
            pb::FinishAssignmentRequest {
                assignment_id: alices.clone(),
            },
            alice,
            "finish",
        ))
        .await
        .expect("finish");
    table.push((
        "finish",
        alice,
        vec![Kind::AssignmentFinished, Kind::TaskCompleted],
    ));
    assignments
        .open_assignment(req(
            pb::OpenAssignmentRequest {
                assignment_id: alices,
            },
            alice,
            "open",
        ))
        .await
        .expect("open");
    table.push((
        "open",
        alice,
        vec![Kind::AssignmentOpened, Kind::TaskReopened],
    ));

    tasks
        .reassign_task(req(
            pb::ReassignTaskRequest {
                task_id: id.clone(),
                assignee_user_id: team.bob.to_string(),
                ..Default::default()
            },
            author,
            "reassign",
        ))
        .await
        .expect("reassign");
    table.push(("reassign", author, vec![Kind::TaskReassigned]));

    let expected: Vec<(Kind, &str, &str)> = table
        .iter()
        .flat_map(|(request_id, token, kinds)| kinds.iter().map(move |k| (*k, *request_id, *token)))
        .collect();
    let events = history(&team, author, &id, "", expected.len())
        .await
        .expect("history");
    let got: Vec<(Kind, String)> = events
        .iter()
        .map(|item| {
            let event = item.event.as_ref().expect("event");
            (event.kind(), event.request_id.clone())
        })
        .collect();
    let want: Vec<(Kind, String)> = expected
        .iter()
        .map(|(kind, request_id, _)| (*kind, request_id.to_string()))
        .collect();
    assert_eq!(got, want, "exactly the documented events, in order");

    let user_of = |token: &str| {
        if token == author.as_str() {
            team.author.0
        } else {
            team.alice.0
        }
    };
    for (item, (_, request_id, token)) in events.iter().zip(&expected) {
        let event = item.event.as_ref().expect("event");
        let actor = event.actor.as_ref().expect("actor");
        assert_eq!(
            (actor.r#type(), actor.id.clone()),
            (pb::ActorType::User, user_of(token).to_string()),
            "{request_id}: the caller made it"
        );
        assert_eq!(event.task_id, id);
        assert!(event.occurred_at.is_some());
    }
    let positions: Vec<&str> = events
        .iter()
        .map(|i| i.event.as_ref().expect("event").position.as_str())
        .collect();
    assert!(
        positions.windows(2).all(|p| p[0] < p[1]),
        "positions grow: {positions:?}"
    );

    // What the details say.
    let details = |n: usize| {
        events[n]
            .event
            .as_ref()
            .and_then(|e| e.details.clone())
            .expect("details")
    };
    let update = details(2);
    assert_eq!(text(&update, &["fields", "title", "old"]), Some("Audit me"));
    assert_eq!(text(&update, &["fields", "title", "new"]), Some("Audited"));
    assert!(
        !update.fields["fields"].kind.as_ref().is_some_and(
            |k| matches!(k, ValueKind::StructValue(s) if s.fields.contains_key("kind"))
        ),
        "a field in the mask that kept its value is not a change"
    );
    let started = details(3);
    assert_eq!(text(&started, &["to"]), Some("IN_PROGRESS"));
    let completed = details(5);
    assert_eq!(text(&completed, &["from"]), Some("IN_REVIEW"));
    assert_eq!(text(&completed, &["note"]), Some("Done well"));
    assert_eq!(text(&completed, &["disposition"]), Some("ANSWERED"));
    assert_eq!(text(&details(6), &["reason"]), Some("Not quite"));
    let by_policy = details(16);
    assert_eq!(text(&by_policy, &["to"]), Some("COMPLETED"));
    assert!(by_policy.fields.contains_key("by_policy"));
    assert_eq!(text(&details(18), &["to"]), Some("IN_PROGRESS"));
    let reassigned = details(19);
    assert_eq!(
        text(&reassigned, &["assignee"]),
        Some(team.bob.to_string().as_str())
    );

    // Bob, the recipient now, reads the task's events and his own assignment's (the others'
    // assignments are the author's to see); Alice, removed, and the outsider read nothing.
    let bob = team.bob.to_string();
    let of_the_task: Vec<&str> = events
        .iter()
        .map(|i| i.event.as_ref().expect("event"))
        .filter(|e| {
            e.assignment_id.is_empty()
                || text(e.details.as_ref().expect("details"), &["user_id"]) == Some(bob.as_str())
        })
        .map(|e| e.position.as_str())
        .collect();
    assert!(of_the_task.len() < events.len(), "some are of assignments");
    let bobs = history(&team, &bob_token, &id, "", of_the_task.len())
        .await
        .expect("bob's view");
    let bobs: Vec<&str> = bobs
        .iter()
        .map(|i| i.event.as_ref().expect("event").position.as_str())
        .collect();
    assert_eq!(bobs, of_the_task);
    for stranger in [alice, &team.outsider.1] {
        let refused = history(&team, stranger, &id, "", 0)
            .await
            .expect_err("not theirs");
        assert_eq!(refused.code(), Code::NotFound);
    }
    // An admin sees every task, and its history.
    let admins = history(&team, &team.admin, &id, "", expected.len())
        .await
        .expect("admin's view");
    assert_eq!(admins.len(), expected.len());

    // Resuming from a cursor gives the rest, and nothing twice.
    let rest = history(&team, author, &id, &events[9].cursor, expected.len() - 10)
        .await
        .expect("resume");
    assert_eq!(
        rest.iter().map(|i| i.event.clone()).collect::<Vec<_>>(),
        events[10..]
            .iter()
            .map(|i| i.event.clone())
            .collect::<Vec<_>>()
    );

    tasks
        .delete_task(req(
            pb::DeleteTaskRequest {
                task_id: id.clone(),
            },
            author,
            "delete",
        ))
        .await
        .expect("delete");
    let gone = history(&team, author, &id, "", 0)
        .await
        .expect_err("a deleted task has no history to show");
    assert_eq!(gone.code(), Code::NotFound);
    let db = connect(&team.app.db.url()).await;
    let last = db
        .query_one(
            "SELECT kind, request_id, audience FROM task_events WHERE task_id = $1::text::uuid \
             ORDER BY position DESC LIMIT 1",
            &[&id],
        )
        .await
        .expect("the deletion's event");
    let (kind, request_id, mut audience): (String, String, Vec<String>) =
        (last.get(0), last.get(1), last.get(2));
    // A set: who is named, not how often or in which order.
    audience.sort();
    audience.dedup();
    assert_eq!(
        (kind.as_str(), request_id.as_str()),
        ("TASK_DELETED", "delete")
    );
    let mut want = vec![
        format!("USER:{}", team.author.0),
        format!("USER:{}", team.bob),
    ];
    want.sort();
    assert_eq!(audience, want, "who took part in the task when it went");
    team.app.stop().await;
}

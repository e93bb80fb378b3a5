//! The script of the audit test: one task taken through every mutating RPC, each call with a
//! request id of its own, and the table of the events each call must add.

use docket::grpc::pb::{self, TaskEventKind as Kind, create_assignment_request::Recipient};
use tonic::Code;

use crate::helpers::{
    history::req,
    team::{Team, titled},
};

/// One call of the script: its request id, the caller's token, the events it adds.
pub type Call<'a> = (&'static str, &'a str, Vec<Kind>);

/// Takes a new task through every mutating RPC (and one refused call, which must add nothing);
/// returns the task's id and the calls in order.
pub async fn every_mutation(team: &Team) -> (String, Vec<Call<'_>>) {
    let (author, alice) = (&team.author.1, &team.alice.1);
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
    let mut table: Vec<Call> = vec![("create", author, vec![Kind::TaskCreated])];

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
            reopen_after: None,
            reopen_reason: String::new(),
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

    (id, table)
}

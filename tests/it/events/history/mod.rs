//! The audit trail: every mutating RPC records exactly the events documented for it (a table
//! of calls, each with its own request id, and the events each must add), in commit order, with
//! the actor and request id of the call; a call that fails records nothing; ListTaskEvents
//! shows a task's history to whoever may see the task, resumes from a cursor, and shows nothing
//! of a deleted task or to anyone else.

mod calls;

use crate::helpers::history::{history, req, text};

use docket::grpc::pb::{self, TaskEventKind as Kind};
use prost_types::value::Kind as ValueKind;
use tonic::Code;

use crate::helpers::{database::connect, team::Team};

#[tokio::test(flavor = "multi_thread")]
async fn every_mutating_rpc_records_exactly_its_events() {
    let team = Team::new().await;
    let (author, alice) = (&team.author.1, &team.alice.1);
    let bob_token = team.user_token(team.bob).await;
    let mut tasks = team.client().await;
    let (id, table) = calls::every_mutation(&team).await;

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

//! Free text at the input edge: one rule for which characters every free-text field takes, so a
//! NUL (which PostgreSQL cannot store) or a stray control character is refused as the caller's
//! error, naming the field, and never reaches the database or comes back INTERNAL.

use docket::grpc::pb::{self, directory_service_client::DirectoryServiceClient};
use tonic::{Code, Status};
use uuid::Uuid;

use crate::{
    helpers::rpc::authorized,
    helpers::update::{patch_of, update},
    helpers::{
        raw::{assert_error, violated_fields},
        team::{Team, titled},
    },
};

const NUL: &str = "a\u{0}b";

/// Asserts a call failed `VALIDATION_ERROR` naming `field`.
fn assert_names<T: std::fmt::Debug>(result: Result<T, Status>, field: &str, case: &str) {
    let status = result.expect_err(case);
    assert_error(&status, Code::InvalidArgument, "VALIDATION_ERROR", case);
    let fields = violated_fields(&status);
    assert!(fields.iter().any(|f| f == field), "{case}: {fields:?}");
}

fn plain(text: &str) -> Option<pb::TaskBodyInput> {
    Some(pb::TaskBodyInput {
        content: Some(pb::task_body_input::Content::Plain(text.into())),
    })
}

pub fn record(record_id: &str) -> pb::LinkedRecord {
    pb::LinkedRecord {
        object: "people".into(),
        record_id: record_id.into(),
    }
}

/// Hole 1 of issue 9: a NUL in free text reached PostgreSQL, which cannot store it, and came back
/// INTERNAL. Every free-text field refuses it, naming the field; so do the list filters.
#[tokio::test(flavor = "multi_thread")]
async fn nul_characters_are_refused_in_every_free_text_field() {
    let team = Team::new().await;
    let token = &team.author.1;
    let mut tasks = team.client().await;
    let mut directory = DirectoryServiceClient::new(team.app.channel().await);
    let task = team.create(token, titled("Target")).await.expect("task");

    let user = |first: &str, last: &str| pb::UpsertUserRequest {
        user_id: Uuid::new_v4().to_string(),
        first_name: first.into(),
        last_name: last.into(),
        email: "someone@example.com".into(),
        active: None,
    };
    for (field, request) in [
        ("first_name", user(NUL, "Last")),
        ("last_name", user("First", NUL)),
    ] {
        let result = directory
            .upsert_user(authorized(request, &team.admin))
            .await;
        assert_names(result, field, &format!("UpsertUser {field}"));
    }
    let channel = pb::UpsertChannelRequest {
        channel_id: Uuid::new_v4().to_string(),
        name: NUL.into(),
    };
    let result = directory
        .upsert_channel(authorized(channel, &team.admin))
        .await;
    assert_names(result, "name", "UpsertChannel name");

    let html = Some(pb::TaskBodyInput {
        content: Some(pb::task_body_input::Content::Html(format!("<p>{NUL}</p>"))),
    });
    let delta = Some(pb::TaskBodyInput {
        content: Some(pb::task_body_input::Content::Delta(
            r#"{"ops":[{"insert":"a\u0000b\n"}]}"#.into(),
        )),
    });
    let creates = [
        ("title", titled(NUL)),
        (
            "body",
            pb::CreateTaskRequest {
                body: plain(NUL),
                ..titled("x")
            },
        ),
        (
            "body",
            pb::CreateTaskRequest {
                body: html.clone(),
                ..titled("x")
            },
        ),
        (
            "body",
            pb::CreateTaskRequest {
                body: delta.clone(),
                ..titled("x")
            },
        ),
        (
            "tags[0]",
            pb::CreateTaskRequest {
                tags: vec![NUL.into()],
                ..titled("x")
            },
        ),
        (
            "linked_records[0].record_id",
            pb::CreateTaskRequest {
                linked_records: vec![record(NUL)],
                ..titled("x")
            },
        ),
        (
            "external_id",
            pb::CreateTaskRequest {
                external_id: NUL.into(),
                ..titled("x")
            },
        ),
        (
            "correlation_id",
            pb::CreateTaskRequest {
                correlation_id: NUL.into(),
                ..titled("x")
            },
        ),
        (
            "request_id",
            pb::CreateTaskRequest {
                request_id: NUL.into(),
                ..titled("x")
            },
        ),
    ];
    for (field, request) in creates {
        let result = team.create(token, request).await;
        assert_names(result, field, &format!("CreateTask {field}"));
    }

    let patches = [
        (
            "title",
            pb::TaskPatch {
                title: NUL.into(),
                ..Default::default()
            },
        ),
        (
            "body",
            pb::TaskPatch {
                body: plain(NUL),
                ..Default::default()
            },
        ),
        (
            "body",
            pb::TaskPatch {
                body: delta,
                ..Default::default()
            },
        ),
        (
            "tags",
            pb::TaskPatch {
                tags: vec![NUL.into()],
                ..Default::default()
            },
        ),
        (
            "linked_records",
            pb::TaskPatch {
                linked_records: vec![record(NUL)],
                ..Default::default()
            },
        ),
        (
            "external_id",
            pb::TaskPatch {
                external_id: NUL.into(),
                ..Default::default()
            },
        ),
        (
            "correlation_id",
            pb::TaskPatch {
                correlation_id: NUL.into(),
                ..Default::default()
            },
        ),
    ];
    for (path, patch) in patches {
        let result = update(&team, token, patch_of(&task.id, patch, &[path])).await;
        let status = result.expect_err(path);
        assert_error(&status, Code::InvalidArgument, "VALIDATION_ERROR", path);
        let fields = violated_fields(&status);
        assert!(
            fields
                .iter()
                .any(|f| f == path || f.starts_with(&format!("{path}["))),
            "UpdateTask {path}: {fields:?}"
        );
    }

    let complete = pb::CompleteTaskRequest {
        task_id: task.id.clone(),
        outcome: Some(pb::TaskOutcome {
            disposition: 0,
            note: NUL.into(),
        }),
        ..Default::default()
    };
    let result = tasks.complete_task(authorized(complete, token)).await;
    assert_names(result, "outcome.note", "CompleteTask outcome.note");
    let reopen = pb::ReopenTaskRequest {
        task_id: task.id.clone(),
        reason: NUL.into(),
        ..Default::default()
    };
    let result = tasks.reopen_task(authorized(reopen, token)).await;
    assert_names(result, "reason", "ReopenTask reason");

    let filters = [
        (
            "query",
            pb::ListTasksRequest {
                query: NUL.into(),
                ..Default::default()
            },
        ),
        (
            "tags[0]",
            pb::ListTasksRequest {
                tags: vec![NUL.into()],
                ..Default::default()
            },
        ),
        (
            "external_id",
            pb::ListTasksRequest {
                external_id: NUL.into(),
                ..Default::default()
            },
        ),
        (
            "correlation_id",
            pb::ListTasksRequest {
                correlation_id: NUL.into(),
                ..Default::default()
            },
        ),
        (
            "linked_record.record_id",
            pb::ListTasksRequest {
                linked_record: Some(record(NUL)),
                ..Default::default()
            },
        ),
    ];
    for (field, request) in filters {
        let counted = pb::CountTasksRequest {
            query: request.query.clone(),
            tags: request.tags.clone(),
            external_id: request.external_id.clone(),
            correlation_id: request.correlation_id.clone(),
            linked_record: request.linked_record.clone(),
            ..Default::default()
        };
        let result = team.list(token, request).await;
        assert_names(result, field, &format!("ListTasks {field}"));
        let result = team.count_tasks(token, counted).await;
        assert_names(result, field, &format!("CountTasks {field}"));
    }
    assert_eq!(team.count("tasks").await, 1, "nothing written");
    team.app.stop().await;
}

/// The one rule for control characters: single-line text (titles, names, tags, ids, keys, search
/// queries) takes none; multi-line text (bodies, completion notes, reopen reasons) takes tab,
/// line feed and carriage return, and no other.
#[tokio::test(flavor = "multi_thread")]
async fn free_text_takes_line_breaks_only_where_it_has_lines() {
    let team = Team::new().await;
    let token = &team.author.1;
    let mut tasks = team.client().await;
    for (field, request) in [
        ("title", titled("red \u{1b}[31m")),
        ("title", titled("two\nlines")),
        ("title", titled("delete\u{7f}")),
        ("title", titled("c1 \u{85} control")),
        (
            "tags[0]",
            pb::CreateTaskRequest {
                tags: vec!["a\tb".into()],
                ..titled("x")
            },
        ),
        (
            "body",
            pb::CreateTaskRequest {
                body: plain("bell \u{7}"),
                ..titled("x")
            },
        ),
    ] {
        let result = team.create(token, request).await;
        assert_names(result, field, &format!("{field}: control character"));
    }
    let task = team
        .create(
            token,
            pb::CreateTaskRequest {
                body: plain("line one\r\nline two\tindented"),
                ..titled("Multi-line body, unicode ✓ and emoji 🎉")
            },
        )
        .await
        .expect("line breaks and tabs in a body");
    let body = task.body.expect("body");
    assert_eq!(body.plain(), "line one\r\nline two\tindented");
    let complete = pb::CompleteTaskRequest {
        task_id: task.id.clone(),
        outcome: Some(pb::TaskOutcome {
            disposition: 0,
            note: "called\nleft a message\tok".into(),
        }),
        ..Default::default()
    };
    let completed = tasks
        .complete_task(authorized(complete, token))
        .await
        .expect("a multi-line note")
        .into_inner()
        .task
        .expect("task");
    let outcome = completed
        .outcome
        .expect("a note alone is a completion response");
    assert_eq!(outcome.note, "called\nleft a message\tok");
    let reopen = pb::ReopenTaskRequest {
        task_id: task.id.clone(),
        reason: "wrong number\r\nretry".into(),
        ..Default::default()
    };
    tasks
        .reopen_task(authorized(reopen, token))
        .await
        .expect("a multi-line reason");
    team.app.stop().await;
}

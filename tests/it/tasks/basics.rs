//! TaskService: creating (personal or distributed, atomically, idempotently), reading with
//! visibility and "seen" marking, deleting, and refusing bad input with nothing written.

use docket::grpc::pb;
use tonic::Code;
use uuid::Uuid;

use crate::{
    helpers::rpc::Directory,
    helpers::{
        database::connect,
        raw::assert_error,
        team::{Team, titled},
    },
};

fn summary(task: &pb::Task) -> (i64, i64, i64) {
    let s = task.assignment_summary.as_ref().expect("summary");
    (s.new_count, s.open_count, s.finished_count)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_personal_task_is_assigned_to_its_author_with_contract_defaults() {
    let team = Team::new().await;
    let token = &team.author.1;
    let task = team
        .create(token, titled("Call back Ada"))
        .await
        .expect("create");
    assert_eq!(task.number, 1);
    assert_eq!(task.status, pb::TaskStatus::New as i32);
    assert_eq!(task.priority, pb::TaskPriority::Normal as i32);
    assert_eq!(task.kind, "GENERAL");
    assert_eq!(task.completion_policy, pb::CompletionPolicy::Any as i32);
    assert_eq!(
        task.distribution_kind,
        pb::DistributionKind::Personal as i32
    );
    assert_eq!(
        summary(&task),
        (0, 1, 0),
        "assigned to the author, already seen"
    );
    let by = task.created_by.as_ref().expect("created_by");
    assert_eq!(
        (by.r#type, by.id.as_str()),
        (
            pb::ActorType::User as i32,
            team.author.0.to_string().as_str()
        )
    );
    assert!(!task.etag.is_empty());

    let read = team.get(token, &task.id).await.expect("get");
    assert_eq!(read, task, "reading returns what creating returned");

    let second = team
        .create(token, titled("Then email"))
        .await
        .expect("create");
    assert_eq!(second.number, 2);
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_distributed_task_fans_out_and_recipients_see_it_received() {
    let team = Team::new().await;
    let request = pb::CreateTaskRequest {
        recipient_user_ids: vec![team.outsider.0.to_string()],
        recipient_channel_ids: vec![team.channel.to_string()],
        ..titled("Quarterly review")
    };
    let task = team.create(&team.author.1, request).await.expect("create");
    assert_eq!(
        task.distribution_kind,
        pb::DistributionKind::Distributed as i32
    );
    assert_eq!(task.completion_policy, pb::CompletionPolicy::All as i32);
    // The outsider directly, Alice and Bob via the channel; not the author, not the inactive member.
    assert_eq!(summary(&task), (3, 0, 0));
    let via_channel: i64 = connect(&team.app.db.url())
        .await
        .query_one(
            "SELECT count(*) FROM assignments WHERE via_channel_id = $1",
            &[&team.channel],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(via_channel, 2);

    let seen = team
        .get(&team.alice.1, &task.id)
        .await
        .expect("recipient reads");
    assert_eq!(
        seen.distribution_kind,
        pb::DistributionKind::Received as i32
    );
    assert!(
        seen.assignment_summary.is_none(),
        "the summary is the author's"
    );
    let again = team
        .get(&team.author.1, &task.id)
        .await
        .expect("author reads");
    assert_eq!(
        summary(&again),
        (2, 1, 0),
        "Alice's read marked her assignment seen"
    );

    let admin = team
        .get(&team.admin, &task.id)
        .await
        .expect("workspace admin reads");
    assert_eq!(
        admin.distribution_kind,
        pb::DistributionKind::Distributed as i32
    );
    assert!(admin.assignment_summary.is_none());
    let author_only = team
        .create(&team.author.1, titled("Mine"))
        .await
        .expect("create");
    let status = team
        .get(&team.alice.1, &author_only.id)
        .await
        .expect_err("not hers");
    assert_error(
        &status,
        Code::NotFound,
        "TASK_NOT_FOUND",
        "a stranger's read",
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_are_returned_in_the_formats_asked_for_and_html_comes_back_inert() {
    let team = Team::new().await;
    let request = pb::CreateTaskRequest {
        body: Some(pb::TaskBodyInput {
            content: Some(pb::task_body_input::Content::Html(
                r#"<p onclick="x()">Call <b>now</b><script>alert(1)</script><a href="javascript:alert(2)">here</a></p>"#.into(),
            )),
        }),
        body_formats: vec![pb::BodyFormat::Html as i32],
        ..titled("Inert")
    };
    let task = team.create(&team.author.1, request).await.expect("create");
    let body = task.body.expect("body");
    assert_eq!(body.written_as, pb::BodyFormat::Html as i32);
    assert!(
        body.plain.is_none() && body.delta.is_none(),
        "only HTML was asked for"
    );
    let html = body.html.expect("html");
    for needle in ["script", "onclick", "javascript", "alert"] {
        assert!(!html.contains(needle), "{needle} survived: {html}");
    }
    let read = team
        .get(&team.author.1, &task.id)
        .await
        .expect("get")
        .body
        .expect("body");
    assert_eq!(read.plain.as_deref(), Some("Call nowhere"));
    assert!(read.delta.is_some_and(|d| d.contains(r#""bold":true"#)));
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_written() {
    let team = Team::new().await;
    let tags: Vec<String> = (0..33).map(|i| format!("tag{i}")).collect();
    let cases: Vec<(&str, pb::CreateTaskRequest)> = vec![
        ("title", titled(&"x".repeat(501))),
        ("title", titled("   ")),
        (
            "tags",
            pb::CreateTaskRequest {
                tags,
                ..titled("x")
            },
        ),
        (
            "recipient_user_ids[0]",
            pb::CreateTaskRequest {
                recipient_user_ids: vec!["not-a-uuid".into()],
                ..titled("x")
            },
        ),
        (
            "sequence_id",
            pb::CreateTaskRequest {
                sequence_id: "42".into(),
                ..titled("x")
            },
        ),
        (
            "priority",
            pb::CreateTaskRequest {
                priority: 99,
                ..titled("x")
            },
        ),
        (
            "completion_policy",
            pb::CreateTaskRequest {
                completion_policy: -1,
                ..titled("x")
            },
        ),
        (
            "kind",
            pb::CreateTaskRequest {
                kind: "call me".into(),
                ..titled("x")
            },
        ),
        (
            "body_formats[0]",
            pb::CreateTaskRequest {
                body_formats: vec![7],
                ..titled("x")
            },
        ),
        (
            "request_id",
            pb::CreateTaskRequest {
                request_id: "r".repeat(201),
                ..titled("x")
            },
        ),
        (
            "due.date",
            pb::CreateTaskRequest {
                due: Some(pb::Due {
                    value: Some(pb::due::Value::Date(pb::CalendarDate {
                        year: 2026,
                        month: 2,
                        day: 30,
                    })),
                }),
                ..titled("x")
            },
        ),
        (
            "body",
            pb::CreateTaskRequest {
                body: Some(pb::TaskBodyInput {
                    content: Some(pb::task_body_input::Content::Delta("{\"ops\":5}".into())),
                }),
                ..titled("x")
            },
        ),
        (
            "body",
            pb::CreateTaskRequest {
                body: Some(pb::TaskBodyInput {
                    content: Some(pb::task_body_input::Content::Plain(
                        "x".repeat(256 * 1024 + 1),
                    )),
                }),
                ..titled("x")
            },
        ),
    ];
    for (field, request) in cases {
        let status = team.create(&team.author.1, request).await.expect_err(field);
        assert_error(&status, Code::InvalidArgument, "VALIDATION_ERROR", field);
        let violations = tonic_types::StatusExt::get_details_bad_request(&status)
            .expect("BadRequest")
            .field_violations;
        assert!(
            violations.iter().any(|v| v.field == field),
            "{field}: {violations:?}"
        );
    }
    assert_eq!(
        (team.count("tasks").await, team.count("assignments").await),
        (0, 0)
    );
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn recipients_must_be_known_active_users_and_administered_channels() {
    let team = Team::new().await;
    let users = |ids: Vec<Uuid>| pb::CreateTaskRequest {
        recipient_user_ids: ids.iter().map(Uuid::to_string).collect(),
        ..titled("x")
    };
    let channels = |ids: Vec<Uuid>| pb::CreateTaskRequest {
        recipient_channel_ids: ids.iter().map(Uuid::to_string).collect(),
        ..titled("x")
    };
    let empty_channel = Uuid::new_v4();
    Directory::new(&team.app, team.admin.clone())
        .await
        .upsert_channel(empty_channel, "Empty")
        .await;
    let mut dir = Directory::new(&team.app, team.admin.clone()).await;
    dir.add_members(
        empty_channel,
        &[(team.author.0, true), (team.inactive, false)],
    )
    .await
    .expect("members");

    let cases: Vec<(&str, &str, Code, &str, pb::CreateTaskRequest)> = vec![
        (
            "unknown user",
            &team.author.1,
            Code::NotFound,
            "UNKNOWN_USER_ID",
            users(vec![team.alice.0, Uuid::new_v4()]),
        ),
        (
            "inactive user",
            &team.author.1,
            Code::NotFound,
            "UNKNOWN_USER_ID",
            users(vec![team.inactive]),
        ),
        (
            "unknown channel",
            &team.author.1,
            Code::NotFound,
            "UNKNOWN_CHANNEL_ID",
            channels(vec![Uuid::new_v4()]),
        ),
        (
            "not its admin",
            &team.alice.1,
            Code::PermissionDenied,
            "NOT_ADMIN_OF_CHANNEL",
            channels(vec![team.channel]),
        ),
        (
            "no active member but the author",
            &team.author.1,
            Code::FailedPrecondition,
            "TASK_ASSIGNMENTS_LOWER_LIMIT_VIOLATION",
            channels(vec![empty_channel]),
        ),
    ];
    for (case, token, code, reason, request) in cases {
        let status = team.create(token, request).await.expect_err(case);
        assert_error(&status, code, reason, case);
    }
    assert_eq!(
        (team.count("tasks").await, team.count("assignments").await),
        (0, 0),
        "nothing written"
    );
    team.app.stop().await;
}

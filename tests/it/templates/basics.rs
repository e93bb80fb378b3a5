//! The template RPCs: create, read, list, update with a mask and an etag, delete; their rules
//! (INVALID_ARGUMENT naming the field), and who may do what (the author; an admin reads), with
//! tenancy for reads and writes.

use docket::grpc::pb;
use tonic::Code;

use super::{client, create, fields, get, schedule, seconds};
use crate::helpers::{
    raw::{assert_error, violated_fields},
    rpc::authorized,
    seed,
    team::Team,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_template_is_created_read_listed_updated_and_deleted_by_its_author() {
    let team = Team::new().await;
    let token = &team.author.1;
    let mut task = fields("Weekly report");
    task.kind = "REPORT".into();
    task.tags = vec!["weekly".into()];
    task.due_after = seconds(3600);
    task.reminders = vec![pb::Reminder {
        when: Some(pb::reminder::When::BeforeDue(prost_types::Duration {
            seconds: 600,
            nanos: 0,
        })),
        author: true,
        ..Default::default()
    }];
    let made = create(&team, token, "Report", task, None)
        .await
        .expect("create");
    assert_eq!(made.name, "Report");
    assert!(made.schedule.is_none() && made.schedule_status.is_none());
    let read = get(&team, token, &made.id).await.expect("get");
    assert_eq!(read, made);
    let body = read
        .task
        .as_ref()
        .and_then(|t| t.body.clone())
        .expect("a body");
    assert_eq!(
        body.content,
        Some(pb::task_body_input::Content::Plain(String::new()))
    );
    assert_eq!(read.task.as_ref().map(|t| t.reminders.len()), Some(1));

    // Update: name only, with the etag; a stale etag is refused.
    let mut api = client(&team).await;
    let rename = pb::UpdateTaskTemplateRequest {
        template_id: made.id.clone(),
        template: Some(pb::CreateTaskTemplateRequest {
            name: "Weekly report".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["name".into()],
        }),
        etag: made.etag.clone(),
    };
    let renamed = api
        .update_task_template(authorized(rename.clone(), token))
        .await
        .expect("update")
        .into_inner()
        .template
        .expect("template");
    assert_eq!(renamed.name, "Weekly report");
    assert_eq!(renamed.task, made.task, "the task is as it was");
    assert_ne!(renamed.etag, made.etag);
    let stale = api.update_task_template(authorized(rename, token)).await;
    assert_error(
        &stale.expect_err("stale"),
        Code::Aborted,
        "TEMPLATE_CHANGE_CONFLICT",
        "a stale etag",
    );

    let listed = api
        .list_task_templates(authorized(pb::ListTaskTemplatesRequest::default(), token))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.templates, std::slice::from_ref(&renamed));
    assert!(listed.next_page_token.is_empty());
    // Alice sees none of the author's templates; the admin sees them all.
    let theirs = api
        .list_task_templates(authorized(
            pb::ListTaskTemplatesRequest::default(),
            &team.alice.1,
        ))
        .await
        .expect("list");
    assert!(theirs.into_inner().templates.is_empty());
    let admin = get(&team, &team.admin, &made.id)
        .await
        .expect("an admin reads it");
    assert_eq!(admin.id, made.id);

    api.delete_task_template(authorized(
        pb::DeleteTaskTemplateRequest {
            template_id: made.id.clone(),
        },
        token,
    ))
    .await
    .expect("delete");
    let gone = get(&team, token, &made.id).await.expect_err("deleted");
    assert_error(&gone, Code::NotFound, "TEMPLATE_NOT_FOUND", "deleted");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_templates_are_refused_naming_the_field() {
    let team = Team::new().await;
    let token = &team.author.1;
    let refused = |result: Result<pb::TaskTemplate, tonic::Status>| {
        let status = result.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        violated_fields(&status)
    };
    let weekly = || schedule("FREQ=WEEKLY;BYDAY=MO", "Europe/Berlin", "2027-01-04T09:00");
    let cases: Vec<(pb::TaskTemplateFields, Option<pb::TaskSchedule>, &str)> = vec![
        (fields(""), None, "task.title"),
        (
            pb::TaskTemplateFields {
                kind: "lower".into(),
                ..fields("t")
            },
            None,
            "task.kind",
        ),
        (
            fields("t"),
            Some(schedule("FREQ=SOMETIMES", "UTC", "2027-01-04T09:00")),
            "schedule.rrule",
        ),
        (
            fields("t"),
            Some(schedule("FREQ=HOURLY", "UTC", "2027-01-04T09:00")),
            "schedule.rrule",
        ),
        (
            fields("t"),
            Some(schedule("FREQ=DAILY", "Mars/Olympus", "2027-01-04T09:00")),
            "schedule.time_zone",
        ),
        // 02:30 does not exist in Berlin on 28 March 2027.
        (
            fields("t"),
            Some(schedule("FREQ=DAILY", "Europe/Berlin", "2027-03-28T02:30")),
            "schedule.start",
        ),
        (
            fields("t"),
            Some(schedule("FREQ=DAILY", "UTC", "next monday")),
            "schedule.start",
        ),
        (
            fields("t"),
            Some(pb::TaskSchedule {
                due_time: "25:00".into(),
                ..weekly()
            }),
            "schedule.due_time",
        ),
        (
            fields("t"),
            Some(pb::TaskSchedule {
                lead_time: seconds(400 * 86_400),
                ..weekly()
            }),
            "schedule.lead_time",
        ),
        (
            pb::TaskTemplateFields {
                reminders: vec![pb::Reminder {
                    when: Some(pb::reminder::When::At(prost_types::Timestamp::default())),
                    ..Default::default()
                }],
                due_after: seconds(60),
                ..fields("t")
            },
            None,
            "task.reminders[0].at",
        ),
        (
            pb::TaskTemplateFields {
                reminders: vec![pb::Reminder {
                    when: Some(pb::reminder::When::BeforeDue(
                        prost_types::Duration::default(),
                    )),
                    ..Default::default()
                }],
                ..fields("t")
            },
            None,
            "task.reminders",
        ),
    ];
    for (task, schedule, field) in cases {
        let fields = refused(create(&team, token, "bad", task, schedule).await);
        assert!(
            fields.iter().any(|f| f == field),
            "{field} not in {fields:?}"
        );
    }
    let fields = refused(create(&team, token, "", fields("t"), None).await);
    assert_eq!(fields, ["name"]);
    assert_eq!(
        team.count("task_templates").await,
        0,
        "nothing half-written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_author_changes_a_template_and_other_workspaces_see_nothing() {
    let team = Team::new().await;
    let weekly = schedule("FREQ=WEEKLY;BYDAY=MO", "Europe/Berlin", "2030-01-07T09:00");
    let made = create(&team, &team.author.1, "Mine", fields("Mine"), Some(weekly))
        .await
        .expect("create");
    let (_, elsewhere) = seed::workspace(&team.app.db, "elsewhere").await;
    let mut api = client(&team).await;
    let id = || made.id.clone();
    for token in [&team.alice.1, &elsewhere, &team.admin] {
        let update = pb::UpdateTaskTemplateRequest {
            template_id: id(),
            template: Some(pb::CreateTaskTemplateRequest {
                name: "Theirs".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["name".into()],
            }),
            etag: String::new(),
        };
        let results = [
            api.update_task_template(authorized(update, token))
                .await
                .map(|_| ()),
            api.pause_task_template(authorized(
                pb::PauseTaskTemplateRequest {
                    template_id: id(),
                    reason: String::new(),
                },
                token,
            ))
            .await
            .map(|_| ()),
            api.skip_next_occurrence(authorized(
                pb::SkipNextOccurrenceRequest {
                    template_id: id(),
                    scheduled_for: None,
                },
                token,
            ))
            .await
            .map(|_| ()),
            api.resume_task_template(authorized(
                pb::ResumeTaskTemplateRequest { template_id: id() },
                token,
            ))
            .await
            .map(|_| ()),
            api.end_task_template_series(authorized(
                pb::EndTaskTemplateSeriesRequest {
                    template_id: id(),
                    reason: String::new(),
                },
                token,
            ))
            .await
            .map(|_| ()),
            api.delete_task_template(authorized(
                pb::DeleteTaskTemplateRequest { template_id: id() },
                token,
            ))
            .await
            .map(|_| ()),
        ];
        for result in results {
            assert_error(
                &result.expect_err("not theirs"),
                Code::NotFound,
                "TEMPLATE_NOT_FOUND",
                "a change by someone other than the author",
            );
        }
    }
    for token in [&team.alice.1, &elsewhere] {
        let read = get(&team, token, &made.id).await.expect_err("not theirs");
        assert_error(&read, Code::NotFound, "TEMPLATE_NOT_FOUND", "a read");
        let from = api
            .create_task_from_template(authorized(
                pb::CreateTaskFromTemplateRequest {
                    template_id: id(),
                    ..Default::default()
                },
                token,
            ))
            .await
            .expect_err("not theirs");
        assert_error(
            &from,
            Code::NotFound,
            "TEMPLATE_NOT_FOUND",
            "a task from it",
        );
    }
    let unchanged = get(&team, &team.author.1, &made.id).await.expect("get");
    assert_eq!(unchanged, made, "nothing changed");
    // Their users are unknown here; their list holds none of ours.
    let (_, other) = seed::workspace(&team.app.db, "other").await;
    let mut theirs = crate::helpers::rpc::Directory::new(&team.app, other.clone()).await;
    let stranger = uuid::Uuid::new_v4();
    theirs
        .upsert_user(stranger, "Stranger", "Elsewhere", Some(true))
        .await;
    let mut task = fields("For a stranger");
    task.recipient_user_ids = vec![stranger.to_string()];
    let unknown = create(&team, &team.author.1, "Foreign", task, None)
        .await
        .expect_err("a user of another workspace");
    assert_error(
        &unknown,
        Code::NotFound,
        "UNKNOWN_USER_ID",
        "a foreign recipient",
    );
    let listed = api
        .list_task_templates(authorized(pb::ListTaskTemplatesRequest::default(), &other))
        .await
        .expect("list");
    assert!(listed.into_inner().templates.is_empty());
    assert_eq!(team.count("tasks").await, 0);
}

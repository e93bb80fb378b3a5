//! UpdateTask: only the fields the mask names change, an etag precondition refuses stale writes,
//! and bad masks or values are refused with nothing written.

use crate::helpers::update::{patch_of, update};
use docket::grpc::pb;
use tonic::Code;

use crate::{
    helpers::raw::assert_error,
    helpers::team::{Team, titled},
};

#[tokio::test(flavor = "multi_thread")]
async fn only_masked_fields_change_and_empty_values_clear() {
    let team = Team::new().await;
    let token = &team.author.1;
    let created = team
        .create(
            token,
            pb::CreateTaskRequest {
                priority: pb::TaskPriority::High as i32,
                tags: vec!["vip".into()],
                external_id: "crm-1".into(),
                linked_records: vec![pb::LinkedRecord {
                    object: "people".into(),
                    record_id: "p-1".into(),
                }],
                ..titled("Old title")
            },
        )
        .await
        .expect("create");

    let due = pb::Due {
        value: Some(pb::due::Value::Date(pb::CalendarDate {
            year: 2026,
            month: 12,
            day: 24,
        })),
    };
    let patch = pb::TaskPatch {
        title: "New title".into(),
        due: Some(due),
        priority: pb::TaskPriority::Low as i32, // not in the mask: ignored
        ..Default::default()
    };
    let updated = update(
        &team,
        token,
        patch_of(&created.id, patch, &["title", "due"]),
    )
    .await
    .expect("update");
    assert_eq!(updated.title, "New title");
    assert_eq!(updated.due, Some(due));
    assert_eq!(updated.priority, pb::TaskPriority::High as i32);
    assert_eq!(updated.tags, ["vip"]);
    assert_ne!(updated.etag, created.etag);
    assert_eq!(team.get(token, &created.id).await.expect("get"), updated);

    let cleared = update(
        &team,
        token,
        patch_of(
            &created.id,
            pb::TaskPatch::default(),
            &["due", "tags", "external_id", "linked_records", "priority"],
        ),
    )
    .await
    .expect("clear");
    assert_eq!(cleared.due, None);
    assert!(
        cleared.tags.is_empty()
            && cleared.linked_records.is_empty()
            && cleared.external_id.is_empty()
    );
    assert_eq!(
        cleared.priority,
        pb::TaskPriority::Normal as i32,
        "an emptied priority is the default"
    );

    let body = pb::TaskBodyInput {
        content: Some(pb::task_body_input::Content::Html(
            "<p><em>now</em> rich</p>".into(),
        )),
    };
    let rich = update(
        &team,
        token,
        patch_of(
            &created.id,
            pb::TaskPatch {
                body: Some(body),
                ..Default::default()
            },
            &["body"],
        ),
    )
    .await
    .expect("body");
    let rendered = rich.body.expect("body");
    assert_eq!(rendered.written_as, pb::BodyFormat::Html as i32);
    assert_eq!(rendered.plain.as_deref(), Some("now rich"));
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_etag_is_refused_and_a_current_one_accepted() {
    let team = Team::new().await;
    let token = &team.author.1;
    let task = team.create(token, titled("v1")).await.expect("create");
    let first = pb::UpdateTaskRequest {
        etag: task.etag.clone(),
        ..patch_of(
            &task.id,
            pb::TaskPatch {
                title: "v2".into(),
                ..Default::default()
            },
            &["title"],
        )
    };
    let v2 = update(&team, token, first.clone())
        .await
        .expect("current etag");
    let status = update(
        &team,
        token,
        pb::UpdateTaskRequest {
            task: Some(pb::TaskPatch {
                title: "v3".into(),
                ..Default::default()
            }),
            ..first
        },
    )
    .await
    .expect_err("stale etag");
    assert_error(&status, Code::Aborted, "TASK_CHANGE_CONFLICT", "stale etag");
    assert_eq!(team.get(token, &task.id).await.expect("get").title, "v2");
    assert_eq!(v2.title, "v2");
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_masks_and_values_are_refused_with_nothing_written() {
    let team = Team::new().await;
    let token = &team.author.1;
    let task = team
        .create(
            token,
            pb::CreateTaskRequest {
                external_id: "taken".into(),
                ..titled("Keep me")
            },
        )
        .await
        .expect("create");
    let other = team.create(token, titled("Other")).await.expect("create");
    let cases: Vec<(&str, pb::UpdateTaskRequest)> = vec![
        (
            "update_mask",
            patch_of(&task.id, pb::TaskPatch::default(), &[]),
        ),
        (
            "update_mask.paths[1]",
            patch_of(
                &task.id,
                pb::TaskPatch {
                    title: "x".into(),
                    ..Default::default()
                },
                &["title", "colour"],
            ),
        ),
        (
            "title",
            patch_of(&task.id, pb::TaskPatch::default(), &["title"]),
        ),
        (
            "tags[0]",
            patch_of(
                &task.id,
                pb::TaskPatch {
                    tags: vec!["".into()],
                    ..Default::default()
                },
                &["tags"],
            ),
        ),
        (
            "priority",
            patch_of(
                &task.id,
                pb::TaskPatch {
                    priority: 99,
                    ..Default::default()
                },
                &["priority"],
            ),
        ),
        (
            "task_id",
            patch_of(
                "nope",
                pb::TaskPatch {
                    title: "x".into(),
                    ..Default::default()
                },
                &["title"],
            ),
        ),
    ];
    for (field, request) in cases {
        let status = update(&team, token, request).await.expect_err(field);
        assert_error(&status, Code::InvalidArgument, "VALIDATION_ERROR", field);
        let violations = tonic_types::StatusExt::get_details_bad_request(&status)
            .expect("BadRequest")
            .field_violations;
        assert!(
            violations.iter().any(|v| v.field == field),
            "{field}: {violations:?}"
        );
    }
    // A bad value outside the mask does not matter.
    let ignored = pb::TaskPatch {
        priority: 99,
        title: "Renamed".into(),
        ..Default::default()
    };
    update(&team, token, patch_of(&task.id, ignored, &["title"]))
        .await
        .expect("unmasked junk is ignored");

    let taken = pb::TaskPatch {
        external_id: "taken".into(),
        ..Default::default()
    };
    let status = update(&team, token, patch_of(&other.id, taken, &["external_id"]))
        .await
        .expect_err("taken");
    assert_error(
        &status,
        Code::AlreadyExists,
        "EXTERNAL_ID_TAKEN",
        "external_id taken",
    );

    let shared = team
        .create(
            token,
            pb::CreateTaskRequest {
                recipient_user_ids: vec![team.alice.0.to_string()],
                ..titled("Shared")
            },
        )
        .await
        .expect("create");
    let status = update(
        &team,
        &team.alice.1,
        patch_of(
            &shared.id,
            pb::TaskPatch {
                title: "Hers".into(),
                ..Default::default()
            },
            &["title"],
        ),
    )
    .await
    .expect_err("recipient");
    assert_error(
        &status,
        Code::NotFound,
        "TASK_NOT_FOUND",
        "a recipient is not the author",
    );
    assert_eq!(
        team.get(token, &shared.id).await.expect("get").etag,
        shared.etag
    );
    team.app.stop().await;
}

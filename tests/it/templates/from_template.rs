//! CreateTaskFromTemplate: a task with the template's fields and the caller's overrides, naming
//! the template, made once per request id; the filters that find it; the events it records.

use docket::grpc::pb::{self, TaskEventKind as Kind};

use super::{client, create, fields, seconds};
use crate::helpers::{
    raw::violated_fields,
    rpc::{authorized, drain},
    team::Team,
    watch,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_task_from_a_template_takes_its_fields_and_the_overrides_and_names_it() {
    let team = Team::new().await;
    let token = &team.author.1;
    let mut watch = watch::watch(
        team.app.channel().await,
        token,
        pb::WatchTasksRequest::default(),
    )
    .await
    .expect("watch");
    watch::start_now(&mut watch).await;
    let mut task = fields("Call the customer");
    task.kind = "CALL".into();
    task.tags = vec!["phone".into()];
    task.due_after = seconds(7200);
    task.recipient_user_ids = vec![team.alice.0.to_string()];
    let template = create(&team, token, "Call", task, None)
        .await
        .expect("create");
    let mut api = client(&team).await;
    let request = pb::CreateTaskFromTemplateRequest {
        template_id: template.id.clone(),
        overrides: Some(pb::CreateTaskRequest {
            title: "Call ACME".into(),
            external_id: "acme-1".into(),
            ..Default::default()
        }),
        override_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into(), "external_id".into()],
        }),
        request_id: "from-template-1".into(),
        body_formats: vec![],
    };
    let made = api
        .create_task_from_template(authorized(request.clone(), token))
        .await
        .expect("from template")
        .into_inner()
        .task
        .expect("task");
    assert_eq!(made.title, "Call ACME");
    assert_eq!(made.external_id, "acme-1");
    assert_eq!(
        (made.kind.as_str(), made.tags.clone()),
        ("CALL", vec!["phone".to_owned()])
    );
    assert!(made.due.is_some(), "due_after from now");
    assert_eq!(
        made.distribution_kind,
        pb::DistributionKind::Distributed as i32
    );
    let provenance = made.template.clone().expect("template");
    assert_eq!(provenance.template_id, template.id);
    assert_eq!(provenance.template_name, "Call");
    assert!(!provenance.recurring);
    let again = api
        .create_task_from_template(authorized(request, token))
        .await
        .expect("a retry")
        .into_inner()
        .task
        .expect("task");
    assert_eq!(again.id, made.id, "the request id made it once");

    // The filters find it.
    let mut tasks = team.client().await;
    let listed = |request: pb::ListTasksRequest| {
        let mut tasks = tasks.clone();
        async move {
            let stream = tasks
                .list_tasks(authorized(request, token))
                .await
                .expect("list")
                .into_inner();
            drain(stream).await.expect("listed")
        }
    };
    let by_template = listed(pb::ListTasksRequest {
        template_ids: vec![template.id.clone()],
        ..Default::default()
    })
    .await;
    assert_eq!(by_template.len(), 1);
    let recurring = listed(pb::ListTasksRequest {
        from_recurring_template: Some(true),
        ..Default::default()
    })
    .await;
    assert!(recurring.is_empty(), "made on demand, not by a schedule");
    let count = tasks
        .count_tasks(authorized(
            pb::CountTasksRequest {
                from_recurring_template: Some(false),
                template_ids: vec![template.id.clone()],
                ..Default::default()
            },
            token,
        ))
        .await
        .expect("count")
        .into_inner()
        .count;
    assert_eq!(count, 1);

    // A bad override is refused under overrides., and nothing is made.
    let bad = api
        .create_task_from_template(authorized(
            pb::CreateTaskFromTemplateRequest {
                template_id: template.id.clone(),
                overrides: Some(pb::CreateTaskRequest::default()),
                override_mask: Some(prost_types::FieldMask {
                    paths: vec!["title".into()],
                }),
                ..Default::default()
            },
            token,
        ))
        .await
        .expect_err("no title");
    assert_eq!(violated_fields(&bad), ["overrides.title"]);

    // The events: the template's creation (no task), then the task's, naming the template.
    let got = watch::events(&mut watch, 2).await.expect("events");
    let (created, task_created) = (&got[0].0, &got[1].0);
    assert_eq!(created.kind, Kind::TemplateCreated as i32);
    assert_eq!(
        (created.task_id.as_str(), created.template_id.as_str()),
        ("", template.id.as_str())
    );
    assert_eq!(task_created.kind, Kind::TaskCreated as i32);
    assert_eq!(task_created.template_id, template.id);
}

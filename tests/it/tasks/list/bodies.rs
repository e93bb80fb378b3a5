//! ListTasks reads only the body renditions its caller asks for: each one asked for comes back as
//! GetTask gives it, and none of the others comes back.

use docket::grpc::pb;

use crate::{
    helpers::rpc::authorized,
    helpers::rpc::drain,
    helpers::team::{Team, titled},
};

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_answers_with_exactly_the_body_formats_asked_for() {
    let team = Team::new().await;
    let request = pb::CreateTaskRequest {
        body: Some(pb::TaskBodyInput {
            content: Some(pb::task_body_input::Content::Html(
                "<p>Call <b>Acme</b> about the renewal</p>".into(),
            )),
        }),
        ..titled("Renewal call")
    };
    let created = team.create(&team.author.1, request).await.expect("create");
    let stored = team
        .get(&team.author.1, &created.id)
        .await
        .expect("get")
        .body
        .expect("body");
    let (plain, html, delta) = (
        stored.plain.clone().expect("plain"),
        stored.html.clone().expect("html"),
        stored.delta.clone().expect("delta"),
    );
    assert!(!plain.is_empty() && !html.is_empty() && !delta.is_empty());

    use pb::BodyFormat::{Delta, Html, Plain};
    let cases: [(&[pb::BodyFormat], [Option<&String>; 3]); 5] = [
        (&[Plain], [Some(&plain), None, None]),
        (&[Html], [None, Some(&html), None]),
        (&[Delta, Plain], [Some(&plain), None, Some(&delta)]),
        (&[Html, Delta], [None, Some(&html), Some(&delta)]),
        (&[], [Some(&plain), Some(&html), Some(&delta)]),
    ];
    for (formats, [want_plain, want_html, want_delta]) in cases {
        let request = pb::ListTasksRequest {
            body_formats: formats.iter().map(|f| *f as i32).collect(),
            ..Default::default()
        };
        let stream = team
            .client()
            .await
            .list_tasks(authorized(request, &team.author.1))
            .await
            .expect("list")
            .into_inner();
        let listed = drain(stream).await.expect("stream");
        let task = listed
            .into_iter()
            .filter_map(|item| item.task)
            .find(|task| task.id == created.id)
            .expect("the task is listed");
        let body = task.body.expect("body");
        assert_eq!(body.written_as, pb::BodyFormat::Html as i32, "{formats:?}");
        assert_eq!(body.plain.as_ref(), want_plain, "{formats:?}");
        assert_eq!(body.html.as_ref(), want_html, "{formats:?}");
        assert_eq!(body.delta.as_ref(), want_delta, "{formats:?}");
    }
    team.app.stop().await;
}

//! The typed client crate (`docket-client`) against a real server: the token and a request id on
//! every call, a listing as a stream, and `retry` retrying only what the server says to.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use docket_client::{Docket, RetryPolicy, pb, retry};
use futures_util::StreamExt;
use tonic::Code;

use crate::helpers::{
    team::{Team, titled},
    watch::watch,
};

async fn client(team: &Team, token: &str) -> Docket {
    Docket::builder(format!("http://{}", team.app.addr), token)
        .gzip(true)
        .connect()
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_sends_its_token_and_a_request_id_and_streams_listings() {
    let team = Team::new().await;
    let docket = client(&team, &team.author.1).await;
    let request = pb::CreateTaskRequest {
        title: "Through the client".into(),
        request_id: "client-crate-1".into(),
        ..Default::default()
    };
    let created = docket.tasks().create_task(request).await.expect("create");
    let echoed = created
        .metadata()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("the server echoes the request id");
    assert_eq!(echoed.len(), 32, "the client's own id: {echoed}");
    let task = created.into_inner().task.expect("task");

    let listed: Vec<_> = docket
        .tasks()
        .list_tasks(pb::ListTasksRequest::default())
        .await
        .expect("list")
        .into_inner()
        .collect()
        .await;
    let ids: Vec<_> = listed
        .into_iter()
        .map(|item| item.expect("item").task.expect("task").id)
        .collect();
    assert_eq!(ids, vec![task.id]);
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_repeats_what_the_server_says_to_and_nothing_else() {
    let team = Team::new().await;
    let docket = client(&team, &team.author.1).await;
    let task = team
        .create(&team.author.1, titled("Draft"))
        .await
        .expect("create");
    let update = |etag: &str| pb::UpdateTaskRequest {
        task_id: task.id.clone(),
        task: Some(pb::TaskPatch {
            title: "Changed".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into()],
        }),
        etag: etag.into(),
        body_formats: vec![],
    };
    docket
        .tasks()
        .update_task(update(&task.etag))
        .await
        .expect("the first update");
    let policy = RetryPolicy {
        max_retries: 2,
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(200),
    };

    // A stale etag stays stale: ABORTED without RetryInfo, tried once.
    let attempts = AtomicUsize::new(0);
    let status = retry(policy, || {
        attempts.fetch_add(1, Ordering::SeqCst);
        let mut tasks = docket.tasks();
        let request = update(&task.etag);
        async move { tasks.update_task(request).await }
    })
    .await
    .expect_err("still stale");
    assert_eq!(status.code(), Code::Aborted);
    assert_eq!(attempts.load(Ordering::SeqCst), 1);

    // NOT_FOUND is not worth repeating.
    let attempts = AtomicUsize::new(0);
    let status = retry(policy, || {
        attempts.fetch_add(1, Ordering::SeqCst);
        let mut tasks = docket.tasks();
        async move {
            tasks
                .get_task(pb::GetTaskRequest {
                    task_id: uuid::Uuid::now_v7().to_string(),
                    body_formats: vec![],
                })
                .await
        }
    })
    .await
    .expect_err("no such task");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_waits_what_retry_info_asks_and_tries_again() {
    // One stream at a time: a second is refused OVERLOADED, with RetryInfo (1 s), until the
    // first closes.
    let team = Team::with_config(|config| config.connections.max_open_streams = 1).await;
    let docket = client(&team, &team.author.1).await;
    let held = watch(team.app.channel().await, &team.author.1, Default::default())
        .await
        .expect("the one stream");
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(held);
    });
    let policy = RetryPolicy {
        max_retries: 3,
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_secs(2),
    };
    let attempts = AtomicUsize::new(0);
    let started = tokio::time::Instant::now();
    retry(policy, || {
        attempts.fetch_add(1, Ordering::SeqCst);
        let mut tasks = docket.tasks();
        async move { tasks.list_tasks(pb::ListTasksRequest::default()).await }
    })
    .await
    .expect("served once the first stream closed");
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited what RetryInfo asked, not the policy's 1 ms"
    );
}

//! A database that hangs (frozen, not gone: the proxy holds every byte and closes nothing) must not
//! hang Docket's calls: each ends within the server's bound, UNAVAILABLE with RetryInfo; health
//! turns NOT_SERVING; and everything works again once the database answers, without a restart.
//! (A client's shorter grpc-timeout is tested on the layer itself, `grpc::request_context`: a
//! tonic client gives up on its own at the same moment, so it cannot see the server's answer.)

use std::time::{Duration, Instant};

use docket::grpc::pb::{self, task_service_client::TaskServiceClient};
use futures_util::{StreamExt, future::join_all};
use tonic::{Code, Status, transport::Channel};
use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient};
use tonic_types::StatusExt;

use crate::{
    helpers::rpc::authorized,
    helpers::{
        app::{TestApp, wait_for_status},
        database::{TestDb, server_socket_addr, url_for},
        proxy::TcpProxy,
        raw::assert_error,
        seed,
    },
};

const CALL_TIMEOUT: Duration = Duration::from_secs(2);
const HEALTH_INTERVAL: Duration = Duration::from_millis(300);
/// Scheduling slack on a busy two-core machine.
const SLACK: Duration = Duration::from_millis(1500);
/// How long a recovered server may take to report SERVING again.
const WITHIN: Duration = Duration::from_secs(5);

struct Hung {
    app: TestApp,
    proxy: TcpProxy,
    token: String,
}

async fn behind_a_proxy() -> Hung {
    let db = TestDb::migrated().await;
    let (_, token) = seed::workspace(&db, "hung").await;
    let proxy = TcpProxy::start(server_socket_addr()).await;
    let url = url_for(&db.name).replace(&server_socket_addr(), &proxy.addr.to_string());
    let app = TestApp::builder()
        .on(db, url)
        .configure(|config| {
            config.call_timeout = CALL_TIMEOUT;
            config.health_interval = HEALTH_INTERVAL;
            // Every call, the token lookup included, must go to the database.
            config.auth.auth_cache_ttl = Duration::ZERO;
        })
        .spawn()
        .await;
    Hung { app, proxy, token }
}

/// Creates a task under `request_id`, so that a create that failed can be retried safely: a
/// create cut off by the deadline may still commit once the database resumes.
async fn create(
    client: &mut TaskServiceClient<Channel>,
    token: &str,
    request_id: &str,
) -> Result<pb::Task, Status> {
    let request = pb::CreateTaskRequest {
        title: "Call back".into(),
        request_id: request_id.into(),
        ..Default::default()
    };
    let response = client.create_task(authorized(request, token)).await?;
    Ok(response.into_inner().task.expect("task"))
}

async fn get(
    client: &mut TaskServiceClient<Channel>,
    token: &str,
    id: &str,
) -> Result<pb::Task, Status> {
    let request = pb::GetTaskRequest {
        task_id: id.into(),
        ..Default::default()
    };
    let response = client.get_task(authorized(request, token)).await?;
    Ok(response.into_inner().task.expect("task"))
}

async fn count(client: &mut TaskServiceClient<Channel>, token: &str) -> Result<i64, Status> {
    let request = authorized(pb::CountTasksRequest::default(), token);
    Ok(client.count_tasks(request).await?.into_inner().count)
}

/// The first message of a ListTasks stream, or the error it ends with.
async fn first_listed(
    client: &mut TaskServiceClient<Channel>,
    token: &str,
) -> Result<pb::ListTasksResponse, Status> {
    let request = authorized(pb::ListTasksRequest::default(), token);
    let mut stream = client.list_tasks(request).await?.into_inner();
    stream.next().await.expect("a message or an error")
}

/// A health client of `app`, once it reports SERVING.
async fn serving(app: &TestApp) -> HealthClient<Channel> {
    let mut health = app.health().await;
    wait_for_status(&mut health, "", ServingStatus::Serving, WITHIN).await;
    health
}

fn assert_unavailable(status: &Status, context: &str) {
    assert_error(status, Code::Unavailable, "DATABASE_UNAVAILABLE", context);
    let retry = status
        .get_details_retry_info()
        .unwrap_or_else(|| panic!("{context}: no RetryInfo in {status:?}"));
    assert!(
        retry.retry_delay.is_some_and(|d| d > Duration::ZERO),
        "{context}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_end_within_their_deadline_while_the_database_hangs_then_recover() {
    let hung = behind_a_proxy().await;
    let mut client = TaskServiceClient::new(hung.app.channel().await);
    let mut health = serving(&hung.app).await;
    let task = create(&mut client, &hung.token, &uuid::Uuid::new_v4().to_string())
        .await
        .expect("create before the hang");
    let retried_id = uuid::Uuid::new_v4().to_string();

    hung.proxy.stall();
    let started = Instant::now();
    let calls = (0..4).map(|i| {
        let mut client = client.clone();
        let (token, id, retried_id) = (hung.token.clone(), task.id.clone(), retried_id.clone());
        async move {
            let outcome = match i {
                0 => create(&mut client, &token, &retried_id).await.map(drop),
                1 => get(&mut client, &token, &id).await.map(drop),
                2 => count(&mut client, &token).await.map(drop),
                _ => first_listed(&mut client, &token).await.map(drop),
            };
            (i, outcome, started.elapsed())
        }
    });
    let ended = tokio::time::timeout(CALL_TIMEOUT + SLACK * 2, join_all(calls))
        .await
        .expect("every call ends while the database hangs");
    for (i, outcome, took) in ended {
        let context = format!("call {i} during the hang");
        let status = outcome.expect_err(&context);
        assert_unavailable(&status, &context);
        assert!(took < CALL_TIMEOUT + SLACK, "{context} took {took:?}");
    }
    // Health saw it too, within two of its intervals (it has been hung for CALL_TIMEOUT already).
    wait_for_status(
        &mut health,
        "",
        ServingStatus::NotServing,
        HEALTH_INTERVAL * 2,
    )
    .await;

    hung.proxy.resume();
    wait_for_status(&mut health, "", ServingStatus::Serving, WITHIN).await;
    // The create that failed is retried under the same request id: one task, whether or not the
    // first attempt reached the database.
    let again = create(&mut client, &hung.token, &retried_id)
        .await
        .expect("create retried after the hang");
    let read = get(&mut client, &hung.token, &again.id)
        .await
        .expect("get after");
    assert_eq!(read.id, again.id);
    assert_eq!(
        count(&mut client, &hung.token).await.expect("count after"),
        2
    );
    first_listed(&mut client, &hung.token)
        .await
        .expect("list after");
    hung.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_deadline_answers_database_unavailable_even_on_a_fresh_connection() {
    let hung = behind_a_proxy().await;
    let mut client = TaskServiceClient::new(hung.app.channel().await);
    // No call has been made: the pool is empty, so the hang meets a connection being opened.
    hung.proxy.stall();
    let at = Instant::now();
    let status = count(&mut client, &hung.token).await.expect_err("hung");
    assert_unavailable(&status, "count on a fresh pool");
    assert!(
        at.elapsed() < CALL_TIMEOUT + SLACK,
        "took {:?}",
        at.elapsed()
    );
    hung.proxy.resume();
    serving(&hung.app).await;
    assert_eq!(
        count(&mut client, &hung.token).await.expect("count after"),
        0
    );
    hung.app.stop().await;
}

//! What a client gets beyond the answer itself: errors it can act on (the ids involved in
//! `ErrorInfo.metadata`, `RetryInfo` on the codes worth retrying), gzip both ways, the health
//! protocol's SERVICE_UNKNOWN on Watch, and `docket --version` naming the build's revision.

use std::{str::FromStr, time::Duration};

use docket::grpc::pb;
use futures_util::StreamExt;
use prost::Message;
use tonic::{Code, codec::CompressionEncoding};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
use tonic_types::StatusExt;

use crate::{
    helpers::rpc::authorized,
    helpers::{
        process::docket,
        raw::{RawCodec, assert_error},
        team::{Team, titled},
    },
};

fn metadata(status: &tonic::Status, key: &str) -> Option<String> {
    status
        .get_details_error_info()
        .and_then(|info| info.metadata.get(key).cloned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rules_error_names_the_ids_it_is_about() {
    let team = Team::new().await;
    let missing = uuid::Uuid::now_v7().to_string();
    let status = team
        .get(&team.author.1, &missing)
        .await
        .expect_err("no such task");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(metadata(&status, "task_id"), Some(missing));

    let mut request = titled("For someone unknown");
    let stranger = uuid::Uuid::new_v4();
    request.recipient_user_ids = vec![stranger.to_string()];
    let status = team
        .create(&team.author.1, request)
        .await
        .expect_err("unknown recipient");
    assert_eq!(metadata(&status, "user_id"), Some(stranger.to_string()));
    assert!(
        status.get_details_retry_info().is_none(),
        "not worth retrying"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_validation_error_names_its_first_field() {
    let team = Team::new().await;
    let status = team
        .create(&team.author.1, titled(""))
        .await
        .expect_err("an empty title");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(metadata(&status, "field"), Some("title".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_etag_does_not_ask_for_a_retry() {
    let team = Team::new().await;
    let token = &team.author.1;
    let task = team.create(token, titled("Draft")).await.expect("create");
    let update = |title: &str, etag: &str| pb::UpdateTaskRequest {
        task_id: task.id.clone(),
        task: Some(pb::TaskPatch {
            title: title.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into()],
        }),
        etag: etag.into(),
        body_formats: vec![],
    };
    let mut client = team.client().await;
    client
        .update_task(authorized(update("First", &task.etag), token))
        .await
        .expect("the first update");
    let status = client
        .update_task(authorized(update("Second", &task.etag), token))
        .await
        .expect_err("a stale etag");
    // The same call can never succeed: the caller must read the task again. No RetryInfo.
    assert_eq!(status.code(), Code::Aborted);
    assert!(status.get_details_retry_info().is_none(), "{status:?}");
    assert_eq!(metadata(&status, "task_id"), Some(task.id.clone()));
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_requests_and_responses_are_served() {
    let team = Team::new().await;
    let mut client = team
        .client()
        .await
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let created = client
        .create_task(authorized(titled("Compressed both ways"), &team.author.1))
        .await
        .expect("a gzip request is accepted");
    assert_eq!(
        created
            .metadata()
            .get("grpc-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip"),
        "the answer is compressed for a client that accepts gzip"
    );
    let task = created.into_inner().task.expect("task");
    assert_eq!(task.title, "Compressed both ways");
}

#[tokio::test(flavor = "multi_thread")]
async fn watching_an_unknown_health_service_says_service_unknown_and_stays_open() {
    let team = Team::new().await;
    let mut health = team.app.health().await;
    let mut statuses = health
        .watch(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .expect("Watch opens")
        .into_inner();
    let first = statuses.next().await.expect("a status").expect("ok");
    assert_eq!(first.status, ServingStatus::ServiceUnknown as i32);
    let next = tokio::time::timeout(Duration::from_millis(300), statuses.next()).await;
    assert!(next.is_err(), "the stream stays open: {next:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn version_names_the_revision_built() {
    let output = docket(&["--version"], &[])
        .output()
        .await
        .expect("run docket");
    let version = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{version}");
    let expected = format!("docket {} (", env!("CARGO_PKG_VERSION"));
    assert!(version.starts_with(&expected), "{version}");
    let revision = version
        .trim()
        .trim_start_matches(&expected)
        .trim_end_matches(')');
    assert!(!revision.is_empty(), "{version}");
}

/// A gzip request that would inflate past the 4 MiB limit is refused as too large, and one that
/// is not gzip at all as malformed: compressed input is the caller's error like any other.
#[tokio::test(flavor = "multi_thread")]
async fn bad_gzip_is_the_callers_error() {
    let team = Team::new().await;
    let create = "/docket.v1.TaskService/CreateTask";
    let bomb = titled(&"x".repeat(5 * 1024 * 1024)).encode_to_vec();
    let status = call_compressed(team.app.channel().await, create, &team.author.1, bomb).await;
    assert_error(
        &status,
        Code::ResourceExhausted,
        "REQUEST_TOO_LARGE",
        "a gzip bomb",
    );
    assert!(
        status.get_details_retry_info().is_none(),
        "it would fail the same way again"
    );

    let (status, reason) = post_raw_gzip(team.app.addr, create, &team.author.1, b"not gzip").await;
    assert_eq!(
        (status.as_deref(), reason.as_deref()),
        (Some("3"), Some("MALFORMED_REQUEST")),
        "INVALID_ARGUMENT MALFORMED_REQUEST"
    );
}

/// `call`, with the request gzip-compressed.
async fn call_compressed(
    channel: tonic::transport::Channel,
    path: &str,
    token: &str,
    payload: Vec<u8>,
) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel).send_compressed(CompressionEncoding::Gzip);
    grpc.ready().await.expect("ready");
    let request = authorized(payload, token);
    let path = http::uri::PathAndQuery::from_str(path).expect("a gRPC path");
    match grpc.unary(request, path, RawCodec).await {
        Ok(response) => panic!("{response:?}"),
        Err(status) => status,
    }
}

/// One gRPC message flagged as compressed, with `body` as its bytes, over plain HTTP/2; the
/// answer's `grpc-status` and its ErrorInfo reason.
async fn post_raw_gzip(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
    body: &[u8],
) -> (Option<String>, Option<String>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut client, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(connection);
    let request = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-encoding", "gzip")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .expect("request");
    let (response, mut send) = client.send_request(request, false).expect("send");
    let mut frame = vec![1u8];
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(body);
    send.send_data(frame.into(), true).expect("send body");
    let response = response.await.expect("response");
    let (head, mut body) = response.into_parts();
    let mut headers = head.headers;
    while let Some(data) = body.data().await {
        data.expect("data");
    }
    if let Some(trailers) = body.trailers().await.expect("trailers") {
        headers.extend(trailers);
    }
    let status = tonic::Status::from_header_map(&headers);
    let code = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let reason = status
        .as_ref()
        .and_then(|s| s.get_details_error_info())
        .map(|info| info.reason);
    (code, reason)
}

//! Every response carries `x-request-id`: the caller's when it sent a usable one, else a new one.

use tonic::Request;
use tonic_health::pb::HealthCheckRequest;

use crate::helpers::app::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn echoes_the_callers_request_id() {
    let app = TestApp::spawn().await;
    let mut health = app.health().await;
    let mut request = Request::new(HealthCheckRequest {
        service: String::new(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "trace-4711".parse().expect("metadata"));
    let response = health.check(request).await.expect("check");
    assert_eq!(
        response
            .metadata()
            .get("x-request-id")
            .expect("x-request-id"),
        "trace-4711"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn generates_a_request_id_when_none_or_an_unusable_one_is_sent() {
    let app = TestApp::spawn().await;
    let mut health = app.health().await;

    let response = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("check");
    let generated = response
        .metadata()
        .get("x-request-id")
        .expect("x-request-id");
    uuid::Uuid::parse_str(generated.to_str().expect("ascii")).expect("a generated UUID");

    let mut request = Request::new(HealthCheckRequest {
        service: String::new(),
    });
    let too_long = "x".repeat(300);
    request
        .metadata_mut()
        .insert("x-request-id", too_long.parse().expect("metadata"));
    let response = health.check(request).await.expect("check");
    let replaced = response
        .metadata()
        .get("x-request-id")
        .expect("x-request-id");
    uuid::Uuid::parse_str(replaced.to_str().expect("ascii")).expect("replaced by a UUID");

    // Errors carry it too (a trailers-only response).
    let status = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .expect_err("unknown service");
    assert!(
        status.metadata().get("x-request-id").is_some(),
        "{status:?}"
    );
    app.stop().await;
}

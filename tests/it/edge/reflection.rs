//! Reflection in both protocol versions lists the services and serves the descriptors grpcurl
//! needs to describe them and decode error details.

use prost::Message;
use tokio_stream::wrappers::ReceiverStream;
use tonic_reflection::pb::{v1, v1alpha};

use crate::helpers::app::TestApp;

/// Every Docket service in the protos, plus health and both reflection versions.
fn expected_services() -> Vec<&'static str> {
    let mut names = docket::grpc::pb::methods::SERVICES.to_vec();
    names.extend([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ]);
    names.sort_unstable();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn both_versions_list_the_services() {
    let app = TestApp::spawn().await;

    let alpha = ask_v1alpha(
        &app,
        v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
    )
    .await;
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        alpha
    else {
        panic!("expected a service list, got {alpha:?}");
    };
    let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, expected_services());

    let mut client = v1::server_reflection_client::ServerReflectionClient::new(app.channel().await);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("v1 reflection")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("v1 answer")
        .expect("one message");
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        response.message_response
    else {
        panic!("expected a service list");
    };
    let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, expected_services());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_docket_error_and_well_known_descriptors() {
    let app = TestApp::spawn().await;
    use v1alpha::server_reflection_request::MessageRequest;
    for (request, expected_file) in [
        (
            MessageRequest::FileContainingSymbol("docket.v1.ErrorReason".into()),
            "docket/v1/error_reason.proto",
        ),
        (
            MessageRequest::FileContainingSymbol("google.rpc.ErrorInfo".into()),
            "google/rpc/error_details.proto",
        ),
        (
            MessageRequest::FileContainingSymbol("google.rpc.BadRequest".into()),
            "google/rpc/error_details.proto",
        ),
        // error_details.proto imports it; grpcurl fetches imports by file name.
        (
            MessageRequest::FileByFilename("google/protobuf/duration.proto".into()),
            "google/protobuf/duration.proto",
        ),
    ] {
        let answer = ask_v1alpha(&app, request.clone()).await;
        let Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(
            files,
        )) = answer
        else {
            panic!("{request:?}: expected descriptors, got {answer:?}");
        };
        let names: Vec<String> = files
            .file_descriptor_proto
            .iter()
            .map(|bytes| {
                prost_types::FileDescriptorProto::decode(bytes.as_slice())
                    .expect("a file descriptor")
                    .name()
                    .to_owned()
            })
            .collect();
        assert!(
            names.iter().any(|n| n == expected_file),
            "{request:?}: got {names:?}"
        );
    }
    app.stop().await;
}

async fn ask_v1alpha(
    app: &TestApp,
    request: v1alpha::server_reflection_request::MessageRequest,
) -> Option<v1alpha::server_reflection_response::MessageResponse> {
    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(app.channel().await);
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    })
    .await
    .expect("queue request");
    drop(tx);
    let mut responses = client
        .server_reflection_info(ReceiverStream::new(rx))
        .await
        .expect("v1alpha reflection")
        .into_inner();
    responses
        .message()
        .await
        .expect("answer")
        .expect("one message")
        .message_response
}

//! Request ids kept or replaced, and every call held to its deadline (the client's or the server's).

use super::*;
use crate::grpc::call_log::code_name;

fn headers(value: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert(
        REQUEST_ID_HEADER,
        HeaderValue::from_bytes(value).expect("header"),
    );
    map
}

#[test]
fn keeps_a_usable_caller_id() {
    let id = RequestId::from_headers(&headers(b"req-42_abc")).expect("usable");
    assert_eq!(id.as_str(), "req-42_abc");
}

#[test]
fn replaces_unusable_ids() {
    assert!(RequestId::from_headers(&headers(b"has space")).is_none());
    assert!(RequestId::from_headers(&headers(&[b'a'; 129])).is_none());
    assert!(RequestId::from_headers(&HeaderMap::new()).is_none());
    let generated = RequestId::generate();
    assert!(uuid::Uuid::parse_str(generated.as_str()).is_ok());
}

/// A service that answers after `delay`, as a handler waiting on a hung database would.
fn slow(
    delay: Duration,
) -> impl Service<
    http::Request<()>,
    Response = http::Response<tonic::body::Body>,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    tower::service_fn(move |_request: http::Request<()>| async move {
        tokio::time::sleep(delay).await;
        Ok(http::Response::new(tonic::body::Body::default()))
    })
}

async fn call_with(timeout: Option<&str>, max_call: Duration) -> (Option<Code>, Duration) {
    let limits = CallLimits {
        max_call,
        max_header_bytes: 65536,
    };
    let streams = StreamLimits::new(crate::call::streams::StreamSizes {
        fetch_connections: 1,
        max_open: 1,
        stream_bytes: 65536,
        caller_bytes: 65536,
        total_bytes: 65536,
    });
    let mut service = RequestContextLayer::new(
        limits,
        streams,
        CallHooks {
            ready: Arc::new(|| true),
            wrote_events: Arc::new(|_| {}),
        },
        CallMetrics::new().expect("metrics"),
    )
    .layer(slow(Duration::from_secs(60)));
    let mut request = http::Request::builder().uri("/docket.v1.TaskService/GetTask");
    if let Some(timeout) = timeout {
        request = request.header("grpc-timeout", timeout);
    }
    let started = tokio::time::Instant::now();
    let response = service
        .call(request.body(()).expect("request"))
        .await
        .expect("infallible");
    (grpc_code(response.headers()), started.elapsed())
}

#[tokio::test(start_paused = true)]
async fn a_call_ends_at_the_clients_deadline_when_it_is_the_shorter() {
    let (code, took) = call_with(Some("1500m"), Duration::from_secs(10)).await;
    assert_eq!(code, Some(Code::DeadlineExceeded));
    assert_eq!(took, Duration::from_millis(1500));
}

#[tokio::test(start_paused = true)]
async fn a_call_ends_at_the_servers_bound_otherwise() {
    for timeout in [None, Some("1M"), Some("nonsense")] {
        let (code, took) = call_with(timeout, Duration::from_secs(10)).await;
        assert_eq!(code, Some(Code::Unavailable), "{timeout:?}");
        assert_eq!(took, Duration::from_secs(10), "{timeout:?}");
    }
}

#[test]
fn reads_grpc_timeout() {
    let timeout = |value: &str| {
        let mut map = HeaderMap::new();
        map.insert(
            "grpc-timeout",
            HeaderValue::from_str(value).expect("header"),
        );
        grpc_timeout(&map)
    };
    assert_eq!(timeout("2S"), Some(Duration::from_secs(2)));
    assert_eq!(timeout("1500m"), Some(Duration::from_millis(1500)));
    assert_eq!(timeout("3H"), Some(Duration::from_secs(3 * 3600)));
    assert_eq!(timeout("99999999n"), Some(Duration::from_nanos(99_999_999)));
    for bad in ["", "S", "123456789S", "10x", "-1S", "1.5S"] {
        assert_eq!(timeout(bad), None, "{bad:?}");
    }
    assert_eq!(grpc_timeout(&HeaderMap::new()), None);
}

#[test]
fn reads_grpc_status() {
    let mut map = HeaderMap::new();
    map.insert("grpc-status", HeaderValue::from_static("5"));
    assert_eq!(grpc_code(&map), Some(Code::NotFound));
    assert_eq!(code_name(Code::NotFound), "NOT_FOUND");
}

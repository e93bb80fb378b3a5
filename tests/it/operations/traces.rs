//! Traces, exported as a deployment would: a `docket` process with the standard `OTEL_*`
//! variables sends its spans over OTLP/gRPC to a small collector run by the test. A call's span
//! continues the caller's W3C `traceparent` and carries OpenTelemetry's RPC attributes and status,
//! its statements (or, batched, its wait for them) are child spans, a batch's statements are
//! children of a span linked to each call it served, and its log line carries the trace id.

use std::{net::SocketAddr, time::Duration};

use docket::grpc::pb::{
    self, task_service_client::TaskServiceClient, workspace_service_client::WorkspaceServiceClient,
};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value::Value,
    trace::v1::Span,
};
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use crate::{
    helpers::rpc::authorized,
    helpers::{app::channel, database::TestDb, process::DocketProcess, raw, seed},
};

/// An OTLP trace receiver that hands every span it gets to the test.
struct Collector(mpsc::UnboundedSender<Span>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let spans = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|resource| resource.scope_spans)
            .flat_map(|scope| scope.spans);
        for span in spans {
            let _ = self.0.send(span);
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

async fn collector() -> (SocketAddr, mpsc::UnboundedReceiver<Span>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the collector");
    let addr = listener.local_addr().expect("addr");
    let (spans, received) = mpsc::unbounded_channel();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Collector(spans)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    (addr, received)
}

/// GetWorkspace as a call of span `parent_span` in trace `trace_id` (a W3C `traceparent`).
async fn get_workspace_in_trace(
    docket: &DocketProcess,
    token: &str,
    trace_id: &str,
    parent_span: &str,
) {
    let request = in_trace(pb::GetWorkspaceRequest {}, token, trace_id, parent_span);
    WorkspaceServiceClient::new(channel(docket.addr).await)
        .get_workspace(request)
        .await
        .expect("GetWorkspace");
}

/// `message` with the token, as a call of span `parent_span` in trace `trace_id` (a W3C
/// `traceparent`).
fn in_trace<T>(message: T, token: &str, trace_id: &str, parent_span: &str) -> Request<T> {
    let mut request = authorized(message, token);
    let traceparent = format!("00-{trace_id}-{parent_span}-01");
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().expect("ascii"));
    request
}

/// CreateTask as a call in trace `trace_id`.
async fn create_task_in_trace(docket: &DocketProcess, token: &str, trace_id: &str) {
    let task = pb::CreateTaskRequest {
        title: "Traced".into(),
        ..Default::default()
    };
    let request = in_trace(task, token, trace_id, "00f067aa0ba902b7");
    TaskServiceClient::new(channel(docket.addr).await)
        .create_task(request)
        .await
        .expect("CreateTask");
}

/// Every span the collector has received so far, and the rest as they come.
struct Received {
    incoming: mpsc::UnboundedReceiver<Span>,
    seen: Vec<Span>,
    deadline: tokio::time::Instant,
}

impl Received {
    /// Waits until `find` finds what it looks for among the spans received.
    async fn until<T>(&mut self, what: &str, find: impl Fn(&[Span]) -> Option<T>) -> T {
        loop {
            if let Some(found) = find(&self.seen) {
                return found;
            }
            let span = tokio::time::timeout_at(self.deadline, self.incoming.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} by now: {:#?}", self.seen))
                .expect("the collector runs");
            self.seen.push(span);
        }
    }

    /// A span named `name` in trace `trace_id` and a child of it named `child`.
    async fn span_with_child(&mut self, trace_id: &str, name: &str, child: &str) -> (Span, Span) {
        self.until(&format!("{name} span with a {child} child"), |seen| {
            let ours = || seen.iter().filter(|s| hex(&s.trace_id) == trace_id);
            let parent = ours().find(|s| s.name == name)?;
            let found = ours().find(|s| s.name == child && s.parent_span_id == parent.span_id)?;
            Some((parent.clone(), found.clone()))
        })
        .await
    }
}

/// The span's attribute `key`, as text (strings and integers).
fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(text) => Some(text.clone()),
            Value::IntValue(number) => Some(number.to_string()),
            _ => None,
        })
}

/// The span's status code: 0 unset, 1 ok, 2 error.
fn status(span: &Span) -> i32 {
    span.status.as_ref().map_or(0, |status| status.code)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_calls_spans_continue_the_callers_trace_and_reach_the_collector() {
    let (collector_addr, received) = collector().await;
    let db = TestDb::migrated().await;
    let (_, token) = seed::workspace(&db, "acme").await;
    let endpoint = format!("http://{collector_addr}");
    let docket = DocketProcess::start(&[
        ("DATABASE_URL", &db.url()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ])
    .await;
    docket.wait_until_serving().await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    get_workspace_in_trace(&docket, &token, trace_id, caller_span).await;

    let mut received = Received {
        incoming: received,
        seen: Vec::new(),
        deadline: tokio::time::Instant::now() + Duration::from_secs(10),
    };
    let (call, statement) = received
        .span_with_child(
            trace_id,
            "docket.v1.WorkspaceService/GetWorkspace",
            "db.query",
        )
        .await;
    assert_eq!(
        hex(&call.parent_span_id),
        caller_span,
        "the caller's span is the parent"
    );
    assert!(statement.end_time_unix_nano >= statement.start_time_unix_nano);
    // OpenTelemetry's RPC conventions.
    for (key, value) in [
        ("rpc.system", "grpc"),
        ("rpc.service", "docket.v1.WorkspaceService"),
        ("rpc.method", "GetWorkspace"),
        ("rpc.grpc.status_code", "0"),
    ] {
        assert_eq!(
            attribute(&call, key).as_deref(),
            Some(value),
            "{key}: {call:#?}"
        );
    }
    assert_eq!(status(&call), 0, "an OK call's status is left unset");

    // A batched call's statement runs outside it: its own span covers the wait for the batch,
    // and the batch's span, whose child the statement is, links to it.
    let created_in = "1f0e3c5b9a8d7e6f5a4b3c2d1e0f9a8b";
    create_task_in_trace(&docket, &token, created_in).await;
    let (_, waited) = received
        .span_with_child(created_in, "docket.v1.TaskService/CreateTask", "db.batch")
        .await;
    received
        .until(
            "a db.batch.run linked to the call, with a db.query child",
            |seen| {
                let run = seen.iter().find(|s| {
                    s.name == "db.batch.run"
                        && s.links
                            .iter()
                            .any(|l| l.trace_id == waited.trace_id && l.span_id == waited.span_id)
                })?;
                seen.iter()
                    .find(|s| s.name == "db.query" && s.parent_span_id == run.span_id)
                    .cloned()
            },
        )
        .await;

    // A code that is the server's fault (here UNIMPLEMENTED) makes the span's status an error;
    // one that is the caller's (NOT_FOUND) does not.
    let unknown = raw::call(
        channel(docket.addr).await,
        "/docket.v1.TaskService/NoSuchMethod",
        Some(&token),
        Vec::new(),
    )
    .await
    .expect_err("no such method");
    assert_eq!(unknown.code(), tonic::Code::Unimplemented);
    let failed = received
        .until("the unimplemented call's span", |seen| {
            seen.iter()
                .find(|s| s.name == "docket.v1.TaskService/NoSuchMethod")
                .cloned()
        })
        .await;
    assert_eq!(status(&failed), 2, "{failed:#?}");
    assert_eq!(
        attribute(&failed, "rpc.grpc.status_code").as_deref(),
        Some("12")
    );

    let logged = docket
        .logs()
        .into_iter()
        .any(|line| line.contains("rpc finished") && line.contains(trace_id));
    assert!(
        logged,
        "the call's log line carries its trace id: {:?}",
        docket.logs()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_exporter_log_lines_still_carry_the_callers_trace_id() {
    let db = TestDb::migrated().await;
    let (_, token) = seed::workspace(&db, "acme").await;
    let docket = DocketProcess::start(&[("DATABASE_URL", &db.url())]).await;
    docket.wait_until_serving().await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    get_workspace_in_trace(&docket, &token, trace_id, "b7ad6b7169203331").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !docket
        .logs()
        .iter()
        .any(|line| line.contains("rpc finished") && line.contains(trace_id))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no log line with the trace id: {:?}",
            docket.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

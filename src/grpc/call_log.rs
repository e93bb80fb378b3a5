//! The end of a call: its one log line, its span's status and its metrics (started, handled by
//! code, latency, in flight, by go-grpc-prometheus' names), written when the response body ends,
//! because a gRPC status normally travels in the trailers after the last message; a stream the
//! client abandons counts as CANCELLED. Written here rather than with a metrics layer crate
//! (tonic_prometheus_layer, OpenTelemetry's SDK): the log line, the span and the counters must
//! agree on one outcome, read at one point, the end of the body.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use http::HeaderMap;
use http_body::{Body, Frame};
use prometheus::IntGauge;
use tonic::Code;
use tracing::Span;

use super::pb;
use crate::{connections::CallOnConnection, metrics::CallMetrics};

/// A call counted in `docket_grpc_in_flight` until dropped, which it is when the call is logged
/// or, if it never gets that far (the client left before an answer), when its future is.
pub struct InFlight {
    labels: [&'static str; 3],
    metrics: CallMetrics,
    /// This method's gauge, looked up once for the increment and the decrement.
    gauge: IntGauge,
}

impl InFlight {
    pub fn start(metrics: &CallMetrics, path: &str) -> Self {
        let labels = call_labels(path);
        metrics.started.with_label_values(&labels).inc();
        let gauge = metrics.in_flight.with_label_values(&labels);
        gauge.inc();
        Self {
            labels,
            metrics: metrics.clone(),
            gauge,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// `[grpc_type, grpc_service, grpc_method]` of a call, from its path when it is one this server
/// serves, else all `unknown`, so that requests for made-up paths cannot grow the metrics
/// without bound.
fn call_labels(path: &str) -> [&'static str; 3] {
    const OTHERS: &[(&str, &str)] = &[
        ("/grpc.health.v1.Health/Check", "unary"),
        ("/grpc.health.v1.Health/Watch", "server_stream"),
        (
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "bidi_stream",
        ),
        (
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            "bidi_stream",
        ),
    ];
    // Docket's own methods are unary unless the protos say they stream; that is looked up only
    // for the method found, not for every one passed on the way.
    let served = pb::methods::METHOD_SCOPES
        .iter()
        .map(|(method, _)| *method)
        .find(|method| *method == path)
        .map(|method| {
            let streams = pb::methods::STREAMING_METHODS.contains(&method);
            (method, if streams { "server_stream" } else { "unary" })
        });
    served
        .or_else(|| OTHERS.iter().copied().find(|(method, _)| *method == path))
        .and_then(|(method, kind)| {
            let (service, name) = method.strip_prefix('/')?.split_once('/')?;
            Some([kind, service, name])
        })
        .unwrap_or(["unknown"; 3])
}

/// What is needed to write the call's log line and metrics once its outcome is known.
pub struct CallLog {
    pub span: Span,
    pub started: Instant,
    pub header_code: Option<Code>,
    pub in_flight: InFlight,
    /// Counts the call as running on its connection until it is logged.
    pub on_connection: Option<CallOnConnection>,
}

impl CallLog {
    fn write(self, code: Code) {
        let elapsed = self.started.elapsed();
        let duration_ms = elapsed.as_micros() as f64 / 1000.0;
        let code_name = code_name(code);
        let InFlight {
            labels, metrics, ..
        } = &self.in_flight;
        let [kind, service, method] = *labels;
        metrics
            .handled
            .with_label_values(&[kind, service, method, go_code_name(code)])
            .inc();
        metrics
            .handling
            .with_label_values(labels)
            .observe(elapsed.as_secs_f64());
        if crate::telemetry::exporting() {
            // OpenTelemetry's RPC conventions: the code as a number, and an error status for the
            // codes that are the server's fault (a caller's mistake is not a server error).
            self.span.record("rpc.grpc.status_code", code as i64);
            if matches!(
                code,
                Code::Unknown
                    | Code::DeadlineExceeded
                    | Code::Unimplemented
                    | Code::Internal
                    | Code::Unavailable
                    | Code::DataLoss
            ) {
                self.span.record("otel.status_code", "ERROR");
            }
        }
        let _entered = self.span.enter();
        match code {
            Code::Internal | Code::Unknown | Code::DataLoss | Code::Unavailable => {
                tracing::warn!(code = code_name, duration_ms, "rpc finished")
            }
            _ => tracing::info!(code = code_name, duration_ms, "rpc finished"),
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body that logs the call when it ends (or is dropped unfinished).
    pub struct LoggedBody<B> {
        #[pin]
        inner: B,
        log: Option<CallLog>,
    }

    impl<B> PinnedDrop for LoggedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(log) = this.project().log.take() {
                let code = log.header_code.unwrap_or(Code::Cancelled);
                log.write(code);
            }
        }
    }
}

impl<B: Body> Body for LoggedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        // Some(code) once the call has ended; the code is None when only the headers had it.
        let ended = match &polled {
            Poll::Ready(Some(Ok(frame))) => frame.trailers_ref().map(grpc_code),
            Poll::Ready(Some(Err(_))) => Some(Some(Code::Internal)),
            Poll::Ready(None) => Some(None),
            Poll::Pending => None,
        };
        if let Some(code) = ended
            && let Some(log) = this.log.take()
        {
            let code = code.or(log.header_code).unwrap_or(Code::Unknown);
            log.write(code);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

pub fn grpc_code(headers: &HeaderMap) -> Option<Code> {
    let value = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .parse::<i32>()
        .ok()?;
    Some(Code::from_i32(value))
}

/// The canonical upper-case name of a gRPC code, as grpcurl and the gRPC docs print it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// A code as Go's `codes.Code.String()` names it, which go-grpc-prometheus puts in `grpc_code`
/// and stock gRPC alerts match on (`Canceled`, `Unavailable`, ...).
pub fn go_code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

impl<B> LoggedBody<B> {
    /// `inner`, logged and counted by `log` when it ends.
    pub fn new(inner: B, log: CallLog) -> Self {
        Self {
            inner,
            log: Some(log),
        }
    }
}

//! A tower layer in front of every gRPC service (Docket's, health, reflection) that gives each call
//! a request id, and one log line and its metrics when the call ends (`call_log`).
//!
//! - The id is the caller's `x-request-id` when it sent a usable one, else a new UUID. It is put in
//!   the request's extensions as [`RequestId`], echoed in the response headers, and recorded on the
//!   call's tracing span, so every event logged while handling the call carries it.
//! - The log line and metrics are written when the response body ends (`call_log`); the call
//!   counts as in flight from its headers until then.
//! - The call's span continues the caller's W3C `traceparent` and carries the `trace_id`
//!   (`telemetry`), so every log line of the call has it.
//! - The span has an empty `actor` field; authentication records it with
//!   `tracing::Span::current().record("actor", ...)` once it knows who is calling.
//! - An error tonic raised itself on a Docket path gets Docket's error model
//!   (`bare_errors::give_error_model`), so every Docket RPC's error carries an ErrorInfo.
//! - Every call runs in a `call::CallContext`, with the server's stream limits and a deadline: the client's `grpc-timeout` when it sent one
//!   shorter than the server's maximum, else that maximum. A call still running then is dropped
//!   (any transaction it had open rolls back, any connection it held is closed) and answers
//!   DEADLINE_EXCEEDED for the client's deadline, or UNAVAILABLE `DATABASE_UNAVAILABLE` with
//!   RetryInfo for the server's, since what a call waits that long for is the database. For a
//!   stream the deadline covers opening it; each page it fetches gets as long again.

use std::{
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderValue};
use http_body::Body;
use tonic::{Code, Status};
use tower::{Layer, Service};
use tracing::{Instrument, field::Empty};

use super::{
    bare_errors::give_error_model,
    call_log::{CallLog, InFlight, LoggedBody, grpc_code},
    error::ApiError,
    pb::ErrorReason,
};
use crate::{
    call::{CallContext, TimedOut, streams::StreamLimits},
    connections::track_call,
    metrics::CallMetrics,
    telemetry,
};

/// The header carrying the request id, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest caller-supplied request id that is echoed rather than replaced.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The id of the call being served, available from request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let value = headers.get(REQUEST_ID_HEADER)?;
        let usable = !value.is_empty()
            && value.len() <= MAX_REQUEST_ID_LEN
            && value.as_bytes().iter().all(|b| b.is_ascii_graphic());
        usable.then(|| Self(value.clone()))
    }

    #[allow(
        clippy::expect_used,
        reason = "a UUID's text is always a valid header value"
    )]
    fn generate() -> Self {
        let id = uuid::Uuid::new_v4().to_string();
        Self(HeaderValue::from_str(&id).expect("a UUID is a valid header value"))
    }

    pub fn as_str(&self) -> &str {
        // Only visible ASCII gets in (checked above, or a UUID).
        self.0.to_str().unwrap_or_default()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the server wires into every call: whether Docket's calls may be served yet (the database
/// is prepared), and who hears which workspaces a call wrote events in, once it ended (its
/// transaction committed).
#[derive(Clone)]
pub struct CallHooks {
    pub ready: Arc<dyn Fn() -> bool + Send + Sync>,
    pub wrote_events: Arc<dyn Fn(Vec<uuid::Uuid>) + Send + Sync>,
}

impl std::fmt::Debug for CallHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallHooks").finish_non_exhaustive()
    }
}

/// What every call is held to.
#[derive(Debug, Clone, Copy)]
pub struct CallLimits {
    /// The longest any call may run (`DOCKET_CALL_TIMEOUT`).
    pub max_call: Duration,
    /// The most header bytes a call may carry (`DOCKET_MAX_HEADER_BYTES`).
    pub max_header_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct RequestContextLayer {
    limits: CallLimits,
    streams: Arc<StreamLimits>,
    hooks: CallHooks,
    calls: CallMetrics,
}

impl RequestContextLayer {
    /// Until `hooks.ready`, Docket calls are refused UNAVAILABLE (health and reflection
    /// answer). Streams the calls open share `streams`; calls that wrote events are told to
    /// `hooks.wrote_events`; every call is counted in `calls`.
    pub fn new(
        limits: CallLimits,
        streams: Arc<StreamLimits>,
        hooks: CallHooks,
        calls: CallMetrics,
    ) -> Self {
        Self {
            limits,
            streams,
            hooks,
            calls,
        }
    }
}

impl<S> Layer<S> for RequestContextLayer {
    type Service = RequestContextService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestContextService {
            inner,
            limits: self.limits,
            streams: self.streams.clone(),
            hooks: self.hooks.clone(),
            calls: self.calls.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RequestContextService<S> {
    inner: S,
    limits: CallLimits,
    streams: Arc<StreamLimits>,
    hooks: CallHooks,
    calls: CallMetrics,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for RequestContextService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Default,
{
    type Response = http::Response<LoggedBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let started = Instant::now();
        let docket = request.uri().path().starts_with("/docket.v1.");
        let request_id =
            RequestId::from_headers(request.headers()).unwrap_or_else(RequestId::generate);
        let span = call_span(&request, &request_id);
        request.extensions_mut().insert(request_id.clone());
        let max_call = self.limits.max_call;
        let client_timeout = grpc_timeout(request.headers()).filter(|t| *t < max_call);
        let allowed = client_timeout.unwrap_or(max_call);
        let refusal = self.refusal(request.headers(), docket);
        let on_connection = track_call(request.extensions());
        let in_flight = InFlight::start(&self.calls, request.uri().path());
        let streams = self.streams.clone();
        let wrote_events = self.hooks.wrote_events.clone();

        // The clone that was polled ready is the one that must be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + allowed;
            let called = async {
                if let Some(error) = refusal {
                    let _entered = span.enter();
                    return Ok(Status::from(error).into_http());
                }
                let _handling = streams.handling_call();
                inner.call(request).instrument(span.clone()).await
            };
            let mut response = match CallContext::serve(deadline, streams.clone(), called).await {
                Ok((response, ended)) => {
                    if !ended.wrote_events.is_empty() {
                        // Committed by now: wake the watchers.
                        wrote_events(ended.wrote_events);
                    }
                    response?
                }
                Err(timed_out) => {
                    let _entered = span.enter();
                    Status::from(past_deadline(client_timeout, timed_out)).into_http()
                }
            };
            if docket {
                give_error_model(response.headers_mut());
            }
            response
                .headers_mut()
                .insert(REQUEST_ID_HEADER, request_id.0);
            // A "trailers-only" response (the usual shape of an error) has its status in headers.
            let header_code = grpc_code(response.headers());
            Ok(response.map(|body| {
                LoggedBody::new(
                    body,
                    CallLog {
                        span,
                        started,
                        header_code,
                        in_flight,
                        on_connection,
                    },
                )
            }))
        })
    }
}

impl<S> RequestContextService<S> {
    /// Why the call is answered without being served, if it is: headers over the limit, or a
    /// Docket call before the database is ready.
    fn refusal(&self, headers: &HeaderMap, docket: bool) -> Option<ApiError> {
        let header_bytes = header_bytes(headers);
        if header_bytes > self.limits.max_header_bytes {
            Some(ApiError::rejected(
                Code::ResourceExhausted,
                ErrorReason::HeadersTooLarge,
                format!(
                    "the call's metadata is {header_bytes} bytes; the server accepts at most {}",
                    self.limits.max_header_bytes
                ),
            ))
        } else if docket && !(self.hooks.ready)() {
            Some(ApiError::Unavailable(
                "the database is not ready yet".into(),
            ))
        } else {
            None
        }
    }
}

/// The call's span: its method and request id, continuing the caller's trace.
fn call_span<B>(request: &http::Request<B>, request_id: &RequestId) -> tracing::Span {
    let path = request.uri().path();
    let span = tracing::info_span!(
        "rpc",
        method = %path,
        request_id = %request_id,
        actor = Empty,
        trace_id = Empty,
        otel.name = Empty,
        otel.kind = Empty,
        otel.status_code = Empty,
        rpc.system = Empty,
        rpc.service = Empty,
        rpc.method = Empty,
        rpc.grpc.status_code = Empty,
    );
    if telemetry::exporting() {
        // For the exported span only (OpenTelemetry's RPC conventions): left empty, they stay
        // out of every log line. The status is recorded when the call ends (`call_log`).
        span.record("otel.name", path.trim_start_matches('/'));
        span.record("otel.kind", "server");
        span.record("rpc.system", "grpc");
        if let Some((service, method)) = path.trim_start_matches('/').split_once('/') {
            span.record("rpc.service", service);
            span.record("rpc.method", method);
        }
    }
    if let Some(trace_id) = telemetry::continue_trace(&span, request.headers()) {
        span.record("trace_id", trace_id);
    }
    span
}

/// A call still running at its deadline: the client's, or the server's (then what it waited for
/// is the database).
fn past_deadline(client_timeout: Option<Duration>, timed_out: TimedOut) -> ApiError {
    match client_timeout {
        Some(allowed) => ApiError::rejected(
            Code::DeadlineExceeded,
            ErrorReason::DeadlineExceeded,
            format!("the call did not end within its grpc-timeout ({allowed:?})"),
        ),
        None => ApiError::Unavailable(Box::new(timed_out)),
    }
}

/// The size of the request's headers as HTTP/2 counts it against SETTINGS_MAX_HEADER_LIST_SIZE:
/// name and value bytes plus 32 for each field.
fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum()
}

/// The client's deadline for the call, from the `grpc-timeout` header: at most 8 digits and a unit
/// (H, M, S, m, u, n), as the gRPC over HTTP/2 protocol defines it. Unreadable means none.
fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;

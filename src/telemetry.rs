//! Log output and traces: one subscriber for the whole process, human-readable or JSON lines,
//! errors shown with their causes on one line, and OpenTelemetry spans exported over OTLP when the
//! standard `OTEL_*` variables ask for it.
//!
//! Lines are written to stdout by a thread of their own, through a buffer flushed whenever no
//! more lines are waiting: a call's log line costs it no write system call (the per-call line
//! was 15% of the server's CPU on GetTask when each one was its own write). Past 128,000 lines
//! waiting, callers wait rather than lose lines.
//!
//! Traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, and
//! neither `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`, each call's span (continuing
//! the caller's W3C `traceparent`, see `grpc::request_context`) and its statements' spans
//! (`db::pool::query_timer`) are exported over OTLP/gRPC in batches. The exporter reads the other
//! `OTEL_EXPORTER_OTLP_*` variables, the SDK `OTEL_TRACES_SAMPLER*` and `OTEL_BSP_*`, and the
//! service is `OTEL_SERVICE_NAME` or `docket`. Every log line of a call carries its `trace_id`.

use std::{
    io::{BufWriter, IsTerminal},
    sync::atomic::{AtomicBool, Ordering},
};

use opentelemetry::{
    propagation::{Extractor, TextMapPropagator},
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, Layer, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{LogConfig, LogFormat};

/// Whether spans are exported: statement spans are made only then (`db::pool::query_timer`).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Keeps the log writer and the span exporter running; dropping it writes the lines still
/// waiting and exports the spans still batched.
#[must_use = "dropping the guard stops the log writer and the span exporter"]
pub struct Telemetry {
    _log: WorkerGuard,
    traces: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("docket: exporting the last spans failed: {error}");
        }
    }
}

/// Installs the global subscriber. An invalid filter falls back to `info` with a warning rather
/// than refusing to start; so does an OTLP exporter that cannot be built (logged, no traces).
/// Calling it twice (tests) keeps the first subscriber.
pub fn init(config: &LogConfig) -> Telemetry {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("docket-log")
        .finish(BufWriter::new(std::io::stdout()));
    let (filter, bad_filter) = match EnvFilter::try_new(&config.log_filter) {
        Ok(filter) => (filter, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let (traces, trace_error) = match tracer_provider() {
        Ok(provider) => (provider, None),
        Err(error) => (None, Some(error)),
    };
    let otel = traces.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("docket"))
            .with_filter(EnvFilter::new("docket=debug,info"))
    });
    let logs = match config.log_format {
        LogFormat::Pretty => fmt::layer()
            .with_writer(writer)
            .with_target(false)
            .with_ansi(std::io::stdout().is_terminal())
            .with_filter(filter)
            .boxed(),
        // json-subscriber writes the same lines as tracing-subscriber's JSON format, keeping each
        // span's fields as JSON values where that one keeps a string it parses again for every
        // field recorded later and every line: a tenth of the server's time per CreateTask.
        LogFormat::Json => json_subscriber::fmt::layer()
            .with_writer(writer)
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed(),
    };
    let installed = tracing_subscriber::registry()
        .with(logs)
        .with(otel)
        .try_init();
    if installed.is_ok() {
        EXPORTING.store(traces.is_some(), Ordering::Relaxed);
        if let Some(e) = bad_filter {
            tracing::warn!(filter = %config.log_filter, error = %e, "invalid DOCKET_LOG, using info");
        }
        if let Some(error) = trace_error {
            tracing::warn!(%error, "cannot export traces: OTLP exporter not built");
        }
    }
    Telemetry {
        _log: guard,
        traces: installed.ok().and(traces),
    }
}

/// The OTLP span pipeline the `OTEL_*` variables ask for, or none.
fn tracer_provider() -> Result<Option<SdkTracerProvider>, opentelemetry_otlp::ExporterBuildError> {
    let set = |name: &str| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
    let is = |name: &str, value: &str| {
        std::env::var(name).is_ok_and(|v| v.trim().eq_ignore_ascii_case(value))
    };
    let wanted = (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        && !is("OTEL_SDK_DISABLED", "true")
        && !is("OTEL_TRACES_EXPORTER", "none");
    if !wanted {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()?;
    let resource = if set("OTEL_SERVICE_NAME") {
        Resource::builder().build()
    } else {
        Resource::builder().with_service_name("docket").build()
    };
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build(),
    ))
}

/// Whether spans are being exported.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Makes `span` continue the trace of the caller's `traceparent` header, if it sent a valid one,
/// and returns the span's trace id: the caller's, or a new one when spans are exported.
pub fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) -> Option<String> {
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    let remote = parent.span().span_context().clone();
    if exporting() {
        // Only fails without an OpenTelemetry layer, which exporting rules out.
        let _ = span.set_parent(parent);
        let context = span.context();
        let own = context.span().span_context().clone();
        if own.is_valid() {
            return Some(own.trace_id().to_string());
        }
    }
    remote.is_valid().then(|| remote.trace_id().to_string())
}

/// Links `span` to each of `served`: a statement run once for several calls (a batch) is a
/// child of none of them, so OpenTelemetry's answer is a span of its own, linked to each.
pub fn link_to(span: &tracing::Span, served: &[tracing::Span]) {
    for caller in served {
        let context = caller.context().span().span_context().clone();
        if context.is_valid() {
            span.add_link(context);
        }
    }
}

/// gRPC metadata as the propagator reads it.
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Displays an error with its whole source chain on one line.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

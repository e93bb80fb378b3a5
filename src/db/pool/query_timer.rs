//! How long statements take, as the server sees them: every pooled connection times its own
//! statements (diesel's instrumentation hook) into one process-wide histogram, which `metrics`
//! exposes as `docket_db_query_duration_seconds`, and, when traces are exported, gives each one a
//! span, a child of the call's.

use std::{collections::VecDeque, sync::LazyLock, time::Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use prometheus::{Histogram, HistogramOpts};

use crate::telemetry;

/// Latency buckets, in seconds: from a cached read (half a millisecond) to the call timeout.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Every statement's time on its connection, in all servers of the process.
pub static QUERY_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    let opts = HistogramOpts::new(
        "docket_db_query_duration_seconds",
        "Time from sending a statement to its answer, per statement.",
    )
    .buckets(LATENCY_BUCKETS.to_vec());
    #[allow(
        clippy::expect_used,
        reason = "fixed name, help and ascending buckets: only a programming error fails this"
    )]
    Histogram::with_opts(opts).expect("a valid histogram")
});

/// Most characters of a statement's text a span carries.
const MAX_STATEMENT_CHARS: usize = 500;

/// Times each statement of one connection. Pipelined statements finish in the order they
/// started, so a queue of start times pairs them.
#[derive(Default)]
pub struct QueryTimer {
    started: VecDeque<(Instant, Option<tracing::Span>)>,
}

impl Instrumentation for QueryTimer {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                // The current span is the call's: the query runs inside its future.
                let span = telemetry::exporting().then(|| {
                    let text: String = query
                        .to_string()
                        .chars()
                        .take(MAX_STATEMENT_CHARS)
                        .collect();
                    tracing::debug_span!(
                        "db.query",
                        otel.kind = "client",
                        db.system = "postgresql",
                        db.query.text = %text,
                    )
                });
                self.started.push_back((Instant::now(), span));
            }
            InstrumentationEvent::FinishQuery { .. } => {
                // Dropping the span ends it.
                if let Some((started, _span)) = self.started.pop_front() {
                    QUERY_SECONDS.observe(started.elapsed().as_secs_f64());
                }
            }
            _ => {}
        }
    }
}

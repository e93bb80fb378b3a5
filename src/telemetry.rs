//! Log output: one subscriber for the whole process, human-readable or JSON lines, and errors
//! shown with their causes on one line.
//!
//! Lines are written to stdout by a thread of their own, through a buffer flushed whenever no
//! more lines are waiting: a call's log line costs it no write system call (the per-call line
//! was 15% of the server's CPU on GetTask when each one was its own write). Past 128,000 lines
//! waiting, callers wait rather than lose lines.

use std::io::{BufWriter, IsTerminal};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};

use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber. An invalid filter falls back to `info` with a warning rather
/// than refusing to start. Calling it twice (tests) keeps the first subscriber. Lines still
/// waiting are written when the returned guard is dropped: keep it until the process ends.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(config: &LogConfig) -> WorkerGuard {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("docket-log")
        .finish(BufWriter::new(std::io::stdout()));
    let (filter, bad_filter) = match EnvFilter::try_new(&config.log_filter) {
        Ok(filter) => (filter, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let registry = tracing_subscriber::registry().with(filter);
    let installed = match config.log_format {
        LogFormat::Pretty => registry
            .with(
                fmt::layer()
                    .with_writer(writer)
                    .with_target(false)
                    .with_ansi(std::io::stdout().is_terminal()),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .with_writer(writer)
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
    };
    if let (Ok(()), Some(e)) = (installed, bad_filter) {
        tracing::warn!(filter = %config.log_filter, error = %e, "invalid DOCKET_LOG, using info");
    }
    guard
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

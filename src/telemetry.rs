//! Log output: one subscriber for the whole process, human-readable or JSON lines, and errors
//! shown with their causes on one line.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber. An invalid filter falls back to `info` with a warning rather
/// than refusing to start. Calling it twice (tests) keeps the first subscriber.
pub fn init(config: &LogConfig) {
    let (filter, bad_filter) = match EnvFilter::try_new(&config.log_filter) {
        Ok(filter) => (filter, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let registry = tracing_subscriber::registry().with(filter);
    let installed = match config.log_format {
        LogFormat::Pretty => registry
            .with(
                fmt::layer()
                    .with_target(false)
                    .with_ansi(std::io::stdout().is_terminal()),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
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

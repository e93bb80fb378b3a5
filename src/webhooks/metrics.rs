//! What the delivery workers record: attempts by result, the lag from an event to its delivery,
//! and subscriptions paused as FAILING.

use chrono::{DateTime, Utc};
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};

use super::send::Outcome;

#[derive(Clone)]
pub struct WebhookMetrics {
    /// Attempts by result: `success` (2xx), `http_error` (another status), `no_answer`.
    pub attempts: IntCounterVec,
    /// From an event's commit to its delivery (a 2xx), on the first attempt or a later one.
    pub lag: Histogram,
    /// Subscriptions this server paused as FAILING.
    pub failing: IntCounter,
}

impl WebhookMetrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        Ok(Self {
            attempts: IntCounterVec::new(
                Opts::new(
                    "docket_webhook_attempts_total",
                    "Webhook deliveries this server attempted, by result (success, http_error, \
                     no_answer).",
                ),
                &["result"],
            )?,
            lag: Histogram::with_opts(
                HistogramOpts::new(
                    "docket_webhook_lag_seconds",
                    "From an event's commit to its successful delivery by this server.",
                )
                .buckets(vec![
                    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 600.0, 3600.0,
                ]),
            )?,
            failing: IntCounter::new(
                "docket_webhooks_failing_total",
                "Webhook subscriptions this server paused as FAILING after their retry period.",
            )?,
        })
    }

    pub fn register(&self, registry: &Registry) -> Result<(), prometheus::Error> {
        registry.register(Box::new(self.attempts.clone()))?;
        registry.register(Box::new(self.lag.clone()))?;
        registry.register(Box::new(self.failing.clone()))
    }

    /// One attempt, by how it went.
    pub fn attempt(&self, outcome: &Outcome) {
        let result = match outcome.status {
            _ if outcome.succeeded() => "success",
            Some(_) => "http_error",
            None => "no_answer",
        };
        self.attempts.with_label_values(&[result]).inc();
    }

    /// An event that happened `at` delivered `now`.
    pub fn delivered(&self, at: DateTime<Utc>, now: DateTime<Utc>) {
        self.lag
            .observe((now - at).to_std().unwrap_or_default().as_secs_f64());
    }
}

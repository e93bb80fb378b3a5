//! Prometheus metrics, served on a port of their own (`DOCKET_METRICS_LISTEN`), never on the gRPC
//! port. Each server has its own registry (tests run several in one process): calls started,
//! handled by code, their latency and how many are in flight, by go-grpc-prometheus' names
//! (`grpc::call_log`), the build, auth cache hits and misses (`auth`), and, read when scraped, the
//! pool, the open streams and the rows they sent, and how current the watch hub is; the timers
//! settled and how late (`timers`).
//! Query latency is the one process-wide series: every pooled connection times its statements
//! (`db::pool::query_timer`). The exposition format is the `prometheus` crate's.

use std::{convert::Infallible, sync::Arc, time::Duration};

use http_body_util::Full;
use hyper::{Request, Response, StatusCode, body::Bytes, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
    core::{Collector, Desc},
    proto::MetricFamily,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::sync::CancellationToken;

use crate::call::streams::StreamLimits;
use crate::db::{
    PgPool,
    pool::query_timer::{LATENCY_BUCKETS, QUERY_SECONDS},
};
use crate::events::watch::Hub;

/// Scrapes served at once; more wait. Prometheus scrapes one at a time.
const MAX_SCRAPES: usize = 4;
/// The longest a scrape connection may take, reading included.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

/// One server's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub calls: CallMetrics,
    pub auth_cache: IntCounterVec,
    pub timers: TimerMetrics,
    pub webhooks: crate::webhooks::metrics::WebhookMetrics,
}

/// What the timer worker (`crate::timers`) records of the timers it settles.
#[derive(Clone)]
pub struct TimerMetrics {
    /// Timers settled by this server, by action and state (FIRED, SKIPPED, FAILED).
    pub settled: IntCounterVec,
    /// From a timer's `fire_at` to its settling, by action.
    pub lateness: HistogramVec,
    /// Looks for due timers this server made.
    pub looks: IntCounter,
    /// Occurrences of recurring templates this server made, or found missed and left by their
    /// catch-up policy (`result`: made, missed).
    pub occurrences: IntCounterVec,
}

impl TimerMetrics {
    fn new() -> Result<Self, prometheus::Error> {
        Ok(Self {
            settled: IntCounterVec::new(
                Opts::new(
                    "docket_timers_settled_total",
                    "Timers (scheduled actions) this server settled, by action and state.",
                ),
                &["action", "state"],
            )?,
            lateness: HistogramVec::new(
                HistogramOpts::new(
                    "docket_timer_lateness_seconds",
                    "From when a timer was due to when this server settled it, by action.",
                )
                .buckets(vec![
                    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
                ]),
                &["action"],
            )?,
            looks: IntCounter::new(
                "docket_timer_looks_total",
                "Looks for due timers this server made (one every poll interval, more while a \
                 backlog is worked through).",
            )?,
            occurrences: IntCounterVec::new(
                Opts::new(
                    "docket_occurrences_total",
                    "Occurrences of recurring templates this server made (result=made), or found \
                     missed and left by their catch-up policy (result=missed).",
                ),
                &["result"],
            )?,
        })
    }

    fn register(&self, registry: &Registry) -> Result<(), prometheus::Error> {
        registry.register(Box::new(self.settled.clone()))?;
        registry.register(Box::new(self.lateness.clone()))?;
        registry.register(Box::new(self.looks.clone()))?;
        registry.register(Box::new(self.occurrences.clone()))
    }
}

/// What the call layer records for every call, named and labelled as go-grpc-prometheus names
/// them (`grpc_server_*`, labels `grpc_type`, `grpc_service`, `grpc_method`, `grpc_code` with
/// Go's code names), so that stock gRPC dashboards and alerts work unchanged.
#[derive(Clone)]
pub struct CallMetrics {
    pub started: IntCounterVec,
    pub handled: IntCounterVec,
    pub handling: HistogramVec,
    pub in_flight: IntGaugeVec,
}

impl std::fmt::Debug for CallMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallMetrics")
    }
}

const CALL_LABELS: &[&str] = &["grpc_type", "grpc_service", "grpc_method"];

impl CallMetrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        Ok(Self {
            started: IntCounterVec::new(
                Opts::new("grpc_server_started_total", "Calls started on the server."),
                CALL_LABELS,
            )?,
            handled: IntCounterVec::new(
                Opts::new(
                    "grpc_server_handled_total",
                    "Calls completed on the server, whatever their status code.",
                ),
                &["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
            )?,
            handling: HistogramVec::new(
                HistogramOpts::new(
                    "grpc_server_handling_seconds",
                    "Time from a call's headers to its status (for a stream, until its last \
                     message).",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                CALL_LABELS,
            )?,
            in_flight: IntGaugeVec::new(
                Opts::new("docket_grpc_in_flight", "Calls running now."),
                CALL_LABELS,
            )?,
        })
    }

    fn register(&self, registry: &Registry) -> Result<(), prometheus::Error> {
        registry.register(Box::new(self.started.clone()))?;
        registry.register(Box::new(self.handled.clone()))?;
        registry.register(Box::new(self.handling.clone()))?;
        registry.register(Box::new(self.in_flight.clone()))
    }
}

/// `docket_build_info{version, revision} 1`: which build a server runs, to join on.
fn build_info() -> Result<IntGaugeVec, prometheus::Error> {
    let info = IntGaugeVec::new(
        Opts::new(
            "docket_build_info",
            "The version and git revision of this build.",
        ),
        &["version", "revision"],
    )?;
    info.with_label_values(&[env!("CARGO_PKG_VERSION"), env!("DOCKET_GIT_REVISION")])
        .set(1);
    Ok(info)
}

impl Metrics {
    /// A registry with the call, auth, pool, stream, query and process metrics of one server.
    pub fn new(pool: PgPool, streams: Arc<StreamLimits>) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let calls = CallMetrics::new()?;
        let auth_cache = IntCounterVec::new(
            Opts::new(
                "docket_auth_cache_lookups_total",
                "Credential lookups by cache (api_token, user) and result (hit, miss).",
            ),
            &["cache", "result"],
        )?;
        calls.register(&registry)?;
        let timers = TimerMetrics::new()?;
        timers.register(&registry)?;
        let webhooks = crate::webhooks::metrics::WebhookMetrics::new()?;
        webhooks.register(&registry)?;
        registry.register(Box::new(build_info()?))?;
        registry.register(Box::new(auth_cache.clone()))?;
        registry.register(Box::new(QUERY_SECONDS.clone()))?;
        registry.register(Box::new(ServerState::new(pool, streams)?))?;
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Self {
            registry,
            calls,
            auth_cache,
            timers,
            webhooks,
        })
    }

    /// The exposition text of every metric, as a scrape gets it.
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        match TextEncoder::new().encode(&self.registry.gather(), &mut text) {
            Ok(()) => String::from_utf8_lossy(&text).into_owned(),
            Err(error) => {
                tracing::error!(%error, "cannot encode metrics");
                String::new()
            }
        }
    }
}

impl Metrics {
    /// Adds the watch hub's gauge, once the hub exists (after the registry: the server builds
    /// its metrics before it starts the hub).
    pub fn follow_hub(&self, hub: Hub) -> Result<(), prometheus::Error> {
        let read_at = IntGauge::new(
            "docket_watch_read_timestamp_seconds",
            "When every feed the watch hub follows was last read up to date (Unix time); \
             time() minus it is how far behind watchers may be.",
        )?;
        self.registry.register(Box::new(HubState { hub, read_at }))
    }
}

/// The watch hub's gauge, read when scraped.
struct HubState {
    hub: Hub,
    read_at: IntGauge,
}

impl Collector for HubState {
    fn desc(&self) -> Vec<&Desc> {
        self.read_at.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.read_at
            .set(i64::try_from(self.hub.read_all_at()).unwrap_or(i64::MAX));
        self.read_at.collect()
    }
}

/// Gauges read from the pool and the stream limits when scraped, so the hot paths pay nothing.
struct ServerState {
    pool: PgPool,
    streams: Arc<StreamLimits>,
    pool_max: IntGauge,
    pool_connections: IntGaugeVec,
    pool_waiting: IntGauge,
    streams_open: IntGauge,
    stream_buffered_bytes: IntGauge,
    stream_items: IntCounter,
}

impl ServerState {
    fn new(pool: PgPool, streams: Arc<StreamLimits>) -> Result<Self, prometheus::Error> {
        Ok(Self {
            pool,
            streams,
            pool_max: IntGauge::new(
                "docket_db_pool_max_connections",
                "Connections the pool may open (DOCKET_DB_POOL_SIZE).",
            )?,
            pool_connections: IntGaugeVec::new(
                Opts::new(
                    "docket_db_pool_connections",
                    "Open pool connections, by state (idle, in_use).",
                ),
                &["state"],
            )?,
            pool_waiting: IntGauge::new(
                "docket_db_pool_waiting",
                "Calls waiting for a pool connection.",
            )?,
            streams_open: IntGauge::new(
                "docket_streams_open",
                "Server streams open now (listings and watches).",
            )?,
            stream_buffered_bytes: IntGauge::new(
                "docket_stream_buffered_bytes",
                "Bytes of fetched rows that streams hold, not yet sent.",
            )?,
            // Brought up to the server's own count at each scrape.
            stream_items: IntCounter::new(
                "docket_stream_items_total",
                "Items (tasks, events, ...) streams handed out since the server started.",
            )?,
        })
    }

    fn parts(&self) -> [&dyn Collector; 6] {
        [
            &self.pool_max,
            &self.pool_connections,
            &self.pool_waiting,
            &self.streams_open,
            &self.stream_buffered_bytes,
            &self.stream_items,
        ]
    }
}

impl Collector for ServerState {
    fn desc(&self) -> Vec<&Desc> {
        self.parts()
            .into_iter()
            .flat_map(|part| part.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let status = self.pool.status();
        let idle = status.available as i64;
        self.pool_max.set(status.max_size as i64);
        self.pool_connections.with_label_values(&["idle"]).set(idle);
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(status.size as i64 - idle);
        self.pool_waiting.set(status.waiting as i64);
        self.streams_open.set(self.streams.open() as i64);
        self.stream_buffered_bytes
            .set(self.streams.buffered_bytes() as i64);
        let sent = self.streams.items_sent();
        self.stream_items
            .inc_by(sent.saturating_sub(self.stream_items.get()));
        self.parts()
            .into_iter()
            .flat_map(|part| part.collect())
            .collect()
    }
}

/// Serves `GET /metrics` on `listener` until `stop`.
pub async fn serve(listener: TcpListener, metrics: Metrics, stop: CancellationToken) {
    let scrapes = Arc::new(Semaphore::new(MAX_SCRAPES));
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors, most likely: wait rather than spin.
                tracing::warn!(%error, "metrics port cannot accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = scrapes.clone().acquire_owned().await else {
            return;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let metrics = metrics.clone();
                async move { Ok::<_, Infallible>(respond(&metrics, &request)) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(SCRAPE_TIMEOUT)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(SCRAPE_TIMEOUT, connection).await;
            drop(permit);
        });
    }
}

fn respond<B>(metrics: &Metrics, request: &Request<B>) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match request.uri().path() {
        "/metrics" => (StatusCode::OK, prometheus::TEXT_FORMAT, metrics.render()),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "metrics are at /metrics\n".to_owned(),
        ),
    };
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

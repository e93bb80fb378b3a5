//! Assembling and running the gRPC server. `Application::build` does everything that can fail at
//! startup (database, migrations, binding the port) so that `main` and the tests share one path and
//! a misconfiguration is reported before anything is served.
//!
//! A database that is not ready yet is not a misconfiguration: the server starts anyway, health
//! says NOT_SERVING, Docket calls are refused UNAVAILABLE, and the database is tried again, each
//! attempt logged, until it is ready: until it answers (with capped back-off; then it is created
//! if missing and migrated), until another instance's migration ends, or, with `DOCKET_MIGRATE`
//! off, until the schema it needs is there. Under Kubernetes this keeps the pod out of
//! CrashLoopBackOff, whose back-off would delay recovery by minutes after the database returns.
//! A malformed URL or rejected credentials still stop startup at once, and a failed migration
//! stops the server when it fails.

mod services;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{net::TcpListener, sync::oneshot};
use tokio_util::sync::CancellationToken;
use tonic::transport::ServerTlsConfig;

use crate::{
    auth::{Authenticator, JwtConfigError},
    background::Background,
    call::streams::{StreamLimits, StreamSizes},
    config::{DatabaseConfig, ServeConfig},
    db::{self, ConnectOptions, PgPool, Prepared, Readying, migrations::LockWait},
    events::{
        signal::Notifier,
        watch::{Hub, WatchConfig},
    },
    health::Readiness,
    housekeeping::{self, Retention},
    metrics::Metrics,
    recurrences,
    timers::{self, TimerConfig},
    webhooks::{self, Webhooks},
};
use services::{DOCKET_SERVICES, Shared, tls_config};

/// Why the server could not start, or stopped other than by a shutdown signal.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Database(#[from] db::SetupError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read {path}")]
    ReadTlsFile {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid TLS certificate or key")]
    Tls(#[source] tonic::transport::Error),
    #[error("invalid JWT configuration")]
    Jwt(#[from] JwtConfigError),
    #[error("cannot build the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("the gRPC server failed")]
    Serve(#[from] tonic::transport::Error),
    #[error("cannot set up metrics")]
    Metrics(#[from] prometheus::Error),
    #[error("cannot set up webhooks")]
    Webhooks(#[from] webhooks::SetupError),
}

/// Binds a listening socket, saying which address could not be bound.
async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// First and longest wait between attempts to reach a database that is not there yet.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const LONGEST_RETRY: Duration = Duration::from_secs(30);
/// How often a server that does not migrate looks whether the schema it needs has arrived.
const SCHEMA_POLL: Duration = Duration::from_secs(2);

/// A ready-to-run server: port bound, database migrated or, if it could not be reached yet, to be
/// tried again once serving.
pub struct Application {
    config: ServeConfig,
    prepared: Prepared,
    streams: Arc<StreamLimits>,
    listener: TcpListener,
    local_addr: SocketAddr,
    pool: PgPool,
    authenticator: Arc<Authenticator>,
    tls: Option<ServerTlsConfig>,
    metrics: Metrics,
    metrics_listener: Option<TcpListener>,
    webhooks: Option<Arc<Webhooks>>,
}

impl Application {
    pub async fn build(config: ServeConfig) -> Result<Self, ServerError> {
        let prepared = Prepared::default();
        // Never waits here: another instance's migration, or the deploy's, is waited for once
        // the port is bound (liveness SERVING, readiness NOT_SERVING), so probes see a live pod.
        let first = match config.migrate {
            true => Readying::Migrate(LockWait::Try),
            false => Readying::AwaitSchema,
        };
        match db::ready(&config.database, first).await {
            Ok(_) => prepared.set(),
            Err(e) if e.is_transient() => {
                tracing::warn!(
                    attempt = 1,
                    reason = %e,
                    "database not ready yet: serving NOT_SERVING meanwhile"
                );
            }
            Err(e) => return Err(e.into()),
        }
        let pool = db::pool(&config.database)?;
        let streams = StreamLimits::new(StreamSizes {
            fetch_connections: config.database.stream_connections(),
            max_open: config.connections.max_open_streams as usize,
            stream_bytes: config.connections.stream_buffer_bytes as usize,
            caller_bytes: config.connections.caller_streams_buffer_bytes as usize,
            total_bytes: config.connections.streams_buffer_bytes as usize,
        });
        let metrics = Metrics::new(pool.clone(), streams.clone())?;
        let authenticator = Arc::new(Authenticator::new(
            pool.clone(),
            &config.auth,
            metrics.auth_cache.clone(),
        )?);
        let tls = tls_config(&config.tls)?;
        let webhooks = Webhooks::new(
            &config.webhooks,
            config.timer_poll_interval,
            Arc::new(crate::grpc::webhooks::payload::render),
            metrics.webhooks.clone(),
        )?;
        let listener = bind(config.listen).await?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        Ok(Self {
            config,
            prepared,
            streams,
            listener,
            local_addr,
            pool,
            authenticator,
            tls,
            metrics,
            metrics_listener,
            webhooks,
        })
    }

    /// The address of the metrics endpoint, if it has one (`DOCKET_METRICS_LISTEN`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// What the server's streams share and hold now (for tests and operators' tools).
    pub fn stream_limits(&self) -> Arc<StreamLimits> {
        self.streams.clone()
    }

    /// The address actually bound (differs from the configured one when it asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then drains ([`drain`]): NOT_SERVING, no new calls,
    /// and the calls in flight finish within the configured grace period.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let background = Background::default();
        if let Some(listener) = self.metrics_listener {
            let metrics = self.metrics.clone();
            background.support(|stop| crate::metrics::serve(listener, metrics, stop));
        }
        let readiness =
            Readiness::new(DOCKET_SERVICES.iter().map(|s| s.to_string()).collect()).await;
        let config = self.config;
        let startup_failure = watch_database(&background, &config, &self.prepared, &readiness)?;
        let (pool, prepared) = (self.pool, self.prepared);
        background.work(|stop| {
            housekeeping::run(pool.clone(), prepared.clone(), retention(&config), stop)
        });
        let timer_metrics = self.metrics.timers.clone();
        background.work(|stop| {
            timers::run(
                pool.clone(),
                prepared.clone(),
                timer_config(&config),
                timer_metrics,
                stop,
            )
        });
        let occurrence_metrics = self.metrics.timers.clone();
        background.work(|stop| {
            recurrences::run(
                pool.clone(),
                prepared.clone(),
                config.timer_poll_interval,
                occurrence_metrics,
                stop,
            )
        });
        if let Some(hooks) = self.webhooks.clone() {
            background
                .work(|stop| webhooks::worker::run(hooks, pool.clone(), prepared.clone(), stop));
        }
        let notifier = Notifier::default();
        background.support(|stop| notifier.sending(pool.clone(), stop));
        let hub = Hub::new(pool.clone(), watch_config(&config));
        self.metrics.follow_hub(hub.clone())?;
        let listener =
            ConnectOptions::new(&config.database, "docket-watch").map_err(db::SetupError::from)?;
        background.work(|stop| hub.following(listener, stop));

        let (drained, draining) = oneshot::channel();
        let shared = Shared {
            pool,
            prepared,
            streams: self.streams,
            authenticator: self.authenticator,
            metrics: self.metrics,
            notifier,
            hub,
            readiness: readiness.clone(),
            webhooks: self.webhooks,
        };
        let drain = drain(
            shutdown,
            background.clone(),
            readiness,
            config.drain_delay,
            drained,
        );
        let calls = services::serve(&config, self.tls, shared, self.listener, drain)?;
        tracing::info!(addr = %self.local_addr, tls = config.tls.tls_cert.is_some(), "listening");

        let result = tokio::select! {
            biased;
            Ok(e) = startup_failure => Err(e.into()),
            result = until_drained(calls, draining, config.shutdown_grace) => result,
        };
        background.stop().await;
        if result.is_ok() {
            tracing::info!("stopped");
        }
        result
    }
}

/// The drain, in order, once `shutdown` completes: health says NOT_SERVING (for good) and its
/// watches end; for the drain delay calls are still taken, while load balancers catch up; then the
/// background work stops (no purge or watch read starts) and the server stops accepting calls
/// (when this returns), letting those in flight finish.
async fn drain(
    shutdown: impl Future<Output = ()>,
    background: Background,
    readiness: Readiness,
    delay: Duration,
    drained: oneshot::Sender<()>,
) {
    shutdown.await;
    readiness.drain().await;
    if !delay.is_zero() {
        tracing::info!(
            ?delay,
            "shutting down: NOT_SERVING, still taking calls for the drain delay"
        );
        tokio::time::sleep(delay).await;
    }
    background.stop_work().await;
    tracing::info!("shutting down: NOT_SERVING, draining in-flight calls");
    let _ = drained.send(());
}

/// Runs `calls` until they end; once draining has begun, for at most `grace` more.
async fn until_drained(
    calls: impl Future<Output = Result<(), tonic::transport::Error>>,
    draining: oneshot::Receiver<()>,
    grace: Duration,
) -> Result<(), ServerError> {
    tokio::pin!(calls);
    tokio::select! {
        biased;
        result = &mut calls => return result.map_err(ServerError::Serve),
        Ok(()) = draining => {}
    }
    tracing::info!(
        ?grace,
        "draining: calls in flight have the grace period to finish"
    );
    match tokio::time::timeout(grace, calls).await {
        Ok(result) => result.map_err(ServerError::Serve),
        Err(_) => {
            tracing::warn!("grace period over: cutting the calls still running");
            Ok(())
        }
    }
}

/// Starts the database's watch: the database is prepared first if it could not be at startup
/// (trying again while the failure is transient; the receiver hears of one that is not), then
/// probed every health interval, health following it.
fn watch_database(
    background: &Background,
    config: &ServeConfig,
    prepared: &Prepared,
    readiness: &Readiness,
) -> Result<oneshot::Receiver<db::SetupError>, ServerError> {
    let options =
        ConnectOptions::new(&config.database, "docket-health").map_err(db::SetupError::from)?;
    let (failed, failure) = oneshot::channel();
    let (readiness, prepared) = (readiness.clone(), prepared.clone());
    let database = config.database.clone();
    let interval = config.health_interval;
    let how = match config.migrate {
        true => Readying::Migrate(LockWait::Block),
        false => Readying::AwaitSchema,
    };
    background.work(|stop| async move {
        if !prepared.is_done() {
            match prepare_when_reachable(&database, how, &stop).await {
                Ok(()) => prepared.set(),
                Err(Some(e)) => {
                    let _ = failed.send(e);
                    return;
                }
                Err(None) => return, // shutting down
            }
        }
        // A probe that has not answered by the next one is a failure: NOT_SERVING comes at most
        // two intervals after the database stops answering, even when it hangs.
        let timeout = database.connect_timeout.min(interval);
        readiness
            .probe_database(options, interval, timeout, stop)
            .await;
    });
    Ok(failure)
}

fn retention(config: &ServeConfig) -> Retention {
    Retention {
        request_ids: config.request_id_retention,
        events: config.event_retention,
        interval: config.housekeeping_interval,
    }
}

fn timer_config(config: &ServeConfig) -> TimerConfig {
    TimerConfig {
        poll: config.timer_poll_interval,
        batch: i64::from(config.timer_batch),
        concurrency: config.timer_concurrency as usize,
    }
}

fn watch_config(config: &ServeConfig) -> WatchConfig {
    WatchConfig {
        queue: config.watch_queue as usize,
        progress_every: config.watch_progress_interval,
        stall_timeout: config.watch_stall_timeout,
    }
}

/// Makes the database ready (`db::ready`), trying again for as long as the failure is
/// transient: with doubling waits up to [`LONGEST_RETRY`] while it cannot be reached, every
/// [`SCHEMA_POLL`] while it waits for a migration. `Err(None)`: stopped first.
async fn prepare_when_reachable(
    config: &DatabaseConfig,
    how: Readying,
    stop: &CancellationToken,
) -> Result<(), Option<db::SetupError>> {
    let mut wait = FIRST_RETRY;
    let mut attempt = 1;
    loop {
        attempt += 1;
        tokio::select! {
            _ = stop.cancelled() => return Err(None),
            _ = tokio::time::sleep(wait) => {}
        }
        let ready = tokio::select! {
            _ = stop.cancelled() => return Err(None),
            ready = db::ready(config, how) => ready,
        };
        match ready {
            Ok(_) => {
                tracing::info!(attempt, "database reached and up to date");
                return Ok(());
            }
            Err(e @ db::SetupError::SchemaBehind { .. }) => {
                wait = SCHEMA_POLL;
                // Said once a minute, not every poll: a rollout may wait a while for its Job.
                if attempt % 30 == 2 {
                    tracing::warn!(attempt, reason = %e, "waiting for the schema: NOT_SERVING");
                }
            }
            Err(e) if e.is_transient() => {
                wait = (wait * 2).min(LONGEST_RETRY);
                tracing::warn!(attempt, reason = %e, retry_in = ?wait, "database not ready yet");
            }
            Err(e) => return Err(Some(e)),
        }
    }
}

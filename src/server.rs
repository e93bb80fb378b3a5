//! Assembling and running the gRPC server. `Application::build` does everything that can fail at
//! startup (database, migrations, binding the port) so that `main` and the tests share one path and
//! a misconfiguration is reported before anything is served.
//!
//! A database that cannot be reached yet is not a misconfiguration: the server starts anyway,
//! health says NOT_SERVING, Docket calls are refused UNAVAILABLE, and the database is tried again
//! with capped back-off, each attempt logged, until it answers (then it is created if missing and
//! migrated, and readiness follows it as usual). Under Kubernetes this keeps the pod out of
//! CrashLoopBackOff, whose back-off would delay recovery by minutes after the database returns.
//! A malformed URL, rejected credentials or a failed migration still stop startup at once.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{
    server::NamedService,
    transport::{Identity, Server, ServerTlsConfig},
};
use tower::ServiceBuilder;

use crate::{
    auth::{Authenticator, JwtConfigError},
    config::{ConnectionConfig, DatabaseConfig},
    config::{ServeConfig, TlsConfig},
    connections::{self, Incoming},
    db::{
        self, ConnectOptions, Db, PgPool, Prepared,
        query::streams::{StreamLimits, StreamSizes},
    },
    grpc::{
        assignments::AssignmentApi,
        auth::AuthLayer,
        directory::DirectoryApi,
        pb::{
            self, assignment_service_server::AssignmentServiceServer,
            directory_service_server::DirectoryServiceServer,
            task_service_server::TaskServiceServer,
            workspace_service_server::WorkspaceServiceServer,
        },
        request_context::{CallLimits, RequestContextLayer},
        tasks::TaskApi,
        workspace::WorkspaceApi,
    },
    health::Readiness,
    housekeeping::{self, Retention},
    metrics::Metrics,
};
use crate::{
    db::events::signal::Notifier,
    domain::watch::{Hub, WatchConfig},
};

/// A service that takes gzip-compressed requests, and compresses its responses for clients that
/// say they accept gzip (`grpc-accept-encoding`); others get them as before.
macro_rules! gzip {
    ($service:expr) => {
        $service
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
            .send_compressed(tonic::codec::CompressionEncoding::Gzip)
    };
}

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
}

/// Binds a listening socket, saying which address could not be bound.
async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// Full names of the Docket services this server registers, so health reports each of them. A test
/// checks that every service in the protos is here.
const DOCKET_SERVICES: &[&str] = &[
    AssignmentServiceServer::<AssignmentApi>::NAME,
    DirectoryServiceServer::<DirectoryApi>::NAME,
    TaskServiceServer::<TaskApi>::NAME,
    WorkspaceServiceServer::<WorkspaceApi>::NAME,
];

/// First and longest wait between attempts to reach a database that is not there yet.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const LONGEST_RETRY: Duration = Duration::from_secs(30);

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
}

impl Application {
    pub async fn build(config: ServeConfig) -> Result<Self, ServerError> {
        let prepared = Prepared::default();
        match db::prepare(&config.database).await {
            Ok(_) => prepared.set(),
            Err(e) if e.is_transient() => {
                tracing::warn!(
                    attempt = 1,
                    error = %e,
                    retry_in = ?FIRST_RETRY,
                    "database not reachable yet: serving NOT_SERVING meanwhile"
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

    /// Serves until `shutdown` completes, then reports NOT_SERVING, stops accepting, and lets
    /// in-flight calls and streams finish for up to the configured grace period.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let Self {
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
        } = self;
        // Metrics are served while the server drains too, and stop when this returns.
        let stop_metrics = CancellationToken::new();
        let _stop_metrics = stop_metrics.clone().drop_guard();
        if let Some(listener) = metrics_listener {
            tokio::spawn(crate::metrics::serve(
                listener,
                metrics.clone(),
                stop_metrics,
            ));
        }

        let readiness =
            Readiness::new(DOCKET_SERVICES.iter().map(|s| s.to_string()).collect()).await;
        let draining = CancellationToken::new();
        let health_service = readiness.service(draining.clone());
        let stop_probe = CancellationToken::new();
        let probe_options =
            ConnectOptions::new(&config.database, "docket-health").map_err(db::SetupError::from)?;
        let (startup_failed, startup_failure) = tokio::sync::oneshot::channel();
        let probe = tokio::spawn({
            let (readiness, prepared, stop) =
                (readiness.clone(), prepared.clone(), stop_probe.clone());
            let database = config.database.clone();
            let interval = config.health_interval;
            async move {
                if !prepared.is_done() {
                    match prepare_when_reachable(&database, &stop).await {
                        Ok(()) => prepared.set(),
                        Err(Some(e)) => {
                            let _ = startup_failed.send(e);
                            return;
                        }
                        Err(None) => return, // shutting down
                    }
                }
                // A probe that has not answered by the next one is a failure: NOT_SERVING comes
                // at most two intervals after the database stops answering, even when it hangs.
                let timeout = database.connect_timeout.min(interval);
                readiness
                    .probe_database(probe_options, interval, timeout, stop)
                    .await;
            }
        });

        let housekeeping = tokio::spawn(housekeeping::run(
            pool.clone(),
            prepared.clone(),
            Retention {
                request_ids: config.request_id_retention,
                events: config.event_retention,
                interval: config.housekeeping_interval,
            },
            stop_probe.clone(),
        ));

        // The hub stops with the probe, as draining begins: watch streams end (UNAVAILABLE) and
        // their clients resume on another server. The notifier serves the calls that drain.
        let stop_notifier = CancellationToken::new();
        let notifier = Notifier::start(pool.clone(), stop_notifier.clone());
        let hub = Hub::start(
            pool.clone(),
            ConnectOptions::new(&config.database, "docket-watch").map_err(db::SetupError::from)?,
            WatchConfig {
                queue: config.watch_queue as usize,
                progress_every: config.watch_progress_interval,
                stall_timeout: config.watch_stall_timeout,
            },
            stop_probe.clone(),
        );

        let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
        let signal = {
            let readiness = readiness.clone();
            let stop_probe = stop_probe.clone();
            let grace = config.shutdown_grace;
            async move {
                shutdown.await;
                stop_probe.cancel();
                let _ = probe.await;
                let _ = housekeeping.await;
                readiness.set(false).await;
                draining.cancel();
                tracing::info!(
                    ?grace,
                    "shutting down: NOT_SERVING, draining in-flight calls"
                );
                let _ = draining_tx.send(());
            }
        };

        let incoming = Incoming::new(
            listener,
            connections::Limits {
                handshake_timeout: config.connections.handshake_timeout,
                idle_timeout: config.connections.max_connection_idle,
            },
        );
        let limits = CallLimits {
            max_call: config.call_timeout,
            max_header_bytes: config.connections.max_header_bytes as usize,
        };
        // Outermost first: every call gets a request id, its log line and Docket's error model,
        // then authentication.
        let layers = ServiceBuilder::new()
            .layer(RequestContextLayer::new(
                limits,
                streams,
                prepared.clone(),
                notifier,
                metrics.calls.clone(),
            ))
            .layer(AuthLayer::new(authenticator));
        let mut server = http2_server(&config.connections);
        if let Some(tls) = tls {
            server = server.tls_config(tls).map_err(ServerError::Tls)?;
        }
        let serve = server
            .layer(layers)
            .add_service(gzip!(health_service))
            .add_service(gzip!(AssignmentServiceServer::new(AssignmentApi::new(
                pool.clone(),
            ))))
            .add_service(gzip!(DirectoryServiceServer::new(DirectoryApi::new(
                pool.clone()
            ))))
            .add_service(gzip!(TaskServiceServer::new(TaskApi::new(
                Db::new(pool.clone(), &config.database),
                hub,
            ))))
            .add_service(gzip!(WorkspaceServiceServer::new(WorkspaceApi::new(
                pool.clone()
            ))))
            .add_service(reflection().build_v1()?)
            .add_service(reflection().build_v1alpha()?)
            .serve_with_incoming_shutdown(incoming, signal);
        tracing::info!(addr = %local_addr, tls = config.tls.tls_cert.is_some(), "listening");

        tokio::pin!(serve);
        let result = tokio::select! {
            biased;
            result = &mut serve => result,
            Ok(e) = startup_failure => {
                stop_probe.cancel();
                stop_notifier.cancel();
                return Err(e.into());
            }
            Ok(()) = draining_rx => {
                match tokio::time::timeout(config.shutdown_grace, &mut serve).await {
                    Ok(result) => result,
                    Err(_) => {
                        tracing::warn!("grace period over: cutting the calls still running");
                        Ok(())
                    }
                }
            }
        };
        stop_probe.cancel();
        stop_notifier.cancel();
        match result {
            Ok(()) => {
                tracing::info!("stopped");
                Ok(())
            }
            Err(e) => Err(ServerError::Serve(e)),
        }
    }
}

/// Prepares the database (`db::prepare`), trying again with doubling waits up to
/// [`LONGEST_RETRY`] for as long as the failure is transient. `Err(None)`: stopped first.
async fn prepare_when_reachable(
    config: &DatabaseConfig,
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
        match db::prepare(config).await {
            Ok(_) => {
                tracing::info!(attempt, "database reached and up to date");
                return Ok(());
            }
            Err(e) if e.is_transient() => {
                wait = (wait * 2).min(LONGEST_RETRY);
                tracing::warn!(attempt, error = %e, retry_in = ?wait, "database not reachable yet");
            }
            Err(e) => return Err(Some(e)),
        }
    }
}

/// The server with Docket's HTTP/2 settings (`ConnectionConfig`).
fn http2_server(config: &ConnectionConfig) -> Server {
    let keepalive = &config.http2_keepalive_interval;
    Server::builder()
        .http2_keepalive_interval((!keepalive.is_zero()).then_some(*keepalive))
        .http2_keepalive_timeout(Some(config.http2_keepalive_timeout))
        .max_connection_age(config.max_connection_age)
        .max_connection_age_grace(config.max_connection_age_grace)
        .max_concurrent_streams(config.max_concurrent_streams)
        // HTTP/2 itself takes far larger header blocks than a call may carry, so that an oversize
        // one reaches Docket and fails that call alone with a gRPC status. Past its own limit,
        // h2 answers a bare HTTP 431, and past twice that it closes the whole connection.
        .http2_max_header_list_size(config.max_header_bytes.saturating_mul(16))
}

/// The TLS settings, checked now so a bad certificate or key fails startup, not the first call.
fn tls_config(config: &TlsConfig) -> Result<Option<ServerTlsConfig>, ServerError> {
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        return Ok(None);
    };
    let read = |path: &std::path::PathBuf| {
        std::fs::read(path).map_err(|source| ServerError::ReadTlsFile {
            path: path.display().to_string(),
            source,
        })
    };
    let tls = ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
    Server::builder()
        .tls_config(tls.clone())
        .map_err(ServerError::Tls)?;
    Ok(Some(tls))
}

/// Reflection over Docket's protos, the health protocol and the google.rpc error details, so
/// grpcurl can describe every service and decode error details.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        // Each builder only adds its own version's descriptor; with both, either version lists
        // both reflection services (grpcurl 1.8 speaks only v1alpha).
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_in_the_protos_is_served() {
        let mut served = DOCKET_SERVICES.to_vec();
        let mut declared = pb::methods::SERVICES.to_vec();
        served.sort_unstable();
        declared.sort_unstable();
        assert_eq!(served, declared);
    }
}

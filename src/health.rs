//! Readiness as the standard gRPC health service reports it: NOT_SERVING until PostgreSQL answers,
//! NOT_SERVING while it does not, SERVING again when it does, and NOT_SERVING for good once shutdown
//! begins. The overall service "" and every registered Docket service report the same status, since
//! they all stand or fall with the database.
//!
//! Watch streams end once shutdown has begun and they have delivered NOT_SERVING: gRPC clients that
//! health-check with Watch keep one open per connection, and would otherwise hold a draining server
//! open for the whole grace period.
//!
//! Liveness is a service name of its own, [`LIVENESS`]: SERVING from the start for as long as the
//! process answers, whatever the database does, so that a database outage takes pods out of load
//! balancing (readiness) without restarting them (liveness).
//!
//! The probe uses its own connection rather than one from the pool: a pool busy with slow queries
//! must not make Kubernetes think the pod is dead, and a probe connection that PostgreSQL kills
//! must be noticed (it reports NOT_SERVING, then reconnects on the next tick).

use std::{pin::Pin, sync::Arc, time::Duration};

use futures_util::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tonic_health::{
    ServingStatus,
    pb::{
        HealthCheckRequest, HealthCheckResponse,
        health_check_response::ServingStatus as WireStatus,
        health_server::{Health, HealthServer},
    },
    server::{HealthReporter, HealthService},
};

use crate::db::ConnectOptions;

/// The health service name that reports the process itself (Kubernetes: `grpc.service` of the
/// liveness probe).
pub const LIVENESS: &str = "liveness";

/// Sets the health status of the overall server and of each registered service together.
#[derive(Clone)]
pub struct Readiness {
    reporter: HealthReporter,
    services: Arc<[String]>,
    /// Cancelled by [`Readiness::drain`], once NOT_SERVING has been set: health watches end.
    draining: CancellationToken,
    /// Held while the status is set, so that a probe's SERVING cannot land after the drain's
    /// NOT_SERVING (the probe keeps running during the drain delay).
    setting: Arc<tokio::sync::Mutex<()>>,
}

impl Readiness {
    /// Starts every service (and "") as NOT_SERVING.
    pub async fn new(services: Vec<String>) -> Self {
        let mut all = vec![String::new()];
        all.extend(services);
        let readiness = Self {
            reporter: HealthReporter::new(),
            services: all.into(),
            draining: CancellationToken::new(),
            setting: Arc::default(),
        };
        readiness.set(false).await;
        readiness
            .reporter
            .set_service_status(LIVENESS, ServingStatus::Serving)
            .await;
        readiness
    }

    /// The `grpc.health.v1.Health` service reporting this readiness. Its Watch streams end when
    /// the server drains ([`Readiness::drain`]), once they have been sent NOT_SERVING.
    pub fn service(&self) -> HealthServer<DrainingHealth> {
        HealthServer::new(DrainingHealth {
            inner: HealthService::from_health_reporter(self.reporter.clone()),
            draining: self.draining.clone(),
        })
    }

    /// NOT_SERVING for good, then the end of every health watch: the server is draining.
    pub async fn drain(&self) {
        let _setting = self.setting.lock().await;
        self.report(false).await;
        self.draining.cancel();
    }

    /// SERVING or NOT_SERVING, unless the server is draining (then NOT_SERVING stays).
    pub async fn set(&self, serving: bool) {
        let _setting = self.setting.lock().await;
        if !self.draining.is_cancelled() {
            self.report(serving).await;
        }
    }

    async fn report(&self, serving: bool) {
        let status = if serving {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        for service in self.services.iter() {
            self.reporter.set_service_status(service, status).await;
        }
    }

    /// Runs the database probe every `interval` until `stop` is cancelled. The caller must wait for
    /// it to end before reporting NOT_SERVING at shutdown, so a last probe cannot flip the status
    /// back.
    pub async fn probe_database(
        &self,
        options: ConnectOptions,
        interval: Duration,
        timeout: Duration,
        stop: CancellationToken,
    ) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut client: Option<tokio_postgres::Client> = None;
        let mut reported: Option<bool> = None;
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticker.tick() => {}
            }
            let outcome = tokio::select! {
                _ = stop.cancelled() => break,
                outcome = probe(&options, &mut client, timeout) => outcome,
            };
            let serving = outcome.is_ok();
            if reported != Some(serving) {
                match &outcome {
                    Ok(()) => tracing::info!("database answers: SERVING"),
                    Err(reason) => {
                        tracing::warn!(%reason, "database check failed: NOT_SERVING")
                    }
                }
                self.set(serving).await;
                reported = Some(serving);
            }
        }
    }
}

/// One check: (re)connect if needed and run `SELECT 1`, all within `timeout`. A failed connection is
/// dropped so the next check starts afresh.
async fn probe(
    options: &ConnectOptions,
    client: &mut Option<tokio_postgres::Client>,
    timeout: Duration,
) -> Result<(), String> {
    let check = async {
        let connected = match client {
            // PostgreSQL closed it (terminated, restarted, failed over): that is an outage to
            // report, even if a new connection would succeed; the next check reconnects.
            Some(connected) if connected.is_closed() => {
                return Err("the database closed the connection".to_owned());
            }
            Some(connected) => connected,
            None => client.insert(options.connect_raw().await.map_err(|e| e.to_string())?),
        };
        connected
            .simple_query("SELECT 1")
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    };
    let outcome = match tokio::time::timeout(timeout, check).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("no answer within {timeout:?}")),
    };
    if outcome.is_err() {
        *client = None;
    }
    outcome
}

/// tonic-health's service, with Watch streams that end during shutdown (see the module docs).
pub struct DrainingHealth {
    inner: HealthService,
    draining: CancellationToken,
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for DrainingHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.inner.check(request).await
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        // Liveness never turns NOT_SERVING, so its Watch ends as soon as draining begins.
        let liveness = request.get_ref().service == LIVENESS;
        let statuses = match self.inner.watch(request).await {
            Ok(statuses) => statuses.into_inner(),
            // The health protocol: Watch on a service the server does not know answers
            // SERVICE_UNKNOWN and stays open (the service could appear later), unlike Check's
            // NOT_FOUND. Docket's services are fixed, so nothing follows until shutdown.
            Err(status) if status.code() == tonic::Code::NotFound => {
                let unknown = HealthCheckResponse {
                    status: WireStatus::ServiceUnknown as i32,
                };
                let draining = self.draining.clone();
                let stream = futures_util::stream::once(async move { Some(Ok(unknown)) })
                    .chain(futures_util::stream::once(async move {
                        draining.cancelled_owned().await;
                        None
                    }))
                    .filter_map(futures_util::future::ready);
                return Ok(Response::new(Box::pin(stream)));
            }
            Err(status) => return Err(status),
        };
        let state = (statuses, self.draining.clone(), liveness, false);
        let stream = futures_util::stream::unfold(
            state,
            |(mut statuses, draining, liveness, sent_not_serving)| async move {
                let item = tokio::select! {
                    biased;
                    _ = draining.cancelled(), if liveness || sent_not_serving => return None,
                    item = statuses.next() => item?,
                };
                let not_serving = matches!(&item, Ok(response) if response.status == WireStatus::NotServing as i32);
                Some((item, (statuses, draining, liveness, not_serving)))
            },
        );
        Ok(Response::new(Box::pin(stream)))
    }
}

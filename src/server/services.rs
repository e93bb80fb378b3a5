//! What the gRPC port serves: Docket's six services and health and reflection, behind the layers
//! every call passes (request context, then authentication), with Docket's HTTP/2 and TLS
//! settings.

use std::sync::Arc;

use tonic::{
    server::NamedService,
    transport::{Identity, Server, ServerTlsConfig},
};
use tower::ServiceBuilder;

use super::ServerError;
use crate::{
    app::App,
    auth::Authenticator,
    call::streams::StreamLimits,
    config::{ConnectionConfig, ServeConfig, TlsConfig},
    connections::{self, Incoming},
    db::{Db, PgPool, Prepared},
    events::{signal::Notifier, watch::Hub},
    grpc::{
        assignments::AssignmentApi,
        auth::AuthLayer,
        directory::DirectoryApi,
        pb::{
            self, assignment_service_server::AssignmentServiceServer,
            directory_service_server::DirectoryServiceServer,
            task_service_server::TaskServiceServer,
            task_template_service_server::TaskTemplateServiceServer,
            webhook_service_server::WebhookServiceServer,
            workspace_service_server::WorkspaceServiceServer,
        },
        request_context::{CallHooks, CallLimits, RequestContextLayer},
        tasks::TaskApi,
        templates::TemplateApi,
        webhooks::WebhookApi,
        workspace::WorkspaceApi,
    },
    health::Readiness,
    metrics::Metrics,
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

/// Full names of the Docket services this server registers, so health reports each of them. A test
/// checks that every service in the protos is here.
pub(super) const DOCKET_SERVICES: &[&str] = &[
    AssignmentServiceServer::<AssignmentApi>::NAME,
    DirectoryServiceServer::<DirectoryApi>::NAME,
    TaskServiceServer::<TaskApi>::NAME,
    TaskTemplateServiceServer::<TemplateApi>::NAME,
    WebhookServiceServer::<WebhookApi>::NAME,
    WorkspaceServiceServer::<WorkspaceApi>::NAME,
];

/// What the services share.
pub(super) struct Shared {
    pub pool: PgPool,
    pub prepared: Prepared,
    pub streams: Arc<StreamLimits>,
    pub authenticator: Arc<Authenticator>,
    pub metrics: Metrics,
    pub notifier: Notifier,
    pub hub: Hub,
    pub readiness: Readiness,
    pub webhooks: Option<Arc<crate::webhooks::Webhooks>>,
}

/// Serves calls on `listener` until `drain` completes, then lets the calls in flight finish.
pub(super) fn serve(
    config: &ServeConfig,
    tls: Option<ServerTlsConfig>,
    shared: Shared,
    listener: tokio::net::TcpListener,
    drain: impl Future<Output = ()> + Send + 'static,
) -> Result<impl Future<Output = Result<(), tonic::transport::Error>>, ServerError> {
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
    let (prepared, notifier) = (shared.prepared, shared.notifier);
    // Outermost first: every call gets a request id, its log line and Docket's error model,
    // then authentication.
    let layers = ServiceBuilder::new()
        .layer(RequestContextLayer::new(
            limits,
            shared.streams,
            CallHooks {
                ready: Arc::new(move || prepared.is_done()),
                wrote_events: Arc::new(move |workspaces| notifier.poke(workspaces)),
            },
            shared.metrics.calls.clone(),
        ))
        .layer(AuthLayer::new(shared.authenticator));
    let mut server = http2_server(&config.connections);
    if let Some(tls) = tls {
        server = server.tls_config(tls).map_err(ServerError::Tls)?;
    }
    let app = App::new(
        Db::new(shared.pool, &config.database),
        shared.hub,
        shared.webhooks,
    );
    Ok(server
        .layer(layers)
        .add_service(gzip!(shared.readiness.service()))
        .add_service(gzip!(AssignmentServiceServer::new(AssignmentApi::new(
            app.clone()
        ))))
        .add_service(gzip!(DirectoryServiceServer::new(DirectoryApi::new(
            app.clone()
        ))))
        .add_service(gzip!(TaskServiceServer::new(TaskApi::new(app.clone()))))
        .add_service(gzip!(TaskTemplateServiceServer::new(TemplateApi::new(
            app.clone()
        ))))
        .add_service(gzip!(WebhookServiceServer::new(WebhookApi::new(
            app.clone()
        ))))
        .add_service(gzip!(WorkspaceServiceServer::new(WorkspaceApi::new(app))))
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?)
        .serve_with_incoming_shutdown(incoming, drain))
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
pub(super) fn tls_config(config: &TlsConfig) -> Result<Option<ServerTlsConfig>, ServerError> {
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

//! `docket health`: the check an exec probe runs, for servers that speak TLS (Kubernetes' own
//! `grpc:` probes do not) or wherever grpcurl and grpc_health_probe are not at hand; the image is
//! distroless and holds the `docket` binary only. Exit 0 when the service is SERVING, 1 otherwise,
//! with the status or the reason on stderr.

use std::{path::PathBuf, time::Duration};

use clap::Args;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// Settings for `docket health`.
#[derive(Debug, Clone, Args)]
pub struct HealthCheckConfig {
    /// The server to check (`host:port`).
    #[arg(long, env = "DOCKET_HEALTH_ADDR", default_value = "127.0.0.1:50051")]
    pub addr: String,

    /// The health service: empty for readiness (the database answers), `liveness` for the
    /// process itself.
    #[arg(long, default_value = "")]
    pub service: String,

    /// Check over TLS, trusting this CA certificate (PEM); the server's DOCKET_TLS_CERT is signed
    /// by it.
    #[arg(long, env = "DOCKET_HEALTH_CA_CERT")]
    pub ca_cert: Option<PathBuf>,

    /// The name the server's certificate carries (with --ca-cert).
    #[arg(long, env = "DOCKET_HEALTH_TLS_DOMAIN", default_value = "localhost")]
    pub tls_domain: String,

    /// Longest the whole check may take.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// Why the check did not find the service SERVING.
#[derive(Debug, thiserror::Error)]
pub enum HealthCheckError {
    #[error("{service:?} is {status}")]
    NotServing {
        service: String,
        status: &'static str,
    },
    #[error("cannot read the CA certificate {path}")]
    ReadCa {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot reach {addr}")]
    Connect {
        addr: String,
        source: tonic::transport::Error,
    },
    #[error("the health check failed: {0}")]
    Call(#[from] tonic::Status),
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
}

/// Checks the service once.
pub async fn check(config: HealthCheckConfig) -> Result<(), HealthCheckError> {
    let timeout = config.timeout;
    tokio::time::timeout(timeout, check_once(config))
        .await
        .map_err(|_| HealthCheckError::TimedOut(timeout))?
}

async fn check_once(config: HealthCheckConfig) -> Result<(), HealthCheckError> {
    let connect_failed = |source| HealthCheckError::Connect {
        addr: config.addr.clone(),
        source,
    };
    let scheme = if config.ca_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let mut endpoint =
        Endpoint::from_shared(format!("{scheme}://{}", config.addr)).map_err(connect_failed)?;
    if let Some(path) = &config.ca_cert {
        let pem = std::fs::read(path).map_err(|source| HealthCheckError::ReadCa {
            path: path.display().to_string(),
            source,
        })?;
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(pem))
            .domain_name(config.tls_domain.clone());
        endpoint = endpoint.tls_config(tls).map_err(connect_failed)?;
    }
    let channel = endpoint.connect().await.map_err(connect_failed)?;
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: config.service.clone(),
        })
        .await?
        .into_inner();
    match answer.status() {
        ServingStatus::Serving => Ok(()),
        status => Err(HealthCheckError::NotServing {
            service: config.service,
            status: status.as_str_name(),
        }),
    }
}

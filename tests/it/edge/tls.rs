//! TLS: off by default; with DOCKET_TLS_CERT and DOCKET_TLS_KEY the server speaks only TLS, and a
//! bad certificate or key stops startup.

use std::{path::PathBuf, time::Duration};

use docket::{Application, config::TlsConfig};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::helpers::{
    app::{TestApp, test_config, wait_for_status},
    database::TestDb,
    process::docket,
};

fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn tls(cert: &str, key: &str) -> TlsConfig {
    TlsConfig {
        tls_cert: Some(fixture(cert)),
        tls_key: Some(fixture(key)),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_tls_and_only_tls_when_configured() {
    let app = TestApp::builder()
        .configure(|config| {
            config.tls = tls("tls/localhost-cert.pem", "tls/localhost-key.pem");
        })
        .spawn()
        .await;
    let ca = Certificate::from_pem(std::fs::read(fixture("tls/ca-cert.pem")).expect("CA cert"));
    let channel = Endpoint::from_shared(format!("https://127.0.0.1:{}", app.addr.port()))
        .expect("endpoint")
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(ca)
                .domain_name("localhost"),
        )
        .expect("client TLS")
        .connect()
        .await
        .expect("TLS connection");
    let mut health = HealthClient::new(channel);
    wait_for_status(
        &mut health,
        "",
        ServingStatus::Serving,
        Duration::from_secs(5),
    )
    .await;

    let plaintext = Endpoint::from_shared(format!("http://{}", app.addr))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2));
    let refused = match plaintext.connect().await {
        Err(_) => true,
        Ok(channel) => HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .is_err(),
    };
    assert!(refused, "a plaintext client must not be served");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_mismatched_key_stops_startup() {
    for (cert, key, expected) in [
        (
            "tls/localhost-cert.pem",
            "tls/no-such-key.pem",
            "cannot read",
        ),
        (
            "tls/localhost-cert.pem",
            "tls/README.md",
            "invalid TLS certificate or key",
        ),
    ] {
        let db = TestDb::migrated().await;
        let mut config = test_config(db.url());
        config.tls = tls(cert, key);
        let error = match Application::build(config).await {
            Ok(_) => panic!("{key}: startup must fail"),
            Err(error) => error.to_string(),
        };
        assert!(error.contains(expected), "{key}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn docket_health_checks_a_tls_server_as_an_exec_probe_would() {
    let app = TestApp::builder()
        .configure(|config| {
            config.tls = tls("tls/localhost-cert.pem", "tls/localhost-key.pem");
        })
        .spawn()
        .await;
    let addr = format!("127.0.0.1:{}", app.addr.port());
    let ca = fixture("tls/ca-cert.pem");
    let ca = ca.to_str().expect("utf-8 path");
    let health = |args: Vec<&str>| {
        let mut all = vec!["health", "--addr", &addr];
        all.extend(args);
        let all: Vec<String> = all.into_iter().map(str::to_owned).collect();
        async move {
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            docket(&all, &[]).output().await.expect("run docket health")
        }
    };
    // Readiness follows the database: SERVING once the first check has passed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !health(vec!["--ca-cert", ca]).await.status.success() {
        assert!(tokio::time::Instant::now() < deadline, "never SERVING");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let live = health(vec!["--ca-cert", ca, "--service", "liveness"]).await;
    assert!(
        live.status.success(),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    let plaintext = health(vec![]).await;
    assert!(
        !plaintext.status.success(),
        "a TLS server refuses a plaintext check"
    );
    let unknown = health(vec!["--ca-cert", ca, "--service", "no.such.Service"]).await;
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("health check failed"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    app.stop().await;
}

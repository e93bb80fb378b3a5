//! A Docket server running in the test process on 127.0.0.1:0, built by the same
//! `Application::build` as `main`, and gRPC clients for it.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use clap::{CommandFactory, FromArgMatches};

use docket::{
    Application, ServerError,
    call::streams::StreamLimits,
    config::{AuthConfig, ServeConfig},
};
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::database::{TestDb, database_config};

/// How a [`TestApp`] is made; [`TestAppBuilder::spawn`] starts it.
#[derive(Default)]
pub struct TestAppBuilder<'a> {
    database: Option<(TestDb, String)>,
    edits: Vec<ConfigEdit<'a>>,
}

/// One change to the test configuration.
type ConfigEdit<'a> = Box<dyn FnOnce(&mut ServeConfig) + 'a>;

impl<'a> TestAppBuilder<'a> {
    /// On `db`, reaching PostgreSQL through `url` (which may be a proxy to it); without it, on a
    /// fresh migrated database.
    pub fn on(mut self, db: TestDb, url: String) -> Self {
        self.database = Some((db, url));
        self
    }

    /// With this authentication configuration.
    pub fn auth(self, auth: AuthConfig) -> Self {
        self.configure(move |config| config.auth = auth)
    }

    /// With the test configuration edited by `edit` (after the edits before it).
    pub fn configure(mut self, edit: impl FnOnce(&mut ServeConfig) + 'a) -> Self {
        self.edits.push(Box::new(edit));
        self
    }

    pub async fn spawn(self) -> TestApp {
        let (db, url) = match self.database {
            Some(database) => database,
            None => {
                let db = TestDb::migrated().await;
                let url = db.url();
                (db, url)
            }
        };
        let mut config = test_config(url);
        for edit in self.edits {
            edit(&mut config);
        }
        TestApp::start(db, config).await
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// The metrics endpoint (`GET /metrics`).
    pub metrics_addr: Option<SocketAddr>,
    pub db: TestDb,
    /// The server's stream limits and counters.
    pub streams: Arc<StreamLimits>,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), ServerError>>,
}

impl TestApp {
    /// A server on a fresh migrated database, with the test configuration.
    pub async fn spawn() -> Self {
        Self::builder().spawn().await
    }

    /// A server built to order: on which database, through which URL, with what configuration.
    pub fn builder<'a>() -> TestAppBuilder<'a> {
        TestAppBuilder::default()
    }

    async fn start(db: TestDb, config: ServeConfig) -> Self {
        init_test_logging();
        let app = Application::build(config)
            .await
            .expect("application builds");
        let addr = app.local_addr();
        let metrics_addr = app.metrics_addr();
        let streams = app.stream_limits();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            metrics_addr,
            db,
            streams,
            shutdown: Some(shutdown),
            server,
        }
    }

    pub async fn channel(&self) -> Channel {
        channel(self.addr).await
    }

    pub async fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel().await)
    }

    /// Stops the server as a signal would and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        (&mut self.server)
            .await
            .expect("server task")
            .expect("server stops cleanly");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The server configuration tests start from: port 0, fast health checks, a short grace period.
/// Docket's own defaults: what `docket serve` takes with no flag and no environment variable.
pub fn defaults() -> ServeConfig {
    #[derive(clap::Parser)]
    struct Serve {
        #[command(flatten)]
        config: ServeConfig,
    }
    let command = Serve::command().mut_args(|arg| arg.env(None::<&str>));
    let matches = command
        .try_get_matches_from(["docket"])
        .expect("the defaults parse");
    Serve::from_arg_matches(&matches)
        .expect("the defaults parse")
        .config
}

/// A test server's configuration: the defaults, but for what a test needs otherwise.
pub fn test_config(url: String) -> ServeConfig {
    let mut config = defaults();
    config.database = database_config(url);
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.metrics_listen = Some("127.0.0.1:0".parse().expect("addr"));
    // Health follows the database within a test's patience; shutdown tests wait for the grace.
    config.health_interval = Duration::from_millis(200);
    config.shutdown_grace = Duration::from_secs(5);
    config.auth = auth_config();
    config
}

/// Authentication as tests configure it by default: API tokens only, cached for 300 ms so
/// revocation tests run fast.
pub fn auth_config() -> AuthConfig {
    AuthConfig {
        auth_cache_ttl: Duration::from_millis(300),
        ..defaults().auth
    }
}

pub async fn channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect to the test server")
}

pub async fn check(health: &mut HealthClient<Channel>, service: &str) -> ServingStatus {
    let response = health
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .expect("health check answers")
        .into_inner();
    ServingStatus::try_from(response.status).expect("known status")
}

/// Polls Check until it reports `expected`, failing after `within`.
pub async fn wait_for_status(
    health: &mut HealthClient<Channel>,
    service: &str,
    expected: ServingStatus,
    within: Duration,
) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let status = check(health, service).await;
        if status == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "health of {service:?} still {status:?} after {within:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Logs from the server under test go to the test harness's captured output.
fn init_test_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("docket=debug,info")
        .with_test_writer()
        .try_init();
}

/// A client connection that lets the server send no more than HTTP/2's default window (64 KiB)
/// ahead of what it reads; `channel`'s, like hyper's clients, open 2 MiB a stream.
pub async fn narrow_channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect to the test server")
}

/// Another server on the database at `url` (as a second replica would be); stops when dropped.
pub struct Replica {
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: JoinHandle<Result<(), ServerError>>,
}

impl Replica {
    pub async fn start(url: String) -> Self {
        Self::start_with(url, |_| {}).await
    }

    /// A replica whose test configuration `edit` changes.
    pub async fn start_with(url: String, edit: impl FnOnce(&mut ServeConfig)) -> Self {
        let mut config = test_config(url);
        edit(&mut config);
        let app = docket::Application::build(config).await.expect("builds");
        let (addr, metrics_addr) = (app.local_addr(), app.metrics_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            metrics_addr,
            stop,
            server,
        }
    }

    /// Stops it as a signal would and waits until it has stopped.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.server
            .await
            .expect("server task")
            .expect("server stops cleanly");
    }

    pub async fn channel(&self) -> Channel {
        channel(self.addr).await
    }
}

//! A typed Rust client for Docket, generated from the server's own protos: a channel with the
//! bearer token and a fresh `x-request-id` on every call, connect and call timeouts, and
//! [`retry`] for the codes the server says are worth retrying.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use docket_client::{Docket, pb};
//!
//! let docket = Docket::builder("http://127.0.0.1:50051", "dkt_...").connect().await?;
//! let task = docket
//!     .tasks()
//!     .get_task(pb::GetTaskRequest { task_id: "...".into(), body_formats: vec![] })
//!     .await?
//!     .into_inner();
//! # Ok(()) }
//! ```

mod balance;

use std::{future::Future, time::Duration};

use backon::{ExponentialBuilder, Retryable};
use tonic::{
    Code, Request, Status,
    metadata::{AsciiMetadataValue, errors::InvalidMetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, Endpoint, channel::Change},
};

/// The scheme of a name whose every address is a server to balance over.
const DNS_SCHEME: &str = "dns:///";
use tonic_types::StatusExt;

/// Types and clients generated from `proto/docket/v1/`.
pub mod pb {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("docket.v1");
}

/// The header Docket reads a call's request id from, and echoes back.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Why a client could not be made.
#[derive(Debug)]
pub enum ConnectError {
    /// The token cannot travel in a header (it must be visible ASCII).
    InvalidToken(InvalidMetadataValue),
    /// The endpoint is not a URI, or the server could not be reached.
    Transport(tonic::transport::Error),
    /// A `dns:///` name that resolves to no address.
    Resolve(String),
    /// `connect_lazy` was asked for several endpoints or a `dns:///` name: use `connect`.
    Balanced,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidToken(_) => f.write_str("the token is not a valid header value"),
            Self::Transport(_) => f.write_str("cannot reach the Docket server"),
            Self::Resolve(why) => write!(f, "cannot resolve the Docket servers: {why}"),
            Self::Balanced => f.write_str("a balanced target connects with connect(), not lazily"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidToken(e) => Some(e),
            Self::Transport(e) => Some(e),
            Self::Resolve(_) | Self::Balanced => None,
        }
    }
}

/// How to reach Docket.
#[derive(Debug, Clone)]
pub struct Builder {
    /// One URL, several (balanced), or `dns:///host:port` (every address, balanced).
    endpoints: Vec<String>,
    token: String,
    connect_timeout: Duration,
    timeout: Duration,
    gzip: bool,
}

impl Builder {
    /// Longest wait for a connection (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest a unary call, or the opening of a stream, may take (default 10 s, the server's
    /// own bound); sent to the server as `grpc-timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Compress requests with gzip and accept gzip answers (default off).
    pub fn gzip(mut self, on: bool) -> Self {
        self.gzip = on;
        self
    }

    /// Connects now, failing if the server cannot be reached. Balanced targets (several
    /// endpoints, `dns:///`) are resolved now and connected on first use.
    pub async fn connect(self) -> Result<Docket, ConnectError> {
        let channel = match self.endpoints.as_slice() {
            [one] if !one.starts_with(DNS_SCHEME) => self
                .endpoint(one)?
                .connect()
                .await
                .map_err(ConnectError::Transport)?,
            _ => self.balanced().await?,
        };
        self.with_channel(channel)
    }

    /// Connects on first use (one endpoint; a balanced target resolves when connecting).
    pub fn connect_lazy(self) -> Result<Docket, ConnectError> {
        let channel = match self.endpoints.as_slice() {
            [one] if !one.starts_with(DNS_SCHEME) => self.endpoint(one)?.connect_lazy(),
            _ => return Err(ConnectError::Balanced),
        };
        self.with_channel(channel)
    }

    /// A channel that sends each call to one of the endpoints (the least loaded of two picked at
    /// random, tower's p2c), kept up to date with what `dns:///` names resolve to.
    async fn balanced(&self) -> Result<Channel, ConnectError> {
        let (channel, changes) = Channel::balance_channel(64);
        let mut targets = Vec::new();
        for endpoint in &self.endpoints {
            match endpoint.strip_prefix(DNS_SCHEME) {
                Some(name) => {
                    let name = name.to_owned();
                    let addresses = balance::resolve(&name).await?;
                    for address in &addresses {
                        let endpoint = self.endpoint(&format!("http://{address}"))?;
                        let _ = changes
                            .send(Change::Insert(address.to_string(), endpoint))
                            .await;
                    }
                    targets.push((name, addresses));
                }
                None => {
                    let _ = changes
                        .send(Change::Insert(endpoint.clone(), self.endpoint(endpoint)?))
                        .await;
                }
            }
        }
        if !targets.is_empty() {
            let builder = self.clone();
            tokio::spawn(balance::follow(targets, changes, move |address| {
                builder.endpoint(&format!("http://{address}")).ok()
            }));
        }
        Ok(channel)
    }

    fn endpoint(&self, url: &str) -> Result<Endpoint, ConnectError> {
        Ok(Endpoint::from_shared(url.to_owned())
            .map_err(ConnectError::Transport)?
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(false))
    }

    fn with_channel(self, channel: Channel) -> Result<Docket, ConnectError> {
        let bearer = format!("Bearer {}", self.token);
        let authorization = bearer.parse().map_err(ConnectError::InvalidToken)?;
        Ok(Docket {
            channel,
            calls: Calls { authorization },
            gzip: self.gzip,
        })
    }
}

/// Adds the token and a request id to every call.
#[derive(Clone)]
pub struct Calls {
    authorization: AsciiMetadataValue,
}

impl Interceptor for Calls {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let metadata = request.metadata_mut();
        metadata.insert("authorization", self.authorization.clone());
        if !metadata.contains_key(REQUEST_ID_HEADER) {
            metadata.insert(REQUEST_ID_HEADER, new_request_id()?);
        }
        Ok(request)
    }
}

/// 16 random bytes in hex: unique enough to find a call in the server's logs.
fn new_request_id() -> Result<AsciiMetadataValue, Status> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Status::internal(format!("no randomness: {e}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.parse()
        .map_err(|_| Status::internal("a hex request id is a valid header value"))
}

/// A connection to Docket, cheap to clone, with one typed client per service.
#[derive(Clone)]
pub struct Docket {
    channel: Channel,
    calls: Calls,
    gzip: bool,
}

/// The channel every service client of a [`Docket`] calls through.
pub type Intercepted = InterceptedService<Channel, Calls>;

macro_rules! service {
    ($(#[$doc:meta])* $name:ident: $module:ident::$client:ident) => {
        $(#[$doc])*
        pub fn $name(&self) -> pb::$module::$client<Intercepted> {
            let client =
                pb::$module::$client::with_interceptor(self.channel.clone(), self.calls.clone());
            if self.gzip {
                client
                    .send_compressed(tonic::codec::CompressionEncoding::Gzip)
                    .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
            } else {
                client
            }
        }
    };
}

impl Docket {
    /// How to reach Docket at `endpoint` as the holder of `token` (an API token or a JWT):
    /// `http://host:port` (or `https://` for TLS) for one server, or `dns:///host:port` to
    /// balance each call over every address the name resolves to (a Kubernetes headless Service:
    /// `dns:///docket-headless.docket.svc:50051`), resolved again every 30 s.
    pub fn builder(endpoint: impl Into<String>, token: impl Into<String>) -> Builder {
        Self::balanced([endpoint.into()], token)
    }

    /// Like [`builder`](Self::builder), balancing each call over several endpoints.
    pub fn balanced(
        endpoints: impl IntoIterator<Item = impl Into<String>>,
        token: impl Into<String>,
    ) -> Builder {
        Builder {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            token: token.into(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            gzip: false,
        }
    }

    service!(
        /// Tasks: create, read, list, change, watch.
        tasks: task_service_client::TaskServiceClient
    );
    service!(
        /// Assignments of tasks to their recipients.
        assignments: assignment_service_client::AssignmentServiceClient
    );
    service!(
        /// Users and channels.
        directory: directory_service_client::DirectoryServiceClient
    );
    service!(
        /// The caller's workspace and its settings.
        workspace: workspace_service_client::WorkspaceServiceClient
    );
}

/// How [`retry`] retries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// The first wait, when the server gives none; it doubles each time, with jitter.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// Whether Docket said a failed call may succeed if made again: UNAVAILABLE, and ABORTED or
/// RESOURCE_EXHAUSTED when the error carries a `RetryInfo` (a request too large carries none).
pub fn is_retryable(status: &Status) -> bool {
    match status.code() {
        Code::Unavailable => true,
        Code::Aborted | Code::ResourceExhausted => status.get_details_retry_info().is_some(),
        _ => false,
    }
}

/// Makes `call` until it succeeds, fails with an error that is not [`is_retryable`], or the
/// policy's retries run out; between attempts it waits what the error's `RetryInfo` says, or the
/// policy's backoff. Retry only calls that are safe to repeat: reads, and writes that are
/// idempotent (CreateTask with a `request_id`, upserts, lifecycle moves with an `etag`).
pub async fn retry<T, F, Fut>(policy: RetryPolicy, call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(policy.first_delay)
        .with_max_delay(policy.max_delay)
        .with_max_times(policy.max_retries)
        .with_jitter();
    call.retry(backoff)
        .sleep(tokio::time::sleep)
        .when(is_retryable)
        .adjust(|status: &Status, delay: Option<Duration>| {
            let asked = status
                .get_details_retry_info()
                .and_then(|info| info.retry_delay);
            // Out of retries (no delay) stays out.
            delay.map(|delay| asked.unwrap_or(delay))
        })
        .await
}

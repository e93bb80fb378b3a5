//! The one place every setting is declared: each is a flag and a `DOCKET_*` (or `DATABASE_URL`)
//! environment variable with its default. `docket serve --help` prints this list; the README's
//! configuration table mirrors it.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};

/// Settings for `docket serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,

    /// Address the gRPC server listens on.
    #[arg(long, env = "DOCKET_LISTEN", default_value = "0.0.0.0:50051")]
    pub listen: SocketAddr,

    /// Whether the server migrates the database at start (creating it if missing), waiting for
    /// another instance that is migrating. `false` for clusters that migrate in a deploy step
    /// (`docket migrate` as a Job): the server then changes nothing and waits, NOT_SERVING, until
    /// the database has every migration it needs.
    #[arg(long, env = "DOCKET_MIGRATE", default_value_t = true, action = clap::ArgAction::Set)]
    pub migrate: bool,

    /// Address of the Prometheus metrics endpoint (`GET /metrics`), a port of its own. Unset: no
    /// metrics endpoint.
    #[arg(long, env = "DOCKET_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// How often the readiness check asks the database whether it answers.
    #[arg(long, env = "DOCKET_HEALTH_INTERVAL", default_value = "2s", value_parser = humantime::parse_duration)]
    pub health_interval: Duration,

    /// Longest a call may run, and each page a stream fetches may take; a client's shorter
    /// `grpc-timeout` wins. Past it the call fails (UNAVAILABLE, or DEADLINE_EXCEEDED for the
    /// client's deadline) and any database connection it held is closed.
    #[arg(long, env = "DOCKET_CALL_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub call_timeout: Duration,

    /// How long CreateTask remembers a `request_id`: a retry within it answers with the task
    /// the first call created; after it, the id is forgotten and a retry creates anew.
    #[arg(long, env = "DOCKET_REQUEST_ID_RETENTION", default_value = "7days", value_parser = humantime::parse_duration)]
    pub request_id_retention: Duration,

    /// How long events (ListTaskEvents, watches) are kept. A watch resuming from a position older
    /// than what is kept fails WATCH_POSITION_EXPIRED.
    #[arg(long, env = "DOCKET_EVENT_RETENTION", default_value = "30days", value_parser = humantime::parse_duration)]
    pub event_retention: Duration,

    /// Events a WatchTasks stream may have waiting in memory for its client (shared with every
    /// other watcher of them: a waiting event costs a watcher a pointer); a watcher that falls
    /// further behind reads from the event log itself until it has caught up.
    #[arg(long, env = "DOCKET_WATCH_QUEUE", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub watch_queue: u32,

    /// How long a WatchTasks stream that has fallen behind may go without its client taking
    /// anything before it is cut off (RESOURCE_EXHAUSTED WATCH_TOO_SLOW; it resumes from its last
    /// position). A client that keeps reading is never cut off.
    #[arg(long, env = "DOCKET_WATCH_STALL_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub watch_stall_timeout: Duration,

    /// How often an idle WatchTasks stream gets a progress message (its position, to checkpoint).
    #[arg(long, env = "DOCKET_WATCH_PROGRESS_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub watch_progress_interval: Duration,

    /// How often housekeeping purges what has outlived its retention (one server at a time).
    #[arg(long, env = "DOCKET_HOUSEKEEPING_INTERVAL", default_value = "10m", value_parser = humantime::parse_duration)]
    pub housekeeping_interval: Duration,

    /// How often each server looks for due timers (scheduled actions, reminders): an action runs
    /// at most about this long after its time, in steady state.
    #[arg(long, env = "DOCKET_TIMER_POLL_INTERVAL", default_value = "250ms", value_parser = humantime::parse_duration)]
    pub timer_poll_interval: Duration,

    /// Timers one transaction fires at most (and how many due timers one look reads).
    #[arg(long, env = "DOCKET_TIMER_BATCH", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub timer_batch: u32,

    /// Workspaces whose timers one server fires at once, each on a connection of its own.
    #[arg(long, env = "DOCKET_TIMER_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub timer_concurrency: u32,

    /// How long in-flight calls and streams may run after SIGTERM/SIGINT before they are cut.
    #[arg(long, env = "DOCKET_SHUTDOWN_GRACE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,

    /// How long the server keeps taking new calls after SIGTERM/SIGINT, health already
    /// NOT_SERVING, before it stops accepting them and drains: time for load balancers and
    /// Kubernetes endpoints to stop routing to it (a few seconds there; none by default).
    #[arg(long, env = "DOCKET_DRAIN_DELAY", default_value = "0s", value_parser = humantime::parse_duration)]
    pub drain_delay: Duration,

    #[command(flatten)]
    pub connections: ConnectionConfig,

    #[command(flatten)]
    pub webhooks: WebhookConfig,

    #[command(flatten)]
    pub auth: AuthConfig,

    #[command(flatten)]
    pub tls: TlsConfig,

    #[command(flatten)]
    pub log: LogConfig,
}

/// Client connections: HTTP/2 settings and the limits each connection and call is held to.
#[derive(Debug, Clone, Args)]
pub struct ConnectionConfig {
    /// How often the server pings each connection to learn that the client is still there (gone
    /// clients are otherwise noticed only when a write fails); 0s turns pings off.
    #[arg(long, env = "DOCKET_HTTP2_KEEPALIVE_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub http2_keepalive_interval: Duration,

    /// How long a ping may go unanswered before the connection is closed.
    #[arg(long, env = "DOCKET_HTTP2_KEEPALIVE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub http2_keepalive_timeout: Duration,

    /// Longest a connection stays open: then the server sends GOAWAY, so that clients reconnect
    /// and spread over replicas added since (a Kubernetes Service balances connections, not calls).
    #[arg(long, env = "DOCKET_MAX_CONNECTION_AGE", default_value = "30m", value_parser = humantime::parse_duration)]
    pub max_connection_age: Duration,

    /// How long calls still running on a connection past its maximum age may take to finish.
    #[arg(long, env = "DOCKET_MAX_CONNECTION_AGE_GRACE", default_value = "1m", value_parser = humantime::parse_duration)]
    pub max_connection_age_grace: Duration,

    /// A connection with no call running for this long is closed.
    #[arg(long, env = "DOCKET_MAX_CONNECTION_IDLE", default_value = "5m", value_parser = humantime::parse_duration)]
    pub max_connection_idle: Duration,

    /// A connection that sends nothing for this long after it opens is closed.
    #[arg(long, env = "DOCKET_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub handshake_timeout: Duration,

    /// Calls running at once on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); clients
    /// queue the rest.
    #[arg(long, env = "DOCKET_MAX_CONCURRENT_STREAMS", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_streams: u32,

    /// Streams (listings and watches) open at once (all connections together); past it, a new
    /// one fails RESOURCE_EXHAUSTED `OVERLOADED` with RetryInfo.
    #[arg(long, env = "DOCKET_MAX_OPEN_STREAMS", default_value_t = 10000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_open_streams: u32,

    /// Bytes of listed rows one stream may hold while its client has not taken them (the page
    /// being taken and the one fetched ahead); a single task larger than half of it still goes
    /// out, alone in its page.
    #[arg(long, env = "DOCKET_STREAM_BUFFER_BYTES", default_value_t = 1048576, value_parser = clap::value_parser!(u32).range(8192..))]
    pub stream_buffer_bytes: u32,

    /// Bytes of listed rows all streams together may hold. Pages shrink as more streams share
    /// it, and wait for room (within the call timeout) only when not even a small one fits.
    #[arg(long, env = "DOCKET_STREAMS_BUFFER_BYTES", default_value_t = 67108864, value_parser = clap::value_parser!(u64).range(65536..))]
    pub streams_buffer_bytes: u64,

    /// Bytes of listed rows the streams of one caller (a user or service of a workspace) may
    /// hold together, so that a caller who stops reading leaves the rest to everyone else.
    #[arg(long, env = "DOCKET_CALLER_STREAMS_BUFFER_BYTES", default_value_t = 8388608, value_parser = clap::value_parser!(u64).range(65536..))]
    pub caller_streams_buffer_bytes: u64,

    /// Largest metadata (all request headers together, in HTTP/2's accounting) a call may carry;
    /// more fails that call RESOURCE_EXHAUSTED `HEADERS_TOO_LARGE`.
    #[arg(long, env = "DOCKET_MAX_HEADER_BYTES", default_value_t = 65536, value_parser = clap::value_parser!(u32).range(1024..=1048576))]
    pub max_header_bytes: u32,
}

/// Serving gRPC over TLS. Unset (the default): plaintext, for in-cluster use behind a mesh.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsConfig {
    /// PEM certificate chain; set together with DOCKET_TLS_KEY to serve TLS.
    #[arg(long, env = "DOCKET_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of the certificate.
    #[arg(long, env = "DOCKET_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// Webhook delivery: where it may go, how it is paced, and the keys that seal signing secrets.
#[derive(Debug, Clone, Args)]
pub struct WebhookConfig {
    /// Keys that seal webhook signing secrets at rest: `id:<base64 of 32 bytes>`, comma
    /// separated. The first seals; every one opens, so a new key goes first and the old one stays
    /// until the servers have resealed every secret with the new one (docs/operations.md).
    /// Unset: WebhookService answers WEBHOOKS_DISABLED and nothing is delivered.
    #[arg(long, env = "DOCKET_WEBHOOK_KEYS", hide_env_values = true)]
    pub webhook_keys: Option<String>,

    /// Let subscriptions use plain `http://` URLs (otherwise `https://` only).
    #[arg(long, env = "DOCKET_WEBHOOK_ALLOW_HTTP", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_http: bool,

    /// Networks webhooks may reach although they are not public (private, loopback,
    /// link-local, ...), comma separated, e.g. `10.20.0.0/16,127.0.0.1/32`. Public addresses are
    /// always allowed.
    #[arg(long, env = "DOCKET_WEBHOOK_ALLOW_NETWORKS", value_delimiter = ',')]
    pub webhook_allow_networks: Vec<ipnet::IpNet>,

    /// How long one delivery may take, connecting to reading the answer.
    #[arg(long, env = "DOCKET_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub webhook_timeout: Duration,

    /// How long a subscription may fail without a success before it is paused as FAILING.
    #[arg(long, env = "DOCKET_WEBHOOK_RETRY_PERIOD", default_value = "3days", value_parser = humantime::parse_duration)]
    pub webhook_retry_period: Duration,

    /// Requests one subscription may have in flight at once (events of different tasks).
    #[arg(long, env = "DOCKET_WEBHOOK_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub webhook_concurrency: u32,

    /// Bytes of messages one subscription may hold read ahead of its cursor.
    #[arg(long, env = "DOCKET_WEBHOOK_INFLIGHT_BYTES", default_value_t = 4 << 20, value_parser = clap::value_parser!(u32).range(65536..))]
    pub webhook_inflight_bytes: u32,

    /// Subscriptions one server delivers at once.
    #[arg(long, env = "DOCKET_WEBHOOK_SUBSCRIPTIONS", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub webhook_subscriptions: u32,

    /// How long a server's hold on a subscription lasts unless renewed: how soon another server
    /// carries on after one dies.
    #[arg(long, env = "DOCKET_WEBHOOK_LEASE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub webhook_lease: Duration,
}

/// How callers are authenticated.
#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// Shared secret for HS256 JWTs (at least 32 bytes). Unset: no HS256 JWTs.
    #[arg(long, env = "DOCKET_JWT_HS256_SECRET", hide_env_values = true)]
    pub jwt_hs256_secret: Option<String>,

    /// PEM file with the RSA (RS256) or EC P-256 (ES256) public key that verifies JWTs.
    #[arg(long, env = "DOCKET_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,

    /// Required `iss` claim of JWTs. Unset: not checked.
    #[arg(long, env = "DOCKET_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Required `aud` claim of JWTs. Unset: not checked.
    #[arg(long, env = "DOCKET_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// Clock skew allowed between Docket and the token issuer: a JWT is accepted until this long
    /// after its `exp`, and from this long before its `nbf`.
    #[arg(long, env = "DOCKET_JWT_LEEWAY", default_value = "30s", value_parser = humantime::parse_duration)]
    pub jwt_leeway: Duration,

    /// The longest a JWT may live: one whose `exp` is further than this from now, or from its
    /// `iat`, is refused.
    #[arg(long, env = "DOCKET_JWT_MAX_LIFETIME", default_value = "24h", value_parser = humantime::parse_duration)]
    pub jwt_max_lifetime: Duration,

    /// How long a verified API token or user is trusted before it is looked up again; a revoked
    /// token or deactivated user stops working within this time.
    #[arg(long, env = "DOCKET_AUTH_CACHE_TTL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub auth_cache_ttl: Duration,
}

/// How to reach PostgreSQL.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// PostgreSQL URL of Docket's database; it is created if missing.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/docket",
        hide_env_values = true
    )]
    pub database_url: String,

    /// Database on the same server used to create Docket's database when it is missing.
    #[arg(long, env = "DOCKET_MAINTENANCE_DB", default_value = "postgres")]
    pub maintenance_db: String,

    /// Maximum number of pooled database connections.
    #[arg(long, env = "DOCKET_DB_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub pool_size: u32,

    /// Longest a single SQL statement may run before PostgreSQL cancels it.
    #[arg(long, env = "DOCKET_DB_STATEMENT_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub statement_timeout: Duration,

    /// Longest a new database connection may take to establish.
    #[arg(long, env = "DOCKET_DB_CONNECT_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,

    /// Pooled connections that page fetches of streamed listings may hold at once; they take
    /// turns for them, and unary calls always have the rest of the pool. Unset: a quarter of the
    /// pool (a burst of 1,000 streams then leaves GetTask's p99 within 3x; half gave 4x).
    #[arg(long, env = "DOCKET_DB_STREAM_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub stream_connections: Option<u32>,

    /// Statements run at once for each batched hot path (task creates, task reads); each holds a
    /// pooled connection while it runs.
    #[arg(long, env = "DOCKET_DB_BATCH_RUNNERS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub batch_runners: u32,

    /// Items a batch waits for while another batch of the same kind is running (it starts anyway
    /// when that one ends); 1 starts every batch at once.
    #[arg(long, env = "DOCKET_DB_BATCH_FILL", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub batch_fill: u32,
}

/// Log output.
#[derive(Debug, Clone, Args)]
pub struct LogConfig {
    /// Log line format.
    #[arg(long, env = "DOCKET_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Which logs to keep, as a tracing filter (e.g. `info`, `docket=debug,info`).
    #[arg(long, env = "DOCKET_LOG", default_value = "info")]
    pub log_filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

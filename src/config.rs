//! The one place every setting is declared: each is a flag and a `DOCKET_*` (or `DATABASE_URL`)
//! environment variable with its default. `docket serve --help` prints this list; the README's
//! configuration table mirrors it.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::auth::Scope;

/// The command line of the `docket` binary.
#[derive(Debug, Parser)]
#[command(
    name = "docket",
    version,
    about = "Docket: a gRPC task and assignment service"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// `docket` without a subcommand serves, with these settings.
    #[command(flatten)]
    pub serve: ServeConfig,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the database if missing, apply migrations, then serve gRPC (the default).
    Serve(ServeConfig),
    /// Create the database if missing, apply pending migrations, and exit.
    Migrate(MigrateConfig),
    /// Operator commands: workspaces and API tokens, straight against the database.
    Admin(AdminConfig),
}

impl Cli {
    /// The subcommand to run, `serve` when none was given.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

/// Settings for `docket serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,

    /// Address the gRPC server listens on.
    #[arg(long, env = "DOCKET_LISTEN", default_value = "0.0.0.0:50051")]
    pub listen: SocketAddr,

    /// How often the readiness check asks the database whether it answers.
    #[arg(long, env = "DOCKET_HEALTH_INTERVAL", default_value = "2s", value_parser = humantime::parse_duration)]
    pub health_interval: Duration,

    /// How long in-flight calls and streams may run after SIGTERM/SIGINT before they are cut.
    #[arg(long, env = "DOCKET_SHUTDOWN_GRACE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,

    #[command(flatten)]
    pub auth: AuthConfig,

    #[command(flatten)]
    pub tls: TlsConfig,

    #[command(flatten)]
    pub log: LogConfig,
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

    /// How long a verified API token or user is trusted before it is looked up again; a revoked
    /// token or deactivated user stops working within this time.
    #[arg(long, env = "DOCKET_AUTH_CACHE_TTL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub auth_cache_ttl: Duration,
}

/// Settings for `docket migrate`.
#[derive(Debug, Clone, Args)]
pub struct MigrateConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,

    #[command(flatten)]
    pub log: LogConfig,
}

/// Settings and action of `docket admin`.
#[derive(Debug, Clone, Args)]
pub struct AdminConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,

    /// Print one JSON object instead of text, for scripts.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub action: AdminAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AdminAction {
    /// Manage workspaces.
    #[command(subcommand)]
    Workspace(WorkspaceAction),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenAction),
}

#[derive(Debug, Clone, Subcommand)]
pub enum WorkspaceAction {
    /// Create a workspace and print its id and a first token holding every scope.
    Create {
        /// The workspace's name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum TokenAction {
    /// Issue an API token; its secret is printed once and never stored.
    Create {
        /// Workspace id.
        #[arg(long)]
        workspace: uuid::Uuid,
        /// Act as this user of the workspace.
        #[arg(long, conflicts_with = "service", required_unless_present = "service")]
        user: Option<uuid::Uuid>,
        /// Act as this named service (e.g. billing).
        #[arg(long)]
        service: Option<String>,
        /// Comma-separated scopes: tasks:read, tasks:write, directory:read, directory:write,
        /// workspace:admin.
        #[arg(long, value_delimiter = ',', required = true, value_parser = parse_scope)]
        scopes: Vec<Scope>,
    },
    /// Revoke an API token; callers using it are refused within DOCKET_AUTH_CACHE_TTL.
    Revoke {
        /// Workspace id.
        #[arg(long)]
        workspace: uuid::Uuid,
        /// Token id (from `token create` or `token list`).
        #[arg(long)]
        id: uuid::Uuid,
    },
    /// List a workspace's API tokens (never their secrets).
    List {
        /// Workspace id.
        #[arg(long)]
        workspace: uuid::Uuid,
    },
}

fn parse_scope(text: &str) -> Result<Scope, String> {
    Scope::parse(text.trim()).ok_or_else(|| {
        let known: Vec<_> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown scope {text:?}; scopes are {}", known.join(", "))
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_serve_with_defaults() {
        let cli = Cli::try_parse_from(["docket", "--listen", "127.0.0.1:0"]).expect("parses");
        match cli.into_command() {
            Command::Serve(config) => {
                assert_eq!(config.listen, "127.0.0.1:0".parse().expect("addr"));
                assert_eq!(config.shutdown_grace, Duration::from_secs(30));
            }
            other => panic!("expected serve, got {other:?}"),
        }
    }

    #[test]
    fn durations_take_units() {
        let cli = Cli::try_parse_from(["docket", "migrate", "--statement-timeout", "1500ms"])
            .expect("parses");
        match cli.into_command() {
            Command::Migrate(config) => {
                assert_eq!(
                    config.database.statement_timeout,
                    Duration::from_millis(1500)
                );
            }
            other => panic!("expected migrate, got {other:?}"),
        }
    }
}

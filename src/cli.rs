//! The `docket` command line: `docket [serve]`, `docket migrate`, `docket health` (an exec probe,
//! `crate::probe`), and `docket admin`, the operator CLI for workspaces and API tokens. Admin commands work directly against the database (creating
//! and migrating it if needed), so they need no running server and no token. The settings each
//! command takes are declared in `crate::config`.

use clap::{Args, Parser, Subcommand};
use diesel_async::AsyncPgConnection;
use serde_json::json;

use crate::{
    auth::Scope,
    config::{DatabaseConfig, LogConfig, ServeConfig},
    db::{self, ConnectOptions, directory::api_tokens::ApiToken},
    domain::{
        DomainError,
        tokens::{self, TokenOwner},
        workspaces,
    },
};

/// The version `docket --version` prints: the crate's, and the git revision it was built from
/// (build.rs; `unknown` outside a git checkout, unless DOCKET_GIT_REVISION was set at build time).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("DOCKET_GIT_REVISION"),
    ")"
);

/// The command line of the `docket` binary.
#[derive(Debug, Parser)]
#[command(
    name = "docket",
    version = VERSION,
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
    Serve(Box<ServeConfig>),
    /// Create the database if missing, apply pending migrations, and exit.
    Migrate(MigrateConfig),
    /// Operator commands: workspaces and API tokens, straight against the database.
    Admin(AdminConfig),
    /// Ask a running server whether it is SERVING (exit 0) or not (exit 1): an exec probe.
    Health(crate::probe::HealthCheckConfig),
}

impl Cli {
    /// The subcommand to run, `serve` when none was given.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(Box::new(self.serve)))
    }
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
    text.trim().parse().map_err(|_| {
        let known: Vec<_> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown scope {text:?}; scopes are {}", known.join(", "))
    })
}

/// Runs a `docket admin` command.
pub async fn run(config: AdminConfig) -> Result<(), Box<dyn std::error::Error>> {
    db::prepare(&config.database).await?;
    let mut conn = ConnectOptions::new(&config.database, "docket-admin")?
        .connect()
        .await?;
    let output = execute(&mut conn, config.action).await.map_err(describe)?;
    if config.json {
        println!("{}", output.json);
    } else {
        println!("{}", output.text);
    }
    Ok(())
}

struct Output {
    text: String,
    json: serde_json::Value,
}

async fn execute(conn: &mut AsyncPgConnection, action: AdminAction) -> Result<Output, DomainError> {
    match action {
        AdminAction::Workspace(WorkspaceAction::Create { name }) => {
            let (workspace, token) = workspaces::create(conn, &name).await?;
            Ok(Output {
                text: format!(
                    "workspace {} ({})\n{}\nsecret {}\n(the secret is shown only now: store it)",
                    workspace.id,
                    workspace.name,
                    describe_token(&token.token),
                    token.secret
                ),
                json: json!({
                    "workspace_id": workspace.id,
                    "name": workspace.name,
                    "token": token_json(&token.token, Some(&token.secret)),
                }),
            })
        }
        AdminAction::Token(TokenAction::Create {
            workspace,
            user,
            service,
            scopes,
        }) => {
            let owner = match (user, service) {
                (Some(user), _) => TokenOwner::User(user),
                (None, Some(service)) => TokenOwner::Service(service),
                (None, None) => {
                    return Err(DomainError::invalid("user", "give --user or --service"));
                }
            };
            let created = tokens::create(conn, workspace, owner, &scopes).await?;
            Ok(Output {
                text: format!(
                    "{}\nsecret {}\n(the secret is shown only now: store it)",
                    describe_token(&created.token),
                    created.secret
                ),
                json: token_json(&created.token, Some(&created.secret)),
            })
        }
        AdminAction::Token(TokenAction::Revoke { workspace, id }) => {
            let token = tokens::revoke(conn, workspace, id).await?;
            Ok(Output {
                text: describe_token(&token),
                json: token_json(&token, None),
            })
        }
        AdminAction::Token(TokenAction::List { workspace }) => {
            let tokens = tokens::list(conn, workspace).await?;
            let text = if tokens.is_empty() {
                "no tokens".to_owned()
            } else {
                tokens
                    .iter()
                    .map(describe_token)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let json =
                json!({ "tokens": tokens.iter().map(|t| token_json(t, None)).collect::<Vec<_>>() });
            Ok(Output { text, json })
        }
    }
}

fn actor(token: &ApiToken) -> (&'static str, String) {
    match (&token.user_id, &token.service_name) {
        (Some(user), _) => ("user", user.to_string()),
        (None, Some(service)) => ("service", service.clone()),
        (None, None) => ("unknown", String::new()),
    }
}

fn describe_token(token: &ApiToken) -> String {
    let (kind, id) = actor(token);
    let state = match (token.revoked_at, token.last_used_at) {
        (Some(at), _) => format!("revoked {}", at.to_rfc3339()),
        (None, Some(at)) => format!("last used {}", at.to_rfc3339()),
        (None, None) => "never used".to_owned(),
    };
    format!(
        "token {} {}… {kind}={id} scopes={} {state}",
        token.id,
        token.display_prefix,
        token
            .scopes
            .iter()
            .map(|scope| scope.as_str())
            .collect::<Vec<_>>()
            .join(",")
    )
}

fn token_json(token: &ApiToken, secret: Option<&str>) -> serde_json::Value {
    let (kind, id) = actor(token);
    let mut value = json!({
        "id": token.id,
        "workspace_id": token.workspace_id,
        "prefix": token.display_prefix,
        kind: id,
        "scopes": token.scopes,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    });
    if let Some(secret) = secret {
        value["secret"] = json!(secret);
    }
    value
}

/// Domain errors as one readable line for the operator.
fn describe(error: DomainError) -> Box<dyn std::error::Error> {
    match error {
        DomainError::Invalid(invalid) => invalid
            .listed
            .iter()
            .map(|v| format!("--{}: {}", v.field, v.description))
            .collect::<Vec<_>>()
            .join("; ")
            .into(),
        other => Box::new(other),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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

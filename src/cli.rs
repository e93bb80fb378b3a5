//! `docket admin`: the operator CLI for workspaces and API tokens. It works directly against the
//! database (creating and migrating it if needed), so it needs no running server and no token.

use diesel_async::AsyncPgConnection;
use serde_json::json;

use crate::{
    config::{AdminAction, AdminConfig, TokenAction, WorkspaceAction},
    db::{self, ConnectOptions, api_tokens::ApiToken},
    domain::{
        DomainError,
        tokens::{self, TokenOwner},
        workspaces,
    },
};

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
        token.scopes.join(",")
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
        DomainError::Invalid(violations) => violations
            .iter()
            .map(|v| format!("--{}: {}", v.field, v.description))
            .collect::<Vec<_>>()
            .join("; ")
            .into(),
        other => Box::new(other),
    }
}

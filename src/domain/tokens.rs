//! API tokens: issuing (the secret is returned once), listing and revoking. Used by the operator
//! CLI; callers present the secrets, which `crate::auth` verifies.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::DomainError;
use crate::{
    auth::{Scope, api_token::NewSecret},
    db::{
        DbError,
        directory::api_tokens::{self, ApiToken, NewApiToken, TOKEN_USER_KEY},
        directory::workspaces,
    },
};

/// Whom a token acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOwner {
    User(Uuid),
    Service(String),
}

/// A token just issued: its row and the secret, which is not stored and cannot be shown again.
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: String,
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    owner: TokenOwner,
    scopes: &[Scope],
) -> Result<CreatedToken, DomainError> {
    if scopes.is_empty() {
        return Err(DomainError::invalid("scopes", "name at least one scope"));
    }
    if let TokenOwner::Service(name) = &owner
        && !valid_service_name(name)
    {
        return Err(DomainError::invalid(
            "service",
            "1 to 63 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
        ));
    }
    if workspaces::find(conn, workspace_id).await?.is_none() {
        return Err(DomainError::WorkspaceNotFound);
    }
    let secret = NewSecret::generate()?;
    let mut scope_names = scopes.to_vec();
    scope_names.sort_by_key(|scope| scope.as_str());
    scope_names.dedup();
    let (user_id, service_name) = match &owner {
        TokenOwner::User(id) => (Some(*id), None),
        TokenOwner::Service(name) => (None, Some(name.as_str())),
    };
    let row = NewApiToken {
        workspace_id,
        id: Uuid::now_v7(),
        token_hash: &secret.hash,
        display_prefix: &secret.display_prefix,
        user_id,
        service_name,
        scopes: scope_names,
    };
    match api_tokens::insert(conn, row).await {
        Ok(token) => Ok(CreatedToken {
            token,
            secret: secret.secret,
        }),
        Err(e) => match DbError::from(e) {
            // The user named is not one of the workspace's (nor, then, in its directory).
            e if e.violated() == Some(TOKEN_USER_KEY) => {
                Err(DomainError::UnknownUser(user_id.unwrap_or_default()))
            }
            e => Err(e.into()),
        },
    }
}

pub async fn revoke(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    token_id: Uuid,
) -> Result<ApiToken, DomainError> {
    api_tokens::revoke(conn, workspace_id, token_id)
        .await?
        .ok_or(DomainError::TokenNotFound(token_id))
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
) -> Result<Vec<ApiToken>, DomainError> {
    if workspaces::find(conn, workspace_id).await?.is_none() {
        return Err(DomainError::WorkspaceNotFound);
    }
    Ok(api_tokens::list(conn, workspace_id).await?)
}

fn valid_service_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 63
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::valid_service_name;

    #[test]
    fn service_names_match_the_database_check() {
        for ok in ["admin", "billing-svc", "a", "x.y_z-1"] {
            assert!(valid_service_name(ok), "{ok}");
        }
        for bad in ["", "Admin", "-svc", "has space", &"a".repeat(64)] {
            assert!(!valid_service_name(bad), "{bad}");
        }
    }
}

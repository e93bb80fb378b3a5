//! Workspaces: creating one (with its first admin token) and reading or changing the caller's.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{
    DomainError,
    tokens::{self, CreatedToken, TokenOwner},
};
use crate::{
    auth::{Caller, Scope},
    db::workspaces::{self, SettingsChange, Workspace},
};

const MAX_NAME_CHARS: usize = 200;

/// The service name of the token `docket admin workspace create` prints.
pub const FIRST_ADMIN_SERVICE: &str = "admin";

/// Creates a workspace and its first token, which holds every scope, in one transaction.
pub async fn create(
    conn: &mut AsyncPgConnection,
    name: &str,
) -> Result<(Workspace, CreatedToken), DomainError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    conn.transaction(async |conn| {
        let workspace = workspaces::insert(conn, Uuid::now_v7(), name).await?;
        let owner = TokenOwner::Service(FIRST_ADMIN_SERVICE.to_owned());
        let token = tokens::create(conn, workspace.id, owner, &Scope::ALL).await?;
        Ok::<_, DomainError>((workspace, token))
    })
    .await
}

/// The caller's workspace.
pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller) -> Result<Workspace, DomainError> {
    workspaces::find(conn, caller.workspace_id)
        .await?
        .ok_or(DomainError::WorkspaceNotFound)
}

/// Changes the caller's workspace settings.
pub async fn update_settings(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    change: SettingsChange,
) -> Result<Workspace, DomainError> {
    workspaces::update_settings(conn, caller.workspace_id, change)
        .await?
        .ok_or(DomainError::WorkspaceNotFound)
}

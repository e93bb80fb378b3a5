//! Workspaces: creating one (with its first admin token) and reading or changing the caller's.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{
    DomainError,
    input::{Text, TextKind, Violations, quoted},
    tokens::{self, CreatedToken, TokenOwner},
};
use crate::domain::records::Workspace;
use crate::{
    auth::{Caller, Scope},
    db::directory::workspaces,
};

/// Settings to change; `None` leaves a setting as it is.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SettingsChange {
    pub assignments_enabled: Option<bool>,
}

/// A workspace's name.
#[derive(Debug)]
pub enum WorkspaceName {}
impl TextKind for WorkspaceName {
    const MAX_CHARS: usize = 200;
    const REQUIRED: bool = true;
}

/// The service name of the token `docket admin workspace create` prints.
pub const FIRST_ADMIN_SERVICE: &str = "admin";

/// Creates a workspace and its first token, which holds every scope, in one transaction.
pub async fn create(
    conn: &mut AsyncPgConnection,
    name: &str,
) -> Result<(Workspace, CreatedToken), DomainError> {
    let name = Text::<WorkspaceName>::parse(name).map_err(|e| DomainError::invalid("name", e))?;
    conn.transaction(async |conn| {
        let workspace = workspaces::insert(conn, Uuid::now_v7(), name.as_str()).await?;
        let owner = TokenOwner::Service(FIRST_ADMIN_SERVICE.to_owned());
        let token = tokens::create(conn, workspace.id, owner, Scope::ALL).await?;
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

/// A workspace setting UpdateWorkspaceSettings may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    AssignmentsEnabled,
}

impl Setting {
    pub const ALL: [Setting; 1] = [Setting::AssignmentsEnabled];

    /// The setting's name in update masks.
    pub fn path(self) -> &'static str {
        match self {
            Setting::AssignmentsEnabled => "assignments_enabled",
        }
    }

    /// The settings an update mask names; an empty mask names them all.
    pub fn of_mask(paths: &[String], violations: &mut Violations) -> Vec<Setting> {
        if paths.is_empty() {
            return Self::ALL.to_vec();
        }
        let known: Vec<&str> = Self::ALL.iter().map(|s| s.path()).collect();
        violations.each("update_mask.paths", paths, Self::ALL.len() * 4, |path| {
            Self::ALL
                .into_iter()
                .find(|setting| setting.path() == path)
                .ok_or_else(|| {
                    format!(
                        "unknown setting {}; settings are: {}",
                        quoted(path),
                        known.join(", ")
                    )
                })
        })
    }
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

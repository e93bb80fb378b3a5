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
    db::directory::{sla_policies, workspaces},
    domain::sla_policies::SlaPolicy,
};

/// Settings to change; `None` leaves a setting as it is.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SettingsChange {
    pub assignments_enabled: Option<bool>,
    pub time_zone: Option<TimeZoneName>,
    /// Replaces every current policy (checked, names unique).
    pub sla_policies: Option<Vec<SlaPolicy>>,
}

/// A workspace with its SLA policies, as GetWorkspace and UpdateWorkspaceSettings answer.
pub type WorkspaceSettings = (Workspace, Vec<SlaPolicy>);

/// An IANA time zone name as a request gives it ("Europe/Berlin", "UTC"), checked for its shape;
/// whether it names a zone is for the database, whose tz database does the arithmetic, to say
/// (`update_settings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        let shaped = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
        if shaped {
            Ok(Self(name.to_owned()))
        } else {
            Err("must be an IANA time zone name, such as Europe/Berlin or UTC")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
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

/// The caller's workspace, with its SLA policies.
pub async fn get(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
) -> Result<WorkspaceSettings, DomainError> {
    let workspace = workspaces::find(conn, caller.workspace_id)
        .await?
        .ok_or(DomainError::WorkspaceNotFound)?;
    let policies = sla_policies::current(conn, caller.workspace_id).await?;
    Ok((workspace, policies))
}

/// A workspace setting UpdateWorkspaceSettings may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    AssignmentsEnabled,
    TimeZone,
    SlaPolicies,
}

impl Setting {
    pub const ALL: [Setting; 3] = [
        Setting::AssignmentsEnabled,
        Setting::TimeZone,
        Setting::SlaPolicies,
    ];

    /// The setting's name in update masks.
    pub fn path(self) -> &'static str {
        match self {
            Setting::AssignmentsEnabled => "assignments_enabled",
            Setting::TimeZone => "time_zone",
            Setting::SlaPolicies => "sla_policies",
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

/// Changes the caller's workspace settings. A new time zone moves the due instant of every task
/// due on a date (and their reminders before the due), in the same transaction; new SLA policies
/// apply to tasks created afterwards.
pub async fn update_settings(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    change: SettingsChange,
) -> Result<WorkspaceSettings, DomainError> {
    conn.transaction(async |conn| {
        if let Some(zone) = &change.time_zone
            && !workspaces::knows_time_zone(conn, zone.as_str()).await?
        {
            return Err(DomainError::invalid(
                "settings.time_zone",
                format!(
                    "{} is not a time zone this server knows",
                    quoted(zone.as_str())
                ),
            ));
        }
        let before = workspaces::find(conn, caller.workspace_id)
            .await?
            .ok_or(DomainError::WorkspaceNotFound)?;
        if let Some(policies) = &change.sla_policies {
            sla_policies::replace(conn, caller.workspace_id, policies).await?;
        }
        let after = workspaces::update_settings(conn, caller.workspace_id, change)
            .await?
            .ok_or(DomainError::WorkspaceNotFound)?;
        if after.time_zone != before.time_zone {
            workspaces::redate_dues(conn, caller.workspace_id).await?;
        }
        let policies = sla_policies::current(conn, caller.workspace_id).await?;
        Ok((after, policies))
    })
    .await
}

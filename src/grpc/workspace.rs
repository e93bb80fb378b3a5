//! `docket.v1.WorkspaceService`: proto ↔ domain for the caller's workspace.

use tonic::{Request, Response, Status};

use super::{caller, connection, pb, timestamp};
use crate::{
    db::{
        PgPool,
        workspaces::{SettingsChange, Workspace},
    },
    domain::workspaces,
    error::{ApiError, FieldViolation},
};

pub struct WorkspaceApi {
    pool: PgPool,
}

impl WorkspaceApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[tonic::async_trait]
impl pb::workspace_service_server::WorkspaceService for WorkspaceApi {
    async fn get_workspace(
        &self,
        request: Request<pb::GetWorkspaceRequest>,
    ) -> Result<Response<pb::GetWorkspaceResponse>, Status> {
        let caller = caller(&request)?;
        let workspace = workspaces::get(&mut *connection(&self.pool).await?, caller).await?;
        Ok(Response::new(pb::GetWorkspaceResponse {
            workspace: Some(to_proto(workspace)),
        }))
    }

    async fn update_workspace_settings(
        &self,
        request: Request<pb::UpdateWorkspaceSettingsRequest>,
    ) -> Result<Response<pb::UpdateWorkspaceSettingsResponse>, Status> {
        let caller = caller(&request)?;
        let change = settings_change(request.get_ref())?;
        let workspace =
            workspaces::update_settings(&mut *connection(&self.pool).await?, caller, change)
                .await?;
        Ok(Response::new(pb::UpdateWorkspaceSettingsResponse {
            workspace: Some(to_proto(workspace)),
        }))
    }
}

/// The settings an update names: those in `update_mask`, or all of them when the mask is empty.
fn settings_change(
    request: &pb::UpdateWorkspaceSettingsRequest,
) -> Result<SettingsChange, ApiError> {
    let Some(settings) = &request.settings else {
        return Err(ApiError::Validation(vec![FieldViolation::new(
            "settings",
            "is required",
        )]));
    };
    let paths = request
        .update_mask
        .as_ref()
        .map(|mask| mask.paths.as_slice())
        .unwrap_or_default();
    if paths.is_empty() {
        return Ok(SettingsChange {
            assignments_enabled: Some(settings.assignments_enabled),
        });
    }
    let mut change = SettingsChange::default();
    let mut violations = Vec::new();
    for (index, path) in paths.iter().enumerate() {
        match path.as_str() {
            "assignments_enabled" => {
                change.assignments_enabled = Some(settings.assignments_enabled)
            }
            other => violations.push(FieldViolation::new(
                format!("update_mask.paths[{index}]"),
                format!("unknown setting {other:?}; settings are: assignments_enabled"),
            )),
        }
    }
    if violations.is_empty() {
        Ok(change)
    } else {
        Err(ApiError::Validation(violations))
    }
}

fn to_proto(workspace: Workspace) -> pb::Workspace {
    pb::Workspace {
        id: workspace.id.to_string(),
        name: workspace.name,
        settings: Some(pb::WorkspaceSettings {
            assignments_enabled: workspace.assignments_enabled,
        }),
        created_at: Some(timestamp(workspace.created_at)),
        updated_at: Some(timestamp(workspace.updated_at)),
    }
}

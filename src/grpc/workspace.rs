//! `docket.v1.WorkspaceService`: proto ↔ domain for the caller's workspace.

use tonic::{Request, Response, Status};

use super::sla_policies::{parse_policies, policy_to_proto};
use super::{
    caller,
    parse::{Parse, mask_paths, parse},
    pb, timestamp,
};
use crate::domain::{records::Workspace, sla_policies::SlaPolicy};
use crate::{
    app::App,
    domain::{
        input::Violations,
        workspaces::{self, Setting, SettingsChange, TimeZoneName},
    },
};

pub struct WorkspaceApi {
    app: App,
}

impl WorkspaceApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

#[tonic::async_trait]
impl pb::workspace_service_server::WorkspaceService for WorkspaceApi {
    async fn get_workspace(
        &self,
        request: Request<pb::GetWorkspaceRequest>,
    ) -> Result<Response<pb::GetWorkspaceResponse>, Status> {
        let caller = caller(&request)?;
        let (workspace, policies) =
            workspaces::get(&mut *self.app.connection().await?, caller).await?;
        Ok(Response::new(pb::GetWorkspaceResponse {
            workspace: Some(to_proto(workspace, policies)),
        }))
    }

    async fn update_workspace_settings(
        &self,
        request: Request<pb::UpdateWorkspaceSettingsRequest>,
    ) -> Result<Response<pb::UpdateWorkspaceSettingsResponse>, Status> {
        let change = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let (workspace, policies) =
            workspaces::update_settings(&mut conn, caller(&request)?, change).await?;
        Ok(Response::new(pb::UpdateWorkspaceSettingsResponse {
            workspace: Some(to_proto(workspace, policies)),
        }))
    }
}

impl Parse for pb::UpdateWorkspaceSettingsRequest {
    type Checked = SettingsChange;

    /// The settings the mask names (all of them when it is empty), from `settings`.
    fn parse(&self, v: &mut Violations) -> Option<SettingsChange> {
        let named = Setting::of_mask(mask_paths(self.update_mask.as_ref()), v);
        let Some(settings) = &self.settings else {
            v.add("settings", "is required");
            return None;
        };
        let mut change = SettingsChange::default();
        for setting in named {
            match setting {
                Setting::AssignmentsEnabled => {
                    change.assignments_enabled = Some(settings.assignments_enabled)
                }
                // Empty, as in a request that replaces every setting and leaves this one unset:
                // the default.
                Setting::TimeZone if settings.time_zone.trim().is_empty() => {
                    change.time_zone = TimeZoneName::parse("UTC").ok()
                }
                Setting::TimeZone => {
                    change.time_zone = v.check(
                        "settings.time_zone",
                        TimeZoneName::parse(&settings.time_zone),
                    )
                }
                Setting::SlaPolicies => {
                    change.sla_policies = Some(parse_policies(v, &settings.sla_policies))
                }
            }
        }
        Some(change)
    }
}

fn to_proto(workspace: Workspace, policies: Vec<SlaPolicy>) -> pb::Workspace {
    pb::Workspace {
        id: workspace.id.to_string(),
        name: workspace.name,
        settings: Some(pb::WorkspaceSettings {
            assignments_enabled: workspace.assignments_enabled,
            time_zone: workspace.time_zone,
            sla_policies: policies.into_iter().map(policy_to_proto).collect(),
        }),
        created_at: Some(timestamp(workspace.created_at)),
        updated_at: Some(timestamp(workspace.updated_at)),
    }
}

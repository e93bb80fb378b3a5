//! UpdateTask with a patch and its mask.

use docket::grpc::pb;
use tonic::Status;

use super::{rpc::authorized, team::Team};

pub async fn update(
    team: &Team,
    token: &str,
    request: pb::UpdateTaskRequest,
) -> Result<pb::Task, Status> {
    let response = team
        .client()
        .await
        .update_task(authorized(request, token))
        .await?;
    Ok(response.into_inner().task.expect("task"))
}

pub fn patch_of(id: &str, patch: pb::TaskPatch, paths: &[&str]) -> pb::UpdateTaskRequest {
    pb::UpdateTaskRequest {
        task_id: id.into(),
        task: Some(patch),
        update_mask: mask(paths),
        ..Default::default()
    }
}

/// A field mask of `paths`.
pub fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

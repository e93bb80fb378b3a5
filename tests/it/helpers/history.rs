//! A task's history as ListTaskEvents gives it, and reading an event's details.

use std::time::Duration;

use docket::grpc::pb;
use prost_types::{Struct, value::Kind as ValueKind};
use tonic::Request;

use super::team::Team;

/// A request with the caller's token and a request id of its own.
pub fn req<T>(message: T, token: &str, request_id: &str) -> Request<T> {
    let mut request = super::rpc::authorized(message, token);
    let id = request_id.parse().expect("ascii request id");
    request.metadata_mut().insert("x-request-id", id);
    request
}

/// The task's events as `token` lists them, resuming from `cursor`; waits until at least `want`
/// have come (an event shows once every transaction older than it has ended).
pub async fn history(
    team: &Team,
    token: &str,
    task: &str,
    cursor: &str,
    want: usize,
) -> Result<Vec<pb::ListTaskEventsResponse>, tonic::Status> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let request = pb::ListTaskEventsRequest {
            task_id: task.into(),
            page_cursor: cursor.into(),
            page_limit: 0,
        };
        let stream = team
            .client()
            .await
            .list_task_events(super::rpc::authorized(request, token))
            .await?
            .into_inner();
        let items = crate::helpers::rpc::drain(stream).await?;
        if items.len() >= want || tokio::time::Instant::now() > deadline {
            return Ok(items);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn text<'a>(details: &'a Struct, path: &[&str]) -> Option<&'a str> {
    let (last, parents) = path.split_last()?;
    let mut fields = details;
    for name in parents {
        match fields.fields.get(*name)?.kind.as_ref()? {
            ValueKind::StructValue(inner) => fields = inner,
            _ => return None,
        }
    }
    match fields.fields.get(*last)?.kind.as_ref()? {
        ValueKind::StringValue(s) => Some(s),
        _ => None,
    }
}

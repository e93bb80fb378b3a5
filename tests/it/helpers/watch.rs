//! Opening watches and reading what they send, for the watch tests and the tests of what events say.

use std::time::Duration;

use docket::grpc::pb::{self, TaskEventKind as Kind, task_service_client::TaskServiceClient};
use tokio_stream::StreamExt;
use tonic::{Streaming, transport::Channel};

use super::{rpc::authorized, team::Team};

/// How long a test waits for a message it expects.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub async fn watch(
    channel: Channel,
    token: &str,
    request: pb::WatchTasksRequest,
) -> Result<Streaming<pb::WatchTasksResponse>, tonic::Status> {
    Ok(TaskServiceClient::new(channel)
        .watch_tasks(authorized(request, token))
        .await?
        .into_inner())
}

/// The next `n` events (progress messages skipped), each with the position after it.
pub async fn events(
    stream: &mut Streaming<pb::WatchTasksResponse>,
    n: usize,
) -> Result<Vec<(pb::TaskEvent, String)>, tonic::Status> {
    let mut got = Vec::new();
    // Progress messages do not count: each event must come within PATIENCE of the one before.
    let mut until = tokio::time::Instant::now() + PATIENCE;
    while got.len() < n {
        let message = tokio::time::timeout_at(until, stream.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events came: {got:?}", got.len()))
            .expect("the stream goes on")?;
        if let Some(event) = message.event {
            got.push((event, message.position));
            until = tokio::time::Instant::now() + PATIENCE;
        }
    }
    Ok(got)
}

/// Nothing but progress messages for `wait`.
pub async fn quiet(stream: &mut Streaming<pb::WatchTasksResponse>, wait: Duration) {
    let until = tokio::time::Instant::now() + wait;
    while let Ok(Some(message)) = tokio::time::timeout_at(until, stream.next()).await {
        let message = message.expect("message");
        assert!(message.event.is_none(), "unexpected: {message:?}");
    }
}

pub fn kinds(events: &[(pb::TaskEvent, String)]) -> Vec<Kind> {
    events.iter().map(|(e, _)| e.kind()).collect()
}

pub fn from(position: &str) -> pb::WatchTasksRequest {
    pb::WatchTasksRequest {
        start_position: position.into(),
        ..Default::default()
    }
}

/// The position of a watch started now (its first message).
pub async fn start_now(stream: &mut Streaming<pb::WatchTasksResponse>) -> String {
    let first = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("a first message")
        .expect("stream")
        .expect("message");
    assert!(
        first.event.is_none(),
        "a watch from now starts with its position"
    );
    first.position
}

pub async fn start(team: &Team, id: &str, token: &str) {
    TaskServiceClient::new(team.app.channel().await)
        .start_task(authorized(
            pb::StartTaskRequest {
                task_id: id.into(),
                body_formats: vec![],
            },
            token,
        ))
        .await
        .expect("start");
}

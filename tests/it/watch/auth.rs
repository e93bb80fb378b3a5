//! Long streams stay authorised: an open WatchTasks (or a listing being read) ends UNAUTHENTICATED
//! within DOCKET_AUTH_CACHE_TTL, plus a check's interval, of its token being revoked, its user
//! deactivated or its JWT expiring; and a participant taken off a task stops receiving its
//! events. Two `authorization` headers are refused outright.

use std::time::Duration;

use docket::{
    auth::Scope,
    config::AuthConfig,
    grpc::pb::{self, task_service_client::TaskServiceClient},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use tokio::time::Instant;
use tokio_stream::StreamExt;
use tonic::{Code, Request, Streaming};

use crate::{
    helpers::rpc::authorized,
    helpers::watch::{events, from, quiet, start_now, watch},
    helpers::{
        app::{TestApp, auth_config, narrow_channel},
        raw::assert_error,
        seed,
        team::{Team, titled},
    },
};

/// The test servers trust a credential for 300 ms and check streams as often; a stream must end
/// well within this of its credential going.
const ENDS_WITHIN: Duration = Duration::from_secs(3);

/// Reads on (while `keep_writing` makes events) until the stream ends with an error; fails when
/// that takes longer than [`ENDS_WITHIN`] from `since`.
async fn ended<T>(stream: &mut Streaming<T>, since: Instant) -> tonic::Status {
    // From `since`, which may be ahead (a JWT's expiry): not from now.
    let deadline = since + ENDS_WITHIN;
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(status))) => return status,
            Ok(None) => panic!("the stream ended without an error"),
            Err(_) => panic!("still streaming {ENDS_WITHIN:?} after the credential went"),
        }
    }
}

/// Creates a task every 100 ms with `token` until dropped, so that a watch has events to send.
async fn keep_writing(team: &Team, token: &str) -> tokio::task::JoinHandle<()> {
    let (channel, token) = (team.app.channel().await, token.to_owned());
    tokio::spawn(async move {
        let mut client = TaskServiceClient::new(channel);
        for n in 0.. {
            let _ = client
                .create_task(authorized(titled(&format!("Busy {n}")), &token))
                .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watch_ends_once_its_token_is_revoked() {
    let team = Team::new().await;
    let workspace = team.app.db.url();
    let workspace_id: uuid::Uuid = crate::helpers::database::connect(&workspace)
        .await
        .query_one("SELECT id FROM workspaces", &[])
        .await
        .expect("workspace")
        .get(0);
    let (token, token_id) = seed::service_token(
        &team.app.db,
        workspace_id,
        &[Scope::TasksRead, Scope::WorkspaceAdmin],
    )
    .await;
    let mut watcher = watch(
        team.app.channel().await,
        &token,
        pb::WatchTasksRequest {
            scope: pb::WatchScope::Workspace as i32,
            ..from("")
        },
    )
    .await
    .expect("watch");
    start_now(&mut watcher).await;
    let writer = keep_writing(&team, &team.author.1).await;
    events(&mut watcher, 1).await.expect("events flow");

    docket::domain::tokens::revoke(
        &mut seed::diesel(&team.app.db).await,
        workspace_id,
        token_id,
    )
    .await
    .expect("revoke");
    let status = ended(&mut watcher, Instant::now()).await;
    assert_error(&status, Code::Unauthenticated, "UNAUTHENTICATED", "revoked");
    writer.abort();
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watch_ends_once_its_user_is_deactivated() {
    let team = Team::new().await;
    let mut watcher = watch(team.app.channel().await, &team.alice.1, from(""))
        .await
        .expect("watch");
    start_now(&mut watcher).await;
    let request = pb::CreateTaskRequest {
        recipient_user_ids: vec![team.alice.0.to_string()],
        ..titled("For Alice")
    };
    team.create(&team.author.1, request).await.expect("create");
    events(&mut watcher, 1).await.expect("her task");
    let workspace_id: uuid::Uuid = crate::helpers::database::connect(&team.app.db.url())
        .await
        .query_one("SELECT id FROM workspaces", &[])
        .await
        .expect("workspace")
        .get(0);
    seed::set_user_active(&team.app.db, workspace_id, team.alice.0, false).await;
    let status = ended(&mut watcher, Instant::now()).await;
    assert_error(
        &status,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
        "deactivated",
    );
    team.app.stop().await;
}

const SECRET: &str = "a-test-secret-that-is-at-least-32-bytes-long";

#[tokio::test(flavor = "multi_thread")]
async fn a_watch_ends_when_its_jwt_expires() {
    let app = TestApp::builder()
        .auth(AuthConfig {
            jwt_hs256_secret: Some(SECRET.into()),
            jwt_leeway: Duration::ZERO,
            ..auth_config()
        })
        .spawn()
        .await;
    let (workspace, _) = seed::workspace(&app.db, "acme").await;
    let user = seed::user(&app.db, workspace.id, true).await;
    let now = jsonwebtoken::get_current_timestamp();
    let claims = serde_json::json!({
        "sub": user.to_string(),
        "workspace_id": workspace.id.to_string(),
        "scope": "tasks:read",
        "exp": now + 2,
    });
    let jwt = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("jwt");
    let mut watcher = watch(app.channel().await, &jwt, from(""))
        .await
        .expect("watch");
    start_now(&mut watcher).await;
    // Expired once the clock has passed `exp` by a whole second (JWT times are in seconds).
    let expires = Instant::now() + Duration::from_secs(3);
    let status = ended(&mut watcher, expires).await;
    assert_error(&status, Code::Unauthenticated, "UNAUTHENTICATED", "expired");
    app.stop().await;
}

/// A listing is a long stream too: read slowly, it ends once its token is revoked, though rows
/// were left to send.
#[tokio::test(flavor = "multi_thread")]
async fn a_listing_being_read_ends_once_its_token_is_revoked() {
    let app = TestApp::spawn().await;
    let (workspace, admin) = seed::workspace(&app.db, "acme").await;
    let (token, token_id) = seed::service_token(&app.db, workspace.id, &[Scope::TasksWrite]).await;
    let mut client = TaskServiceClient::new(narrow_channel(app.addr).await);
    let body = "A long body to make the listing longer than what the client buffers. ".repeat(40);
    for n in 0..150 {
        let request = pb::CreateTaskRequest {
            body: Some(pb::TaskBodyInput {
                content: Some(pb::task_body_input::Content::Plain(body.clone())),
            }),
            ..titled(&format!("Listed {n}"))
        };
        client
            .create_task(authorized(request, &token))
            .await
            .expect("create");
    }
    let mut listing = client
        .list_tasks(authorized(pb::ListTasksRequest::default(), &token))
        .await
        .expect("list")
        .into_inner();
    listing.next().await.expect("a task").expect("first");
    docket::domain::tokens::revoke(&mut seed::diesel(&app.db).await, workspace.id, token_id)
        .await
        .expect("revoke");
    let revoked = Instant::now();
    let mut read = 1;
    let status = loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        match listing.next().await {
            Some(Ok(_)) => read += 1,
            Some(Err(status)) => break status,
            None => panic!("all {read} tasks listed after the token was revoked"),
        }
        assert!(revoked.elapsed() < ENDS_WITHIN, "{read} read");
    };
    assert!(read < 150, "{read}");
    assert_error(&status, Code::Unauthenticated, "UNAUTHENTICATED", "revoked");
    drop(admin);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_participant_taken_off_a_task_stops_receiving_its_events() {
    let team = Team::new().await;
    let request = pb::CreateTaskRequest {
        recipient_user_ids: vec![team.alice.0.to_string()],
        ..titled("Hers, for now")
    };
    let task = team.create(&team.author.1, request).await.expect("create");
    let mut watcher = watch(team.app.channel().await, &team.alice.1, from(""))
        .await
        .expect("watch");
    start_now(&mut watcher).await;
    let reassign = pb::ReassignTaskRequest {
        task_id: task.id.clone(),
        assignee_user_id: team.outsider.0.to_string(),
        ..Default::default()
    };
    team.client()
        .await
        .reassign_task(authorized(reassign, &team.author.1))
        .await
        .expect("reassign");
    let (event, _) = events(&mut watcher, 1).await.expect("the change").remove(0);
    assert_eq!(event.kind(), pb::TaskEventKind::TaskReassigned);
    team.client()
        .await
        .start_task(authorized(
            pb::StartTaskRequest {
                task_id: task.id.clone(),
                ..Default::default()
            },
            &team.outsider.1,
        ))
        .await
        .expect("the new recipient starts it");
    quiet(&mut watcher, Duration::from_millis(1500)).await;
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_authorization_headers_are_refused() {
    let team = Team::new().await;
    let mut request = Request::new(pb::GetTaskRequest {
        task_id: uuid::Uuid::now_v7().to_string(),
        ..Default::default()
    });
    for token in [&team.author.1, &team.alice.1] {
        let value = format!("Bearer {token}").parse().expect("ascii");
        request.metadata_mut().append("authorization", value);
    }
    let status = TaskServiceClient::new(team.app.channel().await)
        .get_task(request)
        .await
        .expect_err("refused");
    assert_error(
        &status,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
        "two headers",
    );
    team.app.stop().await;
}

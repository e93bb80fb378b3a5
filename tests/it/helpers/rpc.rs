//! A DirectoryService client for tests (upserts, lists drained to the end), and the two things
//! every test's calls need: a bearer token on a request, a stream read to its end.

use docket::grpc::pb::{self, directory_service_client::DirectoryServiceClient};
use futures_util::StreamExt;
use tonic::{Request, transport::Channel};
use uuid::Uuid;

use super::app::TestApp;

/// `message` with `authorization: Bearer <token>`.
pub fn authorized<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = format!("Bearer {token}").parse().expect("ascii token");
    request.metadata_mut().insert("authorization", value);
    request
}

pub struct Directory {
    pub client: DirectoryServiceClient<Channel>,
    pub token: String,
}

impl Directory {
    pub async fn new(app: &TestApp, token: String) -> Self {
        Self {
            client: DirectoryServiceClient::new(app.channel().await),
            token,
        }
    }

    pub async fn upsert_user(
        &mut self,
        id: Uuid,
        first: &str,
        last: &str,
        active: Option<bool>,
    ) -> pb::UpsertUserResponse {
        let request = pb::UpsertUserRequest {
            user_id: id.to_string(),
            first_name: first.into(),
            last_name: last.into(),
            email: format!("{}@example.com", first.to_lowercase()),
            active,
        };
        self.client
            .upsert_user(authorized(request, &self.token))
            .await
            .expect("upsert user")
            .into_inner()
    }

    pub async fn list_users(
        &mut self,
        include_inactive: bool,
        cursor: &str,
        limit: i32,
    ) -> Result<Vec<pb::ListUsersResponse>, tonic::Status> {
        let request = pb::ListUsersRequest {
            include_inactive,
            page_cursor: cursor.into(),
            page_limit: limit,
        };
        drain(
            self.client
                .list_users(authorized(request, &self.token))
                .await?
                .into_inner(),
        )
        .await
    }

    pub async fn upsert_channel(&mut self, id: Uuid, name: &str) -> pb::UpsertChannelResponse {
        let request = pb::UpsertChannelRequest {
            channel_id: id.to_string(),
            name: name.into(),
        };
        self.client
            .upsert_channel(authorized(request, &self.token))
            .await
            .expect("upsert channel")
            .into_inner()
    }

    pub async fn add_members(
        &mut self,
        channel: Uuid,
        members: &[(Uuid, bool)],
    ) -> Result<pb::AddChannelMembersResponse, tonic::Status> {
        let request = pb::AddChannelMembersRequest {
            channel_id: channel.to_string(),
            members: members
                .iter()
                .map(|(id, admin)| pb::ChannelMemberSpec {
                    user_id: id.to_string(),
                    admin: *admin,
                })
                .collect(),
        };
        Ok(self
            .client
            .add_channel_members(authorized(request, &self.token))
            .await?
            .into_inner())
    }

    pub async fn members(
        &mut self,
        channel: Uuid,
        cursor: &str,
        limit: i32,
    ) -> Result<Vec<pb::ListChannelMembersResponse>, tonic::Status> {
        let request = pb::ListChannelMembersRequest {
            channel_id: channel.to_string(),
            page_cursor: cursor.into(),
            page_limit: limit,
        };
        let stream = self
            .client
            .list_channel_members(authorized(request, &self.token))
            .await?;
        drain(stream.into_inner()).await
    }
}

/// Every message of a server stream, or its first error.
pub async fn drain<T>(mut stream: tonic::Streaming<T>) -> Result<Vec<T>, tonic::Status> {
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(item?);
    }
    Ok(items)
}

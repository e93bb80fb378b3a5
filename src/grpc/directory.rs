//! `docket.v1.DirectoryService`: proto ↔ domain for users and channels. Each handler parses its
//! request (`requests`), calls the domain, and converts the result.

mod requests;

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use requests::UpsertUser;

use super::{caller, parse::parse, pb, timestamp};
use crate::domain::records::{ChannelSummary, Membership, User};
use crate::{app::App, domain::directory};

pub struct DirectoryApi {
    app: App,
}

impl DirectoryApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl pb::directory_service_server::DirectoryService for DirectoryApi {
    async fn upsert_user(
        &self,
        request: Request<pb::UpsertUserRequest>,
    ) -> Result<Response<pb::UpsertUserResponse>, Status> {
        let UpsertUser {
            user_id,
            profile,
            active,
        } = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let caller = caller(&request)?;
        let (user, created) =
            directory::upsert_user(&mut conn, caller, user_id, &profile, active).await?;
        Ok(Response::new(pb::UpsertUserResponse {
            user: Some(user_to_proto(user)),
            created,
        }))
    }

    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::GetUserResponse>, Status> {
        let user_id = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let user = directory::get_user(&mut conn, caller(&request)?, user_id).await?;
        Ok(Response::new(pb::GetUserResponse {
            user: Some(user_to_proto(user)),
        }))
    }

    type ListUsersStream = ResponseStream<pb::ListUsersResponse>;

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<Self::ListUsersStream>, Status> {
        let (include_inactive, page) = parse(request.get_ref())?;
        let users =
            directory::list_users(self.app.pool(), caller(&request)?, include_inactive, page)?;
        let messages = users.map(|item| {
            let (user, cursor) = item?;
            Ok(pb::ListUsersResponse {
                user: Some(user_to_proto(user)),
                cursor,
            })
        });
        Ok(Response::new(Box::pin(messages)))
    }

    async fn deactivate_user(
        &self,
        request: Request<pb::DeactivateUserRequest>,
    ) -> Result<Response<pb::DeactivateUserResponse>, Status> {
        let user_id = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let user = directory::deactivate_user(&mut conn, caller(&request)?, user_id).await?;
        Ok(Response::new(pb::DeactivateUserResponse {
            user: Some(user_to_proto(user)),
        }))
    }

    async fn upsert_channel(
        &self,
        request: Request<pb::UpsertChannelRequest>,
    ) -> Result<Response<pb::UpsertChannelResponse>, Status> {
        let (channel_id, name) = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let (channel, created) =
            directory::upsert_channel(&mut conn, caller(&request)?, channel_id, &name).await?;
        Ok(Response::new(pb::UpsertChannelResponse {
            channel: Some(channel_to_proto(channel)),
            created,
        }))
    }

    async fn get_channel(
        &self,
        request: Request<pb::GetChannelRequest>,
    ) -> Result<Response<pb::GetChannelResponse>, Status> {
        let channel_id = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let channel = directory::get_channel(&mut conn, caller(&request)?, channel_id).await?;
        Ok(Response::new(pb::GetChannelResponse {
            channel: Some(channel_to_proto(channel)),
        }))
    }

    async fn add_channel_members(
        &self,
        request: Request<pb::AddChannelMembersRequest>,
    ) -> Result<Response<pb::AddChannelMembersResponse>, Status> {
        let (channel_id, members) = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let (channel, added_count, updated_count) =
            directory::add_members(&mut conn, caller(&request)?, channel_id, members).await?;
        Ok(Response::new(pb::AddChannelMembersResponse {
            channel: Some(channel_to_proto(channel)),
            added_count,
            updated_count,
        }))
    }

    async fn remove_channel_members(
        &self,
        request: Request<pb::RemoveChannelMembersRequest>,
    ) -> Result<Response<pb::RemoveChannelMembersResponse>, Status> {
        let (channel_id, users) = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let (channel, removed_count) =
            directory::remove_members(&mut conn, caller(&request)?, channel_id, users).await?;
        Ok(Response::new(pb::RemoveChannelMembersResponse {
            channel: Some(channel_to_proto(channel)),
            removed_count,
        }))
    }

    type ListChannelMembersStream = ResponseStream<pb::ListChannelMembersResponse>;

    async fn list_channel_members(
        &self,
        request: Request<pb::ListChannelMembersRequest>,
    ) -> Result<Response<Self::ListChannelMembersStream>, Status> {
        let (channel_id, page) = parse(request.get_ref())?;
        let caller = caller(&request)?;
        let members = directory::list_members(self.app.pool(), caller, channel_id, page).await?;
        let messages = members.map(|item| {
            let ((membership, user), cursor) = item?;
            Ok(pb::ListChannelMembersResponse {
                member: Some(member_to_proto(membership, user)),
                cursor,
            })
        });
        Ok(Response::new(Box::pin(messages)))
    }
}

pub(crate) fn user_to_proto(user: User) -> pb::User {
    pb::User {
        id: user.id.to_string(),
        first_name: user.first_name,
        last_name: user.last_name,
        email: user.email,
        active: user.active,
        created_at: Some(timestamp(user.created_at)),
        updated_at: Some(timestamp(user.updated_at)),
    }
}

fn channel_to_proto(summary: ChannelSummary) -> pb::Channel {
    pb::Channel {
        id: summary.channel.id.to_string(),
        name: summary.channel.name,
        member_count: summary.member_count,
        admin_count: summary.admin_count,
        created_at: Some(timestamp(summary.channel.created_at)),
        updated_at: Some(timestamp(summary.channel.updated_at)),
    }
}

fn member_to_proto(membership: Membership, user: User) -> pb::ChannelMember {
    pb::ChannelMember {
        user: Some(user_to_proto(user)),
        admin: membership.admin,
        added_at: Some(timestamp(membership.created_at)),
    }
}

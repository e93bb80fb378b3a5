//! `docket.v1.DirectoryService`: proto ↔ domain for users and channels.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{caller, connection, page, parse_id, pb, timestamp};
use crate::{
    db::{
        PgPool,
        channels::{ChannelSummary, Membership},
        users::User,
    },
    domain::directory::{self, ChannelName, UserProfile},
    error::{ApiError, FieldViolation},
};

pub struct DirectoryApi {
    pool: PgPool,
}

impl DirectoryApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl pb::directory_service_server::DirectoryService for DirectoryApi {
    async fn upsert_user(
        &self,
        request: Request<pb::UpsertUserRequest>,
    ) -> Result<Response<pb::UpsertUserResponse>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let id = parse_id("user_id", &body.user_id);
        let profile = UserProfile::new(&body.first_name, &body.last_name, &body.email);
        let (id, profile) = match (id, profile) {
            (Ok(id), Ok(profile)) => (id, profile),
            (id, profile) => {
                let mut violations: Vec<FieldViolation> = id.err().into_iter().collect();
                violations.extend(profile.err().unwrap_or_default());
                return Err(ApiError::Validation(violations).into());
            }
        };
        let mut conn = connection(&self.pool).await?;
        let (user, created) =
            directory::upsert_user(&mut conn, caller, id, &profile, body.active).await?;
        Ok(Response::new(pb::UpsertUserResponse {
            user: Some(user_to_proto(user)),
            created,
        }))
    }

    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::GetUserResponse>, Status> {
        let caller = caller(&request)?;
        let id = parse_id("user_id", &request.get_ref().user_id).map_err(invalid)?;
        let user = directory::get_user(&mut *connection(&self.pool).await?, caller, id).await?;
        Ok(Response::new(pb::GetUserResponse {
            user: Some(user_to_proto(user)),
        }))
    }

    type ListUsersStream = ResponseStream<pb::ListUsersResponse>;

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<Self::ListUsersStream>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let page = page(&body.page_cursor, body.page_limit).map_err(invalid)?;
        let users = directory::list_users(self.pool.clone(), caller, body.include_inactive, page)?;
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
        let caller = caller(&request)?;
        let id = parse_id("user_id", &request.get_ref().user_id).map_err(invalid)?;
        let user =
            directory::deactivate_user(&mut *connection(&self.pool).await?, caller, id).await?;
        Ok(Response::new(pb::DeactivateUserResponse {
            user: Some(user_to_proto(user)),
        }))
    }

    async fn upsert_channel(
        &self,
        request: Request<pb::UpsertChannelRequest>,
    ) -> Result<Response<pb::UpsertChannelResponse>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let (id, name) = match (
            parse_id("channel_id", &body.channel_id),
            ChannelName::new(&body.name),
        ) {
            (Ok(id), Ok(name)) => (id, name),
            (id, name) => {
                let violations = id.err().into_iter().chain(name.err()).collect();
                return Err(ApiError::Validation(violations).into());
            }
        };
        let (channel, created) =
            directory::upsert_channel(&mut *connection(&self.pool).await?, caller, id, &name)
                .await?;
        Ok(Response::new(pb::UpsertChannelResponse {
            channel: Some(channel_to_proto(channel)),
            created,
        }))
    }

    async fn get_channel(
        &self,
        request: Request<pb::GetChannelRequest>,
    ) -> Result<Response<pb::GetChannelResponse>, Status> {
        let caller = caller(&request)?;
        let id = parse_id("channel_id", &request.get_ref().channel_id).map_err(invalid)?;
        let channel =
            directory::get_channel(&mut *connection(&self.pool).await?, caller, id).await?;
        Ok(Response::new(pb::GetChannelResponse {
            channel: Some(channel_to_proto(channel)),
        }))
    }

    async fn add_channel_members(
        &self,
        request: Request<pb::AddChannelMembersRequest>,
    ) -> Result<Response<pb::AddChannelMembersResponse>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let channel_id = parse_id("channel_id", &body.channel_id);
        let members: Vec<Result<(Uuid, bool), FieldViolation>> = body
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                parse_id(&format!("members[{i}].user_id"), &m.user_id).map(|id| (id, m.admin))
            })
            .collect();
        let (channel_id, members) = collect_ids(channel_id, members)?;
        let (channel, added_count, updated_count) = directory::add_members(
            &mut *connection(&self.pool).await?,
            caller,
            channel_id,
            members,
        )
        .await?;
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
        let caller = caller(&request)?;
        let body = request.get_ref();
        let channel_id = parse_id("channel_id", &body.channel_id);
        let user_ids: Vec<_> = body
            .user_ids
            .iter()
            .enumerate()
            .map(|(i, id)| parse_id(&format!("user_ids[{i}]"), id))
            .collect();
        let (channel_id, user_ids) = collect_ids(channel_id, user_ids)?;
        let (channel, removed_count) = directory::remove_members(
            &mut *connection(&self.pool).await?,
            caller,
            channel_id,
            user_ids,
        )
        .await?;
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
        let caller = caller(&request)?;
        let body = request.get_ref();
        let (channel_id, page) = match (
            parse_id("channel_id", &body.channel_id),
            page(&body.page_cursor, body.page_limit),
        ) {
            (Ok(id), Ok(page)) => (id, page),
            (id, page) => {
                return Err(
                    ApiError::Validation(id.err().into_iter().chain(page.err()).collect()).into(),
                );
            }
        };
        let members = directory::list_members(self.pool.clone(), caller, channel_id, page).await?;
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

fn invalid(violation: FieldViolation) -> Status {
    ApiError::Validation(vec![violation]).into()
}

/// The parsed channel id and list, or every violation among them.
fn collect_ids<T>(
    channel_id: Result<Uuid, FieldViolation>,
    items: Vec<Result<T, FieldViolation>>,
) -> Result<(Uuid, Vec<T>), Status> {
    let mut violations: Vec<FieldViolation> =
        channel_id.as_ref().err().cloned().into_iter().collect();
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Ok(value) => parsed.push(value),
            Err(violation) => violations.push(violation),
        }
    }
    match channel_id {
        Ok(id) if violations.is_empty() => Ok((id, parsed)),
        _ => Err(ApiError::Validation(violations).into()),
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

//! The directory: users and channels as upstream systems sync them in. Every operation is scoped to
//! the caller's workspace, so an id from another workspace is simply not found. Upserts are
//! idempotent by id; membership changes are all or nothing.

use std::collections::HashSet;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use email_address::EmailAddress;
use futures_util::{Stream, TryStreamExt};
use serde_json::json;
use uuid::Uuid;

use super::{DomainError, cursor};
use crate::{
    auth::Caller,
    db::{
        DbError, PgPool,
        channels::{self, ChannelSummary, Membership},
        paging::keyset_stream,
        users::{self, User, UserFields},
    },
    error::FieldViolation,
};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_EMAIL_CHARS: usize = 320;
/// Most members one AddChannelMembers or RemoveChannelMembers call may name.
pub const MAX_MEMBERS_PER_CALL: usize = 1000;

/// A user's name and email, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    first_name: String,
    last_name: String,
    email: String,
}

impl UserProfile {
    pub fn new(
        first_name: &str,
        last_name: &str,
        email: &str,
    ) -> Result<Self, Vec<FieldViolation>> {
        let (first_name, last_name, email) = (first_name.trim(), last_name.trim(), email.trim());
        let mut violations = Vec::new();
        for (field, value) in [("first_name", first_name), ("last_name", last_name)] {
            if value.chars().count() > MAX_NAME_CHARS {
                violations.push(FieldViolation::new(
                    field,
                    format!("at most {MAX_NAME_CHARS} characters"),
                ));
            }
        }
        if first_name.is_empty() && last_name.is_empty() {
            violations.push(FieldViolation::new(
                "first_name",
                "give a first name, a last name, or both",
            ));
        }
        if email.chars().count() > MAX_EMAIL_CHARS || !EmailAddress::is_valid(email) {
            violations.push(FieldViolation::new(
                "email",
                "must be an email address like name@example.com",
            ));
        }
        if violations.is_empty() {
            Ok(Self {
                first_name: first_name.into(),
                last_name: last_name.into(),
                email: email.into(),
            })
        } else {
            Err(violations)
        }
    }
}

/// A channel name, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelName(String);

impl ChannelName {
    pub fn new(name: &str) -> Result<Self, FieldViolation> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(FieldViolation::new(
                "name",
                format!("must be 1 to {MAX_NAME_CHARS} characters"),
            ));
        }
        Ok(Self(name.into()))
    }
}

/// Where a streamed list starts and how much of it to send.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// A cursor from an earlier item of the same listing.
    pub cursor: Option<String>,
    /// The most items to send; `None` for all.
    pub limit: Option<u64>,
}

pub async fn upsert_user(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    profile: &UserProfile,
    active: Option<bool>,
) -> Result<(User, bool), DomainError> {
    let fields = UserFields {
        first_name: &profile.first_name,
        last_name: &profile.last_name,
        email: &profile.email,
        active,
    };
    Ok(users::upsert(conn, caller.workspace_id, id, &fields).await?)
}

pub async fn get_user(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<User, DomainError> {
    users::find(conn, caller.workspace_id, id)
        .await?
        .ok_or(DomainError::UserNotFound(id))
}

pub async fn deactivate_user(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<User, DomainError> {
    users::deactivate(conn, caller.workspace_id, id)
        .await?
        .ok_or(DomainError::UserNotFound(id))
}

/// The workspace's users by id, each with the cursor that resumes after it.
pub fn list_users(
    pool: PgPool,
    caller: &Caller,
    include_inactive: bool,
    page: Page,
) -> Result<impl Stream<Item = Result<(User, String), DomainError>> + Send + 'static, DomainError> {
    let query = json!({ "list": "users", "include_inactive": include_inactive });
    let after = start_after::<Uuid>(&page, &query)?;
    let workspace_id = caller.workspace_id;
    let rows = keyset_stream(
        pool,
        after,
        page.limit,
        |user: &User| user.id,
        std::sync::Arc::new(move |conn, after, limit| {
            Box::pin(users::page(
                conn,
                workspace_id,
                include_inactive,
                after,
                limit,
            ))
        }),
    );
    Ok(rows.map_err(DomainError::from).map_ok(move |user| {
        let cursor = cursor::encode(&query, &user.id);
        (user, cursor)
    }))
}

pub async fn upsert_channel(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    name: &ChannelName,
) -> Result<(ChannelSummary, bool), DomainError> {
    let (channel, created) = channels::upsert(conn, caller.workspace_id, id, &name.0).await?;
    Ok((channels::summary(conn, channel).await?, created))
}

pub async fn get_channel(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<ChannelSummary, DomainError> {
    let channel = channels::find(conn, caller.workspace_id, id)
        .await?
        .ok_or(DomainError::ChannelNotFound(id))?;
    Ok(channels::summary(conn, channel).await?)
}

/// Adds `(user, admin)` members, or updates their admin flag; returns the channel, how many were
/// added and how many updated. Unknown users fail the whole call.
pub async fn add_members(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    channel_id: Uuid,
    members: Vec<(Uuid, bool)>,
) -> Result<(ChannelSummary, i64, i64), DomainError> {
    check_member_list("members", members.iter().map(|(id, _)| *id))?;
    let workspace_id = caller.workspace_id;
    conn.transaction(async |conn| {
        let channel = channels::lock(conn, workspace_id, channel_id)
            .await?
            .ok_or(DomainError::ChannelNotFound(channel_id))?;
        let ids: Vec<Uuid> = members.iter().map(|(id, _)| *id).collect();
        let known: HashSet<Uuid> = users::existing_ids(conn, workspace_id, &ids, false)
            .await?
            .into_iter()
            .collect();
        if let Some(unknown) = ids.iter().find(|id| !known.contains(id)) {
            return Err(DomainError::UnknownUser(*unknown));
        }
        let (added, updated) =
            channels::add_members(conn, workspace_id, channel_id, &members).await?;
        Ok((channels::summary(conn, channel).await?, added, updated))
    })
    .await
}

/// Removes members; returns the channel and how many were removed. Non-members are ignored.
pub async fn remove_members(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    channel_id: Uuid,
    user_ids: Vec<Uuid>,
) -> Result<(ChannelSummary, i64), DomainError> {
    check_member_list("user_ids", user_ids.iter().copied())?;
    let workspace_id = caller.workspace_id;
    conn.transaction(async |conn| {
        let channel = channels::lock(conn, workspace_id, channel_id)
            .await?
            .ok_or(DomainError::ChannelNotFound(channel_id))?;
        let removed = channels::remove_members(conn, workspace_id, channel_id, &user_ids).await?;
        Ok((channels::summary(conn, channel).await?, removed))
    })
    .await
}

/// The channel's members by user id, each with the cursor that resumes after it.
pub async fn list_members(
    pool: PgPool,
    caller: &Caller,
    channel_id: Uuid,
    page: Page,
) -> Result<
    impl Stream<Item = Result<((Membership, User), String), DomainError>> + Send + 'static,
    DomainError,
> {
    let query = json!({ "list": "channel_members", "channel_id": channel_id });
    let after = start_after::<Uuid>(&page, &query)?;
    let workspace_id = caller.workspace_id;
    {
        let mut conn = pool.get().await.map_err(DbError::from)?;
        channels::find(&mut conn, workspace_id, channel_id)
            .await?
            .ok_or(DomainError::ChannelNotFound(channel_id))?;
    }
    let rows = keyset_stream(
        pool,
        after,
        page.limit,
        |(membership, _): &(Membership, User)| membership.user_id,
        std::sync::Arc::new(move |conn, after, limit| {
            Box::pin(channels::member_page(
                conn,
                workspace_id,
                channel_id,
                after,
                limit,
            ))
        }),
    );
    Ok(rows.map_err(DomainError::from).map_ok(move |member| {
        let cursor = cursor::encode(&query, &member.0.user_id);
        (member, cursor)
    }))
}

/// Where a listing resumes: the key in the page's cursor (checked against `query`), if any.
pub(crate) fn start_after<K: serde::de::DeserializeOwned>(
    page: &Page,
    query: &serde_json::Value,
) -> Result<Option<K>, DomainError> {
    match page.cursor.as_deref() {
        None | Some("") => Ok(None),
        Some(text) => cursor::decode(text, query)
            .map(Some)
            .map_err(|e| DomainError::invalid("page_cursor", e.to_string())),
    }
}

fn check_member_list(
    field: &str,
    ids: impl ExactSizeIterator<Item = Uuid>,
) -> Result<(), DomainError> {
    let count = ids.len();
    if count == 0 || count > MAX_MEMBERS_PER_CALL {
        return Err(DomainError::invalid(
            field,
            format!("name 1 to {MAX_MEMBERS_PER_CALL} users"),
        ));
    }
    let mut seen = HashSet::new();
    let duplicates: Vec<FieldViolation> = ids
        .enumerate()
        .filter(|(_, id)| !seen.insert(*id))
        .map(|(index, id)| {
            FieldViolation::new(
                format!("{field}[{index}]"),
                format!("user {id} is named twice"),
            )
        })
        .collect();
    if duplicates.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(duplicates))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_trimmed_bounded_and_need_a_plausible_email() {
        let ok = UserProfile::new(" Ada ", "Lovelace", "ada@example.com").expect("valid");
        assert_eq!(ok.first_name, "Ada");
        assert!(UserProfile::new("", "Mononym", "m@example.com").is_ok());

        let fields = |r: Result<UserProfile, Vec<FieldViolation>>| -> Vec<String> {
            r.expect_err("invalid")
                .into_iter()
                .map(|v| v.field)
                .collect()
        };
        assert_eq!(
            fields(UserProfile::new("", " ", "a@example.com")),
            ["first_name"]
        );
        assert_eq!(
            fields(UserProfile::new("A", "B", "not-an-email")),
            ["email"]
        );
        assert_eq!(
            fields(UserProfile::new("A", "B", "a b@example.com")),
            ["email"]
        );
        assert_eq!(
            fields(UserProfile::new(&"x".repeat(201), "B", "a@example.com")),
            ["first_name"]
        );
    }

    #[test]
    fn member_lists_are_bounded_and_unique() {
        let id = Uuid::new_v4();
        assert!(check_member_list("members", [id].into_iter()).is_ok());
        assert!(check_member_list("members", std::iter::empty()).is_err());
        let Err(DomainError::Invalid(v)) =
            check_member_list("members", [id, Uuid::new_v4(), id].into_iter())
        else {
            panic!("duplicates must be refused");
        };
        assert_eq!(v[0].field, "members[2]");
    }
}

//! The directory: users and channels as upstream systems sync them in. Every operation is scoped to
//! the caller's workspace, so an id from another workspace is simply not found. Upserts are
//! idempotent by id; membership changes are all or nothing.

use std::collections::HashSet;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use email_address::EmailAddress;
use futures_util::{Stream, TryStreamExt};
use serde_json::json;
use uuid::Uuid;

use super::{
    DomainError,
    cursor::Cursors,
    input::{Field, Text, TextKind, Violations, check_characters},
};
use crate::domain::records::{ChannelSummary, Membership, User};
use crate::{
    auth::Caller,
    db::{
        PgPool, checkout,
        directory::channels,
        directory::users::{self, UserFields},
        query::paging::{Fetched, keyset_stream},
    },
};

pub const MAX_EMAIL_CHARS: usize = 320;
/// Most members one AddChannelMembers or RemoveChannelMembers call may name.
pub const MAX_MEMBERS_PER_CALL: usize = 1000;

/// A user's first or last name; either may be empty, not both.
#[derive(Debug)]
pub enum PersonName {}
impl TextKind for PersonName {
    const MAX_CHARS: usize = 200;
    const REQUIRED: bool = false;
}

/// A channel's name.
#[derive(Debug)]
pub enum ChannelName {}
impl TextKind for ChannelName {
    const MAX_CHARS: usize = 200;
    const REQUIRED: bool = true;
}

/// An email address, as upstream directories hold them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim();
        let plausible = email.chars().count() <= MAX_EMAIL_CHARS
            && check_characters(email, false).is_ok()
            && EmailAddress::is_valid(email);
        if plausible {
            Ok(Self(email.to_owned()))
        } else {
            Err("must be an email address like name@example.com")
        }
    }
}

/// A user's first and last name: either may be empty, not both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonNames {
    first: Text<PersonName>,
    last: Text<PersonName>,
}

impl PersonNames {
    pub fn new(first: Text<PersonName>, last: Text<PersonName>) -> Result<Self, &'static str> {
        if first.as_str().is_empty() && last.as_str().is_empty() {
            return Err("give a first name, a last name, or both");
        }
        Ok(Self { first, last })
    }
}

/// A user's name and email, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub names: PersonNames,
    pub email: Email,
}

/// The users one membership call names: 1 to [`MAX_MEMBERS_PER_CALL`], each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members<T>(Vec<T>);

impl<T> Members<T> {
    /// The members, or `None` with the violations recorded: none named, or a user named twice
    /// (at the second mention). A list over the limit is refused before it is read
    /// (`Violations::each`).
    pub fn check(
        field: &str,
        members: Vec<T>,
        user: impl Fn(&T) -> Uuid,
        violations: &mut Violations,
    ) -> Option<Self> {
        if members.is_empty() {
            violations.add(field, format!("name 1 to {MAX_MEMBERS_PER_CALL} users"));
            return None;
        }
        let mut seen = HashSet::new();
        let mut unique = true;
        for (index, member) in members.iter().enumerate() {
            if !seen.insert(user(member)) {
                unique = false;
                violations.add(
                    Field::Item(field, index),
                    format!("user {} is named twice", user(member)),
                );
            }
        }
        unique.then_some(Self(members))
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
        first_name: profile.names.first.as_str(),
        last_name: profile.names.last.as_str(),
        email: &profile.email.0,
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
    let cursors = Cursors::of(&json!({ "list": "users", "include_inactive": include_inactive }));
    let after = start_after::<Uuid>(&page, &cursors)?;
    let workspace_id = caller.workspace_id;
    let rows = keyset_stream(
        pool,
        after,
        page.limit,
        |user: &User| user.id,
        std::sync::Arc::new(move |conn, after, limit, _budget| {
            Box::pin(async move {
                let users = users::page(conn, workspace_id, include_inactive, after, limit).await?;
                Ok(Fetched::of_small_rows(users))
            })
        }),
    )?;
    Ok(rows.map_err(DomainError::from).map_ok(move |user| {
        let cursor = cursors.encode(&user.id);
        (user, cursor)
    }))
}

pub async fn upsert_channel(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    name: &Text<ChannelName>,
) -> Result<(ChannelSummary, bool), DomainError> {
    let (channel, created) = channels::upsert(conn, caller.workspace_id, id, name.as_str()).await?;
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
    Members(members): Members<(Uuid, bool)>,
) -> Result<(ChannelSummary, i64, i64), DomainError> {
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
    Members(user_ids): Members<Uuid>,
) -> Result<(ChannelSummary, i64), DomainError> {
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
    let cursors = Cursors::of(&json!({ "list": "channel_members", "channel_id": channel_id }));
    let after = start_after::<Uuid>(&page, &cursors)?;
    let workspace_id = caller.workspace_id;
    {
        let mut conn = checkout(&pool).await?;
        channels::find(&mut conn, workspace_id, channel_id)
            .await?
            .ok_or(DomainError::ChannelNotFound(channel_id))?;
    }
    let rows = keyset_stream(
        pool,
        after,
        page.limit,
        |(membership, _): &(Membership, User)| membership.user_id,
        std::sync::Arc::new(move |conn, after, limit, _budget| {
            Box::pin(async move {
                let members =
                    channels::member_page(conn, workspace_id, channel_id, after, limit).await?;
                Ok(Fetched::of_small_rows(members))
            })
        }),
    )?;
    Ok(rows.map_err(DomainError::from).map_ok(move |member| {
        let cursor = cursors.encode(&member.0.user_id);
        (member, cursor)
    }))
}

/// Where a listing resumes: the key in the page's cursor (checked against `query`), if any.
pub(crate) fn start_after<K: serde::de::DeserializeOwned>(
    page: &Page,
    cursors: &Cursors,
) -> Result<Option<K>, DomainError> {
    match page.cursor.as_deref() {
        None | Some("") => Ok(None),
        Some(text) => cursors
            .decode(text)
            .map(Some)
            .map_err(|e| DomainError::invalid("page_cursor", e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::input::described;

    fn profile(first: &str, last: &str, email: &str) -> Result<UserProfile, String> {
        let name = |raw| Text::<PersonName>::parse(raw).map_err(|e| e.to_string());
        Ok(UserProfile {
            names: PersonNames::new(name(first)?, name(last)?).map_err(str::to_owned)?,
            email: Email::parse(email).map_err(str::to_owned)?,
        })
    }

    #[test]
    fn profiles_are_trimmed_bounded_and_need_a_plausible_email() {
        let ok = profile(" Ada ", "Lovelace", "ada@example.com").expect("valid");
        assert_eq!(ok.names.first.as_str(), "Ada");
        assert!(profile("", "Mononym", "m@example.com").is_ok());
        assert!(profile("", " ", "a@example.com").is_err(), "no name");
        for bad in ["not-an-email", "a b@example.com", "a\u{0}@example.com"] {
            assert!(profile("A", "B", bad).is_err(), "{bad}");
        }
        assert!(profile(&"x".repeat(201), "B", "a@example.com").is_err());
        assert!(profile("A\u{0}", "B", "a@example.com").is_err());
    }

    #[test]
    fn member_lists_are_unique_and_not_empty() {
        let id = Uuid::new_v4();
        let mut violations = Violations::default();
        assert!(Members::check("members", vec![id], |u| *u, &mut violations).is_some());
        assert!(Members::check("members", Vec::<Uuid>::new(), |u| *u, &mut violations).is_none());
        let twice = vec![id, Uuid::new_v4(), id];
        assert!(Members::check("members", twice, |u| *u, &mut violations).is_none());
        let invalid = violations.finish(()).expect_err("invalid");
        let fields: Vec<&str> = described(&invalid).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["members", "members[2]"]);
    }
}

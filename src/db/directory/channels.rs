//! Queries on `channels` and `channel_members`.

use crate::db::rows::read_as;
use crate::domain::records::{Channel, ChannelSummary, Membership, User};
use chrono::{DateTime, Utc};
use diesel::{
    dsl::{count_star, now},
    prelude::*,
    sql_types::{Array, Bool, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{channel_members, channels, users};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = channels, check_for_backend(diesel::pg::Pg))]
pub struct ChannelRow {
    workspace_id: Uuid,
    id: Uuid,
    name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ChannelRow> for Channel {
    fn from(row: ChannelRow) -> Self {
        Channel {
            workspace_id: row.workspace_id,
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

read_as!(Channel, ChannelRow);

#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = channel_members, check_for_backend(diesel::pg::Pg))]
pub struct MembershipRow {
    user_id: Uuid,
    admin: bool,
    created_at: DateTime<Utc>,
}

impl From<MembershipRow> for Membership {
    fn from(row: MembershipRow) -> Self {
        Membership {
            user_id: row.user_id,
            admin: row.admin,
            created_at: row.created_at,
        }
    }
}

read_as!(Membership, MembershipRow);

#[derive(QueryableByName)]
struct Upserted {
    #[diesel(embed)]
    channel: Channel,
    #[diesel(sql_type = Bool)]
    created: bool,
}

/// Inserts or renames the channel; returns it and whether it was created. No-op upserts write
/// nothing.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    name: &str,
) -> QueryResult<(Channel, bool)> {
    let written = diesel::sql_query(
        "INSERT INTO channels (workspace_id, id, name) VALUES ($1, $2, $3)
         ON CONFLICT (workspace_id, id) DO UPDATE SET name = excluded.name, updated_at = now()
          WHERE channels.name IS DISTINCT FROM excluded.name
         RETURNING *, (xmax = 0) AS created",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(name)
    .get_result::<Upserted>(conn)
    .await
    .optional()?;
    match written {
        Some(Upserted { channel, created }) => Ok((channel, created)),
        None => Ok((
            find(conn, workspace_id, id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?,
            false,
        )),
    }
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<Channel>> {
    channels::table
        .find((workspace_id, id))
        .select(Channel::as_select())
        .first(conn)
        .await
        .optional()
}

/// The channel locked against concurrent membership changes until the transaction ends, so a
/// membership change and the counts it returns are consistent.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<Channel>> {
    channels::table
        .find((workspace_id, id))
        .select(Channel::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()
}

pub async fn summary(
    conn: &mut AsyncPgConnection,
    channel: Channel,
) -> QueryResult<ChannelSummary> {
    let members = channel_members::table
        .filter(channel_members::workspace_id.eq(channel.workspace_id))
        .filter(channel_members::channel_id.eq(channel.id));
    let member_count = members.select(count_star()).first::<i64>(conn).await?;
    let admin_count = members
        .filter(channel_members::admin)
        .select(count_star())
        .first::<i64>(conn)
        .await?;
    Ok(ChannelSummary {
        channel,
        member_count,
        admin_count,
    })
}

#[derive(QueryableByName)]
struct Written {
    #[diesel(sql_type = Bool)]
    inserted: bool,
}

/// Adds members or updates their admin flag; returns (added, updated). Every user must exist in
/// the workspace (a foreign key refuses the whole statement otherwise).
pub async fn add_members(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    channel_id: Uuid,
    members: &[(Uuid, bool)],
) -> QueryResult<(i64, i64)> {
    let (ids, admins): (Vec<Uuid>, Vec<bool>) = members.iter().copied().unzip();
    let written = diesel::sql_query(
        "INSERT INTO channel_members (workspace_id, channel_id, user_id, admin)
         SELECT $1, $2, member.user_id, member.admin FROM unnest($3, $4) AS member (user_id, admin)
         ON CONFLICT (workspace_id, channel_id, user_id) DO UPDATE
            SET admin = excluded.admin, updated_at = now()
          WHERE channel_members.admin IS DISTINCT FROM excluded.admin
         RETURNING (xmax = 0) AS inserted",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<SqlUuid, _>(channel_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Bool>, _>(admins)
    .load::<Written>(conn)
    .await?;
    let added = written.iter().filter(|w| w.inserted).count() as i64;
    Ok((added, written.len() as i64 - added))
}

pub async fn remove_members(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    channel_id: Uuid,
    user_ids: &[Uuid],
) -> QueryResult<i64> {
    let removed = diesel::delete(
        channel_members::table
            .filter(channel_members::workspace_id.eq(workspace_id))
            .filter(channel_members::channel_id.eq(channel_id))
            .filter(channel_members::user_id.eq_any(user_ids)),
    )
    .execute(conn)
    .await?;
    if removed > 0 {
        diesel::update(channels::table.find((workspace_id, channel_id)))
            .set(channels::updated_at.eq(now))
            .execute(conn)
            .await?;
    }
    Ok(removed as i64)
}

/// Up to `limit` members with user ids after `after`, by user id, with their profiles.
pub async fn member_page(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    channel_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<(Membership, User)>> {
    let mut query = channel_members::table
        .inner_join(
            users::table.on(users::workspace_id
                .eq(channel_members::workspace_id)
                .and(users::id.eq(channel_members::user_id))),
        )
        .filter(channel_members::workspace_id.eq(workspace_id))
        .filter(channel_members::channel_id.eq(channel_id))
        .select((Membership::as_select(), User::as_select()))
        .order(channel_members::user_id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(channel_members::user_id.gt(after));
    }
    query.load(conn).await
}

/// The active members of the channel, by user id.
pub async fn active_member_ids(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    channel_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    channel_members::table
        .inner_join(
            users::table.on(users::workspace_id
                .eq(channel_members::workspace_id)
                .and(users::id.eq(channel_members::user_id))),
        )
        .filter(channel_members::workspace_id.eq(workspace_id))
        .filter(channel_members::channel_id.eq(channel_id))
        .filter(users::active)
        .order(channel_members::user_id)
        .select(channel_members::user_id)
        .load(conn)
        .await
}

/// Whether the user administers the channel.
pub async fn is_admin(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    channel_id: Uuid,
    user_id: Uuid,
) -> QueryResult<bool> {
    channel_members::table
        .find((workspace_id, channel_id, user_id))
        .select(channel_members::admin)
        .first(conn)
        .await
        .optional()
        .map(|admin| admin == Some(true))
}

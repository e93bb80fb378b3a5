//! Queries on `api_tokens`.

use chrono::{DateTime, Utc};
use diesel::{
    dsl::{IntervalDsl, now},
    prelude::*,
    sql_types::Timestamptz,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{api_tokens, users};
use crate::domain::vocabulary::Scope;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::pg::Pg))]
pub struct ApiToken {
    pub workspace_id: Uuid,
    pub id: Uuid,
    pub display_prefix: String,
    pub user_id: Option<Uuid>,
    pub service_name: Option<String>,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    pub workspace_id: Uuid,
    pub id: Uuid,
    pub token_hash: &'a [u8],
    pub display_prefix: &'a str,
    pub user_id: Option<Uuid>,
    pub service_name: Option<&'a str>,
    pub scopes: Vec<Scope>,
}

/// The foreign key from a user's token to the workspace's user (migration 000005): a token for
/// someone not in the workspace's directory violates it.
pub const TOKEN_USER_KEY: &str = "api_tokens_workspace_id_user_id_fkey";

pub async fn insert(conn: &mut AsyncPgConnection, token: NewApiToken<'_>) -> QueryResult<ApiToken> {
    diesel::insert_into(api_tokens::table)
        .values(token)
        .returning(ApiToken::as_returning())
        .get_result(conn)
        .await
}

/// The unrevoked token with this hash and, for a user token, whether that user is active.
pub async fn find_live_by_hash(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<(ApiToken, Option<bool>)>> {
    api_tokens::table
        .left_join(
            users::table.on(users::workspace_id
                .eq(api_tokens::workspace_id)
                .and(users::id.nullable().eq(api_tokens::user_id))),
        )
        .filter(api_tokens::token_hash.eq(token_hash))
        .filter(api_tokens::revoked_at.is_null())
        .select((ApiToken::as_select(), users::active.nullable()))
        .first(conn)
        .await
        .optional()
}

/// Records that the token was used, unless that was already recorded within the last minute, so
/// busy tokens cost at most one write a minute.
pub async fn mark_used(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<()> {
    // Built with the DSL, which parenthesises the OR: raw SQL spliced into `filter` is not, so
    // it bound looser than the key's ANDs and stamped every stale token of every workspace.
    let stale = api_tokens::last_used_at
        .is_null()
        .or(api_tokens::last_used_at.lt((now.into_sql::<Timestamptz>() - 1.minute()).nullable()));
    diesel::update(api_tokens::table.find((workspace_id, id)).filter(stale))
        .set(api_tokens::last_used_at.eq(now))
        .execute(conn)
        .await
        .map(drop)
}

/// Revokes the token; `None` if the workspace has no such token. Revoking twice keeps the first
/// revocation time.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<ApiToken>> {
    diesel::update(api_tokens::table.find((workspace_id, id)))
        .set(api_tokens::revoked_at.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >("coalesce(revoked_at, now())")))
        .returning(ApiToken::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn list(conn: &mut AsyncPgConnection, workspace_id: Uuid) -> QueryResult<Vec<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::workspace_id.eq(workspace_id))
        .order((api_tokens::created_at, api_tokens::id))
        .select(ApiToken::as_select())
        .load(conn)
        .await
}

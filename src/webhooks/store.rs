//! The statements on `webhooks` and `webhook_deliveries` that the RPCs run (the webhooks
//! migration says how the table keeps one deliverer at a time). Every change a caller makes
//! also drops the lease, so that a server delivering under the old settings stops at its next
//! checkpoint instead of writing its cursor over the change.

use chrono::{DateTime, Utc};
use diesel::{
    OptionalExtension, QueryableByName, sql_query,
    sql_types::{Array, BigInt, Bool, Bytea, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{Delivery, NewDelivery, Webhook, scope_column};
use super::secrets::Sealed;
use crate::domain::vocabulary::{ActorType, EventKind, WebhookState};
use crate::events::{Position, watch::WatchScope};

/// A subscription's columns, and the oldest position a replay may start from.
pub(super) const COLUMNS: &str = "w.workspace_id, w.id, w.url, w.description, w.kinds, w.task_ids, \
     w.scope, w.audience, w.state, w.state_reason, w.position, w.delivered_ahead, w.attempts, \
     w.failing_since, w.next_attempt_at, w.last_success_at, w.previous_secret_until, \
     w.created_by_type, w.created_by_id, w.created_at, w.updated_at, w.version, \
     coalesce((SELECT z.position FROM task_event_horizons z \
     WHERE z.workspace_id = w.workspace_id), 0) AS horizon";

/// What a subscription is set to.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub url: String,
    pub description: String,
    pub kinds: Vec<EventKind>,
    pub task_ids: Vec<Uuid>,
    pub scope: WatchScope,
}

/// A new subscription, from the workspace's head on.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    settings: &Settings,
    secret: &Sealed,
    creator: (ActorType, &str),
) -> diesel::QueryResult<Option<Webhook>> {
    sql_query(format!(
        "WITH w AS (INSERT INTO webhooks (workspace_id, id, url, description, kinds, task_ids, \
         scope, audience, state, secret, secret_key_id, position, created_by_type, \
         created_by_id) SELECT $1, $2, $3, $4, $5, $6, $7, $8, 'ACTIVE', $9, $10, \
         coalesce((SELECT position FROM task_event_heads WHERE workspace_id = $1), 0), $11, $12 \
         WHERE (SELECT count(*) FROM webhooks WHERE workspace_id = $1) < $13 RETURNING *) \
         SELECT {COLUMNS} FROM w"
    ))
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(&settings.url)
    .bind::<Text, _>(&settings.description)
    .bind::<Array<Text>, _>(&settings.kinds)
    .bind::<Array<SqlUuid>, _>(&settings.task_ids)
    .bind::<Text, _>(scope_column(settings.scope))
    .bind::<Text, _>(crate::events::log::actor_key(creator.0, creator.1))
    .bind::<Bytea, _>(&secret.bytes)
    .bind::<Text, _>(&secret.key_id)
    .bind::<Text, _>(creator.0)
    .bind::<Text, _>(creator.1)
    .bind::<BigInt, _>(super::model::MAX_PER_WORKSPACE)
    .get_result(conn)
    .await
    .optional()
}

pub async fn get(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> diesel::QueryResult<Option<Webhook>> {
    sql_query(format!(
        "SELECT {COLUMNS} FROM webhooks w WHERE w.workspace_id = $1 AND w.id = $2"
    ))
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await
    .optional()
}

/// Up to `limit` subscriptions of the workspace after `after`, by id.
pub async fn list(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> diesel::QueryResult<Vec<Webhook>> {
    sql_query(format!(
        "SELECT {COLUMNS} FROM webhooks w WHERE w.workspace_id = $1 \
         AND ($2::uuid IS NULL OR w.id > $2) ORDER BY w.id LIMIT $3"
    ))
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<Nullable<SqlUuid>, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Writes `settings` if the subscription is still at `version`.
pub async fn update(
    conn: &mut AsyncPgConnection,
    webhook: &Webhook,
    settings: &Settings,
) -> diesel::QueryResult<Option<Webhook>> {
    change(
        webhook.workspace_id,
        webhook.id,
        Some(webhook.version),
        "url = $4, description = $5, kinds = $6, task_ids = $7, scope = $8",
        "true",
    )
    .bind::<Text, _>(&settings.url)
    .bind::<Text, _>(&settings.description)
    .bind::<Array<Text>, _>(&settings.kinds)
    .bind::<Array<SqlUuid>, _>(&settings.task_ids)
    .bind::<Text, _>(scope_column(settings.scope))
    .get_result(conn)
    .await
    .optional()
}

/// An UPDATE of one subscription that sets `set` where `condition` holds (their own parameters
/// from $4), bumps its version, drops its lease, and answers its row; with `version`, only if it
/// is still at it.
fn change(
    workspace_id: Uuid,
    id: Uuid,
    version: Option<i64>,
    set: &str,
    condition: &str,
) -> diesel::query_builder::BoxedSqlQuery<'static, diesel::pg::Pg, diesel::query_builder::SqlQuery>
{
    sql_query(format!(
        "WITH w AS (UPDATE webhooks SET {set}, version = version + 1, updated_at = now(), \
         leased_by = NULL, lease_until = NULL WHERE workspace_id = $1 AND id = $2 \
         AND ($3::bigint IS NULL OR version = $3) AND {condition} RETURNING *) \
         SELECT {COLUMNS} FROM w"
    ))
    .into_boxed()
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<SqlUuid, _>(id)
    .bind::<Nullable<BigInt>, _>(version)
}

/// Moves the subscription from one of `from` to `to`; a resume also starts the retry period
/// afresh. None: not in one of `from`.
pub async fn set_state(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    from: &[WebhookState],
    to: WebhookState,
) -> diesel::QueryResult<Option<Webhook>> {
    change(
        workspace_id,
        id,
        None,
        "state = $5, state_reason = '', \
         attempts = CASE WHEN $5 = 'ACTIVE' THEN 0 ELSE attempts END, \
         failing_since = CASE WHEN $5 = 'ACTIVE' THEN NULL ELSE failing_since END, \
         next_attempt_at = now()",
        "state = ANY ($4)",
    )
    .bind::<Array<Text>, _>(from.to_vec())
    .bind::<Text, _>(to)
    .get_result(conn)
    .await
    .optional()
}

/// A new secret; the current one signs beside it until `previous_until` (None: it stops now).
pub async fn rotate(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    secret: &Sealed,
    previous_until: Option<DateTime<Utc>>,
) -> diesel::QueryResult<Option<Webhook>> {
    change(
        workspace_id,
        id,
        None,
        "previous_secret = CASE WHEN $6::timestamptz IS NULL THEN NULL ELSE secret END, \
         previous_secret_key_id = CASE WHEN $6::timestamptz IS NULL THEN NULL ELSE secret_key_id END, \
         previous_secret_until = $6, secret = $4, secret_key_id = $5",
        "true",
    )
    .bind::<Bytea, _>(secret.bytes.clone())
    .bind::<Text, _>(secret.key_id.clone())
    .bind::<Nullable<Timestamptz>, _>(previous_until)
    .get_result(conn)
    .await
    .optional()
}

/// Delivery continues right after `position`, ACTIVE, with a fresh retry period.
pub async fn replay(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    position: Position,
) -> diesel::QueryResult<Option<Webhook>> {
    change(
        workspace_id,
        id,
        None,
        "position = $4, delivered_ahead = '{}', state = 'ACTIVE', state_reason = '', \
         attempts = 0, failing_since = NULL, next_attempt_at = now()",
        "true",
    )
    .bind::<BigInt, _>(position.number())
    .get_result(conn)
    .await
    .optional()
}

/// Deletes the subscription (and, by cascade, its delivery log); whether there was one.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> diesel::QueryResult<bool> {
    let deleted = sql_query("DELETE FROM webhooks WHERE workspace_id = $1 AND id = $2")
        .bind::<SqlUuid, _>(workspace_id)
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}

/// A subscription's sealed secrets: the current one, and the previous one while it still signs.
#[derive(Debug, Clone, QueryableByName)]
pub struct SealedSecrets {
    #[diesel(sql_type = Bytea)]
    secret: Vec<u8>,
    #[diesel(sql_type = Text)]
    secret_key_id: String,
    #[diesel(sql_type = Nullable<Bytea>)]
    previous_secret: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Text>)]
    previous_secret_key_id: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    previous_secret_until: Option<DateTime<Utc>>,
}

impl SealedSecrets {
    /// The secrets that sign at `now`, the current one first.
    pub fn signing_at(&self, now: DateTime<Utc>) -> Vec<Sealed> {
        let mut sealed = vec![Sealed {
            key_id: self.secret_key_id.clone(),
            bytes: self.secret.clone(),
        }];
        if let (Some(bytes), Some(key_id), Some(until)) = (
            &self.previous_secret,
            &self.previous_secret_key_id,
            self.previous_secret_until,
        ) && until > now
        {
            sealed.push(Sealed {
                key_id: key_id.clone(),
                bytes: bytes.clone(),
            });
        }
        sealed
    }
}

pub async fn secrets(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> diesel::QueryResult<Option<SealedSecrets>> {
    sql_query(
        "SELECT secret, secret_key_id, previous_secret, previous_secret_key_id, \
         previous_secret_until FROM webhooks WHERE workspace_id = $1 AND id = $2",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await
    .optional()
}

/// Records attempts in the subscription's delivery log (none, if it was deleted meanwhile).
pub async fn record(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    webhook_id: Uuid,
    attempts: &[NewDelivery],
) -> diesel::QueryResult<()> {
    if attempts.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&NewDelivery) -> Option<i64>| attempts.iter().map(f).collect::<Vec<_>>();
    sql_query(
        "INSERT INTO webhook_deliveries (workspace_id, webhook_id, position, purpose, attempt, \
         at, status_code, succeeded, error, latency_ms, response_excerpt, next_attempt_at) \
         SELECT $1, $2, d.* FROM unnest($3::bigint[], $4::text[], $5::int4[], \
         $6::timestamptz[], $7::int4[], $8::bool[], $9::text[], $10::int4[], $11::text[], \
         $12::timestamptz[]) AS d WHERE EXISTS (SELECT FROM webhooks \
         WHERE workspace_id = $1 AND id = $2)",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<SqlUuid, _>(webhook_id)
    .bind::<Array<Nullable<BigInt>>, _>(column(|d| d.position.map(Position::number)))
    .bind::<Array<Text>, _>(attempts.iter().map(|d| d.purpose).collect::<Vec<_>>())
    .bind::<Array<Int4>, _>(attempts.iter().map(|d| d.attempt).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(attempts.iter().map(|d| d.at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Int4>>, _>(
        attempts
            .iter()
            .map(|d| d.outcome.status.map(i32::from))
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Bool>, _>(
        attempts
            .iter()
            .map(|d| d.outcome.succeeded())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Text>, _>(
        attempts
            .iter()
            .map(|d| d.outcome.error.clone())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Int4>, _>(
        attempts
            .iter()
            .map(|d| i32::try_from(d.outcome.latency.as_millis()).unwrap_or(i32::MAX))
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Text>, _>(
        attempts
            .iter()
            .map(|d| d.outcome.excerpt.clone())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Timestamptz>>, _>(
        attempts
            .iter()
            .map(|d| d.next_attempt_at)
            .collect::<Vec<_>>(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Up to `limit` of the subscription's deliveries before `before` (an id), newest first.
pub async fn deliveries(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    webhook_id: Uuid,
    before: Option<i64>,
    limit: i64,
) -> diesel::QueryResult<Vec<Delivery>> {
    sql_query(
        "SELECT id, position, purpose, attempt, at, status_code, succeeded, error, latency_ms, \
         response_excerpt, next_attempt_at FROM webhook_deliveries \
         WHERE workspace_id = $1 AND webhook_id = $2 AND ($3::bigint IS NULL OR id < $3) \
         ORDER BY id DESC LIMIT $4",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<SqlUuid, _>(webhook_id)
    .bind::<Nullable<BigInt>, _>(before)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// An interval of `duration`, for statements.
pub(super) fn interval(duration: std::time::Duration) -> diesel::data_types::PgInterval {
    diesel::data_types::PgInterval::from_microseconds(
        i64::try_from(duration.as_micros()).unwrap_or(i64::MAX),
    )
}

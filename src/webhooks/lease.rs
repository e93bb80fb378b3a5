//! The delivery worker's statements: taking subscriptions that have something to deliver under
//! a lease, moving a cursor while the lease is still this server's, and settling a subscription
//! that failed for its whole retry period or fell behind the events kept.

use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    pg::Pg,
    query_builder::{BoxedSqlQuery, SqlQuery},
    sql_query,
    sql_types::{
        Array, BigInt, Bool, Bytea, Int4, Interval, Nullable, Text, Timestamptz, Uuid as SqlUuid,
    },
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::Webhook;
use super::secrets::{Keyring, Sealed};
use super::store::{COLUMNS, SealedSecrets, interval};
use crate::domain::vocabulary::{EventKind, WebhookState};
use crate::events::log::{self, NewEvent};

/// A subscription taken under this server's lease, with its secrets.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(embed)]
    pub webhook: Webhook,
    #[diesel(embed)]
    pub secrets: SealedSecrets,
}

/// Takes up to `limit` ACTIVE subscriptions whose back-off is over, whose lease is free, and
/// whose workspace's log has gone past their cursor, for `lease`.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    server: Uuid,
    lease: std::time::Duration,
    limit: i64,
) -> diesel::QueryResult<Vec<Claimed>> {
    sql_query(format!(
        "WITH due AS (SELECT d.workspace_id, d.id FROM webhooks d \
         JOIN task_event_heads h ON h.workspace_id = d.workspace_id \
         WHERE d.state = 'ACTIVE' AND d.next_attempt_at <= now() \
         AND (d.lease_until IS NULL OR d.lease_until < now()) AND h.position > d.position \
         ORDER BY d.next_attempt_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED), \
         w AS (UPDATE webhooks SET leased_by = $1, lease_until = now() + $2 FROM due \
         WHERE webhooks.workspace_id = due.workspace_id AND webhooks.id = due.id RETURNING webhooks.*) \
         SELECT {COLUMNS}, w.secret, w.secret_key_id, w.previous_secret, \
         w.previous_secret_key_id FROM w"
    ))
    .bind::<SqlUuid, _>(server)
    .bind::<Interval, _>(interval(lease))
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Where a leased subscription's delivery stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub position: i64,
    pub delivered_ahead: Vec<i64>,
    pub attempts: i32,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// When to come back, once the lease is given up.
    pub next_attempt_at: DateTime<Utc>,
}

/// An UPDATE that writes `progress` ($4 to $8) and sets `set` (its own parameters from $9), if
/// the lease is still `server`'s and the subscription still ACTIVE.
fn write_progress(
    webhook: &Webhook,
    server: Uuid,
    progress: &Progress,
    set: &str,
) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
    sql_query(format!(
        "UPDATE webhooks SET position = $4, delivered_ahead = $5, attempts = $6, \
         failing_since = $7, last_success_at = $8, {set} \
         WHERE workspace_id = $1 AND id = $2 AND leased_by = $3 AND state = 'ACTIVE'"
    ))
    .into_boxed()
    .bind::<SqlUuid, _>(webhook.workspace_id)
    .bind::<SqlUuid, _>(webhook.id)
    .bind::<SqlUuid, _>(server)
    .bind::<BigInt, _>(progress.position)
    .bind::<Array<BigInt>, _>(progress.delivered_ahead.clone())
    .bind::<Int4, _>(progress.attempts)
    .bind::<Nullable<Timestamptz>, _>(progress.failing_since)
    .bind::<Nullable<Timestamptz>, _>(progress.last_success_at)
}

/// Writes `progress` if the lease is still this server's and the subscription still ACTIVE,
/// renewing the lease for `lease` or, with `release`, giving it up. Whether it was still ours.
pub async fn checkpoint(
    conn: &mut AsyncPgConnection,
    webhook: &Webhook,
    server: Uuid,
    progress: &Progress,
    lease: std::time::Duration,
    release: bool,
) -> diesel::QueryResult<bool> {
    let written = write_progress(
        webhook,
        server,
        progress,
        "next_attempt_at = $9, leased_by = CASE WHEN $10 THEN NULL ELSE leased_by END, \
         lease_until = CASE WHEN $10 THEN NULL ELSE now() + $11 END",
    )
    .bind::<Timestamptz, _>(progress.next_attempt_at)
    .bind::<Bool, _>(release)
    .bind::<Interval, _>(interval(lease))
    .execute(conn)
    .await?;
    Ok(written > 0)
}

/// Settles a leased subscription as FAILING (with a WEBHOOK_FAILING event, in one transaction)
/// or EXPIRED, writing its progress and giving up the lease.
pub async fn settle(
    conn: &mut AsyncPgConnection,
    webhook: &Webhook,
    server: Uuid,
    progress: &Progress,
    state: WebhookState,
    reason: &str,
    details: serde_json::Value,
) -> diesel::QueryResult<bool> {
    conn.transaction(async |conn| {
        let written = write_progress(
            webhook,
            server,
            progress,
            "state = $9, state_reason = $10, leased_by = NULL, lease_until = NULL, \
             version = version + 1, updated_at = now()",
        )
        .bind::<Text, _>(state)
        .bind::<Text, _>(reason)
        .execute(conn)
        .await?;
        if written > 0 && state == WebhookState::Failing {
            let cause = crate::events::record::system_cause();
            let event = NewEvent {
                workspace_id: webhook.workspace_id,
                task_id: None,
                template_id: None,
                webhook_id: Some(webhook.id),
                assignment_id: None,
                kind: EventKind::WebhookFailing,
                details,
                audience: Vec::new(),
            };
            log::append(conn, &cause, &[event]).await?;
        }
        Ok(written > 0)
    })
    .await
}

/// A secret sealed by a key other than the sealing one.
#[derive(QueryableByName)]
struct Unsealed {
    #[diesel(sql_type = SqlUuid)]
    workspace_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Bytea)]
    secret: Vec<u8>,
    #[diesel(sql_type = Text)]
    secret_key_id: String,
    #[diesel(sql_type = Nullable<Bytea>)]
    previous_secret: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Text>)]
    previous_secret_key_id: Option<String>,
}

/// Reseals up to `limit` subscriptions' secrets that another key sealed with the keyring's
/// sealing key (each row only if its secrets are still those read); how many were resealed.
pub async fn reseal(
    conn: &mut AsyncPgConnection,
    keys: &Keyring,
    limit: i64,
) -> Result<usize, super::WebhookError> {
    let current = keys.sealing_key_id();
    let rows: Vec<Unsealed> = sql_query(
        "SELECT workspace_id, id, secret, secret_key_id, previous_secret, previous_secret_key_id \
         FROM webhooks WHERE secret_key_id <> $1 OR previous_secret_key_id <> $1 LIMIT $2",
    )
    .bind::<Text, _>(current)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    let mut resealed = 0;
    for row in rows {
        let reseal = |key_id: &str, bytes: &[u8]| -> Result<Sealed, super::WebhookError> {
            let sealed = Sealed {
                key_id: key_id.to_string(),
                bytes: bytes.to_vec(),
            };
            let secret = keys.open(row.workspace_id, row.id, &sealed)?;
            Ok(keys.seal(row.workspace_id, row.id, &secret)?)
        };
        let secret = reseal(&row.secret_key_id, &row.secret)?;
        let previous = match (&row.previous_secret, &row.previous_secret_key_id) {
            (Some(bytes), Some(key_id)) => Some(reseal(key_id, bytes)?),
            _ => None,
        };
        resealed += sql_query(
            "UPDATE webhooks SET secret = $4, secret_key_id = $5, previous_secret = $6, \
             previous_secret_key_id = $7 WHERE workspace_id = $1 AND id = $2 AND secret = $3",
        )
        .bind::<SqlUuid, _>(row.workspace_id)
        .bind::<SqlUuid, _>(row.id)
        .bind::<Bytea, _>(&row.secret)
        .bind::<Bytea, _>(&secret.bytes)
        .bind::<Text, _>(&secret.key_id)
        .bind::<Nullable<Bytea>, _>(previous.as_ref().map(|p| p.bytes.clone()))
        .bind::<Nullable<Text>, _>(previous.as_ref().map(|p| p.key_id.clone()))
        .execute(conn)
        .await?;
    }
    Ok(resealed)
}

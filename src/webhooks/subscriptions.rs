//! The rules WebhookService follows: a subscription is the workspace's (every RPC needs
//! workspace:admin, which the edge checks), its URL passes the egress policy when it is set, its
//! secret is sealed before it is stored and shown only once, and every change drops the lease so
//! that delivery carries on under the new settings.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use uuid::Uuid;

use super::{
    WebhookError, Webhooks,
    model::{Delivery, NewDelivery, Webhook},
    policy::Refusal,
    secrets::Secret,
    send::{Message, Outcome},
    store::{self, Settings},
};
use crate::auth::Caller;
use crate::db::{self, PgPool};
use crate::domain::{
    DomainError,
    input::Invalid,
    vocabulary::{DeliveryPurpose, WebhookState},
};
use crate::events::{Position, log};

/// The longest grace a rotation gives the previous secret.
pub const MAX_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);
/// What a TestWebhook or RedeliverWebhookEvent keeps of its call's time to record the attempt.
const ANSWER_MARGIN: Duration = Duration::from_millis(500);
/// The grace a rotation gives by default.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(24 * 3600);

/// What UpdateWebhook changes: each `Some` field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub url: Option<String>,
    pub description: Option<String>,
    pub kinds: Option<Vec<crate::domain::vocabulary::EventKind>>,
    pub task_ids: Option<Vec<Uuid>>,
    pub scope: Option<crate::events::watch::WatchScope>,
    /// Only if the subscription is still at this version (its etag).
    pub version: Option<i64>,
}

impl From<WebhookError> for DomainError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::Db(e) => DomainError::from(e),
            WebhookError::Entropy(e) => DomainError::Entropy(e),
            WebhookError::Open(e) => DomainError::WebhookState(format!(
                "this server cannot open the subscription's secret: {e}"
            )),
        }
    }
}

fn enabled(hooks: Option<&Arc<Webhooks>>) -> Result<&Arc<Webhooks>, DomainError> {
    hooks.ok_or(DomainError::WebhooksDisabled)
}

/// A URL that is not one is invalid (naming `field`); a destination the policy refuses is
/// DestinationRefused.
fn refused(field: &str, refusal: Refusal) -> DomainError {
    match refusal {
        Refusal::Url(why) => DomainError::Invalid(Invalid::one(field, why)),
        refusal => DomainError::DestinationRefused {
            address: refusal.address().map(|a| a.to_string()),
            reason: refusal.to_string(),
        },
    }
}

/// Checks where `url` leads now, by the policy.
async fn check_url(hooks: &Webhooks, field: &str, url: &str) -> Result<(), DomainError> {
    hooks
        .sender
        .policy()
        .check_destination(url)
        .await
        .map(|_| ())
        .map_err(|r| refused(field, r))
}

/// A new subscription from the workspace's head on, and its secret as shown (this once).
pub async fn create(
    hooks: Option<&Arc<Webhooks>>,
    pool: &PgPool,
    caller: &Caller,
    settings: Settings,
) -> Result<(Webhook, String), DomainError> {
    let hooks = enabled(hooks)?;
    check_url(hooks, "url", &settings.url).await?;
    let id = Uuid::now_v7();
    let secret = Secret::generate()?;
    let sealed = hooks.keys.seal(caller.workspace_id, id, &secret)?;
    let mut conn = db::checkout(pool).await?;
    let creator = (caller.actor.kind(), caller.actor.id());
    let made = store::insert(
        &mut conn,
        caller.workspace_id,
        id,
        &settings,
        &sealed,
        (creator.0, &creator.1),
    )
    .await?;
    let webhook = made.ok_or(DomainError::TooManyWebhooks(
        super::model::MAX_PER_WORKSPACE,
    ))?;
    Ok((webhook, secret.shown()))
}

pub async fn get(pool: &PgPool, caller: &Caller, id: Uuid) -> Result<Webhook, DomainError> {
    let mut conn = db::checkout(pool).await?;
    store::get(&mut conn, caller.workspace_id, id)
        .await?
        .ok_or(DomainError::WebhookNotFound)
}

/// Up to `limit` of the workspace's subscriptions after `after`, by id.
pub async fn list(
    pool: &PgPool,
    caller: &Caller,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Webhook>, DomainError> {
    let mut conn = db::checkout(pool).await?;
    Ok(store::list(&mut conn, caller.workspace_id, after, limit).await?)
}

pub async fn update(
    hooks: Option<&Arc<Webhooks>>,
    pool: &PgPool,
    caller: &Caller,
    id: Uuid,
    changes: Changes,
) -> Result<Webhook, DomainError> {
    let hooks = enabled(hooks)?;
    let current = get(pool, caller, id).await?;
    if changes.version.is_some_and(|v| v != current.version) {
        return Err(DomainError::WebhookChangeConflict);
    }
    if let Some(url) = &changes.url {
        check_url(hooks, "webhook.url", url).await?;
    }
    let settings = Settings {
        url: changes.url.unwrap_or_else(|| current.url.clone()),
        description: changes
            .description
            .unwrap_or_else(|| current.description.clone()),
        kinds: changes.kinds.unwrap_or_else(|| current.kinds.clone()),
        task_ids: changes.task_ids.unwrap_or_else(|| current.task_ids.clone()),
        scope: changes.scope.unwrap_or_else(|| current.scope()),
    };
    let mut conn = db::checkout(pool).await?;
    store::update(&mut conn, &current, &settings)
        .await?
        .ok_or(DomainError::WebhookChangeConflict)
}

pub async fn delete(pool: &PgPool, caller: &Caller, id: Uuid) -> Result<(), DomainError> {
    let mut conn = db::checkout(pool).await?;
    match store::delete(&mut conn, caller.workspace_id, id).await? {
        true => Ok(()),
        false => Err(DomainError::WebhookNotFound),
    }
}

/// PAUSED, from ACTIVE or FAILING (PAUSED stays so).
pub async fn pause(pool: &PgPool, caller: &Caller, id: Uuid) -> Result<Webhook, DomainError> {
    use WebhookState::*;
    move_state(
        pool,
        caller,
        id,
        &[Active, Paused, Failing],
        Paused,
        "an EXPIRED subscription cannot be paused; replay it",
    )
    .await
}

/// ACTIVE again from PAUSED or FAILING, with a fresh retry period.
pub async fn resume(pool: &PgPool, caller: &Caller, id: Uuid) -> Result<Webhook, DomainError> {
    use WebhookState::*;
    move_state(
        pool,
        caller,
        id,
        &[Active, Paused, Failing],
        Active,
        "an EXPIRED subscription is resumed by ReplayWebhook from a position still kept",
    )
    .await
}

async fn move_state(
    pool: &PgPool,
    caller: &Caller,
    id: Uuid,
    from: &[WebhookState],
    to: WebhookState,
    refused: &str,
) -> Result<Webhook, DomainError> {
    let mut conn = db::checkout(pool).await?;
    if let Some(moved) = store::set_state(&mut conn, caller.workspace_id, id, from, to).await? {
        return Ok(moved);
    }
    match store::get(&mut conn, caller.workspace_id, id).await? {
        None => Err(DomainError::WebhookNotFound),
        Some(_) => Err(DomainError::WebhookState(refused.to_string())),
    }
}

/// A new secret, shown this once; the previous one signs beside it for `grace`.
pub async fn rotate(
    hooks: Option<&Arc<Webhooks>>,
    pool: &PgPool,
    caller: &Caller,
    id: Uuid,
    grace: Duration,
) -> Result<(Webhook, String), DomainError> {
    let hooks = enabled(hooks)?;
    let secret = Secret::generate()?;
    let sealed = hooks.keys.seal(caller.workspace_id, id, &secret)?;
    let until = (!grace.is_zero())
        .then(|| Utc::now() + chrono::Duration::from_std(grace).unwrap_or_default());
    let mut conn = db::checkout(pool).await?;
    let webhook = store::rotate(&mut conn, caller.workspace_id, id, &sealed, until).await?;
    Ok((webhook.ok_or(DomainError::WebhookNotFound)?, secret.shown()))
}

/// Delivery continues right after `start`, which must be kept and reached.
pub async fn replay(
    pool: &PgPool,
    caller: &Caller,
    id: Uuid,
    start: Position,
) -> Result<Webhook, DomainError> {
    let mut conn = db::checkout(pool).await?;
    let bounds = log::bounds(&mut conn, caller.workspace_id).await?;
    if start < bounds.horizon() {
        return Err(DomainError::WatchPositionExpired);
    }
    if start > bounds.head() {
        return Err(DomainError::WatchPositionAhead(bounds.head().to_string()));
    }
    store::replay(&mut conn, caller.workspace_id, id, start)
        .await?
        .ok_or(DomainError::WebhookNotFound)
}

/// The subscription's delivery log before `before`, newest first.
pub async fn deliveries(
    pool: &PgPool,
    caller: &Caller,
    id: Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>, DomainError> {
    let mut conn = db::checkout(pool).await?;
    get(pool, caller, id).await?;
    Ok(store::deliveries(&mut conn, caller.workspace_id, id, before, limit).await?)
}

/// Sends a test message now, and records it.
pub async fn test(
    hooks: Option<&Arc<Webhooks>>,
    pool: &PgPool,
    caller: &Caller,
    id: Uuid,
) -> Result<Delivery, DomainError> {
    let hooks = enabled(hooks)?;
    let webhook = get(pool, caller, id).await?;
    let now = Utc::now();
    let body = serde_json::to_vec(&serde_json::json!({
        "type": "webhook.test",
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": {"webhook_id": webhook.id, "url": webhook.url},
    }))
    .unwrap_or_default();
    let message_id = format!("test_{}", Uuid::new_v4());
    send_now(
        hooks,
        pool,
        &webhook,
        &message_id,
        body,
        None,
        DeliveryPurpose::Test,
    )
    .await
}

/// Sends the event at `position` again now, as it was, and records it.
pub async fn redeliver(
    hooks: Option<&Arc<Webhooks>>,
    pool: &PgPool,
    caller: &Caller,
    id: Uuid,
    position: Position,
) -> Result<Delivery, DomainError> {
    let hooks = enabled(hooks)?;
    let webhook = get(pool, caller, id).await?;
    let mut conn = db::checkout(pool).await?;
    let before = Position::new(position.number().saturating_sub(1));
    let event = log::read_after(&mut conn, caller.workspace_id, before, position, 1)
        .await?
        .pop();
    drop(conn);
    let Some(event) = event else {
        return Err(DomainError::WatchPositionExpired);
    };
    if !webhook.filter().matches(&event) {
        return Err(DomainError::Invalid(Invalid::one(
            "position",
            "the subscription does not take this event in (its kinds, tasks or scope)",
        )));
    }
    let body = (hooks.render)(&event);
    send_now(
        hooks,
        pool,
        &webhook,
        &position.to_string(),
        body,
        Some(position),
        DeliveryPurpose::Redelivery,
    )
    .await
}

/// One message sent now with the subscription's signing secrets, recorded in its log.
async fn send_now(
    hooks: &Webhooks,
    pool: &PgPool,
    webhook: &Webhook,
    message_id: &str,
    body: Vec<u8>,
    position: Option<Position>,
    purpose: DeliveryPurpose,
) -> Result<Delivery, DomainError> {
    let mut conn = db::checkout(pool).await?;
    let sealed = store::secrets(&mut conn, webhook.workspace_id, webhook.id)
        .await?
        .ok_or(DomainError::WebhookNotFound)?;
    drop(conn);
    let at = Utc::now();
    let secrets = sealed
        .signing_at(at)
        .iter()
        .map(|s| hooks.keys.open(webhook.workspace_id, webhook.id, s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(WebhookError::from)?;
    let message = Message {
        id: message_id,
        body: body.into(),
        secrets: secrets.iter().collect(),
    };
    // The call's deadline may come before the delivery timeout: the attempt is cut short in
    // time to record it and answer.
    let sending = hooks.sender.send(&webhook.url, message);
    let outcome = match crate::call::remaining().map(|left| left.saturating_sub(ANSWER_MARGIN)) {
        Some(limit) => tokio::time::timeout(limit, sending)
            .await
            .unwrap_or_else(|_| Outcome::cut_short(limit)),
        None => sending.await,
    };
    hooks.metrics.attempt(&outcome);
    let attempt = NewDelivery {
        position,
        purpose,
        attempt: 1,
        at,
        outcome,
        next_attempt_at: None,
    };
    let mut conn = db::checkout(pool).await?;
    store::record(
        &mut conn,
        webhook.workspace_id,
        webhook.id,
        std::slice::from_ref(&attempt),
    )
    .await?;
    let recorded = store::deliveries(&mut conn, webhook.workspace_id, webhook.id, None, 1).await?;
    recorded
        .into_iter()
        .next()
        .ok_or(DomainError::WebhookNotFound)
}

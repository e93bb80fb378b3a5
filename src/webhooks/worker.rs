//! The delivery worker: every server runs one. Each poll it takes, under a lease, as many
//! subscriptions with something to deliver as it has room for, and delivers each in a task of
//! its own (`lanes`) until it is caught up or backing off for long. It has no leader: the lease
//! in the database lets one server at a time deliver a subscription, and a dead server's
//! subscriptions pass to the others when their leases run out. Once a minute it also reseals
//! secrets that an older server key sealed (`lease::reseal`).

use std::{sync::Arc, time::Duration};

use tokio::{sync::Semaphore, task::JoinSet, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{WebhookError, Webhooks, lanes, lease};
use crate::db::{self, PgPool, Prepared};

/// How often secrets sealed by older keys are looked for.
const RESEAL_EVERY: Duration = Duration::from_secs(60);
/// How long a stopping worker waits for its deliveries to write where they stand.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Runs until `stop`, once the database has been prepared.
pub async fn run(hooks: Arc<Webhooks>, pool: PgPool, prepared: Prepared, stop: CancellationToken) {
    let server = Uuid::new_v4();
    let slots = Arc::new(Semaphore::new(hooks.settings.subscriptions));
    let mut deliveries = JoinSet::new();
    let mut resealed: Option<Instant> = None;
    loop {
        let jitter = 0.8 + 0.4 * f64::from(getrandom::u32().unwrap_or(0)) / f64::from(u32::MAX);
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(hooks.settings.poll.mul_f64(jitter)) => {}
        }
        while deliveries.try_join_next().is_some() {}
        if !prepared.is_done() {
            continue;
        }
        if resealed.is_none_or(|at| at.elapsed() >= RESEAL_EVERY) {
            resealed = Some(Instant::now());
            reseal(&hooks, &pool).await;
        }
        let room = slots.available_permits();
        if room == 0 {
            continue;
        }
        let claimed = async {
            let mut conn = db::checkout(&pool).await?;
            let leased = lease::claim(&mut conn, server, hooks.settings.lease, room as i64).await?;
            Ok::<_, WebhookError>(leased)
        };
        let claimed = match claimed.await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "webhooks: a look for subscriptions to deliver failed; the next one tries again");
                continue;
            }
        };
        for subscription in claimed {
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                break;
            };
            let (hooks, pool, stop) = (hooks.clone(), pool.clone(), stop.clone());
            deliveries.spawn(async move {
                let _slot = slot;
                let id = subscription.webhook.id;
                if let Err(error) = lanes::deliver(hooks, pool, server, subscription, stop).await {
                    tracing::warn!(%error, webhook = %id, "webhooks: delivering failed; another attempt follows once its lease runs out");
                }
            });
        }
    }
    let _ = tokio::time::timeout(STOP_GRACE, async {
        while deliveries.join_next().await.is_some() {}
    })
    .await;
}

/// Reseals what older keys sealed, logging what it did.
async fn reseal(hooks: &Webhooks, pool: &PgPool) {
    let resealed = async {
        let mut conn = db::checkout(pool).await?;
        lease::reseal(&mut conn, &hooks.keys, 100).await
    };
    match resealed.await {
        Ok(0) => {}
        Ok(count) => tracing::info!(
            count,
            key = hooks.keys.sealing_key_id(),
            "webhooks: resealed secrets with the sealing key"
        ),
        Err(error) => {
            tracing::warn!(%error, "webhooks: resealing secrets failed; the next look tries again")
        }
    }
}

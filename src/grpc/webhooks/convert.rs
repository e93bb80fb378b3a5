//! Subscriptions and deliveries as WebhookService answers them.

use crate::{
    grpc::{pb, tasks::convert::actor_to_proto, timestamp},
    webhooks::model::{Delivery, Webhook},
};

pub(super) fn webhook_to_proto(webhook: Webhook) -> pb::Webhook {
    let scope = pb::WatchScope::from(webhook.scope()) as i32;
    pb::Webhook {
        id: webhook.id.to_string(),
        position: webhook.position().to_string(),
        oldest_replay_position: webhook.oldest_replay_position().to_string(),
        etag: format!("W/\"{}\"", webhook.version),
        url: webhook.url,
        description: webhook.description,
        kinds: webhook
            .kinds
            .into_iter()
            .map(|k| pb::TaskEventKind::from(k) as i32)
            .collect(),
        task_ids: webhook.task_ids.iter().map(ToString::to_string).collect(),
        scope,
        state: pb::WebhookState::from(webhook.state) as i32,
        state_reason: webhook.state_reason,
        failed_attempts: webhook.attempts,
        failing_since: webhook.failing_since.map(timestamp),
        next_attempt_at: (webhook.attempts > 0).then(|| timestamp(webhook.next_attempt_at)),
        last_success_at: webhook.last_success_at.map(timestamp),
        previous_secret_expires_at: webhook.previous_secret_until.map(timestamp),
        created_by: Some(actor_to_proto(
            webhook.created_by_type,
            webhook.created_by_id,
        )),
        created_at: Some(timestamp(webhook.created_at)),
        updated_at: Some(timestamp(webhook.updated_at)),
    }
}

pub(super) fn delivery_to_proto(delivery: Delivery) -> pb::WebhookDelivery {
    pb::WebhookDelivery {
        at: Some(timestamp(delivery.at)),
        position: delivery
            .position()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        purpose: pb::WebhookDeliveryPurpose::from(delivery.purpose) as i32,
        attempt: delivery.attempt,
        status_code: delivery.status_code.unwrap_or(0),
        succeeded: delivery.succeeded,
        error: delivery.error,
        latency: Some(prost_types::Duration {
            seconds: i64::from(delivery.latency_ms / 1000),
            nanos: (delivery.latency_ms % 1000) * 1_000_000,
        }),
        response_excerpt: delivery.response_excerpt,
        next_attempt_at: delivery.next_attempt_at.map(timestamp),
    }
}

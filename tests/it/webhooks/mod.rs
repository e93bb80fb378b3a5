//! Webhooks: the RPCs (rules, tenancy, the egress policy), signed delivery to a local receiver
//! through failures and back-off, replay, redelivery and secret rotation, a subscription that
//! fails for its whole retry period, and several servers sharing the deliveries.

mod basics;
mod delivery;
mod failing;
mod receiver;
mod replicas;
mod scope;

use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use docket::{
    config::ServeConfig,
    grpc::pb::{self, webhook_service_client::WebhookServiceClient},
};
use tonic::{Status, transport::Channel};

use crate::helpers::{rpc::authorized, team::Team};

/// Webhooks on, as tests use them: a key, plain http and 127.0.0.1 allowed (the receiver's), a
/// one-second timeout and a three-second lease.
pub fn webhooks_on(config: &mut ServeConfig) {
    config.webhooks.webhook_keys = Some(format!("test:{}", B64.encode([9u8; 32])));
    config.webhooks.webhook_allow_http = true;
    config.webhooks.webhook_allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
    config.webhooks.webhook_timeout = Duration::from_secs(1);
    config.webhooks.webhook_lease = Duration::from_secs(3);
}

pub async fn client(team: &Team) -> WebhookServiceClient<Channel> {
    WebhookServiceClient::new(team.app.channel().await)
}

/// A subscription to `url` of every event of the workspace, by the team's admin; and its secret.
pub async fn subscribe(team: &Team, url: &str) -> Result<(pb::Webhook, String), Status> {
    subscribe_with(
        team,
        pb::CreateWebhookRequest {
            url: url.into(),
            ..Default::default()
        },
    )
    .await
}

pub async fn subscribe_with(
    team: &Team,
    request: pb::CreateWebhookRequest,
) -> Result<(pb::Webhook, String), Status> {
    let made = client(team)
        .await
        .create_webhook(authorized(request, &team.admin))
        .await?
        .into_inner();
    Ok((made.webhook.expect("webhook"), made.secret))
}

pub async fn get(team: &Team, id: &str) -> pb::Webhook {
    let request = pb::GetWebhookRequest {
        webhook_id: id.into(),
    };
    client(team)
        .await
        .get_webhook(authorized(request, &team.admin))
        .await
        .expect("get")
        .into_inner()
        .webhook
        .expect("webhook")
}

/// The subscription's delivery log, oldest first.
pub async fn deliveries(team: &Team, id: &str) -> Vec<pb::WebhookDelivery> {
    let request = pb::ListWebhookDeliveriesRequest {
        webhook_id: id.into(),
        ..Default::default()
    };
    let mut log = client(team)
        .await
        .list_webhook_deliveries(authorized(request, &team.admin))
        .await
        .expect("deliveries")
        .into_inner()
        .deliveries;
    log.reverse();
    log
}

/// A task by the author for Alice; its id.
pub async fn task(team: &Team, title: &str) -> String {
    let request = pb::CreateTaskRequest {
        title: title.into(),
        recipient_user_ids: vec![team.alice.0.to_string()],
        ..Default::default()
    };
    team.create(&team.author.1, request)
        .await
        .expect("create")
        .id
}

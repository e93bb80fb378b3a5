//! `docket.v1.WebhookService`: proto ↔ the webhooks wing. Each handler parses its request
//! (`requests`), calls `webhooks::subscriptions`, and converts the answer (`convert`);
//! `payload` renders an event as a message body for the delivery worker.

mod convert;
pub mod payload;
mod requests;

use tonic::{Request, Response, Status};

use convert::{delivery_to_proto, webhook_to_proto};
use requests::{ListDeliveries, ListWebhooks};

use super::{caller, parse::parse, pb};
use crate::{app::App, webhooks::subscriptions};

pub struct WebhookApi {
    app: App,
}

impl WebhookApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl pb::webhook_service_server::WebhookService for WebhookApi {
    async fn create_webhook(
        &self,
        request: Request<pb::CreateWebhookRequest>,
    ) -> Answer<pb::CreateWebhookResponse> {
        let settings = parse(request.get_ref())?;
        let hooks = self.app.webhooks.as_ref();
        let (webhook, secret) =
            subscriptions::create(hooks, &self.app.db.pool, caller(&request)?, settings).await?;
        Ok(Response::new(pb::CreateWebhookResponse {
            webhook: Some(webhook_to_proto(webhook)),
            secret,
        }))
    }

    async fn get_webhook(
        &self,
        request: Request<pb::GetWebhookRequest>,
    ) -> Answer<pb::GetWebhookResponse> {
        let id = parse(request.get_ref())?;
        let webhook = subscriptions::get(&self.app.db.pool, caller(&request)?, id).await?;
        Ok(Response::new(pb::GetWebhookResponse {
            webhook: Some(webhook_to_proto(webhook)),
        }))
    }

    async fn list_webhooks(
        &self,
        request: Request<pb::ListWebhooksRequest>,
    ) -> Answer<pb::ListWebhooksResponse> {
        let ListWebhooks { after, limit } = parse(request.get_ref())?;
        let webhooks =
            subscriptions::list(&self.app.db.pool, caller(&request)?, after, limit + 1).await?;
        let more = webhooks.len() as i64 > limit;
        let webhooks: Vec<_> = webhooks.into_iter().take(limit as usize).collect();
        let next_page_token = match (more, webhooks.last()) {
            (true, Some(last)) => last.id.to_string(),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListWebhooksResponse {
            webhooks: webhooks.into_iter().map(webhook_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn update_webhook(
        &self,
        request: Request<pb::UpdateWebhookRequest>,
    ) -> Answer<pb::UpdateWebhookResponse> {
        let (id, changes) = parse(request.get_ref())?;
        let hooks = self.app.webhooks.as_ref();
        let webhook =
            subscriptions::update(hooks, &self.app.db.pool, caller(&request)?, id, changes).await?;
        Ok(Response::new(pb::UpdateWebhookResponse {
            webhook: Some(webhook_to_proto(webhook)),
        }))
    }

    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Answer<pb::DeleteWebhookResponse> {
        let id = parse(request.get_ref())?;
        subscriptions::delete(&self.app.db.pool, caller(&request)?, id).await?;
        Ok(Response::new(pb::DeleteWebhookResponse {}))
    }

    async fn pause_webhook(
        &self,
        request: Request<pb::PauseWebhookRequest>,
    ) -> Answer<pb::PauseWebhookResponse> {
        let id = parse(request.get_ref())?;
        let webhook = subscriptions::pause(&self.app.db.pool, caller(&request)?, id).await?;
        Ok(Response::new(pb::PauseWebhookResponse {
            webhook: Some(webhook_to_proto(webhook)),
        }))
    }

    async fn resume_webhook(
        &self,
        request: Request<pb::ResumeWebhookRequest>,
    ) -> Answer<pb::ResumeWebhookResponse> {
        let id = parse(request.get_ref())?;
        let webhook = subscriptions::resume(&self.app.db.pool, caller(&request)?, id).await?;
        Ok(Response::new(pb::ResumeWebhookResponse {
            webhook: Some(webhook_to_proto(webhook)),
        }))
    }

    async fn rotate_webhook_secret(
        &self,
        request: Request<pb::RotateWebhookSecretRequest>,
    ) -> Answer<pb::RotateWebhookSecretResponse> {
        let (id, grace) = parse(request.get_ref())?;
        let hooks = self.app.webhooks.as_ref();
        let (webhook, secret) =
            subscriptions::rotate(hooks, &self.app.db.pool, caller(&request)?, id, grace).await?;
        Ok(Response::new(pb::RotateWebhookSecretResponse {
            webhook: Some(webhook_to_proto(webhook)),
            secret,
        }))
    }

    async fn test_webhook(
        &self,
        request: Request<pb::TestWebhookRequest>,
    ) -> Answer<pb::TestWebhookResponse> {
        let id = parse(request.get_ref())?;
        let hooks = self.app.webhooks.as_ref();
        let delivery = subscriptions::test(hooks, &self.app.db.pool, caller(&request)?, id).await?;
        Ok(Response::new(pb::TestWebhookResponse {
            delivery: Some(delivery_to_proto(delivery)),
        }))
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Answer<pb::ListWebhookDeliveriesResponse> {
        let ListDeliveries {
            webhook_id,
            before,
            limit,
        } = parse(request.get_ref())?;
        let deliveries = subscriptions::deliveries(
            &self.app.db.pool,
            caller(&request)?,
            webhook_id,
            before,
            limit + 1,
        )
        .await?;
        let more = deliveries.len() as i64 > limit;
        let deliveries: Vec<_> = deliveries.into_iter().take(limit as usize).collect();
        let next_page_token = match (more, deliveries.last()) {
            (true, Some(last)) => last.id.to_string(),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListWebhookDeliveriesResponse {
            deliveries: deliveries.into_iter().map(delivery_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn redeliver_webhook_event(
        &self,
        request: Request<pb::RedeliverWebhookEventRequest>,
    ) -> Answer<pb::RedeliverWebhookEventResponse> {
        let (id, position) = parse(request.get_ref())?;
        let hooks = self.app.webhooks.as_ref();
        let delivery =
            subscriptions::redeliver(hooks, &self.app.db.pool, caller(&request)?, id, position)
                .await?;
        Ok(Response::new(pb::RedeliverWebhookEventResponse {
            delivery: Some(delivery_to_proto(delivery)),
        }))
    }

    async fn replay_webhook(
        &self,
        request: Request<pb::ReplayWebhookRequest>,
    ) -> Answer<pb::ReplayWebhookResponse> {
        let (id, position) = parse(request.get_ref())?;
        let webhook =
            subscriptions::replay(&self.app.db.pool, caller(&request)?, id, position).await?;
        Ok(Response::new(pb::ReplayWebhookResponse {
            webhook: Some(webhook_to_proto(webhook)),
        }))
    }
}

//! Webhooks, a wing of its own like the event log it delivers: a subscription is a cursor on its
//! workspace's log, kept in the database, that servers move by POSTing each event to the
//! subscriber, signed as Standard Webhooks sign. Inside, the layers run one way: the words
//! (`model`), the statements (`store` for the RPCs, `lease` for the worker), where messages may
//! go (`policy`), sealing and signing (`secrets`, `signing`), one HTTP attempt (`send`), the
//! back-off (`retry`), one subscription's delivery (`lanes`) and the per-server worker that
//! takes subscriptions (`worker`); `subscriptions` holds the rules the RPCs follow. The gRPC
//! adapter (`grpc::webhooks`) renders an event as a message body, so this wing knows no proto.

pub mod lanes;
pub mod lease;
pub mod metrics;
pub mod model;
pub mod policy;
pub mod retry;
pub mod secrets;
pub mod send;
pub mod signing;
pub mod store;
pub mod subscriptions;
pub mod worker;

use std::{sync::Arc, time::Duration};

use crate::config::WebhookConfig;
use crate::events::Event;
use metrics::WebhookMetrics;
use policy::EgressPolicy;
use secrets::Keyring;
use send::Sender;

/// How an event becomes a message body (the gRPC layer's JSON of a TaskEvent).
pub type Render = Arc<dyn Fn(&Event) -> Vec<u8> + Send + Sync>;

/// How deliveries are paced and bounded.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub retry_period: Duration,
    pub concurrency: usize,
    pub inflight_bytes: usize,
    pub subscriptions: usize,
    pub lease: Duration,
    /// How often the worker looks for subscriptions with something to deliver.
    pub poll: Duration,
}

/// What delivering takes, built once per server.
pub struct Webhooks {
    pub keys: Keyring,
    pub sender: Sender,
    pub render: Render,
    pub settings: Settings,
    pub metrics: WebhookMetrics,
}

/// Why webhooks cannot be set up from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("DOCKET_WEBHOOK_KEYS: {0}")]
    Keys(String),
    #[error("cannot build the webhook HTTP client")]
    Client(#[from] reqwest::Error),
}

impl Webhooks {
    /// Webhooks as configured; `None` without keys (webhooks off).
    pub fn new(
        config: &WebhookConfig,
        poll: Duration,
        render: Render,
        metrics: WebhookMetrics,
    ) -> Result<Option<Arc<Self>>, SetupError> {
        let Some(keys) = &config.webhook_keys else {
            return Ok(None);
        };
        let keys = Keyring::parse(keys).map_err(SetupError::Keys)?;
        let policy = EgressPolicy::new(
            config.webhook_allow_http,
            config.webhook_allow_networks.clone(),
        );
        let sender = Sender::new(Arc::new(policy), config.webhook_timeout)?;
        Ok(Some(Arc::new(Self {
            keys,
            sender,
            render,
            settings: Settings {
                retry_period: config.webhook_retry_period,
                concurrency: config.webhook_concurrency as usize,
                inflight_bytes: config.webhook_inflight_bytes as usize,
                subscriptions: config.webhook_subscriptions as usize,
                lease: config.webhook_lease,
                poll,
            },
            metrics,
        })))
    }
}

/// Why delivering or a webhook call failed below the rules.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("a webhook secret cannot be opened: {0}")]
    Open(#[from] secrets::OpenError),
    #[error("the system's random number source failed")]
    Entropy(#[from] getrandom::Error),
}

impl From<diesel::result::Error> for WebhookError {
    fn from(error: diesel::result::Error) -> Self {
        WebhookError::Db(error.into())
    }
}

//! WebhookService requests read into checked values.

use std::time::Duration;

use uuid::Uuid;

use crate::{
    domain::input::Violations,
    events::{Position, watch::WatchScope},
    grpc::{
        enums::optional,
        parse::{Parse, duration, enums, mask_paths, one_id, uuid, uuids},
        pb,
    },
    webhooks::{
        model::MAX_TASK_IDS,
        store::Settings,
        subscriptions::{Changes, DEFAULT_GRACE, MAX_GRACE},
    },
};

one_id!(webhook_id: GetWebhookRequest, DeleteWebhookRequest, PauseWebhookRequest, ResumeWebhookRequest, TestWebhookRequest);

/// Longest URL taken.
const MAX_URL_CHARS: usize = 2000;
/// Longest description taken.
const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Most kinds one subscription names (there are fewer; repeats are harmless).
const MAX_KINDS: usize = 64;

fn url(v: &mut Violations, field: &str, url: &str) -> Option<String> {
    let length = url.chars().count();
    if url.trim().is_empty() || length > MAX_URL_CHARS || url.trim() != url {
        v.add(
            field,
            format!("an https URL of 1 to {MAX_URL_CHARS} characters, without spaces around it"),
        );
        return None;
    }
    Some(url.to_string())
}

fn description(v: &mut Violations, field: &str, text: &str) -> Option<String> {
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        v.add(field, format!("at most {MAX_DESCRIPTION_CHARS} characters"));
        return None;
    }
    Some(text.to_string())
}

fn scope(v: &mut Violations, field: &str, number: i32) -> Option<WatchScope> {
    v.check(field, optional::<WatchScope>(number))
        .map(|s| s.unwrap_or(WatchScope::Workspace))
}

fn position(v: &mut Violations, field: &str, text: &str) -> Option<Position> {
    v.check(field, text.parse::<Position>())
}

/// A page: `(after, limit)`, 1 to 100 (0: 100).
fn page<T>(
    v: &mut Violations,
    size: i32,
    token: &str,
    read: impl Fn(&str) -> Result<T, &'static str>,
) -> Option<(Option<T>, i64)> {
    let limit = match size {
        0 => Some(100),
        size @ 1..=100 => Some(i64::from(size)),
        _ => {
            v.add("page_size", "from 1 to 100");
            None
        }
    };
    let after = match token {
        "" => Some(None),
        token => v.check("page_token", read(token)).map(Some),
    };
    Some((after?, limit?))
}

impl Parse for pb::CreateWebhookRequest {
    type Checked = Settings;

    fn parse(&self, v: &mut Violations) -> Option<Settings> {
        let url = url(v, "url", &self.url);
        let description = description(v, "description", &self.description);
        let kinds = enums(v, "kinds", &self.kinds, MAX_KINDS);
        let task_ids = uuids(v, "task_ids", &self.task_ids, MAX_TASK_IDS);
        let scope = scope(v, "scope", self.scope);
        Some(Settings {
            url: url?,
            description: description?,
            kinds,
            task_ids,
            scope: scope?,
        })
    }
}

/// ListWebhooks, read: after which id, how many.
pub(crate) struct ListWebhooks {
    pub after: Option<Uuid>,
    pub limit: i64,
}

impl Parse for pb::ListWebhooksRequest {
    type Checked = ListWebhooks;

    fn parse(&self, v: &mut Violations) -> Option<ListWebhooks> {
        let (after, limit) = page(v, self.page_size, &self.page_token, uuid)?;
        Some(ListWebhooks { after, limit })
    }
}

/// The fields UpdateWebhook may change.
const UPDATABLE: &[&str] = &["url", "description", "kinds", "task_ids", "scope"];

impl Parse for pb::UpdateWebhookRequest {
    type Checked = (Uuid, Changes);

    fn parse(&self, v: &mut Violations) -> Option<(Uuid, Changes)> {
        let id = v.check("webhook_id", uuid(&self.webhook_id));
        let paths = mask_paths(self.update_mask.as_ref());
        if paths.is_empty() {
            v.add(
                "update_mask",
                format!("name the fields to change: {}", UPDATABLE.join(", ")),
            );
        }
        for path in paths.iter().filter(|p| !UPDATABLE.contains(&p.as_str())) {
            v.add(
                "update_mask",
                format!(
                    "{path:?} cannot be changed; the mask takes {}",
                    UPDATABLE.join(", ")
                ),
            );
        }
        let empty = pb::Webhook::default();
        let new = self.webhook.as_ref().unwrap_or(&empty);
        let named = |name: &str| paths.iter().any(|p| p == name);
        let mut changes = Changes {
            version: None,
            ..Changes::default()
        };
        if named("url") {
            changes.url = Some(url(v, "webhook.url", &new.url)?);
        }
        if named("description") {
            changes.description = Some(description(v, "webhook.description", &new.description)?);
        }
        if named("kinds") {
            changes.kinds = Some(enums(v, "webhook.kinds", &new.kinds, MAX_KINDS));
        }
        if named("task_ids") {
            changes.task_ids = Some(uuids(v, "webhook.task_ids", &new.task_ids, MAX_TASK_IDS));
        }
        if named("scope") {
            changes.scope = Some(scope(v, "webhook.scope", new.scope)?);
        }
        if !self.etag.is_empty() {
            changes.version = v.check("etag", version_of(&self.etag));
        }
        Some((id?, changes))
    }
}

/// The version an etag (`W/"7"`) names.
fn version_of(etag: &str) -> Result<i64, &'static str> {
    etag.strip_prefix("W/\"")
        .and_then(|rest| rest.strip_suffix('"'))
        .and_then(|number| number.parse().ok())
        .ok_or("not an etag of a subscription (Webhook.etag)")
}

impl Parse for pb::RotateWebhookSecretRequest {
    type Checked = (Uuid, Duration);

    fn parse(&self, v: &mut Violations) -> Option<(Uuid, Duration)> {
        let id = v.check("webhook_id", uuid(&self.webhook_id));
        let grace = match &self.grace {
            None => Some(DEFAULT_GRACE),
            Some(grace) => v.check("grace", duration(grace, Duration::ZERO..=MAX_GRACE)),
        };
        Some((id?, grace?))
    }
}

/// ListWebhookDeliveries, read.
pub(crate) struct ListDeliveries {
    pub webhook_id: Uuid,
    pub before: Option<i64>,
    pub limit: i64,
}

impl Parse for pb::ListWebhookDeliveriesRequest {
    type Checked = ListDeliveries;

    fn parse(&self, v: &mut Violations) -> Option<ListDeliveries> {
        let id = v.check("webhook_id", uuid(&self.webhook_id));
        let (before, limit) = page(v, self.page_size, &self.page_token, |token| {
            token
                .parse::<i64>()
                .map_err(|_| "not a page_token ListWebhookDeliveries gave")
        })?;
        Some(ListDeliveries {
            webhook_id: id?,
            before,
            limit,
        })
    }
}

impl Parse for pb::RedeliverWebhookEventRequest {
    type Checked = (Uuid, Position);

    fn parse(&self, v: &mut Violations) -> Option<(Uuid, Position)> {
        let id = v.check("webhook_id", uuid(&self.webhook_id));
        let position = position(v, "position", &self.position);
        Some((id?, position?))
    }
}

impl Parse for pb::ReplayWebhookRequest {
    type Checked = (Uuid, Position);

    fn parse(&self, v: &mut Violations) -> Option<(Uuid, Position)> {
        let id = v.check("webhook_id", uuid(&self.webhook_id));
        let position = position(v, "start_position", &self.start_position);
        Some((id?, position?))
    }
}

//! The subscription RPCs: create, read, list, update with a mask and an etag, pause, resume,
//! delete; their rules; the egress policy at create and at delivery; a server without keys.

use std::time::Duration;

use docket::grpc::pb::{self, webhook_service_client::WebhookServiceClient};
use tonic::Code;

use super::receiver::{Answer, Receiver};
use super::{client, deliveries, get, subscribe, subscribe_with, task, webhooks_on};
use crate::helpers::{
    app::Replica,
    raw::{assert_error, violated_fields},
    rpc::authorized,
    team::Team,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_is_created_read_listed_updated_paused_resumed_and_deleted() {
    let team = Team::with_config(webhooks_on).await;
    let receiver = Receiver::start(Answer::Ok).await;
    let (made, _) = subscribe_with(
        &team,
        pb::CreateWebhookRequest {
            url: receiver.url.clone(),
            description: "CRM sync".into(),
            kinds: vec![pb::TaskEventKind::TaskCompleted as i32],
            ..Default::default()
        },
    )
    .await
    .expect("create");
    assert_eq!(
        (made.description.as_str(), made.scope),
        ("CRM sync", pb::WatchScope::Workspace as i32)
    );
    assert_eq!(get(&team, &made.id).await, made);
    let mut api = client(&team).await;
    let listed = api
        .list_webhooks(authorized(pb::ListWebhooksRequest::default(), &team.admin))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.webhooks, vec![made.clone()]);

    let change = |etag: &str| pb::UpdateWebhookRequest {
        webhook_id: made.id.clone(),
        webhook: Some(pb::Webhook {
            description: "CRM".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["description".into()],
        }),
        etag: etag.into(),
    };
    let changed = api
        .update_webhook(authorized(change(&made.etag), &team.admin))
        .await
        .expect("update")
        .into_inner()
        .webhook
        .expect("webhook");
    assert_eq!(
        (changed.description.as_str(), changed.kinds.clone()),
        ("CRM", made.kinds.clone())
    );
    let stale = api
        .update_webhook(authorized(change(&made.etag), &team.admin))
        .await;
    assert_error(
        &stale.expect_err("stale"),
        Code::Aborted,
        "WEBHOOK_CHANGE_CONFLICT",
        "a stale etag",
    );

    let paused = api
        .pause_webhook(authorized(
            pb::PauseWebhookRequest {
                webhook_id: made.id.clone(),
            },
            &team.admin,
        ))
        .await
        .expect("pause")
        .into_inner()
        .webhook
        .expect("webhook");
    assert_eq!(paused.state, pb::WebhookState::Paused as i32);
    let resumed = api
        .resume_webhook(authorized(
            pb::ResumeWebhookRequest {
                webhook_id: made.id.clone(),
            },
            &team.admin,
        ))
        .await
        .expect("resume")
        .into_inner()
        .webhook
        .expect("webhook");
    assert_eq!(resumed.state, pb::WebhookState::Active as i32);
    api.delete_webhook(authorized(
        pb::DeleteWebhookRequest {
            webhook_id: made.id.clone(),
        },
        &team.admin,
    ))
    .await
    .expect("delete");
    let gone = api
        .get_webhook(authorized(
            pb::GetWebhookRequest {
                webhook_id: made.id.clone(),
            },
            &team.admin,
        ))
        .await;
    assert_error(
        &gone.expect_err("deleted"),
        Code::NotFound,
        "WEBHOOK_NOT_FOUND",
        "deleted",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_name_their_fields_and_write_nothing() {
    let team = Team::with_config(webhooks_on).await;
    let bad = pb::CreateWebhookRequest {
        url: String::new(),
        description: "x".repeat(1001),
        kinds: vec![999],
        task_ids: vec!["not-a-uuid".into()],
        scope: 77,
    };
    let refused = subscribe_with(&team, bad).await.expect_err("invalid");
    assert_eq!(
        violated_fields(&refused),
        vec!["url", "description", "kinds[0]", "task_ids[0]", "scope"]
    );
    for (url, reason) in [
        ("ftp://example.com/hook", "VALIDATION_ERROR"),
        ("https://user:pw@example.com/hook", "VALIDATION_ERROR"),
        ("http://10.1.2.3/hook", "WEBHOOK_DESTINATION_REFUSED"),
        ("https://[::1]/hook", "WEBHOOK_DESTINATION_REFUSED"),
        (
            "https://169.254.169.254/latest/meta-data",
            "WEBHOOK_DESTINATION_REFUSED",
        ),
    ] {
        let refused = subscribe(&team, url).await.expect_err(url);
        assert_error(&refused, Code::InvalidArgument, reason, url);
    }
    let listed = client(&team)
        .await
        .list_webhooks(authorized(pb::ListWebhooksRequest::default(), &team.admin))
        .await
        .expect("list")
        .into_inner();
    assert!(listed.webhooks.is_empty(), "nothing was written");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_egress_policy_refuses_at_create_and_at_delivery() {
    // The team's server allows plain http but no private network.
    let team = Team::with_config(|config| {
        webhooks_on(config);
        config.webhooks.webhook_allow_networks = vec![];
    })
    .await;
    let receiver = Receiver::start(Answer::Ok).await;
    // `localhost` resolves to a loopback address: refused where loopback is not allowed.
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    for url in [&receiver.url, &by_name] {
        let refused = subscribe(&team, url).await;
        assert_error(
            &refused.expect_err(url),
            Code::InvalidArgument,
            "WEBHOOK_DESTINATION_REFUSED",
            url,
        );
    }
    let url_only = subscribe(&team, "ftp://example.com/hook").await;
    assert_eq!(violated_fields(&url_only.expect_err("ftp")), vec!["url"]);
    let no_http = Replica::start_with(team.app.db.url(), |config| {
        webhooks_on(config);
        config.webhooks.webhook_allow_http = false;
    })
    .await;
    let plain = pb::CreateWebhookRequest {
        url: receiver.url.clone(),
        ..Default::default()
    };
    let refused = WebhookServiceClient::new(no_http.channel().await)
        .create_webhook(authorized(plain, &team.admin))
        .await;
    assert_error(
        &refused.expect_err("http"),
        Code::InvalidArgument,
        "WEBHOOK_DESTINATION_REFUSED",
        "plain http",
    );
    no_http.stop().await;

    // Set through a server that allows loopback, then stopped: the team's server, whose policy
    // refuses it, does not deliver to it.
    let allowing = Replica::start_with(team.app.db.url(), webhooks_on).await;
    let request = pb::CreateWebhookRequest {
        url: by_name.clone(),
        ..Default::default()
    };
    let made = WebhookServiceClient::new(allowing.channel().await)
        .create_webhook(authorized(request, &team.admin))
        .await
        .expect("allowed there");
    let webhook = made.into_inner().webhook.expect("webhook");
    allowing.stop().await;
    task(&team, "Not for loopback").await;
    let mut log = Vec::new();
    for _ in 0..100 {
        log = deliveries(&team, &webhook.id).await;
        if !log.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!log.is_empty(), "the strict server tried");
    assert!(
        log.iter()
            .all(|d| !d.succeeded && d.error.starts_with("REFUSED_BY_EGRESS_POLICY")),
        "{log:?}"
    );
    assert!(
        receiver.received().is_empty(),
        "nothing reached the receiver"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_without_keys_has_webhooks_off() {
    let team = Team::new().await;
    let refused = subscribe(&team, "https://192.0.2.1/hook").await;
    assert_error(
        &refused.expect_err("off"),
        Code::FailedPrecondition,
        "WEBHOOKS_DISABLED",
        "no keys",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_is_a_failed_attempt_and_is_not_followed() {
    let team = Team::with_config(webhooks_on).await;
    let elsewhere = Receiver::start(Answer::Ok).await;
    let receiver = Receiver::start(Answer::Ok).await;
    receiver.redirect_to(&elsewhere.url);
    let (webhook, _) = subscribe(&team, &receiver.url).await.expect("subscribe");
    // Paused while the task's answer is scripted, so that none goes out before.
    let mut api = client(&team).await;
    let id = || webhook.id.clone();
    api.pause_webhook(authorized(
        pb::PauseWebhookRequest { webhook_id: id() },
        &team.admin,
    ))
    .await
    .expect("pause");
    let made = task(&team, "Redirected").await;
    receiver.script_for(&made, &[Answer::Redirect]);
    api.resume_webhook(authorized(
        pb::ResumeWebhookRequest { webhook_id: id() },
        &team.admin,
    ))
    .await
    .expect("resume");
    receiver
        .wait_for(Duration::from_secs(20), |r| {
            r.iter().any(|m| m.answer == Answer::Ok)
        })
        .await;
    assert!(
        elsewhere.received().is_empty(),
        "the redirect was not followed"
    );
    let mut log = Vec::new();
    for _ in 0..50 {
        log = deliveries(&team, &webhook.id).await;
        if log.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        log.iter()
            .map(|d| (d.status_code, d.succeeded))
            .collect::<Vec<_>>(),
        vec![(307, false), (200, true)]
    );
}

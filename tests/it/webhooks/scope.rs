//! Who reaches a subscription: a workspace:admin of its workspace, for every RPC (another
//! workspace's admin finds nothing, a caller without the scope is refused, and nothing changes);
//! and what a subscription sees: a PARTICIPATING one only its creator's tasks.

use std::time::Duration;

use docket::grpc::pb;
use tonic::Code;

use super::receiver::{Answer, Receiver};
use super::{client, get, subscribe, subscribe_with, task, webhooks_on};
use crate::helpers::{raw::assert_error, rpc::authorized, seed, team::Team};

#[tokio::test(flavor = "multi_thread")]
async fn only_admins_of_the_workspace_reach_its_subscriptions() {
    let team = Team::with_config(webhooks_on).await;
    let receiver = Receiver::start(Answer::Ok).await;
    let (webhook, _) = subscribe(&team, &receiver.url).await.expect("create");
    let (_, other_admin) = seed::workspace(&team.app.db, "other").await;
    let id = webhook.id.clone();
    let mut api = client(&team).await;
    for token in [other_admin.as_str(), team.author.1.as_str()] {
        let expected = if token == other_admin {
            (Code::NotFound, "WEBHOOK_NOT_FOUND")
        } else {
            (Code::PermissionDenied, "MISSING_SCOPE")
        };
        let check = |result: Result<(), tonic::Status>, rpc: &str| match result {
            Ok(()) => panic!("{rpc} succeeded for a stranger"),
            Err(status) => assert_error(&status, expected.0, expected.1, rpc),
        };
        check(
            api.get_webhook(authorized(
                pb::GetWebhookRequest {
                    webhook_id: id.clone(),
                },
                token,
            ))
            .await
            .map(|_| ()),
            "Get",
        );
        let update = pb::UpdateWebhookRequest {
            webhook_id: id.clone(),
            webhook: Some(pb::Webhook::default()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
            etag: String::new(),
        };
        check(
            api.update_webhook(authorized(update, token))
                .await
                .map(|_| ()),
            "Update",
        );
        check(
            api.pause_webhook(authorized(
                pb::PauseWebhookRequest {
                    webhook_id: id.clone(),
                },
                token,
            ))
            .await
            .map(|_| ()),
            "Pause",
        );
        check(
            api.resume_webhook(authorized(
                pb::ResumeWebhookRequest {
                    webhook_id: id.clone(),
                },
                token,
            ))
            .await
            .map(|_| ()),
            "Resume",
        );
        check(
            api.rotate_webhook_secret(authorized(
                pb::RotateWebhookSecretRequest {
                    webhook_id: id.clone(),
                    grace: None,
                },
                token,
            ))
            .await
            .map(|_| ()),
            "Rotate",
        );
        check(
            api.test_webhook(authorized(
                pb::TestWebhookRequest {
                    webhook_id: id.clone(),
                },
                token,
            ))
            .await
            .map(|_| ()),
            "Test",
        );
        check(
            api.list_webhook_deliveries(authorized(
                pb::ListWebhookDeliveriesRequest {
                    webhook_id: id.clone(),
                    ..Default::default()
                },
                token,
            ))
            .await
            .map(|_| ()),
            "Deliveries",
        );
        check(
            api.redeliver_webhook_event(authorized(
                pb::RedeliverWebhookEventRequest {
                    webhook_id: id.clone(),
                    position: format!("{:032x}", 1),
                },
                token,
            ))
            .await
            .map(|_| ()),
            "Redeliver",
        );
        check(
            api.replay_webhook(authorized(
                pb::ReplayWebhookRequest {
                    webhook_id: id.clone(),
                    start_position: format!("{:032x}", 0),
                },
                token,
            ))
            .await
            .map(|_| ()),
            "Replay",
        );
        check(
            api.delete_webhook(authorized(
                pb::DeleteWebhookRequest {
                    webhook_id: id.clone(),
                },
                token,
            ))
            .await
            .map(|_| ()),
            "Delete",
        );
        let listed = api
            .list_webhooks(authorized(pb::ListWebhooksRequest::default(), token))
            .await;
        if token == other_admin {
            assert!(
                listed.expect("list").into_inner().webhooks.is_empty(),
                "another workspace lists none"
            );
        } else {
            assert_error(
                &listed.expect_err("list"),
                Code::PermissionDenied,
                "MISSING_SCOPE",
                "List",
            );
        }
    }
    assert_eq!(get(&team, &id).await, webhook, "nothing changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_participating_subscription_sees_only_its_creators_tasks() {
    let team = Team::with_config(webhooks_on).await;
    let receiver = Receiver::start(Answer::Ok).await;
    let (webhook, _) = subscribe_with(
        &team,
        pb::CreateWebhookRequest {
            url: receiver.url.clone(),
            scope: pb::WatchScope::Participating as i32,
            kinds: vec![pb::TaskEventKind::TaskCreated as i32],
            ..Default::default()
        },
    )
    .await
    .expect("create");
    task(&team, "Not the admin's").await;
    let own = pb::CreateTaskRequest {
        title: "The admin's".into(),
        recipient_user_ids: vec![team.alice.0.to_string()],
        ..Default::default()
    };
    let own = team.create(&team.admin, own).await.expect("create").id;
    receiver
        .wait_for(Duration::from_secs(20), |r| !r.is_empty())
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].json()["data"]["taskId"], own.as_str());
    assert_eq!(get(&team, &webhook.id).await.failed_attempts, 0);
}

//! A subscription whose receiver keeps failing is paused as FAILING once its retry period
//! passes (state, reason, an event, a metric) and carries on from where it stopped when
//! resumed; one whose cursor falls behind the events kept is EXPIRED until replayed.

use std::time::Duration;

use docket::grpc::pb;

use super::receiver::{Answer, Receiver};
use super::{client, get, subscribe, task, webhooks_on};
use crate::helpers::{database::connect, rpc::authorized, scrape, team::Team};

async fn until_state(team: &Team, id: &str, state: pb::WebhookState) -> pb::Webhook {
    for _ in 0..200 {
        let webhook = get(team, id).await;
        if webhook.state == state as i32 {
            return webhook;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{id} never became {state:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_for_the_retry_period_pauses_visibly_and_resume_carries_on() {
    let team = Team::with_config(|config| {
        webhooks_on(config);
        config.webhooks.webhook_retry_period = Duration::from_secs(3);
    })
    .await;
    let receiver = Receiver::start(Answer::Status(503)).await;
    let (webhook, secret) = subscribe(&team, &receiver.url).await.expect("subscribe");
    let made = task(&team, "Undeliverable").await;
    let failing = until_state(&team, &webhook.id, pb::WebhookState::Failing).await;
    assert!(
        failing.state_reason.contains("HTTP 503"),
        "{}",
        failing.state_reason
    );
    assert!(failing.failed_attempts >= 2 && failing.failing_since.is_some());
    let tried = receiver.received().len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        receiver.received().len(),
        tried,
        "a FAILING subscription is not tried"
    );

    let db = connect(&team.app.db.url()).await;
    let events = db
        .query(
            "SELECT kind, details->>'last_error' FROM task_events WHERE webhook_id = $1",
            &[&uuid::Uuid::parse_str(&webhook.id).unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].get::<_, String>(0), "WEBHOOK_FAILING");
    assert_eq!(events[0].get::<_, String>(1), "HTTP 503");
    let metrics = team.app.metrics_addr.expect("metrics");
    assert_eq!(
        scrape::sum(metrics, "docket_webhooks_failing_total").await,
        1.0
    );

    // Resumed, it delivers what it had not, from where it stopped.
    receiver.set_default(Answer::Ok);
    let resume = pb::ResumeWebhookRequest {
        webhook_id: webhook.id.clone(),
    };
    let resumed = client(&team)
        .await
        .resume_webhook(authorized(resume, &team.admin))
        .await
        .expect("resume")
        .into_inner()
        .webhook
        .expect("webhook");
    assert_eq!(
        (resumed.state, resumed.failed_attempts),
        (pb::WebhookState::Active as i32, 0)
    );
    let received = receiver
        .wait_for(Duration::from_secs(20), |r| {
            r.iter()
                .any(|m| m.answer == Answer::Ok && m.json()["data"]["taskId"] == made.as_str())
        })
        .await;
    assert!(received.iter().all(|m| m.signed_by(&secret)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_behind_the_events_kept_expires_until_replayed() {
    let team = Team::with_config(webhooks_on).await;
    let receiver = Receiver::start(Answer::Ok).await;
    let (webhook, _) = subscribe(&team, &receiver.url).await.expect("subscribe");
    let mut api = client(&team).await;
    api.pause_webhook(authorized(
        pb::PauseWebhookRequest {
            webhook_id: webhook.id.clone(),
        },
        &team.admin,
    ))
    .await
    .expect("pause");
    task(&team, "Purged before delivery").await;
    // What housekeeping does past the retention: purge the events, move the horizon.
    let db = connect(&team.app.db.url()).await;
    db.batch_execute(
        "INSERT INTO task_event_horizons (workspace_id, position) \
         SELECT workspace_id, position FROM task_event_heads \
         ON CONFLICT (workspace_id) DO UPDATE SET position = excluded.position; \
         DELETE FROM task_events;",
    )
    .await
    .unwrap();
    api.resume_webhook(authorized(
        pb::ResumeWebhookRequest {
            webhook_id: webhook.id.clone(),
        },
        &team.admin,
    ))
    .await
    .expect("resume");
    let expired = until_state(&team, &webhook.id, pb::WebhookState::Expired).await;
    assert!(
        expired.state_reason.contains("no longer kept"),
        "{}",
        expired.state_reason
    );
    assert!(receiver.received().is_empty());
    let resume = api
        .resume_webhook(authorized(
            pb::ResumeWebhookRequest {
                webhook_id: webhook.id.clone(),
            },
            &team.admin,
        ))
        .await;
    assert_eq!(
        resume.expect_err("expired").code(),
        tonic::Code::FailedPrecondition
    );

    let replay = pb::ReplayWebhookRequest {
        webhook_id: webhook.id.clone(),
        start_position: expired.oldest_replay_position.clone(),
    };
    let replayed = api
        .replay_webhook(authorized(replay, &team.admin))
        .await
        .expect("replay")
        .into_inner()
        .webhook
        .expect("webhook");
    assert_eq!(replayed.state, pb::WebhookState::Active as i32);
    let later = task(&team, "After the replay").await;
    receiver
        .wait_for(Duration::from_secs(20), |r| {
            r.iter()
                .any(|m| m.json()["data"]["taskId"] == later.as_str())
        })
        .await;
}

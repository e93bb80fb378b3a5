//! Delivery to a local receiver: signed, every event, in order per task; failures retried on the
//! documented schedule (and Retry-After) while other tasks carry on; replay, redelivery and test
//! messages; a rotated secret signing beside the old one for its grace.

use std::{collections::HashMap, time::Duration};

use docket::grpc::pb;

use super::receiver::{Answer, Receiver};
use super::{client, deliveries, get, subscribe, task, webhooks_on};
use crate::helpers::{rpc::authorized, team::Team};

const PATIENCE: Duration = Duration::from_secs(20);

/// Messages by webhook-id, in the order received.
fn ids(received: &[super::receiver::Received]) -> Vec<String> {
    received.iter().map(|r| r.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_event_arrives_signed_once_and_in_order_per_task() {
    let team = Team::with_config(webhooks_on).await;
    let receiver = Receiver::start(Answer::Ok).await;
    let (webhook, secret) = subscribe(&team, &receiver.url).await.expect("subscribe");
    assert!(secret.starts_with("whsec_"));
    assert_eq!(webhook.state, pb::WebhookState::Active as i32);

    let mut tasks = Vec::new();
    for n in 0..5 {
        tasks.push(task(&team, &format!("Task {n}")).await);
    }
    let mut api = team.client().await;
    for id in &tasks[..2] {
        api.start_task(authorized(
            pb::StartTaskRequest {
                task_id: id.clone(),
                ..Default::default()
            },
            &team.alice.1,
        ))
        .await
        .expect("start");
    }
    let db = crate::helpers::database::connect(&team.app.db.url()).await;
    let logged: i64 = db
        .query_one("SELECT count(*) FROM task_events", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        logged >= 7,
        "5 TASK_CREATED and 2 TASK_STARTED at least: {logged}"
    );
    receiver
        .wait_for(PATIENCE, |r| r.len() as i64 >= logged)
        .await;
    // Time for anything more (a duplicate would show) to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = receiver.received();
    let mut per_task: HashMap<String, Vec<i64>> = HashMap::new();
    for message in &received {
        assert!(
            message.signed_by(&secret),
            "signed with the secret: {message:?}"
        );
        assert!(!message.signed_by("whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="));
        let body = message.json();
        assert_eq!(
            body["data"]["position"], message.id,
            "webhook-id is the event's position"
        );
        let position = i64::from_str_radix(&message.id, 16).expect("hex");
        let kind = body["data"]["kind"].as_str().expect("kind").to_string();
        let expected_type = kind
            .trim_start_matches("TASK_EVENT_KIND_")
            .to_ascii_lowercase();
        assert_eq!(
            body["type"].as_str().map(|t| t.replacen('.', "_", 1)),
            Some(expected_type)
        );
        per_task
            .entry(body["data"]["taskId"].as_str().expect("task").into())
            .or_default()
            .push(position);
    }
    let mut unique = ids(&received);
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        received.len(),
        "no duplicate when nothing fails"
    );
    assert_eq!(per_task.len(), 5);
    for positions in per_task.values() {
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "in order per task: {positions:?}"
        );
    }
    // Every attempt is in the log, answered 200.
    // The cursor reaches the last event (it is written at least once a second).
    let last = received.iter().map(|r| r.id.clone()).max().expect("some");
    let mut now = get(&team, &webhook.id).await;
    for _ in 0..50 {
        if now.position == last {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        now = get(&team, &webhook.id).await;
    }
    assert_eq!(now.position, last);
    assert_eq!(now.failed_attempts, 0);
    assert!(now.last_success_at.is_some());
    let log = deliveries(&team, &webhook.id).await;
    assert_eq!(log.len(), received.len());
    assert!(
        log.iter()
            .all(|d| d.succeeded && d.status_code == 200 && d.attempt == 1)
    );
    assert!(log.iter().all(
        |d| d.response_excerpt.len() <= 1024 && d.response_excerpt.starts_with("answered 200")
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_back_off_as_documented_while_other_tasks_carry_on() {
    let team = Team::with_config(webhooks_on).await;
    let receiver = Receiver::start(Answer::Ok).await;
    let (webhook, secret) = subscribe(&team, &receiver.url).await.expect("subscribe");
    // Only TASK_CREATED, so that each task is one message.
    let mut api = client(&team).await;
    let only_created = pb::UpdateWebhookRequest {
        webhook_id: webhook.id.clone(),
        webhook: Some(pb::Webhook {
            kinds: vec![pb::TaskEventKind::TaskCreated as i32],
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["kinds".into()],
        }),
        etag: webhook.etag.clone(),
    };
    api.update_webhook(authorized(only_created, &team.admin))
        .await
        .expect("update");
    // Paused while the first task's answers are scripted, so that none goes out before.
    let id = || webhook.id.clone();
    api.pause_webhook(authorized(
        pb::PauseWebhookRequest { webhook_id: id() },
        &team.admin,
    ))
    .await
    .expect("pause");
    let first = task(&team, "Troubled").await;
    receiver.script_for(
        &first,
        &[Answer::Status(500), Answer::TooMany(2), Answer::Hang],
    );
    api.resume_webhook(authorized(
        pb::ResumeWebhookRequest { webhook_id: id() },
        &team.admin,
    ))
    .await
    .expect("resume");
    receiver.wait_for(PATIENCE, |r| !r.is_empty()).await;
    let second = task(&team, "Fine").await;

    let received = receiver
        .wait_for(PATIENCE, |r| {
            r.iter().filter(|m| m.answer == Answer::Ok).count() == 2
        })
        .await;
    let of = |task: &str| -> Vec<&super::receiver::Received> {
        received
            .iter()
            .filter(|m| m.json()["data"]["taskId"] == task)
            .collect()
    };
    let troubled = of(&first);
    assert_eq!(
        troubled.iter().map(|m| m.answer).collect::<Vec<_>>(),
        vec![
            Answer::Status(500),
            Answer::TooMany(2),
            Answer::Hang,
            Answer::Ok
        ]
    );
    assert!(
        troubled
            .iter()
            .all(|m| m.id == troubled[0].id && m.signed_by(&secret)),
        "the same webhook-id on every attempt"
    );
    let gaps: Vec<f64> = troubled
        .windows(2)
        .map(|w| (w[1].at - w[0].at).as_secs_f64())
        .collect();
    // 1 s (±20%) after the 500; the 2 s Retry-After; the 1 s timeout, then 4 s (±20%).
    assert!((0.75..1.6).contains(&gaps[0]), "after a 500: {gaps:?}");
    assert!((1.95..2.6).contains(&gaps[1]), "Retry-After: 2: {gaps:?}");
    assert!(
        (1.0 + 3.15..1.0 + 5.2).contains(&gaps[2]),
        "after a timeout: {gaps:?}"
    );
    // The other task was delivered while the first backed off.
    let fine = of(&second);
    assert_eq!(fine.len(), 1);
    assert!(
        fine[0].at < troubled[3].at,
        "one failing task does not hold back another"
    );

    // The log is written with the cursor, at least once a second.
    let mut log = Vec::new();
    for _ in 0..50 {
        log = deliveries(&team, &webhook.id)
            .await
            .into_iter()
            .filter(|d| d.position == troubled[0].id)
            .collect();
        if log.len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        log.iter().map(|d| d.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(
        log.iter().map(|d| d.status_code).collect::<Vec<_>>(),
        vec![500, 429, 0, 200]
    );
    assert!(log[2].error.starts_with("TIMEOUT"), "{:?}", log[2].error);
    assert!(
        log[..3]
            .iter()
            .all(|d| !d.succeeded && d.next_attempt_at.is_some())
    );
    assert!(log[3].succeeded && log[3].next_attempt_at.is_none());
    let now = get(&team, &webhook.id).await;
    assert_eq!(
        (now.failed_attempts, now.failing_since),
        (0, None),
        "a success ends the streak"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_redelivery_and_test_messages_send_again_with_their_ids() {
    let team = Team::with_config(webhooks_on).await;
    let receiver = Receiver::start(Answer::Ok).await;
    let (webhook, secret) = subscribe(&team, &receiver.url).await.expect("subscribe");
    for n in 0..3 {
        task(&team, &format!("Task {n}")).await;
    }
    receiver.wait_for(PATIENCE, |r| r.len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let first = ids(&receiver.received());
    assert!(first.len() >= 3);
    let mut api = client(&team).await;

    // Replay from the second message's position: exactly the events after it, again.
    let mut sorted = first.clone();
    sorted.sort();
    let from = sorted[1].clone();
    let replay = pb::ReplayWebhookRequest {
        webhook_id: webhook.id.clone(),
        start_position: from.clone(),
    };
    api.replay_webhook(authorized(replay, &team.admin))
        .await
        .expect("replay");
    let expected: Vec<String> = sorted.iter().filter(|id| **id > from).cloned().collect();
    let all = receiver
        .wait_for(PATIENCE, |r| r.len() >= first.len() + expected.len())
        .await;
    let mut replayed = ids(&all[first.len()..]);
    replayed.sort();
    assert_eq!(replayed, expected);

    // One event again, by hand.
    let again = pb::RedeliverWebhookEventRequest {
        webhook_id: webhook.id.clone(),
        position: sorted[0].clone(),
    };
    let delivery = api
        .redeliver_webhook_event(authorized(again, &team.admin))
        .await
        .expect("redeliver")
        .into_inner()
        .delivery
        .expect("delivery");
    assert!(delivery.succeeded);
    assert_eq!(
        delivery.purpose,
        pb::WebhookDeliveryPurpose::Redelivery as i32
    );
    let last = receiver.received().pop().expect("redelivered");
    assert_eq!(last.id, sorted[0]);
    assert!(last.signed_by(&secret));

    // A test message.
    let test = api
        .test_webhook(authorized(
            pb::TestWebhookRequest {
                webhook_id: webhook.id.clone(),
            },
            &team.admin,
        ))
        .await
        .expect("test")
        .into_inner()
        .delivery
        .expect("delivery");
    assert_eq!(
        (test.status_code, test.purpose),
        (200, pb::WebhookDeliveryPurpose::Test as i32)
    );
    let last = receiver.received().pop().expect("test message");
    assert!(last.id.starts_with("test_") && last.signed_by(&secret));
    assert_eq!(last.json()["type"], "webhook.test");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_secret_signs_beside_the_old_one_for_its_grace_only() {
    let team = Team::with_config(webhooks_on).await;
    let receiver = Receiver::start(Answer::Ok).await;
    let (webhook, old) = subscribe(&team, &receiver.url).await.expect("subscribe");
    let mut api = client(&team).await;
    let rotate = |grace: i64| pb::RotateWebhookSecretRequest {
        webhook_id: webhook.id.clone(),
        grace: Some(prost_types::Duration {
            seconds: grace,
            nanos: 0,
        }),
    };
    let rotated = api
        .rotate_webhook_secret(authorized(rotate(3600), &team.admin))
        .await
        .expect("rotate")
        .into_inner();
    let new = rotated.secret;
    assert_ne!(new, old);
    assert!(
        rotated
            .webhook
            .expect("webhook")
            .previous_secret_expires_at
            .is_some()
    );
    task(&team, "During the grace").await;
    let during = receiver.wait_for(PATIENCE, |r| !r.is_empty()).await;
    assert!(
        during
            .iter()
            .all(|m| m.signed_by(&old) && m.signed_by(&new) && m.signature.split(' ').count() == 2)
    );

    let newest = api
        .rotate_webhook_secret(authorized(rotate(0), &team.admin))
        .await
        .expect("rotate")
        .into_inner()
        .secret;
    let seen = receiver.received().len();
    task(&team, "After").await;
    let after = receiver.wait_for(PATIENCE, |r| r.len() > seen).await;
    for message in &after[seen..] {
        assert!(message.signed_by(&newest));
        assert!(
            !message.signed_by(&new) && !message.signed_by(&old),
            "the previous secrets sign no more"
        );
    }
}

//! Three server processes on one database deliver one subscription while events are written and
//! one server after another is killed with SIGKILL (and started again): every event arrives,
//! an event seen twice always carries the same `webhook-id`, and each task's events first arrive
//! in their order. The events are appended to the log directly (20,000 of them, for 500 tasks),
//! as fast as the log takes them: what is tested is the delivery, not CreateTask.

use std::{collections::HashMap, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use docket::domain::vocabulary::{ActorType, EventKind};
use docket::events::log::{Cause, NewEvent, append};
use docket::grpc::pb::{self, webhook_service_client::WebhookServiceClient};
use nix::sys::signal::Signal;
use uuid::Uuid;

use super::receiver::{Answer, Receiver};
use crate::helpers::{
    app::channel, database::TestDb, process::DocketProcess, rpc::authorized, seed,
};

const EVENTS: usize = 20_000;
const TASKS: usize = 500;
const PER_TRANSACTION: usize = 100;

#[tokio::test(flavor = "multi_thread")]
async fn three_servers_killed_in_turn_deliver_every_event_in_order_per_task() {
    let db = TestDb::migrated().await;
    let (workspace, token) = seed::workspace(&db, "hooked").await;
    let url = db.url();
    let keys = format!("test:{}", B64.encode([9u8; 32]));
    let envs = [
        ("DATABASE_URL", url.as_str()),
        ("DOCKET_WEBHOOK_KEYS", keys.as_str()),
        ("DOCKET_WEBHOOK_ALLOW_HTTP", "true"),
        ("DOCKET_WEBHOOK_ALLOW_NETWORKS", "127.0.0.1/32"),
        ("DOCKET_WEBHOOK_LEASE", "2s"),
    ];
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(DocketProcess::start(&envs).await);
    }
    servers[0].wait_until_serving().await;
    let receiver = Receiver::start(Answer::Ok).await;
    let request = pb::CreateWebhookRequest {
        url: receiver.url.clone(),
        ..Default::default()
    };
    let made = WebhookServiceClient::new(channel(servers[0].addr).await)
        .create_webhook(authorized(request, &token))
        .await
        .expect("subscribe")
        .into_inner();
    let secret = made.secret;

    // The writer: 20,000 events in transactions of 100, each for tasks picked in turn.
    let tasks: Vec<Uuid> = (0..TASKS).map(|_| Uuid::new_v4()).collect();
    let writer = {
        let mut conn = seed::diesel(&db).await;
        let tasks = tasks.clone();
        tokio::spawn(async move {
            let cause = Cause {
                actor_type: ActorType::ApiToken,
                actor_id: "writer".into(),
                request_id: None,
            };
            for batch in 0..EVENTS / PER_TRANSACTION {
                let events: Vec<NewEvent> = (0..PER_TRANSACTION)
                    .map(|n| NewEvent {
                        workspace_id: workspace.id,
                        task_id: Some(tasks[(batch * 7 + n * 13) % TASKS]),
                        template_id: None,
                        webhook_id: None,
                        assignment_id: None,
                        kind: EventKind::TaskUpdated,
                        details: serde_json::json!({"batch": batch, "n": n}),
                        audience: Vec::new(),
                    })
                    .collect();
                append(&mut conn, &cause, &events).await.expect("append");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    // Kill a server every 1.5 s (each in turn) and start it again, until everything arrived.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    let mut kills = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let distinct = receiver.distinct_ids();
        if writer.is_finished() && distinct >= EVENTS {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {distinct} of {EVENTS} events arrived"
        );
        if kills < 12 {
            let victim = kills % 3;
            servers[victim].signal(Signal::SIGKILL);
            servers[victim] = DocketProcess::start(&envs).await;
            kills += 1;
        }
    }
    writer.await.expect("writer");

    let received = receiver.received();
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    let mut bodies: HashMap<String, Vec<u8>> = HashMap::new();
    for (n, message) in received.iter().enumerate() {
        first_seen.entry(message.id.clone()).or_insert(n);
        let body = bodies
            .entry(message.id.clone())
            .or_insert_with(|| message.body.clone());
        assert_eq!(*body, message.body, "a duplicate is the same message");
    }
    let positions: Vec<i64> = first_seen
        .keys()
        .map(|id| i64::from_str_radix(id, 16).expect("hex"))
        .collect();
    assert_eq!(positions.len(), EVENTS, "every event, no other");
    assert_eq!(positions.iter().min(), Some(&1));
    assert_eq!(positions.iter().max(), Some(&(EVENTS as i64)));
    assert!(received.iter().take(50).all(|m| m.signed_by(&secret)));
    // Per task, the order in which events first arrived is the order of their positions.
    let mut order: Vec<(&String, usize)> = first_seen.iter().map(|(id, n)| (id, *n)).collect();
    order.sort_by_key(|(_, n)| *n);
    let mut last_of_task: HashMap<String, String> = HashMap::new();
    for (id, n) in order {
        let task = received[n].json()["data"]["taskId"]
            .as_str()
            .expect("task")
            .to_string();
        if let Some(before) = last_of_task.insert(task.clone(), id.clone()) {
            assert!(before < *id, "task {task}: {id} arrived before {before}");
        }
    }
    let duplicates = received.len() - EVENTS;
    println!("webhooks through {kills} SIGKILLs: {EVENTS} events, {duplicates} duplicates");
}

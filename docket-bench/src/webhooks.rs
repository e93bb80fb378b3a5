//! The `webhooks` phase, run only when asked for (`--phases webhooks`; the server must have
//! webhooks on and 127.0.0.1 allowed, as `.ci/webhooks-bench` starts it). A receiver in this
//! process answers 200 at once; tasks are created at a steady rate (`--webhook-rate` a second for
//! `--webhook-seconds`), one TASK_CREATED event each. In the runs `--webhook-runs` names, by
//! default three: with one subscription to the
//! receiver; with a second subscription beside it, to another live receiver (what a second
//! subscription costs the server); and with the second one's receiver dead (it accepts
//! connections and never answers, so each attempt costs the server its timeout). Prints the lag
//! of the first subscription, from each event's commit (its `occurredAt`, the database's clock on
//! this machine) to its arrival: a dead receiver beside it should cost no more than a live one.

use std::{
    convert::Infallible,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use docket_client::pb::{
    self, task_service_client::TaskServiceClient, webhook_service_client::WebhookServiceClient,
};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, task::JoinSet};
use tonic::transport::Channel;

use crate::{authorized, bearer, fixture::BoxError, fixture::Workspace, task};

/// Lags in seconds, as the receiver measured them.
type Lags = Arc<Mutex<Vec<f64>>>;

/// Runs both measurements.
pub async fn webhooks(
    addr: &str,
    workspace: &Workspace,
    (rate, seconds): (u64, u64),
    order: &[String],
    json: bool,
) -> Result<(), BoxError> {
    let channel = Channel::from_shared(addr.to_owned())?.connect().await?;
    let (live_url, lags) = live_receiver().await?;
    let (other_url, _) = live_receiver().await?;
    let dead_url = dead_receiver().await?;
    let runs = order.iter().map(|name| match name.as_str() {
        "beside_live" => Ok((name.as_str(), Some(other_url.as_str()))),
        "beside_dead" => Ok((name.as_str(), Some(dead_url.as_str()))),
        "alone" => Ok((name.as_str(), None)),
        other => Err(format!(
            "no webhook run {other:?}: alone, beside_live or beside_dead"
        )),
    });
    for run in runs {
        let (name, beside) = run?;
        lags.lock().map_err(|_| "poisoned")?.clear();
        let mut hooks = Vec::new();
        hooks.push(subscribe(&channel, workspace, &live_url).await?);
        if let Some(beside) = beside {
            hooks.push(subscribe(&channel, workspace, beside).await?);
        }
        let made = create_steadily(&channel, workspace, rate, seconds).await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while lags.lock().map_err(|_| "poisoned")?.len() < made && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut seen = lags.lock().map_err(|_| "poisoned")?.clone();
        for id in hooks {
            let request = pb::DeleteWebhookRequest { webhook_id: id };
            WebhookServiceClient::new(channel.clone())
                .delete_webhook(authorized(request, bearer(&workspace.admin_token)?))
                .await?;
        }
        report(name, made, &mut seen, rate, json);
    }
    Ok(())
}

fn report(name: &str, made: usize, lags: &mut [f64], rate: u64, json: bool) {
    lags.sort_by(f64::total_cmp);
    let at = |q: f64| {
        lags.get(((lags.len() as f64 * q) as usize).min(lags.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
            * 1000.0
    };
    println!(
        "{:<52} {:>7} of {made:>7} at {rate}/s   p50 {:>7.1} ms   p99 {:>7.1} ms   max {:>7.1} ms",
        format!("webhook lag, {}", name.replace('_', " ")),
        lags.len(),
        at(0.50),
        at(0.99),
        at(1.0)
    );
    if json {
        let line = serde_json::json!({
            "phase": format!("webhooks_{name}"), "events": made, "delivered": lags.len(),
            "per_second": rate, "p50_ms": at(0.50), "p99_ms": at(0.99), "max_ms": at(1.0),
        });
        println!("{line}");
    }
}

async fn subscribe(
    channel: &Channel,
    workspace: &Workspace,
    url: &str,
) -> Result<String, BoxError> {
    let request = pb::CreateWebhookRequest {
        url: url.to_owned(),
        kinds: vec![pb::TaskEventKind::TaskCreated as i32],
        ..Default::default()
    };
    let made = WebhookServiceClient::new(channel.clone())
        .create_webhook(authorized(request, bearer(&workspace.admin_token)?))
        .await?
        .into_inner();
    Ok(made.webhook.ok_or("no webhook")?.id)
}

/// Creates `rate` tasks a second for `seconds`, each call started on its tick; how many it made.
async fn create_steadily(
    channel: &Channel,
    workspace: &Workspace,
    rate: u64,
    seconds: u64,
) -> Result<usize, BoxError> {
    let auth = bearer(&workspace.user_token)?;
    let total = (rate * seconds) as usize;
    let mut calls = JoinSet::new();
    let started = tokio::time::Instant::now();
    for i in 0..total {
        tokio::time::sleep_until(started + Duration::from_secs_f64(i as f64 / rate as f64)).await;
        let (mut client, auth) = (TaskServiceClient::new(channel.clone()), auth.clone());
        calls.spawn(async move {
            client
                .create_task(authorized(task(i), auth))
                .await
                .map(|_| ())
        });
        while let Some(done) = calls.try_join_next() {
            done??;
        }
    }
    while let Some(done) = calls.join_next().await {
        done??;
    }
    Ok(total)
}

/// A receiver that records each message's lag and answers 200; its URL.
async fn live_receiver() -> Result<(String, Lags), BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/live", listener.local_addr()?);
    let lags: Lags = Arc::default();
    let recorded = lags.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let lags = recorded.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| receive(lags.clone(), request));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((url, lags))
}

async fn receive(
    lags: Lags,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let arrived = chrono::Utc::now();
    let committed = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|message| message["data"]["occurredAt"].as_str().map(str::to_owned))
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(&at).ok());
    if let (Some(committed), Ok(mut lags)) = (committed, lags.lock()) {
        lags.push(
            (arrived - committed.with_timezone(&chrono::Utc))
                .num_microseconds()
                .unwrap_or(0) as f64
                / 1e6,
        );
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

/// A receiver that takes connections and requests and never answers; its URL.
async fn dead_receiver() -> Result<String, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/dead", listener.local_addr()?);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    Ok(url)
}

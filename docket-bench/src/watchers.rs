//! The `watch` phase, run only when asked for (`--phases watch`): many WatchTasks streams on one
//! server, all following one user's tasks, while that user creates tasks at a steady pace. Prints
//! the time from each CreateTask call's start to each watcher's receipt of its event (an upper
//! bound on commit-to-delivery: the call's own time is in it), whether every watcher got every
//! event exactly once, and the server's memory with the watchers open (`--server-pid`). With
//! `--hold-open`, two transactions stay open meanwhile, elsewhere (`hold_open`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use docket_client::pb::{self, task_service_client::TaskServiceClient};
use tokio::task::JoinSet;
use tonic::{Streaming, transport::Channel};

use crate::{Auth, authorized, bearer, fixture::BoxError, task};

/// Watch streams per HTTP/2 connection (the server allows 256 by default).
const WATCHERS_PER_CONNECTION: usize = 100;
/// Creates per second while the watchers listen.
const PACE: u64 = 20;

/// When each task's CreateTask call started, by task id.
type Started = Arc<Mutex<HashMap<String, Instant>>>;

/// Transactions left open until dropped: one in `other_workspace` of Docket's database (it holds
/// a transaction id and the workspace's row), and one in the server's `postgres` database.
pub struct HeldOpen {
    /// Held, never read: dropping a connection ends its transaction.
    _transactions: Vec<tokio_postgres::Client>,
}

pub async fn hold_open(
    database_url: &str,
    other_workspace: uuid::Uuid,
) -> Result<HeldOpen, BoxError> {
    let mut maintenance = url::Url::parse(database_url)?;
    maintenance.set_path("/postgres");
    let mut held = Vec::new();
    for (url, sql) in [
        (
            database_url.to_owned(),
            format!(
                "BEGIN; SELECT pg_current_xact_id(); \
                 UPDATE workspaces SET name = name WHERE id = '{other_workspace}'"
            ),
        ),
        (
            maintenance.to_string(),
            "BEGIN; SELECT pg_current_xact_id()".to_owned(),
        ),
    ] {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client.batch_execute(&sql).await?;
        held.push(client);
    }
    Ok(HeldOpen {
        _transactions: held,
    })
}

pub(crate) fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Opens `count` watches of the caller's tasks from now, [`WATCHERS_PER_CONNECTION`] to an
/// HTTP/2 connection, each past its first message (the position), so that every one is in place
/// when this returns. The connections come back too, for the writes the watches wait for.
pub(crate) async fn open_watches(
    addr: &str,
    auth: &Auth,
    count: usize,
) -> Result<(Vec<Channel>, Vec<Streaming<pb::WatchTasksResponse>>), BoxError> {
    let mut channels = Vec::new();
    for _ in 0..count.div_ceil(WATCHERS_PER_CONNECTION) {
        channels.push(Channel::from_shared(addr.to_owned())?.connect().await?);
    }
    let mut streams = Vec::with_capacity(count);
    for i in 0..count {
        let mut client = TaskServiceClient::new(channels[i % channels.len()].clone());
        let mut stream = client
            .watch_tasks(authorized(pb::WatchTasksRequest::default(), auth.clone()))
            .await?
            .into_inner();
        stream.message().await?;
        streams.push(stream);
    }
    Ok((channels, streams))
}

/// Opens `watchers` watches for the user of `token`, creates `events` tasks at [`PACE`] a
/// second, and waits until every watcher has them all (or 30 s have passed).
pub async fn watch(
    addr: &str,
    token: &str,
    watchers: usize,
    events: usize,
    server_pid: Option<u32>,
    json: bool,
) -> Result<(), BoxError> {
    let auth = bearer(token)?;
    let idle = server_pid.and_then(rss_mb);
    let started: Started = Arc::default();
    let mut readers = JoinSet::new();
    let (channels, streams) = open_watches(addr, &auth, watchers).await?;
    for mut stream in streams {
        let started = started.clone();
        readers.spawn(async move { read_watch(&mut stream, &started, events).await });
    }
    let open = server_pid.and_then(rss_mb);

    let client = TaskServiceClient::new(channels[0].clone());
    create_paced(client, &auth, events, &started).await?;
    let mut latencies = Vec::new();
    let (mut short, mut duplicates) = (0, 0);
    while let Some(result) = readers.join_next().await {
        let (mine, seen, twice) = result?;
        latencies.extend(mine);
        short += usize::from(seen < events);
        duplicates += twice;
    }
    drop(channels);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server_pid.and_then(rss_mb);
    latencies.sort();
    let quantile = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let (p50, p99, max) = (quantile(0.5), quantile(0.99), quantile(1.0));
    let mb = |m: Option<f64>| m.map_or("?".to_owned(), |m| format!("{m:.0} MB"));
    println!(
        "WatchTasks, {watchers} watchers x {events} events: delivery p50 {p50:.1} ms, p99 {p99:.1} ms, \
         max {max:.1} ms; {short} watchers short, {duplicates} duplicates; RSS idle {}, \
         watching {}, after {}",
        mb(idle),
        mb(open),
        mb(after)
    );
    if json {
        println!(
            "{}",
            serde_json::json!({
                "phase": "watch", "watchers": watchers, "events": events, "p50_ms": p50,
                "p99_ms": p99, "max_ms": max, "short": short, "duplicates": duplicates,
                "rss_idle_mb": idle, "rss_watching_mb": open, "rss_after_mb": after,
            })
        );
    }
    Ok(())
}

/// Reads one watch until it has `events` distinct tasks' events (or a minute passes): the
/// delivery latencies it saw, how many tasks, and how many events came twice.
async fn read_watch(
    stream: &mut tonic::Streaming<pb::WatchTasksResponse>,
    started: &Started,
    events: usize,
) -> (Vec<Duration>, usize, usize) {
    let mut latencies = Vec::with_capacity(events);
    let mut seen = std::collections::HashSet::new();
    let mut duplicates = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while seen.len() < events {
        let message = match tokio::time::timeout_at(deadline, stream.message()).await {
            Ok(Ok(Some(message))) => message,
            _ => break,
        };
        let Some(event) = message.event else { continue };
        let now = Instant::now();
        if !seen.insert(event.task_id.clone()) {
            duplicates += 1;
        }
        if let Some(at) = started
            .lock()
            .ok()
            .and_then(|s| s.get(&event.task_id).copied())
        {
            latencies.push(now.duration_since(at));
        }
    }
    (latencies, seen.len(), duplicates)
}

/// Creates `events` tasks at the phase's pace, noting when each was sent.
async fn create_paced(
    mut client: TaskServiceClient<Channel>,
    auth: &Auth,
    events: usize,
    started: &Started,
) -> Result<(), BoxError> {
    let mut pace = tokio::time::interval(Duration::from_millis(1000 / PACE));
    for i in 0..events {
        pace.tick().await;
        let at = Instant::now();
        let id = client
            .create_task(authorized(task(i), auth.clone()))
            .await?
            .into_inner()
            .task
            .map(|t| t.id)
            .unwrap_or_default();
        if let Ok(mut started) = started.lock() {
            started.insert(id, at);
        }
    }
    Ok(())
}

//! The load phases of the "Bounds" figures, run only when asked for (`--phases stalled,burst`):
//!
//! - `stalled`: many ListTasks streams over 2 KB-body tasks whose clients never read, with the
//!   server's RSS before, while they are open, and after they close (`--server-pid`);
//! - `burst`: many ListTasks streams opened at once and read to the end, with how many failed,
//!   and GetTask's p99 before and during the burst.

use std::time::{Duration, Instant};

use docket_client::pb::{self, task_service_client::TaskServiceClient};
use futures_util::future::join_all;
use tonic::transport::Channel;

use crate::{Auth, authorized, bearer, fixture::BoxError};

/// Streams per HTTP/2 connection: the client's connection window (5 MB) then holds each
/// stream's unread data, so that every stream gets its first messages before the server stalls.
const STREAMS_PER_CONNECTION: usize = 20;

/// The server's resident memory, in MB.
fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

async fn connections(addr: &str, n: usize) -> Result<Vec<Channel>, BoxError> {
    let mut channels = Vec::with_capacity(n);
    for _ in 0..n {
        channels.push(Channel::from_shared(addr.to_owned())?.connect().await?);
    }
    Ok(channels)
}

fn list(auth: &Auth, limit: i32) -> tonic::Request<pb::ListTasksRequest> {
    let request = pb::ListTasksRequest {
        page_limit: limit,
        ..Default::default()
    };
    authorized(request, auth.clone())
}

fn print(json: bool, line: String, object: serde_json::Value) {
    println!("{line}");
    if json {
        println!("{object}");
    }
}

/// Opens `streams` ListTasks streams over the workspace of `token` and reads none of them.
pub async fn stalled(
    addr: &str,
    token: &str,
    streams: usize,
    server_pid: Option<u32>,
    json: bool,
) -> Result<(), BoxError> {
    let auth = bearer(token)?;
    let channels = connections(addr, streams.div_ceil(STREAMS_PER_CONNECTION)).await?;
    let idle = server_pid.and_then(rss_mb);
    let opened = join_all((0..streams).map(|i| {
        let mut client = TaskServiceClient::new(channels[i / STREAMS_PER_CONNECTION].clone());
        let request = list(&auth, 0);
        async move { client.list_tasks(request).await }
    }))
    .await;
    let failed = opened.iter().filter(|o| o.is_err()).count();
    // Time for every stream to fill what flow control lets through.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stalled = server_pid.and_then(rss_mb);
    drop(opened);
    drop(channels);
    // The allocator gives freed memory back to the system after a delay: watch for a minute.
    let closed = Instant::now();
    let mut back_within = None;
    let mut after = server_pid.and_then(rss_mb);
    while closed.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        after = server_pid.and_then(rss_mb);
        if let (Some(idle), Some(now)) = (idle, after)
            && now <= 2.0 * idle
        {
            back_within = Some(closed.elapsed().as_secs_f64());
            break;
        }
    }
    let mb = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.0} MB"));
    let back = back_within.map_or("not within 60 s".to_owned(), |s| format!("within {s:.0} s"));
    print(
        json,
        format!(
            "{streams} stalled ListTasks streams: {failed} failed; server RSS idle {}, stalled {}, after closing {} (back to 2x idle {back})",
            mb(idle),
            mb(stalled),
            mb(after)
        ),
        serde_json::json!({
            "phase": "stalled", "streams": streams, "failed": failed,
            "rss_idle_mb": idle, "rss_stalled_mb": stalled, "rss_after_mb": after,
            "back_to_twice_idle_s": back_within,
        }),
    );
    Ok(())
}

/// Unary calls in flight while latency is measured, as in the performance table.
const UNARY_IN_FLIGHT: usize = 16;

/// GetTask latencies (ms) of [`UNARY_IN_FLIGHT`] loops of calls until `until` says stop, each
/// making at least `min`.
async fn unary_latencies(
    client: TaskServiceClient<Channel>,
    auth: Auth,
    id: String,
    min: usize,
    until: impl Fn() -> bool + Clone,
) -> Result<Vec<f64>, BoxError> {
    let loops = (0..UNARY_IN_FLIGHT).map(|_| {
        let (client, auth, id, until) = (client.clone(), auth.clone(), id.clone(), until.clone());
        unary_loop(client, auth, id, min, until)
    });
    let mut latencies = Vec::new();
    for outcome in join_all(loops).await {
        latencies.extend(outcome?);
    }
    Ok(latencies)
}

async fn unary_loop(
    mut client: TaskServiceClient<Channel>,
    auth: Auth,
    id: String,
    min: usize,
    until: impl Fn() -> bool,
) -> Result<Vec<f64>, BoxError> {
    let mut latencies = Vec::new();
    while latencies.len() < min || !until() {
        let request = pb::GetTaskRequest {
            task_id: id.clone(),
            body_formats: vec![pb::BodyFormat::Plain as i32],
        };
        let started = Instant::now();
        client.get_task(authorized(request, auth.clone())).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(latencies)
}

fn p99(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 * 0.99) as usize).min(values.len() - 1)]
}

/// Opens `streams` ListTasks streams (300 tasks each) at once and reads them to the end, while
/// GetTask calls (16 in flight) measure unary latency; and the same calls before, without the
/// burst.
pub async fn burst(addr: &str, token: &str, streams: usize, json: bool) -> Result<(), BoxError> {
    let auth = bearer(token)?;
    let unary = Channel::from_shared(addr.to_owned())?.connect().await?;
    let mut client = TaskServiceClient::new(unary.clone());
    let first = client
        .list_tasks(list(&auth, 1))
        .await?
        .into_inner()
        .message()
        .await?;
    let id = first
        .and_then(|m| m.task)
        .ok_or("the workspace has no task")?
        .id;
    let idle = unary_latencies(
        TaskServiceClient::new(unary.clone()),
        auth.clone(),
        id.clone(),
        200,
        || true,
    )
    .await?;

    let channels = connections(addr, streams.div_ceil(STREAMS_PER_CONNECTION)).await?;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watching = {
        let done = done.clone();
        let (client, auth, id) = (TaskServiceClient::new(unary), auth.clone(), id);
        tokio::spawn(async move {
            let until = move || done.load(std::sync::atomic::Ordering::Acquire);
            unary_latencies(client, auth, id, 20, until).await
        })
    };
    let started = Instant::now();
    let read = join_all((0..streams).map(|i| {
        let mut client = TaskServiceClient::new(channels[i / STREAMS_PER_CONNECTION].clone());
        let request = list(&auth, 300);
        async move {
            let mut stream = client.list_tasks(request).await?.into_inner();
            let mut seen = 0;
            while stream.message().await?.is_some() {
                seen += 1;
            }
            Ok::<_, tonic::Status>(seen)
        }
    }))
    .await;
    let took = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Release);
    let during = watching.await??;
    let failed = read.iter().filter(|r| !matches!(r, Ok(300))).count();
    let (idle_p99, during_p99) = (p99(idle), p99(during));
    print(
        json,
        format!(
            "burst of {streams} ListTasks streams (300 tasks each): {failed} failed, all read in {:.1} s; GetTask p99 idle {idle_p99:.1} ms, during the burst {during_p99:.1} ms ({:.1}x)",
            took.as_secs_f64(),
            during_p99 / idle_p99
        ),
        serde_json::json!({
            "phase": "burst", "streams": streams, "failed": failed, "seconds": took.as_secs_f64(),
            "unary_p99_idle_ms": idle_p99, "unary_p99_burst_ms": during_p99,
        }),
    );
    Ok(())
}

//! The `watch_burst` phase, run only when asked for (`--phases watch_burst`): many WatchTasks
//! streams of one user, each read as fast as its client can, while one commit makes
//! `--burst-events` events they all want (a task assigned to a channel of that many members).
//! Prints how many watchers got every event and how many were cut off, how long the last of
//! them took, and the server's memory meanwhile (`--server-pid`): the back-pressure figures of
//! the event log's watchers.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use docket_client::pb::{
    self, TaskEventKind, assignment_service_client::AssignmentServiceClient,
    task_service_client::TaskServiceClient,
};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::{
    authorized, bearer,
    fixture::BoxError,
    task,
    watchers::{open_watches, rss_mb},
};

/// How one watcher ended.
struct Outcome {
    got: usize,
    /// Seconds from the burst's commit to its last event, if it got them all.
    took: Option<f64>,
    /// The status it ended with, if cut off.
    error: Option<String>,
}

/// Reads one watch until it has `burst` assignment events: how many it got, and how long after
/// the assignment committed the last came.
async fn read_burst(
    stream: &mut tonic::Streaming<pb::WatchTasksResponse>,
    burst: usize,
    committed: &AtomicU64,
    origin: Instant,
) -> Outcome {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut got = 0;
    while got < burst {
        match tokio::time::timeout_at(deadline, stream.message()).await {
            Ok(Ok(Some(message))) => {
                let kind = message.event.map(|e| e.kind());
                got += usize::from(kind == Some(TaskEventKind::AssignmentCreated));
            }
            Ok(Err(status)) => {
                let error = Some(format!("{:?} {}", status.code(), status.message()));
                return Outcome {
                    got,
                    took: None,
                    error,
                };
            }
            _ => {
                return Outcome {
                    got,
                    took: None,
                    error: None,
                };
            }
        }
    }
    let at = f64::from_bits(committed.load(Ordering::SeqCst));
    Outcome {
        got,
        took: Some(origin.elapsed().as_secs_f64() - at),
        error: None,
    }
}

/// The server's peak RSS in MB, sampled every 100 ms until the sampler is aborted.
fn sample_peak_rss(
    server_pid: Option<u32>,
) -> (Arc<AtomicU64>, Option<tokio::task::JoinHandle<()>>) {
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = server_pid.map(|pid| {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                if let Some(mb) = rss_mb(pid) {
                    peak.fetch_max(mb as u64, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    (peak, sampler)
}

/// Opens `watchers` watches for the user of `token`, then assigns a new task of that user's to
/// `channel` (`burst` members), and reads until each watcher has every assignment event.
pub async fn watch_burst(
    addr: &str,
    token: &str,
    channel: Uuid,
    (watchers, burst): (usize, usize),
    server_pid: Option<u32>,
    json: bool,
) -> Result<(), BoxError> {
    let auth = bearer(token)?;
    let idle = server_pid.and_then(rss_mb);
    let committed = Arc::new(AtomicU64::new(0));
    let origin = Instant::now();
    let mut readers = JoinSet::new();
    let (channels, streams) = open_watches(addr, &auth, watchers).await?;
    for mut stream in streams {
        let committed = committed.clone();
        readers.spawn(async move { read_burst(&mut stream, burst, &committed, origin).await });
    }
    let watching = server_pid.and_then(rss_mb);
    let (peak, sampler) = sample_peak_rss(server_pid);
    let mut tasks = TaskServiceClient::new(channels[0].clone());
    let made = tasks
        .create_task(authorized(task(0), auth.clone()))
        .await?
        .into_inner()
        .task
        .map(|t| t.id)
        .unwrap_or_default();
    let request = pb::CreateAssignmentRequest {
        task_id: made,
        recipient: Some(pb::create_assignment_request::Recipient::ChannelId(
            channel.to_string(),
        )),
    };
    AssignmentServiceClient::new(channels[0].clone())
        .create_assignment(authorized(request, auth.clone()))
        .await?;
    committed.store(origin.elapsed().as_secs_f64().to_bits(), Ordering::SeqCst);
    let mut outcomes = Vec::new();
    while let Some(outcome) = readers.join_next().await {
        outcomes.push(outcome?);
    }
    if let Some(sampler) = sampler {
        sampler.abort();
    }
    report(
        &outcomes,
        (watchers, burst),
        (idle, watching, peak.load(Ordering::Relaxed)),
        json,
    );
    Ok(())
}

fn report(
    outcomes: &[Outcome],
    (watchers, burst): (usize, usize),
    (idle, watching, peak): (Option<f64>, Option<f64>, u64),
    json: bool,
) {
    let complete = outcomes.iter().filter(|o| o.got == burst).count();
    let cut_off = outcomes.iter().filter(|o| o.error.is_some()).count();
    let delivered: usize = outcomes.iter().map(|o| o.got).sum();
    let mut took: Vec<f64> = outcomes.iter().filter_map(|o| o.took).collect();
    took.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        took.get(((took.len() as f64 * q) as usize).min(took.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let first_error = outcomes
        .iter()
        .find_map(|o| o.error.clone())
        .unwrap_or_default();
    let mb = |m: Option<f64>| m.map_or("?".to_owned(), |m| format!("{m:.0} MB"));
    println!(
        "WatchTasks, {watchers} watchers, one commit of {burst} events: {complete} got them all, \
         {cut_off} cut off ({first_error}); {delivered} delivered; all delivered p50 {:.2} s, \
         max {:.2} s; RSS idle {}, watching {}, peak {peak} MB",
        quantile(0.5),
        quantile(1.0),
        mb(idle),
        mb(watching)
    );
    if json {
        println!(
            "{}",
            serde_json::json!({
                "phase": "watch_burst", "watchers": watchers, "events": burst,
                "complete": complete, "cut_off": cut_off, "delivered": delivered,
                "p50_s": quantile(0.5), "max_s": quantile(1.0), "rss_idle_mb": idle,
                "rss_watching_mb": watching, "rss_peak_mb": peak,
            })
        );
    }
}

//! `docket-bench`: load against a running Docket. Creates N tasks with C concurrent clients, reads
//! each back by id, then streams them all with ListTasks, and prints throughput and latency
//! percentiles for each phase. The tasks carry a tag unique to the run, so the stream lists exactly
//! them (and reruns never see each other's tasks).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use clap::Parser;
use docket::grpc::pb::{self, task_service_client::TaskServiceClient};
use tokio::task::JoinSet;
use tonic::{Request, transport::Channel};

#[derive(Debug, Parser)]
#[command(about = "Load a running Docket: create, get and stream tasks")]
struct Args {
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// A token with tasks:write (e.g. the first token of `docket admin workspace create`).
    #[arg(long, env = "DOCKET_BENCH_TOKEN", hide_env_values = true)]
    token: String,
    /// How many tasks to create.
    #[arg(long, default_value_t = 10_000)]
    tasks: usize,
    /// Concurrent clients (requests in flight).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// HTTP/2 connections the clients share.
    #[arg(long, default_value_t = 4)]
    connections: usize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut channels = Vec::new();
    for _ in 0..args.connections.max(1) {
        channels.push(Channel::from_shared(args.addr.clone())?.connect().await?);
    }
    let auth: tonic::metadata::MetadataValue<_> = format!("Bearer {}", args.token).parse()?;
    let tag = format!("bench-{}", uuid::Uuid::new_v4().simple());
    println!(
        "docket-bench: {} tasks, {} concurrent clients over {} connections, tag {tag}",
        args.tasks,
        args.concurrency,
        channels.len()
    );

    let create = {
        let tag = tag.clone();
        move |i: usize| pb::CreateTaskRequest {
            title: format!("Benchmark task {i}: call the customer back"),
            kind: "CALL".into(),
            tags: vec![tag.clone()],
            body: Some(pb::TaskBodyInput {
                content: Some(pb::task_body_input::Content::Plain(
                    "Ask about the renewal and note the outcome.".into(),
                )),
            }),
            ..Default::default()
        }
    };
    let (ids, created) = run_phase(
        &channels,
        &auth,
        args.tasks,
        args.concurrency,
        move |mut client, request_auth, i| {
            let request = create(i);
            async move {
                let response = client
                    .create_task(authorized(request, request_auth))
                    .await?;
                Ok(response.into_inner().task.map(|t| t.id).unwrap_or_default())
            }
        },
    )
    .await?;
    created.print("CreateTask", args.tasks);

    let ids = Arc::new(ids);
    let (_, got) = run_phase(
        &channels,
        &auth,
        args.tasks,
        args.concurrency,
        move |mut client, request_auth, i| {
            let request = pb::GetTaskRequest {
                task_id: ids[i].clone(),
                body_formats: vec![pb::BodyFormat::Plain as i32],
            };
            async move {
                client.get_task(authorized(request, request_auth)).await?;
                Ok(String::new())
            }
        },
    )
    .await?;
    got.print("GetTask", args.tasks);

    let mut client = TaskServiceClient::new(channels[0].clone());
    let request = pb::ListTasksRequest {
        tags: vec![tag],
        sort: pb::TaskSort::CreatedAtAsc as i32,
        body_formats: vec![pb::BodyFormat::Plain as i32],
        ..Default::default()
    };
    let started = Instant::now();
    let mut stream = client
        .list_tasks(authorized(request, auth.clone()))
        .await?
        .into_inner();
    let mut gaps = Vec::with_capacity(args.tasks);
    let mut last = started;
    let mut streamed = 0usize;
    while stream.message().await?.is_some() {
        let now = Instant::now();
        gaps.push(now - last);
        last = now;
        streamed += 1;
    }
    let listed = Phase {
        elapsed: started.elapsed(),
        latencies: gaps,
        failures: usize::from(streamed != args.tasks),
    };
    listed.print("ListTasks (streamed, gap between items)", streamed);
    if streamed != args.tasks {
        return Err(format!("streamed {streamed} tasks, created {}", args.tasks).into());
    }
    Ok(())
}

fn authorized<T>(
    message: T,
    auth: tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", auth);
    request
}

/// What one phase measured.
struct Phase {
    elapsed: Duration,
    latencies: Vec<Duration>,
    failures: usize,
}

impl Phase {
    fn print(mut self, name: &str, items: usize) {
        self.latencies.sort();
        let at = |p: f64| {
            let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
            self.latencies
                .get(index)
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        println!(
            "{name:<42} {items:>7} in {:>7.2} s = {:>8.0}/s   p50 {:>7.3} ms   p99 {:>7.3} ms   failures {}",
            self.elapsed.as_secs_f64(),
            items as f64 / self.elapsed.as_secs_f64(),
            at(0.50),
            at(0.99),
            self.failures,
        );
    }
}

/// Runs `call(i)` for i in 0..n with `concurrency` calls in flight; returns each call's result (by
/// i) and the phase's figures. Fails on the first error.
async fn run_phase<F, Fut>(
    channels: &[Channel],
    auth: &tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
    n: usize,
    concurrency: usize,
    call: F,
) -> Result<(Vec<String>, Phase), Box<dyn std::error::Error>>
where
    F: Fn(
            TaskServiceClient<Channel>,
            tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
            usize,
        ) -> Fut
        + Send
        + Sync
        + 'static,
    Fut: std::future::Future<Output = Result<String, tonic::Status>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let call = Arc::new(call);
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for worker in 0..concurrency.max(1) {
        let client = TaskServiceClient::new(channels[worker % channels.len()].clone());
        let (next, call, auth) = (next.clone(), call.clone(), auth.clone());
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, tonic::Status>(done);
                }
                let began = Instant::now();
                let result = call(client.clone(), auth.clone(), i).await?;
                done.push((i, result, began.elapsed()));
            }
        });
    }
    let mut results = vec![String::new(); n];
    let mut latencies = Vec::with_capacity(n);
    while let Some(joined) = workers.join_next().await {
        for (i, result, latency) in joined?? {
            results[i] = result;
            latencies.push(latency);
        }
    }
    Ok((
        results,
        Phase {
            elapsed: started.elapsed(),
            latencies,
            failures: 0,
        },
    ))
}

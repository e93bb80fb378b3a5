//! `docket-bench`: load against a running Docket, for each figure of the README's performance
//! table: CreateTask across many workspaces and in one, GetTask, a lifecycle move (StartTask), one
//! ListTasks stream over a large workspace, and CountTasks and first ListTasks pages with each
//! filter on a larger one. It talks to the server as any client does (docket-client's types and
//! clients), and prepares what it needs as an operator would (`docket admin`, and SQL for bulk
//! seeding, in `DATABASE_URL`): workspaces with a user each, and the large workspaces, seeded
//! once and reused by later runs.
//! Each phase prints one line; `--json` adds one JSON object per phase for scripts
//! (`.ci/bench` compares them with PostgreSQL's own ceiling).

mod burst_watchers;
mod faults;
mod fixture;
mod load;
mod watchers;
mod webhooks;

use std::{future::Future, sync::Arc};

use clap::Parser;
use docket_client::pb::{self, task_service_client::TaskServiceClient};
use fixture::{BoxError, Fixture, Workspace};
use load::Load;
use tonic::{Request, metadata::MetadataValue, transport::Channel};

/// The server's allocator: the load generator shares the machine with what it measures, and
/// glibc's malloc took a tenth of its time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(about = "Load a running Docket and print throughput and latency per phase")]
struct Args {
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// Docket's database, where the benchmark makes its workspaces and tokens.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// The `docket` binary whose `admin` command makes the workspaces and tokens (by default the
    /// one beside docket-bench).
    #[arg(long)]
    docket: Option<std::path::PathBuf>,
    /// Workspaces the spread-out creates go to.
    #[arg(long, default_value_t = 100)]
    workspaces: usize,
    /// Tasks each create phase makes (the get phase reads each three times, the move phase
    /// moves each once).
    #[arg(long, default_value_t = 10_000)]
    tasks: usize,
    /// Calls in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// HTTP/2 connections the calls share.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Tasks of the workspace one ListTasks streams whole (0: skip).
    #[arg(long, default_value_t = 100_000)]
    stream_tasks: i64,
    /// Tasks of the workspace counted and filtered (0: skip).
    #[arg(long, default_value_t = 1_000_000)]
    filter_tasks: i64,
    /// Calls per count and first-page figure.
    #[arg(long, default_value_t = 40)]
    samples: usize,
    /// Streams the `stalled` and `burst` phases open.
    #[arg(long, default_value_t = 1000)]
    fault_streams: usize,
    /// Watch streams the `watch` phase opens.
    #[arg(long, default_value_t = 1000)]
    watchers: usize,
    /// Events the one commit of the `watch_burst` phase makes.
    #[arg(long, default_value_t = 2000)]
    burst_events: usize,
    /// Tasks the `watch` phase creates while its watchers listen (20 a second).
    #[arg(long, default_value_t = 200)]
    watch_events: usize,
    /// While the `watch` phase creates its tasks, hold a transaction open (with a transaction id)
    /// in another workspace and one in another database of the same server, as a long batch job
    /// would: delivery must not wait for them.
    #[arg(long)]
    hold_open: bool,
    /// The server's process id, for its memory in the `stalled` and `watch` phases.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Tasks a second the `webhooks` phase creates while its subscriptions deliver.
    #[arg(long, default_value_t = 1000)]
    webhook_rate: u64,
    /// For how long the `webhooks` phase creates them, each of its two runs.
    #[arg(long, default_value_t = 20)]
    webhook_seconds: u64,
    /// The `webhooks` phase's runs, in order: alone, beside_live, beside_dead.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "alone,beside_live,beside_dead"
    )]
    webhook_runs: Vec<String>,
    /// Also print one JSON object per phase.
    #[arg(long)]
    json: bool,
    /// The phases to run: create_spread, create_one, get, start, stream, filters (get and start
    /// read and move the tasks create_spread makes, which then runs too); and, only when named,
    /// stalled and burst (`faults`), watch (`watchers`), watch_burst (`burst_watchers`) and
    /// webhooks (`webhooks`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "create_spread,create_one,get,start,stream,filters"
    )]
    phases: Vec<String>,
}

type Auth = MetadataValue<tonic::metadata::Ascii>;

/// How many times the get phase reads each task the spread create phase made.
const GET_ROUNDS: usize = 3;

// One thread: the load generator shares the machine with the server and PostgreSQL, and one
// thread drives 16 calls in flight with less of it (no wake-ups across threads) than several.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let (load, fixture, run) = prepare(&args).await?;
    let (spread, single) = workspaces(&args, &fixture, &run).await?;
    unary_phases(&args, &load, &spread, &single).await?;
    large_phases(&args, &load, &fixture).await?;
    watch_phases(&args, &fixture, &spread, &single).await?;
    // The next run should find the tables as this one did, not grown by its creates.
    fixture.remove(&format!("bench-{run}-")).await?;
    Ok(())
}

/// The phases' connections, the fixture, and this run's name.
async fn prepare(args: &Args) -> Result<(Load, Fixture, String), BoxError> {
    let mut channels = Vec::new();
    for _ in 0..args.connections.max(1) {
        channels.push(Channel::from_shared(args.addr.clone())?.connect().await?);
    }
    let docket = match &args.docket {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("docket"),
    };
    let fixture = Fixture::connect(&args.database_url, docket).await?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    println!(
        "docket-bench: {} tasks per create phase, {} calls in flight over {} connections, {} workspaces",
        args.tasks,
        args.concurrency,
        channels.len(),
        args.workspaces.max(1)
    );
    let load = Load {
        channels,
        concurrency: args.concurrency,
        json: args.json,
    };
    Ok((load, fixture, run))
}

/// The workspaces the spread creates go to, and the one the single-workspace phases use.
async fn workspaces(
    args: &Args,
    fixture: &Fixture,
    run: &str,
) -> Result<(Vec<Workspace>, Workspace), BoxError> {
    let mut spread = Vec::new();
    for i in 0..args.workspaces.max(1) {
        spread.push(fixture.workspace(&format!("bench-{run}-{i}")).await?);
    }
    let single = fixture.workspace(&format!("bench-{run}-one")).await?;
    Ok((spread, single))
}

/// CreateTask across the workspaces and in one, GetTask, and a lifecycle move.
async fn unary_phases(
    args: &Args,
    load: &Load,
    spread: &[Workspace],
    single: &Workspace,
) -> Result<(), BoxError> {
    let wants = |phase: &str| args.phases.iter().any(|p| p == phase);
    let tokens: Vec<Auth> = spread
        .iter()
        .map(|w| bearer(&w.user_token))
        .collect::<Result<_, _>>()?;
    let tokens = Arc::new(tokens);
    let by = {
        let tokens = tokens.clone();
        move |i: usize| tokens[i % tokens.len()].clone()
    };
    let creates = if wants("create_spread") || wants("get") || wants("start") {
        args.tasks
    } else {
        0
    };
    // Untimed: the pool's connections opened and their statements prepared, each workspace's
    // number sequence open in each backend, as on a server that has been running. pgbench, the
    // ceiling, does not time its connecting either.
    let warmup = if creates > 0 {
        WARMUP_CREATES_PER_WORKSPACE * spread.len()
    } else {
        0
    };
    load.run(
        "warmup",
        "CreateTask warm-up (not counted)",
        warmup,
        creating(by.clone()),
    )
    .await?;
    let ids = load
        .run(
            "create_spread",
            "CreateTask, many workspaces",
            creates,
            creating(by.clone()),
        )
        .await?;
    let one = bearer(&single.user_token)?;
    let n = if wants("create_one") { args.tasks } else { 0 };
    let only = move |_| one.clone();
    load.run("create_one", "CreateTask, one workspace", n, creating(only))
        .await?;
    let ids = Arc::new(ids);
    // Each task read three times: a read takes a fifth of a create's time, and a window of a
    // fraction of a second would mostly measure the first calls of each pooled connection.
    let n = if wants("get") {
        GET_ROUNDS * args.tasks
    } else {
        0
    };
    load.run("get", "GetTask", n, {
        let (ids, by) = (ids.clone(), by.clone());
        move |mut client, i| {
            let i = i % ids.len().max(1);
            let request = pb::GetTaskRequest {
                task_id: ids[i].clone(),
                body_formats: vec![pb::BodyFormat::Plain as i32],
            };
            let request = authorized(request, by(i));
            async move { client.get_task(request).await.map(|_| None) }
        }
    })
    .await?;
    let n = if wants("start") { args.tasks } else { 0 };
    load.run("start", "StartTask (a lifecycle move)", n, {
        move |mut client, i| {
            let request = pb::StartTaskRequest {
                task_id: ids[i].clone(),
                body_formats: vec![pb::BodyFormat::Plain as i32],
            };
            let request = authorized(request, by(i));
            async move { client.start_task(request).await.map(|_| None) }
        }
    })
    .await?;

    Ok(())
}

/// The stream over a large workspace, the filters over a larger one, and the faults of streams
/// (a stalled reader, a burst).
async fn large_phases(args: &Args, load: &Load, fixture: &Fixture) -> Result<(), BoxError> {
    let wants = |phase: &str| args.phases.iter().any(|p| p == phase);
    if args.stream_tasks > 0 && wants("stream") {
        let name = format!("bench-stream-v7-{}", args.stream_tasks);
        let big = fixture.seeded(&name, args.stream_tasks).await?;
        load.stream(&big, args.stream_tasks).await?;
    }
    if args.filter_tasks > 0 && wants("filters") {
        let name = format!("bench-filter-v7-{}", args.filter_tasks);
        let big = fixture.seeded(&name, args.filter_tasks).await?;
        load.filters(&big, args.samples).await?;
    }
    if wants("stalled") || wants("burst") {
        let token = fixture
            .with_bodies("bench-bodies-v1-5000", 5000, 2048)
            .await?;
        if wants("stalled") {
            faults::stalled(
                &args.addr,
                &token,
                args.fault_streams,
                args.server_pid,
                args.json,
            )
            .await?;
        }
        if wants("burst") {
            faults::burst(&args.addr, &token, args.fault_streams, args.json).await?;
        }
    }
    Ok(())
}

/// Watchers: many on one workspace, and a burst to a channel's members.
async fn watch_phases(
    args: &Args,
    fixture: &Fixture,
    spread: &[Workspace],
    single: &Workspace,
) -> Result<(), BoxError> {
    let wants = |phase: &str| args.phases.iter().any(|p| p == phase);
    if wants("watch") {
        let held = match args.hold_open {
            true => Some(watchers::hold_open(&args.database_url, spread[0].id).await?),
            false => None,
        };
        watchers::watch(
            &args.addr,
            &single.user_token,
            args.watchers,
            args.watch_events,
            args.server_pid,
            args.json,
        )
        .await?;
        drop(held);
    }
    if wants("webhooks") {
        let pace = (args.webhook_rate, args.webhook_seconds);
        webhooks::webhooks(&args.addr, single, pace, &args.webhook_runs, args.json).await?;
    }
    if wants("watch_burst") {
        let channel = fixture.channel(single, args.burst_events as i64).await?;
        burst_watchers::watch_burst(
            &args.addr,
            &single.user_token,
            channel,
            (args.watchers, args.burst_events),
            args.server_pid,
            args.json,
        )
        .await?;
    }
    Ok(())
}

/// Creates per workspace before the create phases are timed.
const WARMUP_CREATES_PER_WORKSPACE: usize = 20;

/// What one call of a phase returns: the item it made (an id), if any.
type Called = std::pin::Pin<Box<dyn Future<Output = Result<Option<String>, tonic::Status>> + Send>>;

/// A create phase's call: task `i` as the user whose token `by(i)` is; returns its id.
fn creating(
    by: impl Fn(usize) -> Auth + Send + Sync + 'static,
) -> impl Fn(TaskServiceClient<Channel>, usize) -> Called + Send + Sync + 'static {
    move |mut client, i| {
        let request = authorized(task(i), by(i));
        Box::pin(async move {
            let created = client.create_task(request).await?.into_inner();
            Ok(created.task.map(|t| t.id))
        })
    }
}

/// The task the create phases write: a personal CALL task with a plain body.
fn task(i: usize) -> pb::CreateTaskRequest {
    pb::CreateTaskRequest {
        title: format!("Benchmark task {i}: call the customer back"),
        kind: "CALL".into(),
        body: Some(pb::TaskBodyInput {
            content: Some(pb::task_body_input::Content::Plain(
                "Ask about the renewal and note the outcome.".into(),
            )),
        }),
        body_formats: vec![pb::BodyFormat::Plain as i32],
        ..Default::default()
    }
}

pub(crate) fn bearer(token: &str) -> Result<Auth, BoxError> {
    Ok(format!("Bearer {token}").parse()?)
}

pub(crate) fn authorized<T>(message: T, auth: Auth) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", auth);
    request
}

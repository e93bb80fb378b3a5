//! The Prometheus endpoint, scraped as Prometheus would: calls counted by go-grpc-prometheus'
//! names and labels (started, handled by code, latency), the build's version, in-flight calls back to zero, auth cache hits and misses, pool and stream
//! gauges, query latency and process metrics; made-up paths do not grow the label set.

use std::{collections::BTreeMap, time::Duration};

use docket::grpc::pb;
use futures_util::StreamExt;
use tonic::Code;

use crate::{
    helpers::rpc::authorized,
    helpers::{
        raw::call_without_message,
        scrape::get,
        team::{Team, titled},
    },
};

/// The exposition text as samples: (name, labels) → value.
type Samples = BTreeMap<(String, BTreeMap<String, String>), f64>;

fn samples(text: &str) -> Samples {
    let mut samples = Samples::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("name and value");
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, labels.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split(',')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').expect("label=value");
                (key.to_owned(), value.trim_matches('"').to_owned())
            })
            .collect();
        samples.insert((name.to_owned(), labels), value.parse().expect("a number"));
    }
    samples
}

fn sample(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .get(&(name.to_owned(), labels))
        .copied()
        .unwrap_or(0.0)
}

async fn scrape(team: &Team) -> Samples {
    let addr = team.app.metrics_addr.expect("tests serve metrics");
    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    samples(&body)
}

const TASKS: (&str, &str) = ("grpc_service", "docket.v1.TaskService");
const UNARY: (&str, &str) = ("grpc_type", "unary");

/// The labels go-grpc-prometheus gives a unary TaskService method.
fn unary(method: &'static str) -> [(&'static str, &'static str); 3] {
    [UNARY, TASKS, ("grpc_method", method)]
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_are_counted_by_method_and_code_with_their_latency() {
    let team =
        Team::with_config(|config| config.auth.auth_cache_ttl = Duration::from_secs(600)).await;
    let token = &team.author.1;
    let before = scrape(&team).await;
    for title in ["One", "Two"] {
        team.create(token, titled(title)).await.expect("create");
    }
    let missing = team
        .get(token, &uuid::Uuid::now_v7().to_string())
        .await
        .expect_err("no such task");
    assert_eq!(missing.code(), Code::NotFound);
    let s = scrape(&team).await;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        sample(&s, name, labels) - sample(&before, name, labels)
    };

    let handled = "grpc_server_handled_total";
    let with_code = |method, code| {
        let mut labels = unary(method).to_vec();
        labels.push(("grpc_code", code));
        labels
    };
    assert_eq!(delta(handled, &with_code("CreateTask", "OK")), 2.0);
    assert_eq!(delta(handled, &with_code("GetTask", "NotFound")), 1.0);
    assert_eq!(
        delta("grpc_server_started_total", &unary("CreateTask")),
        2.0
    );
    assert_eq!(
        delta("grpc_server_handling_seconds_count", &unary("CreateTask")),
        2.0
    );
    assert_eq!(
        sample(&s, "docket_grpc_in_flight", &unary("CreateTask")),
        0.0,
        "every call ended"
    );
    let build = s
        .keys()
        .find(|(name, _)| name == "docket_build_info")
        .map(|(_, labels)| labels.clone())
        .expect("docket_build_info");
    assert_eq!(
        build.get("version").map(String::as_str),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert!(build.contains_key("revision"), "{build:?}");
    // Three calls with one token: looked up at most once, then found in the cache.
    let lookups = "docket_auth_cache_lookups_total";
    let misses = delta(lookups, &[("cache", "api_token"), ("result", "miss")]);
    let hits = delta(lookups, &[("cache", "api_token"), ("result", "hit")]);
    assert_eq!(
        (misses + hits, misses <= 1.0),
        (3.0, true),
        "{misses} {hits}"
    );
    assert!(delta("docket_db_query_duration_seconds_count", &[]) >= 3.0);
    assert!(sample(&s, "docket_db_pool_max_connections", &[]) >= 1.0);
    // The server's own work (the NOTIFY that follows a write) may hold the one pooled
    // connection for a moment: once it is done, the connection is idle again.
    let mut idle = sample(&s, "docket_db_pool_connections", &[("state", "idle")]);
    let settled = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    while idle < 1.0 && tokio::time::Instant::now() < settled {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let again = scrape(&team).await;
        idle = sample(&again, "docket_db_pool_connections", &[("state", "idle")]);
    }
    assert!(idle >= 1.0, "{idle} idle connections");
    assert_eq!(sample(&s, "docket_db_pool_waiting", &[]), 0.0);
    assert!(sample(&s, "process_resident_memory_bytes", &[]) > 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_path_the_server_does_not_serve_counts_as_unknown() {
    let team = Team::new().await;
    let refused =
        call_without_message(team.app.channel().await, "/no.Such/Method", &team.author.1).await;
    assert_ne!(refused.code(), Code::Ok);
    let s = scrape(&team).await;
    let unknown: f64 = s
        .iter()
        .filter(|((name, labels), _)| {
            name == "grpc_server_handled_total"
                && labels.get("grpc_method").map(String::as_str) == Some("unknown")
        })
        .map(|(_, value)| value)
        .sum();
    assert_eq!(unknown, 1.0);
    assert!(
        !s.keys()
            .any(|(_, labels)| labels.values().any(|v| v.contains("no.Such"))),
        "no label holds a path the server does not serve"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn streamed_items_are_counted_and_an_open_stream_is_in_flight() {
    let team = Team::new().await;
    let token = &team.author.1;
    for i in 0..3 {
        team.create(token, titled(&format!("Task {i}")))
            .await
            .expect("create");
    }
    let before = scrape(&team).await;
    let mut client = team.client().await;
    let listed: Vec<_> = client
        .list_tasks(authorized(pb::ListTasksRequest::default(), token))
        .await
        .expect("list")
        .into_inner()
        .collect()
        .await;
    assert_eq!(listed.len(), 3);
    let after = scrape(&team).await;
    let items = "docket_stream_items_total";
    assert_eq!(
        sample(&after, items, &[]) - sample(&before, items, &[]),
        3.0
    );

    // A watch stays open until the client leaves.
    let mut watch = client
        .watch_tasks(authorized(pb::WatchTasksRequest::default(), token))
        .await
        .expect("watch")
        .into_inner();
    watch.next().await.expect("a progress message").expect("ok");
    let watching = [
        ("grpc_type", "server_stream"),
        TASKS,
        ("grpc_method", "WatchTasks"),
    ];
    let during = scrape(&team).await;
    assert_eq!(sample(&during, "docket_grpc_in_flight", &watching), 1.0);
    assert_eq!(sample(&during, "docket_streams_open", &[]), 1.0);
    drop(watch);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let now = scrape(&team).await;
        let open = sample(&now, "docket_streams_open", &[]);
        if sample(&now, "docket_grpc_in_flight", &watching) == 0.0 && open == 0.0 {
            let mut cancelled = watching.to_vec();
            cancelled.push(("grpc_code", "Canceled"));
            assert_eq!(sample(&now, "grpc_server_handled_total", &cancelled), 1.0);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the watch still counts"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_metrics_port_serves_only_metrics() {
    let team = Team::new().await;
    let addr = team.app.metrics_addr.expect("tests serve metrics");
    assert_ne!(addr.port(), team.app.addr.port(), "a port of its own");
    let (status, _) = get(addr, "/").await;
    assert_eq!(status, 404);
}

//! Running a phase: calls with a fixed number in flight over a few connections, and the line
//! (and JSON object) it prints: throughput and latency percentiles.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use docket_client::pb::{self, task_service_client::TaskServiceClient};
use tokio::task::JoinSet;
use tonic::transport::Channel;

use super::{
    authorized, bearer,
    fixture::{self, BoxError},
};

pub(crate) struct Load {
    pub(crate) channels: Vec<Channel>,
    pub(crate) concurrency: usize,
    pub(crate) json: bool,
}

impl Load {
    pub(crate) fn client(&self, i: usize) -> TaskServiceClient<Channel> {
        TaskServiceClient::new(self.channels[i % self.channels.len()].clone())
    }

    /// Runs `call(client, i)` for i in 0..n with `concurrency` calls in flight; prints the phase
    /// and returns what each call returned, by i. Fails on the first error.
    pub(crate) async fn run<F, Fut>(
        &self,
        key: &str,
        name: &str,
        n: usize,
        call: F,
    ) -> Result<Vec<String>, BoxError>
    where
        F: Fn(TaskServiceClient<Channel>, usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<String>, tonic::Status>> + Send,
    {
        let next = Arc::new(AtomicUsize::new(0));
        let call = Arc::new(call);
        let started = Instant::now();
        let mut workers = JoinSet::new();
        for worker in 0..self.concurrency.max(1) {
            let client = self.client(worker);
            let (next, call) = (next.clone(), call.clone());
            workers.spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<_, tonic::Status>(done);
                    }
                    let began = Instant::now();
                    let result = call(client.clone(), i).await?;
                    done.push((i, result.unwrap_or_default(), began.elapsed()));
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
        self.print(key, name, n, started.elapsed(), latencies);
        Ok(results)
    }

    /// One ListTasks call streaming a whole workspace, in creation order, plain bodies.
    pub(crate) async fn stream(&self, admin_token: &str, expected: i64) -> Result<(), BoxError> {
        let request = pb::ListTasksRequest {
            sort: pb::TaskSort::CreatedAtAsc as i32,
            body_formats: vec![pb::BodyFormat::Plain as i32],
            ..Default::default()
        };
        let started = Instant::now();
        let mut stream = self
            .client(0)
            .list_tasks(authorized(request, bearer(admin_token)?))
            .await?
            .into_inner();
        let (mut gaps, mut last, mut streamed) = (Vec::new(), started, 0_i64);
        while stream.message().await?.is_some() {
            let now = Instant::now();
            gaps.push(now - last);
            last = now;
            streamed += 1;
        }
        if streamed != expected {
            return Err(format!("streamed {streamed} tasks of {expected}").into());
        }
        let name = format!("ListTasks, one stream of {expected} (gap between items)");
        self.print("stream", &name, streamed as usize, started.elapsed(), gaps);
        Ok(())
    }

    /// CountTasks and a first ListTasks page with each single filter, one call at a time.
    pub(crate) async fn filters(&self, admin_token: &str, samples: usize) -> Result<(), BoxError> {
        let admin = bearer(admin_token)?;
        let assignee = fixture::user_of(7).to_string();
        let filters = filter_requests(&assignee);
        for (filter, count) in &filters {
            if matches!(*filter, "status" | "assignee") {
                let mut latencies = Vec::new();
                let started = Instant::now();
                for _ in 0..samples {
                    let began = Instant::now();
                    self.client(0)
                        .count_tasks(authorized(count.clone(), admin.clone()))
                        .await?;
                    latencies.push(began.elapsed());
                }
                let name = format!("CountTasks by {filter}");
                self.print(
                    &format!("count_{filter}"),
                    &name,
                    samples,
                    started.elapsed(),
                    latencies,
                );
            }
        }
        let mut latencies = Vec::new();
        let started = Instant::now();
        for (_, count) in &filters {
            for _ in 0..samples.div_ceil(filters.len()) {
                let request = first_page(count);
                let began = Instant::now();
                let mut stream = self
                    .client(0)
                    .list_tasks(authorized(request, admin.clone()))
                    .await?
                    .into_inner();
                while stream.message().await?.is_some() {}
                latencies.push(began.elapsed());
            }
        }
        let n = latencies.len();
        let name = "ListTasks first page of 50, each filter";
        self.print("first_page", name, n, started.elapsed(), latencies);
        Ok(())
    }

    pub(crate) fn print(
        &self,
        key: &str,
        name: &str,
        items: usize,
        elapsed: Duration,
        mut latencies: Vec<Duration>,
    ) {
        latencies.sort();
        let at = |p: f64| {
            let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
            latencies
                .get(index)
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        let rate = items as f64 / elapsed.as_secs_f64();
        println!(
            "{name:<52} {items:>7} in {:>7.2} s = {rate:>8.0}/s   p50 {:>7.3} ms   p99 {:>7.3} ms",
            elapsed.as_secs_f64(),
            at(0.50),
            at(0.99),
        );
        if self.json {
            println!(
                "{}",
                serde_json::json!({
                    "phase": key, "items": items, "seconds": elapsed.as_secs_f64(),
                    "per_second": rate, "p50_ms": at(0.50), "p99_ms": at(0.99),
                })
            );
        }
    }
}

/// The list request with a count request's filters, first 50 items, plain bodies.
fn first_page(filters: &pb::CountTasksRequest) -> pb::ListTasksRequest {
    pb::ListTasksRequest {
        statuses: filters.statuses.clone(),
        priorities: filters.priorities.clone(),
        kinds: filters.kinds.clone(),
        assignee_user_ids: filters.assignee_user_ids.clone(),
        tags: filters.tags.clone(),
        correlation_id: filters.correlation_id.clone(),
        query: filters.query.clone(),
        page_limit: 50,
        body_formats: vec![pb::BodyFormat::Plain as i32],
        ..Default::default()
    }
}

/// One CountTasks request per filter the phase measures, by name (`assignee`: a user's id).
fn filter_requests(assignee: &str) -> Vec<(&'static str, pb::CountTasksRequest)> {
    vec![
        (
            "status",
            pb::CountTasksRequest {
                statuses: vec![pb::TaskStatus::InProgress as i32],
                ..Default::default()
            },
        ),
        (
            "assignee",
            pb::CountTasksRequest {
                assignee_user_ids: vec![assignee.to_owned()],
                ..Default::default()
            },
        ),
        (
            "priority",
            pb::CountTasksRequest {
                priorities: vec![pb::TaskPriority::Urgent as i32],
                ..Default::default()
            },
        ),
        (
            "kind",
            pb::CountTasksRequest {
                kinds: vec!["EMAIL_REPLY".into()],
                ..Default::default()
            },
        ),
        (
            "tag rare here, common elsewhere",
            pb::CountTasksRequest {
                tags: vec!["elsewhere".into()],
                ..Default::default()
            },
        ),
        (
            "query",
            pb::CountTasksRequest {
                query: "globex".into(),
                ..Default::default()
            },
        ),
        (
            "correlation_id",
            pb::CountTasksRequest {
                correlation_id: "corr-4242".into(),
                ..Default::default()
            },
        ),
    ]
}

//! Lists the caller's open tasks as a stream, most urgent first, printing each as it arrives.
//!
//!   DOCKET_TOKEN=dkt_... cargo run -p docket-client --example list_tasks [http://127.0.0.1:50051]

use docket_client::{Docket, RetryPolicy, pb, retry};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:50051".to_owned());
    let token = std::env::var("DOCKET_TOKEN").map_err(|_| "set DOCKET_TOKEN to an API token")?;
    let docket = Docket::builder(endpoint, token).connect().await?;
    let request = pb::ListTasksRequest {
        statuses: vec![
            pb::TaskStatus::New as i32,
            pb::TaskStatus::Open as i32,
            pb::TaskStatus::InProgress as i32,
        ],
        sort: pb::TaskSort::PriorityDesc as i32,
        body_formats: vec![pb::BodyFormat::Plain as i32],
        ..Default::default()
    };
    // Opening the stream is retried if the server is briefly unavailable; a stream that breaks
    // later resumes from the last cursor it gave.
    let mut tasks = retry(RetryPolicy::default(), || {
        let mut client = docket.tasks();
        let request = request.clone();
        async move { client.list_tasks(request).await }
    })
    .await?
    .into_inner();
    let mut count = 0;
    while let Some(item) = tasks.next().await {
        let item = item?;
        if let Some(task) = item.task {
            count += 1;
            println!(
                "#{} [{}] {}",
                task.number,
                task.status().as_str_name(),
                task.title
            );
        }
    }
    println!("{count} tasks");
    Ok(())
}

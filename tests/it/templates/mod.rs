//! Task templates and recurring tasks: the RPCs (rules, tenancy, events), tasks made on demand,
//! schedules making their occurrences (fixed and after completion, catch-up, DST), and exactly
//! once through several servers killed and restarted.

mod after_completion;
mod basics;
mod controls;
mod expansion;
mod from_template;
mod replicas;
mod schedules;

use std::time::Duration;

use chrono::{DateTime, Utc};
use docket::grpc::pb::{self, task_template_service_client::TaskTemplateServiceClient};
use tokio_postgres::Client;
use tonic::{Status, transport::Channel};

use crate::helpers::{database::connect, rpc::authorized, team::Team};

pub async fn client(team: &Team) -> TaskTemplateServiceClient<Channel> {
    TaskTemplateServiceClient::new(team.app.channel().await)
}

/// A template's task fields with a title and nothing else.
pub fn fields(title: &str) -> pb::TaskTemplateFields {
    pb::TaskTemplateFields {
        title: title.into(),
        ..Default::default()
    }
}

pub fn seconds(seconds: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos: 0 })
}

/// A schedule of `rule` from `start` (local, "2026-12-14T09:00") in `zone`.
pub fn schedule(rule: &str, zone: &str, start: &str) -> pb::TaskSchedule {
    pb::TaskSchedule {
        rrule: rule.into(),
        time_zone: zone.into(),
        start: start.into(),
        ..Default::default()
    }
}

/// CreateTaskTemplate by `token`.
pub async fn create(
    team: &Team,
    token: &str,
    name: &str,
    task: pb::TaskTemplateFields,
    schedule: Option<pb::TaskSchedule>,
) -> Result<pb::TaskTemplate, Status> {
    let request = pb::CreateTaskTemplateRequest {
        name: name.into(),
        task: Some(task),
        schedule,
    };
    let response = client(team)
        .await
        .create_task_template(authorized(request, token))
        .await?;
    Ok(response.into_inner().template.expect("template"))
}

pub async fn get(team: &Team, token: &str, id: &str) -> Result<pb::TaskTemplate, Status> {
    let request = pb::GetTaskTemplateRequest {
        template_id: id.into(),
    };
    let response = client(team)
        .await
        .get_task_template(authorized(request, token))
        .await?;
    Ok(response.into_inner().template.expect("template"))
}

/// The tasks made from `template`, by occurrence index then creation, straight from the
/// database: (id, occurrence_index, scheduled_for, previous, next).
pub async fn made(db: &Client, template: &str) -> Vec<Made> {
    let id: uuid::Uuid = template.parse().expect("uuid");
    db.query(
        "SELECT id, occurrence_index, scheduled_for, series_previous_id, series_next_id \
         FROM tasks WHERE template_id = $1 ORDER BY occurrence_index, created_at",
        &[&id],
    )
    .await
    .expect("tasks")
    .into_iter()
    .map(|row| Made {
        id: row.get(0),
        index: row.get(1),
        scheduled_for: row.get(2),
        previous: row.get(3),
        next: row.get(4),
    })
    .collect()
}

/// A task a template made, as the database holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    pub id: uuid::Uuid,
    pub index: Option<i32>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub previous: Option<uuid::Uuid>,
    pub next: Option<uuid::Uuid>,
}

/// Waits until `template` has made `count` tasks (or fails after `within`).
pub async fn wait_for_made(
    db: &Client,
    template: &str,
    count: usize,
    within: Duration,
) -> Vec<Made> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let made = made(db, template).await;
        if made.len() >= count {
            return made;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {count} tasks made after {within:?}",
            made.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The team's database, for what tests read and set directly.
pub async fn database(team: &Team) -> Client {
    connect(&team.app.db.url()).await
}

pub fn instant(t: &prost_types::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("instant")
}

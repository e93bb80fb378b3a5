//! `docket.v1.AssignmentService`: proto ↔ domain for assignments.

use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{
    caller, connection,
    directory::user_to_proto,
    page, parse_id, pb,
    tasks::convert::{body_formats, summary_to_proto, task_to_proto},
    timestamp,
};
use crate::{
    db::{
        PgPool,
        assignment_list::{MyAssignmentSort, TaskAssignmentSort},
        assignments::AssignmentRow,
        users::User,
    },
    domain::{
        assignments::{self, Created, NewRecipient, list},
        tasks::DistributionKind,
    },
    error::{ApiError, FieldViolation},
};

type ItemStream<T> = std::pin::Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

pub struct AssignmentApi {
    pool: PgPool,
}

impl AssignmentApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[tonic::async_trait]
impl pb::assignment_service_server::AssignmentService for AssignmentApi {
    type ListMyAssignmentsStream = ItemStream<pb::ListMyAssignmentsResponse>;
    type ListTaskAssignmentsStream = ItemStream<pb::ListTaskAssignmentsResponse>;

    async fn list_my_assignments(
        &self,
        request: Request<pb::ListMyAssignmentsRequest>,
    ) -> Result<Response<Self::ListMyAssignmentsStream>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let mut violations = Vec::new();
        let kinds = distribution_kinds(&body.distribution_kinds, &mut violations);
        let progress = progress_statuses(&body.progress_statuses, &mut violations);
        let sort = match pb::MyAssignmentSort::try_from(body.sort) {
            Ok(pb::MyAssignmentSort::Unspecified | pb::MyAssignmentSort::CreatedAtDesc) => {
                MyAssignmentSort::CreatedAt { descending: true }
            }
            Ok(pb::MyAssignmentSort::CreatedAtAsc) => {
                MyAssignmentSort::CreatedAt { descending: false }
            }
            Ok(pb::MyAssignmentSort::UpdatedAtAsc) => {
                MyAssignmentSort::UpdatedAt { descending: false }
            }
            Ok(pb::MyAssignmentSort::UpdatedAtDesc) => {
                MyAssignmentSort::UpdatedAt { descending: true }
            }
            Err(_) => {
                violations.push(unknown("sort", body.sort));
                MyAssignmentSort::CreatedAt { descending: true }
            }
        };
        let formats = body_formats(&body.body_formats).map_err(|v| violations.push(v));
        let page = page(&body.page_cursor, body.page_limit).map_err(|v| violations.push(v));
        let (Ok(formats), Ok(page), true) = (formats, page, violations.is_empty()) else {
            return Err(ApiError::Validation(violations).into());
        };
        let items =
            list::list_mine(self.pool.clone(), caller, &kinds, &progress, sort, page).await?;
        let messages = items.map(move |item| {
            let (assignment, task, cursor) = item?;
            Ok(pb::ListMyAssignmentsResponse {
                assignment: Some(assignment_to_proto(assignment, None)),
                task: Some(task_to_proto(task, &formats)),
                cursor,
            })
        });
        Ok(Response::new(Box::pin(messages)))
    }

    async fn list_task_assignments(
        &self,
        request: Request<pb::ListTaskAssignmentsRequest>,
    ) -> Result<Response<Self::ListTaskAssignmentsStream>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let mut violations = Vec::new();
        let task_id = parse_id("task_id", &body.task_id).map_err(|v| violations.push(v));
        let progress = progress_statuses(&body.progress_statuses, &mut violations);
        let mut embed_user = false;
        for (index, value) in body.embed.iter().enumerate() {
            match pb::AssignmentEmbed::try_from(*value) {
                Ok(pb::AssignmentEmbed::User) => embed_user = true,
                _ => violations.push(unknown(&format!("embed[{index}]"), *value)),
            }
        }
        use TaskAssignmentSort::*;
        let sort = match pb::TaskAssignmentSort::try_from(body.sort) {
            Ok(pb::TaskAssignmentSort::LastnameAsc) => LastName { descending: false },
            Ok(pb::TaskAssignmentSort::LastnameDesc) => LastName { descending: true },
            Ok(pb::TaskAssignmentSort::FirstnameAsc) => FirstName { descending: false },
            Ok(pb::TaskAssignmentSort::FirstnameDesc) => FirstName { descending: true },
            Ok(pb::TaskAssignmentSort::Unspecified | pb::TaskAssignmentSort::CreatedAtAsc) => {
                CreatedAt { descending: false }
            }
            Ok(pb::TaskAssignmentSort::CreatedAtDesc) => CreatedAt { descending: true },
            Err(_) => {
                violations.push(unknown("sort", body.sort));
                CreatedAt { descending: false }
            }
        };
        let page = page(&body.page_cursor, body.page_limit).map_err(|v| violations.push(v));
        let (Ok(task_id), Ok(page), true) = (task_id, page, violations.is_empty()) else {
            return Err(ApiError::Validation(violations).into());
        };
        let items =
            list::list_for_task(self.pool.clone(), caller, task_id, &progress, sort, page).await?;
        let messages = items.map(move |item| {
            let (assignment, user, cursor) = item?;
            Ok(pb::ListTaskAssignmentsResponse {
                assignment: Some(assignment_to_proto(assignment, embed_user.then_some(user))),
                cursor,
            })
        });
        Ok(Response::new(Box::pin(messages)))
    }

    async fn create_assignment(
        &self,
        request: Request<pb::CreateAssignmentRequest>,
    ) -> Result<Response<pb::CreateAssignmentResponse>, Status> {
        use pb::create_assignment_request::Recipient;
        let caller = caller(&request)?;
        let body = request.get_ref();
        let mut violations = Vec::new();
        let task_id = parse_id("task_id", &body.task_id).map_err(|v| violations.push(v));
        let recipient = match &body.recipient {
            Some(Recipient::UserId(id)) => parse_id("user_id", id).map(NewRecipient::User),
            Some(Recipient::ChannelId(id)) => parse_id("channel_id", id).map(NewRecipient::Channel),
            None => Err(FieldViolation::new(
                "user_id",
                "name the recipient: user_id or channel_id",
            )),
        }
        .map_err(|v| violations.push(v));
        let (Ok(task_id), Ok(recipient)) = (task_id, recipient) else {
            return Err(ApiError::Validation(violations).into());
        };
        let created = assignments::create(
            &mut *connection(&self.pool).await?,
            caller,
            task_id,
            recipient,
        )
        .await?;
        let (created, assignments, assignment_summary) = created_to_proto(created);
        Ok(Response::new(pb::CreateAssignmentResponse {
            created,
            assignments,
            assignment_summary,
        }))
    }

    async fn batch_create_assignments(
        &self,
        request: Request<pb::BatchCreateAssignmentsRequest>,
    ) -> Result<Response<pb::BatchCreateAssignmentsResponse>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let (task_id, user_ids) = task_and_ids(&body.task_id, "user_ids", &body.user_ids)?;
        let created = assignments::batch_create(
            &mut *connection(&self.pool).await?,
            caller,
            task_id,
            user_ids,
        )
        .await?;
        let (created, assignments, assignment_summary) = created_to_proto(created);
        Ok(Response::new(pb::BatchCreateAssignmentsResponse {
            created,
            assignments,
            assignment_summary,
        }))
    }

    async fn delete_assignment(
        &self,
        request: Request<pb::DeleteAssignmentRequest>,
    ) -> Result<Response<pb::DeleteAssignmentResponse>, Status> {
        let caller = caller(&request)?;
        let id = assignment_id(&request.get_ref().assignment_id)?;
        let summary = assignments::delete(&mut *connection(&self.pool).await?, caller, id).await?;
        Ok(Response::new(pb::DeleteAssignmentResponse {
            assignment_summary: Some(summary_to_proto(summary)),
        }))
    }

    async fn batch_delete_assignments(
        &self,
        request: Request<pb::BatchDeleteAssignmentsRequest>,
    ) -> Result<Response<pb::BatchDeleteAssignmentsResponse>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let (task_id, ids) = task_and_ids(&body.task_id, "assignment_ids", &body.assignment_ids)?;
        let summary =
            assignments::batch_delete(&mut *connection(&self.pool).await?, caller, task_id, ids)
                .await?;
        Ok(Response::new(pb::BatchDeleteAssignmentsResponse {
            assignment_summary: Some(summary_to_proto(summary)),
        }))
    }

    async fn finish_assignment(
        &self,
        request: Request<pb::FinishAssignmentRequest>,
    ) -> Result<Response<pb::FinishAssignmentResponse>, Status> {
        let caller = caller(&request)?;
        let id = assignment_id(&request.get_ref().assignment_id)?;
        let (assignment, summary) =
            assignments::finish(&mut *connection(&self.pool).await?, caller, id).await?;
        Ok(Response::new(pb::FinishAssignmentResponse {
            assignment: Some(assignment_to_proto(assignment, None)),
            assignment_summary: Some(summary_to_proto(summary)),
        }))
    }

    async fn open_assignment(
        &self,
        request: Request<pb::OpenAssignmentRequest>,
    ) -> Result<Response<pb::OpenAssignmentResponse>, Status> {
        let caller = caller(&request)?;
        let id = assignment_id(&request.get_ref().assignment_id)?;
        let (assignment, summary) =
            assignments::open(&mut *connection(&self.pool).await?, caller, id).await?;
        Ok(Response::new(pb::OpenAssignmentResponse {
            assignment: Some(assignment_to_proto(assignment, None)),
            assignment_summary: Some(summary_to_proto(summary)),
        }))
    }

    async fn get_my_assignments_summary(
        &self,
        request: Request<pb::GetMyAssignmentsSummaryRequest>,
    ) -> Result<Response<pb::GetMyAssignmentsSummaryResponse>, Status> {
        let caller = caller(&request)?;
        let mut violations = Vec::new();
        let kinds = distribution_kinds(&request.get_ref().distribution_kinds, &mut violations);
        if !violations.is_empty() {
            return Err(ApiError::Validation(violations).into());
        }
        let summary = list::my_summary(&mut *connection(&self.pool).await?, caller, &kinds).await?;
        Ok(Response::new(pb::GetMyAssignmentsSummaryResponse {
            assignment_summary: Some(summary_to_proto(summary)),
        }))
    }

    async fn get_task_assignments_summary(
        &self,
        request: Request<pb::GetTaskAssignmentsSummaryRequest>,
    ) -> Result<Response<pb::GetTaskAssignmentsSummaryResponse>, Status> {
        let caller = caller(&request)?;
        let task_id = parse_id("task_id", &request.get_ref().task_id)
            .map_err(|v| Status::from(ApiError::Validation(vec![v])))?;
        let summary =
            assignments::task_summary(&mut *connection(&self.pool).await?, caller, task_id).await?;
        Ok(Response::new(pb::GetTaskAssignmentsSummaryResponse {
            assignment_summary: Some(summary_to_proto(summary)),
        }))
    }
}

fn assignment_to_proto(row: AssignmentRow, recipient: Option<User>) -> pb::Assignment {
    pb::Assignment {
        id: row.id.to_string(),
        task_id: row.task_id.to_string(),
        user_id: row.user_id.to_string(),
        progress_status: match row.progress_status.as_str() {
            "NEW" => pb::ProgressStatus::New,
            "OPEN" => pb::ProgressStatus::Open,
            _ => pb::ProgressStatus::Finished,
        } as i32,
        via_channel_id: row
            .via_channel_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
        finished_at: row.finished_at.map(timestamp),
        recipient: recipient.map(user_to_proto),
    }
}

/// The parts of a create response.
fn created_to_proto(
    created: Created,
) -> (bool, Vec<pb::Assignment>, Option<pb::AssignmentSummary>) {
    (
        created.created,
        created
            .assignments
            .into_iter()
            .map(|a| assignment_to_proto(a, None))
            .collect(),
        Some(summary_to_proto(created.summary)),
    )
}

fn unknown(field: &str, value: i32) -> FieldViolation {
    FieldViolation::new(field, format!("unknown value {value}"))
}

/// Distribution kinds as numbers; an unknown number is a violation, a known but meaningless kind
/// (DISTRIBUTED, UNSPECIFIED) is left to the domain, which answers DISTRIBUTION_KIND_UNDEFINED.
fn distribution_kinds(
    values: &[i32],
    violations: &mut Vec<FieldViolation>,
) -> Vec<DistributionKind> {
    let mut kinds = Vec::new();
    for (index, value) in values.iter().enumerate() {
        match pb::DistributionKind::try_from(*value) {
            Ok(pb::DistributionKind::Received) => kinds.push(DistributionKind::Received),
            Ok(pb::DistributionKind::Personal) => kinds.push(DistributionKind::Personal),
            Ok(pb::DistributionKind::Distributed | pb::DistributionKind::Unspecified) => {
                kinds.push(DistributionKind::Distributed)
            }
            Err(_) => violations.push(unknown(&format!("distribution_kinds[{index}]"), *value)),
        }
    }
    kinds
}

fn progress_statuses(values: &[i32], violations: &mut Vec<FieldViolation>) -> Vec<&'static str> {
    let mut statuses = Vec::new();
    for (index, value) in values.iter().enumerate() {
        match pb::ProgressStatus::try_from(*value) {
            Ok(pb::ProgressStatus::New) => statuses.push("NEW"),
            Ok(pb::ProgressStatus::Open) => statuses.push("OPEN"),
            Ok(pb::ProgressStatus::Finished) => statuses.push("FINISHED"),
            _ => violations.push(unknown(&format!("progress_statuses[{index}]"), *value)),
        }
    }
    statuses
}

fn assignment_id(text: &str) -> Result<Uuid, Status> {
    parse_id("assignment_id", text).map_err(|v| ApiError::Validation(vec![v]).into())
}

/// A task id and a list of ids, every bad one named.
fn task_and_ids(task_id: &str, field: &str, ids: &[String]) -> Result<(Uuid, Vec<Uuid>), Status> {
    let mut violations = Vec::new();
    let task_id = parse_id("task_id", task_id).map_err(|v| violations.push(v));
    let ids: Vec<Uuid> = ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            parse_id(&format!("{field}[{i}]"), id)
                .map_err(|v| violations.push(v))
                .ok()
        })
        .collect();
    match task_id {
        Ok(task_id) if violations.is_empty() => Ok((task_id, ids)),
        _ => Err(ApiError::Validation(violations).into()),
    }
}

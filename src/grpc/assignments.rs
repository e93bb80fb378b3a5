//! `docket.v1.AssignmentService`: proto ↔ domain for assignments. Each handler parses its request
//! (`requests`), calls the domain, and converts the result.

mod requests;

use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use requests::{ListForTask, ListMine};

use super::{
    caller,
    directory::user_to_proto,
    parse::parse,
    pb,
    tasks::convert::{summary_to_proto, task_to_proto},
    timestamp,
};
use crate::domain::records::{Assignment, User};
use crate::{
    app::App,
    domain::assignments::{self, Created, list},
};

type ItemStream<T> = std::pin::Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

pub struct AssignmentApi {
    app: App,
}

impl AssignmentApi {
    pub fn new(app: App) -> Self {
        Self { app }
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
        let ListMine {
            kinds,
            progress,
            snoozed,
            sort,
            formats,
            page,
        } = parse(request.get_ref())?;
        let caller = caller(&request)?;
        let pool = self.app.pool();
        let items = list::list_mine(pool, caller, &kinds, &progress, snoozed, sort, page).await?;
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
        let ListForTask {
            task_id,
            progress,
            embed_user,
            sort,
            page,
        } = parse(request.get_ref())?;
        let caller = caller(&request)?;
        let items =
            list::list_for_task(self.app.pool(), caller, task_id, &progress, sort, page).await?;
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
        let (task_id, recipient) = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let created = assignments::create(&mut conn, caller(&request)?, task_id, recipient).await?;
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
        let (task_id, users) = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let created =
            assignments::batch_create(&mut conn, caller(&request)?, task_id, users).await?;
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
        let id = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let summary = assignments::delete(&mut conn, caller(&request)?, id).await?;
        Ok(Response::new(pb::DeleteAssignmentResponse {
            assignment_summary: Some(summary_to_proto(summary)),
        }))
    }

    async fn batch_delete_assignments(
        &self,
        request: Request<pb::BatchDeleteAssignmentsRequest>,
    ) -> Result<Response<pb::BatchDeleteAssignmentsResponse>, Status> {
        let (task_id, ids) = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let summary = assignments::batch_delete(&mut conn, caller(&request)?, task_id, ids).await?;
        Ok(Response::new(pb::BatchDeleteAssignmentsResponse {
            assignment_summary: Some(summary_to_proto(summary)),
        }))
    }

    async fn finish_assignment(
        &self,
        request: Request<pb::FinishAssignmentRequest>,
    ) -> Result<Response<pb::FinishAssignmentResponse>, Status> {
        let id = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let (assignment, summary) = assignments::finish(&mut conn, caller(&request)?, id).await?;
        Ok(Response::new(pb::FinishAssignmentResponse {
            assignment: Some(assignment_to_proto(assignment, None)),
            assignment_summary: Some(summary_to_proto(summary)),
        }))
    }

    async fn open_assignment(
        &self,
        request: Request<pb::OpenAssignmentRequest>,
    ) -> Result<Response<pb::OpenAssignmentResponse>, Status> {
        let id = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let (assignment, summary) = assignments::open(&mut conn, caller(&request)?, id).await?;
        Ok(Response::new(pb::OpenAssignmentResponse {
            assignment: Some(assignment_to_proto(assignment, None)),
            assignment_summary: Some(summary_to_proto(summary)),
        }))
    }

    async fn get_my_assignments_summary(
        &self,
        request: Request<pb::GetMyAssignmentsSummaryRequest>,
    ) -> Result<Response<pb::GetMyAssignmentsSummaryResponse>, Status> {
        let kinds = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let summary = list::my_summary(&mut conn, caller(&request)?, &kinds).await?;
        Ok(Response::new(pb::GetMyAssignmentsSummaryResponse {
            assignment_summary: Some(summary_to_proto(summary)),
        }))
    }

    async fn get_task_assignments_summary(
        &self,
        request: Request<pb::GetTaskAssignmentsSummaryRequest>,
    ) -> Result<Response<pb::GetTaskAssignmentsSummaryResponse>, Status> {
        let task_id = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let summary = assignments::task_summary(&mut conn, caller(&request)?, task_id).await?;
        Ok(Response::new(pb::GetTaskAssignmentsSummaryResponse {
            assignment_summary: Some(summary_to_proto(summary)),
        }))
    }
}

fn assignment_to_proto(row: Assignment, recipient: Option<User>) -> pb::Assignment {
    pb::Assignment {
        id: row.id.to_string(),
        task_id: row.task_id.to_string(),
        user_id: row.user_id.to_string(),
        progress_status: pb::ProgressStatus::from(row.progress_status) as i32,
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

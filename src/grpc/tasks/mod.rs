//! `docket.v1.TaskService`: proto ↔ domain for tasks.

pub(crate) mod convert;
mod list;

use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use convert::{
    body_formats, draft, outcome, patch_as_create, payload_hash, task_and_formats, task_to_proto,
};

use super::{caller, connection, page, parse_id, pb};
use crate::{
    auth::Caller,
    db::PgPool,
    domain::tasks::{
        self, CreateRequest, MAX_REASON_CHARS, Move, MoveDetails, NewTask, ReassignScope,
        TaskChanges, TaskField,
    },
    error::{ApiError, FieldViolation},
};

const MAX_REQUEST_ID_CHARS: usize = 200;

pub struct TaskApi {
    pool: PgPool,
}

impl TaskApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[tonic::async_trait]
impl pb::task_service_server::TaskService for TaskApi {
    async fn create_task(
        &self,
        request: Request<pb::CreateTaskRequest>,
    ) -> Result<Response<pb::CreateTaskResponse>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let (draft, mut violations) = draft(body);
        let formats = body_formats(&body.body_formats).map_err(|v| violations.push(v));
        if body.request_id.chars().count() > MAX_REQUEST_ID_CHARS {
            violations.push(FieldViolation::new(
                "request_id",
                format!("at most {MAX_REQUEST_ID_CHARS} characters"),
            ));
        }
        let task = NewTask::check(draft).map_err(|more| violations.extend(more));
        let (Ok(task), Ok(formats), true) = (task, formats, violations.is_empty()) else {
            return Err(ApiError::Validation(violations).into());
        };
        let idempotency = (!body.request_id.is_empty()).then(|| CreateRequest {
            request_id: &body.request_id,
            payload_hash: payload_hash(body),
        });
        let view = tasks::create(
            &mut *connection(&self.pool).await?,
            caller,
            task,
            idempotency,
        )
        .await?;
        Ok(Response::new(pb::CreateTaskResponse {
            task: Some(task_to_proto(view, &formats)),
        }))
    }

    async fn get_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::GetTaskResponse>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let (id, formats) = task_and_formats(&body.task_id, &body.body_formats, Vec::new())?;
        let view = tasks::get(&mut *connection(&self.pool).await?, caller, id).await?;
        Ok(Response::new(pb::GetTaskResponse {
            task: Some(task_to_proto(view, &formats)),
        }))
    }

    type ListTasksStream =
        std::pin::Pin<Box<dyn Stream<Item = Result<pb::ListTasksResponse, Status>> + Send>>;

    async fn list_tasks(
        &self,
        request: Request<pb::ListTasksRequest>,
    ) -> Result<Response<Self::ListTasksStream>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let mut violations = Vec::new();
        let sort = list::sort(body.sort).map_err(|v| violations.push(v));
        let formats = body_formats(&body.body_formats).map_err(|v| violations.push(v));
        let page = page(&body.page_cursor, body.page_limit).map_err(|v| violations.push(v));
        let query =
            list::task_query(&list::filters_of(body), violations).map_err(ApiError::Validation)?;
        let (Ok(sort), Ok(formats), Ok(page)) = (sort, formats, page) else {
            return Err(ApiError::internal("unreported violations").into());
        };
        let tasks = tasks::list::list(self.pool.clone(), caller, &query, sort, page)?;
        let messages = tasks.map(move |item| {
            let (view, cursor) = item?;
            Ok(pb::ListTasksResponse {
                task: Some(task_to_proto(view, &formats)),
                cursor,
            })
        });
        Ok(Response::new(Box::pin(messages)))
    }

    async fn count_tasks(
        &self,
        request: Request<pb::CountTasksRequest>,
    ) -> Result<Response<pb::CountTasksResponse>, Status> {
        let caller = caller(&request)?;
        let query =
            list::task_query(request.get_ref(), Vec::new()).map_err(ApiError::Validation)?;
        let count = tasks::list::count(&mut *connection(&self.pool).await?, caller, &query).await?;
        Ok(Response::new(pb::CountTasksResponse { count }))
    }

    async fn update_task(
        &self,
        request: Request<pb::UpdateTaskRequest>,
    ) -> Result<Response<pb::UpdateTaskResponse>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let mut violations = Vec::new();
        let paths = body
            .update_mask
            .as_ref()
            .map(|mask| mask.paths.as_slice())
            .unwrap_or_default();
        if paths.is_empty() {
            violations.push(FieldViolation::new(
                "update_mask",
                "name the fields to change, e.g. title",
            ));
        }
        let mut fields = Vec::new();
        for (index, path) in paths.iter().enumerate() {
            match TaskField::parse(path) {
                Some(field) => fields.push(field),
                None => violations.push(FieldViolation::new(
                    format!("update_mask.paths[{index}]"),
                    format!("{path:?} is not a field of TaskPatch"),
                )),
            }
        }
        let patch = patch_as_create(&body.task.clone().unwrap_or_default());
        let (draft, draft_violations) = draft(&patch);
        // Only the fields being changed need to be valid.
        let names_changed = |violation: &FieldViolation| {
            fields.iter().any(|field| {
                let path = field.path();
                violation.field == path
                    || violation.field.starts_with(&format!("{path}."))
                    || violation.field.starts_with(&format!("{path}["))
            })
        };
        violations.extend(draft_violations.into_iter().filter(names_changed));
        let changes = TaskChanges::check(draft, &fields).map_err(|more| violations.extend(more));
        let (id, formats) = task_and_formats(&body.task_id, &body.body_formats, violations)?;
        let changes =
            changes.map_err(|()| Status::from(ApiError::internal("unreported violations")))?;
        let etag = (!body.etag.is_empty()).then_some(body.etag.as_str());
        let view = tasks::update(
            &mut *connection(&self.pool).await?,
            caller,
            id,
            changes,
            etag,
        )
        .await?;
        Ok(Response::new(pb::UpdateTaskResponse {
            task: Some(task_to_proto(view, &formats)),
        }))
    }

    async fn reassign_task(
        &self,
        request: Request<pb::ReassignTaskRequest>,
    ) -> Result<Response<pb::ReassignTaskResponse>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let mut violations = Vec::new();
        let assignee =
            parse_id("assignee_user_id", &body.assignee_user_id).map_err(|v| violations.push(v));
        let scope = match pb::ReassignScope::try_from(body.scope) {
            Ok(pb::ReassignScope::Unspecified | pb::ReassignScope::Task) => Ok(ReassignScope::Task),
            Ok(pb::ReassignScope::Sequence) => Ok(ReassignScope::Sequence),
            Err(_) => {
                violations.push(FieldViolation::new(
                    "scope",
                    format!("unknown value {}", body.scope),
                ));
                Err(())
            }
        };
        let (id, formats) = task_and_formats(&body.task_id, &body.body_formats, violations)?;
        let (Ok(assignee), Ok(scope)) = (assignee, scope) else {
            return Err(ApiError::internal("unreported violations").into());
        };
        let changed = tasks::reassign(
            &mut *connection(&self.pool).await?,
            caller,
            id,
            assignee,
            scope,
        )
        .await?;
        let tasks = changed
            .into_iter()
            .map(|view| task_to_proto(view, &formats))
            .collect();
        Ok(Response::new(pb::ReassignTaskResponse { tasks }))
    }

    async fn delete_task(
        &self,
        request: Request<pb::DeleteTaskRequest>,
    ) -> Result<Response<pb::DeleteTaskResponse>, Status> {
        let caller = caller(&request)?;
        let id = parse_id("task_id", &request.get_ref().task_id)
            .map_err(|v| Status::from(ApiError::Validation(vec![v])))?;
        tasks::delete(&mut *connection(&self.pool).await?, caller, id).await?;
        Ok(Response::new(pb::DeleteTaskResponse {}))
    }

    async fn start_task(
        &self,
        request: Request<pb::StartTaskRequest>,
    ) -> Result<Response<pb::StartTaskResponse>, Status> {
        let body = request.get_ref();
        let task = self
            .lifecycle(
                caller(&request)?,
                &body.task_id,
                &body.body_formats,
                Move::Start,
                Ok(Default::default()),
            )
            .await?;
        Ok(Response::new(pb::StartTaskResponse { task: Some(task) }))
    }

    async fn submit_task_for_review(
        &self,
        request: Request<pb::SubmitTaskForReviewRequest>,
    ) -> Result<Response<pb::SubmitTaskForReviewResponse>, Status> {
        let body = request.get_ref();
        let action = Move::SubmitForReview;
        let task = self
            .lifecycle(
                caller(&request)?,
                &body.task_id,
                &body.body_formats,
                action,
                Ok(Default::default()),
            )
            .await?;
        Ok(Response::new(pb::SubmitTaskForReviewResponse {
            task: Some(task),
        }))
    }

    async fn complete_task(
        &self,
        request: Request<pb::CompleteTaskRequest>,
    ) -> Result<Response<pb::CompleteTaskResponse>, Status> {
        let body = request.get_ref();
        let details = outcome(body.outcome.as_ref());
        let task = self
            .lifecycle(
                caller(&request)?,
                &body.task_id,
                &body.body_formats,
                Move::Complete,
                details,
            )
            .await?;
        Ok(Response::new(pb::CompleteTaskResponse { task: Some(task) }))
    }

    async fn skip_task(
        &self,
        request: Request<pb::SkipTaskRequest>,
    ) -> Result<Response<pb::SkipTaskResponse>, Status> {
        let body = request.get_ref();
        let task = self
            .lifecycle(
                caller(&request)?,
                &body.task_id,
                &body.body_formats,
                Move::Skip,
                Ok(Default::default()),
            )
            .await?;
        Ok(Response::new(pb::SkipTaskResponse { task: Some(task) }))
    }

    async fn cancel_task(
        &self,
        request: Request<pb::CancelTaskRequest>,
    ) -> Result<Response<pb::CancelTaskResponse>, Status> {
        let body = request.get_ref();
        let task = self
            .lifecycle(
                caller(&request)?,
                &body.task_id,
                &body.body_formats,
                Move::Cancel,
                Ok(Default::default()),
            )
            .await?;
        Ok(Response::new(pb::CancelTaskResponse { task: Some(task) }))
    }

    async fn reopen_task(
        &self,
        request: Request<pb::ReopenTaskRequest>,
    ) -> Result<Response<pb::ReopenTaskResponse>, Status> {
        let body = request.get_ref();
        let reason = body.reason.trim();
        let details = if reason.chars().count() > MAX_REASON_CHARS {
            Err(vec![FieldViolation::new(
                "reason",
                format!("at most {MAX_REASON_CHARS} characters"),
            )])
        } else {
            Ok(MoveDetails {
                reopen_reason: reason.to_owned(),
                ..Default::default()
            })
        };
        let task = self
            .lifecycle(
                caller(&request)?,
                &body.task_id,
                &body.body_formats,
                Move::Reopen,
                details,
            )
            .await?;
        Ok(Response::new(pb::ReopenTaskResponse { task: Some(task) }))
    }
}

impl TaskApi {
    /// One lifecycle move: the shared parsing, the transition, the task as the caller sees it.
    async fn lifecycle(
        &self,
        caller: &Caller,
        task_id: &str,
        formats: &[i32],
        action: Move,
        details: Result<MoveDetails, Vec<FieldViolation>>,
    ) -> Result<pb::Task, Status> {
        let (details, violations) = match details {
            Ok(details) => (details, Vec::new()),
            Err(violations) => (MoveDetails::default(), violations),
        };
        let (id, formats) = task_and_formats(task_id, formats, violations)?;
        let view = tasks::transition(
            &mut *connection(&self.pool).await?,
            caller,
            id,
            action,
            details,
        )
        .await?;
        Ok(task_to_proto(view, &formats))
    }
}

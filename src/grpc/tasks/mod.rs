//! `docket.v1.TaskService`: proto ↔ domain for tasks. Each handler parses its request
//! (`requests`), calls the domain, and converts the result (`convert`).

pub(crate) mod convert;
pub(crate) mod events;
mod list_requests;
mod reminders;
pub(crate) mod requests;
mod schedule;

use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use convert::task_to_proto;
use list_requests::ListTasks;
use requests::{
    CompleteTask, CreateTask, LifecycleMove, OneTask, ReassignTask, TaskHistory, UpdateTask,
};
use schedule::timer_to_proto;

use super::{caller, parse::parse, pb, reauthorize::AlsoNeeds};
use crate::{
    app::App,
    auth::{Caller, Scope},
    domain::{
        tasks::{self, Move},
        timers::{self, snooze},
    },
    events::watch::{self, WatchScope},
};

pub struct TaskApi {
    app: App,
}

impl TaskApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }

    /// One lifecycle move: the transition, then the task as the caller sees it.
    async fn lifecycle(
        &self,
        caller: &Caller,
        LifecycleMove { task, details }: LifecycleMove,
        action: Move,
    ) -> Result<Option<pb::Task>, Status> {
        let mut conn = self.app.connection().await?;
        let view = tasks::transition(&mut conn, caller, task.task_id, action, details).await?;
        Ok(Some(task_to_proto(view, &task.formats)))
    }
}

#[tonic::async_trait]
impl pb::task_service_server::TaskService for TaskApi {
    async fn create_task(
        &self,
        request: Request<pb::CreateTaskRequest>,
    ) -> Result<Response<pb::CreateTaskResponse>, Status> {
        let CreateTask {
            task,
            request: idempotency,
            formats,
        } = parse(request.get_ref())?;
        let view = tasks::create(&self.app.db, caller(&request)?, task, idempotency).await?;
        Ok(Response::new(pb::CreateTaskResponse {
            task: Some(task_to_proto(view, &formats)),
        }))
    }

    async fn get_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::GetTaskResponse>, Status> {
        let OneTask { task_id, formats } = parse(request.get_ref())?;
        let view = tasks::get(&self.app.db, caller(&request)?, task_id).await?;
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
        let ListTasks {
            query,
            sort,
            page,
            formats,
        } = parse(request.get_ref())?;
        let pool = self.app.pool();
        let watch_position = watch::now(&pool, caller(&request)?.workspace_id)
            .await?
            .to_string();
        let listed = tasks::list::list(pool, caller(&request)?, &query, sort, page, &formats)?;
        let messages = listed.map(move |item| {
            let (view, cursor) = item?;
            Ok(pb::ListTasksResponse {
                task: Some(task_to_proto(view, &formats)),
                cursor,
                watch_position: watch_position.clone(),
            })
        });
        Ok(Response::new(Box::pin(messages)))
    }

    async fn count_tasks(
        &self,
        request: Request<pb::CountTasksRequest>,
    ) -> Result<Response<pb::CountTasksResponse>, Status> {
        let query = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let count = tasks::list::count(&mut conn, caller(&request)?, &query).await?;
        Ok(Response::new(pb::CountTasksResponse { count }))
    }

    async fn update_task(
        &self,
        request: Request<pb::UpdateTaskRequest>,
    ) -> Result<Response<pb::UpdateTaskResponse>, Status> {
        let UpdateTask {
            task,
            changes,
            etag,
        } = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let caller = caller(&request)?;
        let view = tasks::update(&mut conn, caller, task.task_id, changes, etag.as_deref()).await?;
        Ok(Response::new(pb::UpdateTaskResponse {
            task: Some(task_to_proto(view, &task.formats)),
        }))
    }

    async fn reassign_task(
        &self,
        request: Request<pb::ReassignTaskRequest>,
    ) -> Result<Response<pb::ReassignTaskResponse>, Status> {
        let ReassignTask {
            task,
            assignee,
            scope,
        } = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let caller = caller(&request)?;
        let changed = tasks::reassign(&mut conn, caller, task.task_id, assignee, scope).await?;
        let tasks = changed
            .into_iter()
            .map(|view| task_to_proto(view, &task.formats))
            .collect();
        Ok(Response::new(pb::ReassignTaskResponse { tasks }))
    }

    async fn delete_task(
        &self,
        request: Request<pb::DeleteTaskRequest>,
    ) -> Result<Response<pb::DeleteTaskResponse>, Status> {
        let task_id = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        tasks::delete(&mut conn, caller(&request)?, task_id).await?;
        Ok(Response::new(pb::DeleteTaskResponse {}))
    }

    type ListTaskEventsStream =
        std::pin::Pin<Box<dyn Stream<Item = Result<pb::ListTaskEventsResponse, Status>> + Send>>;

    async fn list_task_events(
        &self,
        request: Request<pb::ListTaskEventsRequest>,
    ) -> Result<Response<Self::ListTaskEventsStream>, Status> {
        let TaskHistory { task_id, page } = parse(request.get_ref())?;
        let pool = self.app.pool();
        let events = tasks::history::history(pool, caller(&request)?, task_id, page).await?;
        let messages = events.map(|item| {
            let (event, cursor) = item?;
            Ok(pb::ListTaskEventsResponse {
                event: Some(events::event_to_proto(&event)),
                cursor,
            })
        });
        Ok(Response::new(Box::pin(messages)))
    }

    type WatchTasksStream =
        std::pin::Pin<Box<dyn Stream<Item = Result<pb::WatchTasksResponse, Status>> + Send>>;

    async fn watch_tasks(
        &self,
        request: Request<pb::WatchTasksRequest>,
    ) -> Result<Response<Self::WatchTasksStream>, Status> {
        let watch = parse(request.get_ref())?;
        let whole_workspace = watch.scope == WatchScope::Workspace;
        let items = watch::watch(self.app.hub.clone(), caller(&request)?, watch).await?;
        let messages = items.map(|item| Ok(events::watch_item_to_proto(item?)));
        let mut response = Response::new(Box::pin(messages) as Self::WatchTasksStream);
        if whole_workspace {
            // Re-checked while the watch runs (`reauthorize`): it ends should the scope go.
            response
                .extensions_mut()
                .insert(AlsoNeeds(Scope::WorkspaceAdmin));
        }
        Ok(response)
    }

    async fn start_task(
        &self,
        request: Request<pb::StartTaskRequest>,
    ) -> Result<Response<pb::StartTaskResponse>, Status> {
        let action = parse(request.get_ref())?;
        let task = self
            .lifecycle(caller(&request)?, action, Move::Start)
            .await?;
        Ok(Response::new(pb::StartTaskResponse { task }))
    }

    async fn submit_task_for_review(
        &self,
        request: Request<pb::SubmitTaskForReviewRequest>,
    ) -> Result<Response<pb::SubmitTaskForReviewResponse>, Status> {
        let action = parse(request.get_ref())?;
        let task = self
            .lifecycle(caller(&request)?, action, Move::SubmitForReview)
            .await?;
        Ok(Response::new(pb::SubmitTaskForReviewResponse { task }))
    }

    async fn complete_task(
        &self,
        request: Request<pb::CompleteTaskRequest>,
    ) -> Result<Response<pb::CompleteTaskResponse>, Status> {
        let CompleteTask { task, reopen } = parse(request.get_ref())?;
        let caller = caller(&request)?;
        let Some(reopen) = reopen else {
            let task = self.lifecycle(caller, task, Move::Complete).await?;
            return Ok(Response::new(pb::CompleteTaskResponse {
                task,
                scheduled_reopen: None,
            }));
        };
        let LifecycleMove { task, details } = task;
        let mut conn = self.app.connection().await?;
        let (view, timer) =
            timers::complete_then_reopen(&mut conn, caller, task.task_id, details, reopen).await?;
        Ok(Response::new(pb::CompleteTaskResponse {
            task: Some(task_to_proto(view, &task.formats)),
            scheduled_reopen: Some(timer_to_proto(timer)?),
        }))
    }

    async fn skip_task(
        &self,
        request: Request<pb::SkipTaskRequest>,
    ) -> Result<Response<pb::SkipTaskResponse>, Status> {
        let action = parse(request.get_ref())?;
        let task = self
            .lifecycle(caller(&request)?, action, Move::Skip)
            .await?;
        Ok(Response::new(pb::SkipTaskResponse { task }))
    }

    async fn cancel_task(
        &self,
        request: Request<pb::CancelTaskRequest>,
    ) -> Result<Response<pb::CancelTaskResponse>, Status> {
        let action = parse(request.get_ref())?;
        let task = self
            .lifecycle(caller(&request)?, action, Move::Cancel)
            .await?;
        Ok(Response::new(pb::CancelTaskResponse { task }))
    }

    async fn reopen_task(
        &self,
        request: Request<pb::ReopenTaskRequest>,
    ) -> Result<Response<pb::ReopenTaskResponse>, Status> {
        let action = parse(request.get_ref())?;
        let task = self
            .lifecycle(caller(&request)?, action, Move::Reopen)
            .await?;
        Ok(Response::new(pb::ReopenTaskResponse { task }))
    }

    async fn schedule_task_action(
        &self,
        request: Request<pb::ScheduleTaskActionRequest>,
    ) -> Result<Response<pb::ScheduleTaskActionResponse>, Status> {
        let schedule = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let timer = timers::schedule(&mut conn, caller(&request)?, schedule).await?;
        Ok(Response::new(pb::ScheduleTaskActionResponse {
            scheduled_action: Some(timer_to_proto(timer)?),
        }))
    }

    async fn list_scheduled_task_actions(
        &self,
        request: Request<pb::ListScheduledTaskActionsRequest>,
    ) -> Result<Response<pb::ListScheduledTaskActionsResponse>, Status> {
        let task_id = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let found = timers::list(&mut conn, caller(&request)?, task_id).await?;
        let scheduled_actions = found
            .into_iter()
            .map(timer_to_proto)
            .collect::<Result<_, _>>()?;
        Ok(Response::new(pb::ListScheduledTaskActionsResponse {
            scheduled_actions,
        }))
    }

    async fn cancel_scheduled_task_action(
        &self,
        request: Request<pb::CancelScheduledTaskActionRequest>,
    ) -> Result<Response<pb::CancelScheduledTaskActionResponse>, Status> {
        let action_id = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let timer = timers::cancel(&mut conn, caller(&request)?, action_id).await?;
        Ok(Response::new(pb::CancelScheduledTaskActionResponse {
            scheduled_action: Some(timer_to_proto(timer)?),
        }))
    }

    async fn snooze_task(
        &self,
        request: Request<pb::SnoozeTaskRequest>,
    ) -> Result<Response<pb::SnoozeTaskResponse>, Status> {
        let schedule::SnoozeTask {
            task,
            until,
            reason,
        } = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let caller = caller(&request)?;
        let view = snooze::snooze(&mut conn, caller, task.task_id, until, reason).await?;
        Ok(Response::new(pb::SnoozeTaskResponse {
            task: Some(task_to_proto(view, &task.formats)),
        }))
    }

    async fn unsnooze_task(
        &self,
        request: Request<pb::UnsnoozeTaskRequest>,
    ) -> Result<Response<pb::UnsnoozeTaskResponse>, Status> {
        let task: OneTask = parse(request.get_ref())?;
        let mut conn = self.app.connection().await?;
        let view = snooze::unsnooze(&mut conn, caller(&request)?, task.task_id).await?;
        Ok(Response::new(pb::UnsnoozeTaskResponse {
            task: Some(task_to_proto(view, &task.formats)),
        }))
    }
}

//! `docket.v1.TaskTemplateService`: proto ↔ domain for task templates. Each handler parses its
//! request (`requests`), calls the domain (`domain::templates`), and converts the result
//! (`convert`).

mod convert;
mod requests;

use chrono::Utc;
use tonic::{Request, Response, Status};

use convert::{task_request, template_to_proto};
use requests::{ControlTemplate, FromTemplate, ListTemplates, UpdateTemplate};

use super::{caller, parse::parse, pb, tasks::convert::task_to_proto};
use crate::{
    app::App,
    domain::{
        input::Violations,
        templates::{self, control},
    },
    grpc::parse::Parse,
};

pub struct TemplateApi {
    app: App,
}

impl TemplateApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }

    async fn control(
        &self,
        caller: &crate::auth::Caller,
        ControlTemplate {
            template_id,
            control,
        }: ControlTemplate,
    ) -> Result<Option<pb::TaskTemplate>, Status> {
        let view = control::apply(&self.app.db, caller, template_id, control).await?;
        Ok(Some(template_to_proto(view)))
    }
}

/// The task a CreateTaskFromTemplate asks for: the template's fields, and each field the mask
/// names from the overrides.
fn merged(
    mut task: pb::CreateTaskRequest,
    overrides: pb::CreateTaskRequest,
    paths: &[String],
) -> pb::CreateTaskRequest {
    for path in paths {
        let o = &overrides;
        match path.as_str() {
            "title" => task.title = o.title.clone(),
            "body" => task.body = o.body.clone(),
            "kind" => task.kind = o.kind.clone(),
            "priority" => task.priority = o.priority,
            "due" => task.due = o.due,
            "tags" => task.tags = o.tags.clone(),
            "linked_records" => task.linked_records = o.linked_records.clone(),
            "external_id" => task.external_id = o.external_id.clone(),
            "correlation_id" => task.correlation_id = o.correlation_id.clone(),
            "sequence_id" => task.sequence_id = o.sequence_id.clone(),
            "completion_policy" => task.completion_policy = o.completion_policy,
            "recipient_user_ids" => task.recipient_user_ids = o.recipient_user_ids.clone(),
            "recipient_channel_ids" => task.recipient_channel_ids = o.recipient_channel_ids.clone(),
            "follow_up_at" => task.follow_up_at = o.follow_up_at,
            "reminders" => task.reminders = o.reminders.clone(),
            "source_occurred_at" => task.source_occurred_at = o.source_occurred_at,
            // Refused when the request was read (requests::OVERRIDABLE).
            _ => {}
        }
    }
    task
}

#[tonic::async_trait]
impl pb::task_template_service_server::TaskTemplateService for TemplateApi {
    async fn create_task_template(
        &self,
        request: Request<pb::CreateTaskTemplateRequest>,
    ) -> Result<Response<pb::CreateTaskTemplateResponse>, Status> {
        let new = parse(request.get_ref())?;
        let view = templates::create(&self.app.db, caller(&request)?, new).await?;
        Ok(Response::new(pb::CreateTaskTemplateResponse {
            template: Some(template_to_proto(view)),
        }))
    }

    async fn get_task_template(
        &self,
        request: Request<pb::GetTaskTemplateRequest>,
    ) -> Result<Response<pb::GetTaskTemplateResponse>, Status> {
        let id = parse(request.get_ref())?;
        let view = templates::get(&self.app.db, caller(&request)?, id).await?;
        Ok(Response::new(pb::GetTaskTemplateResponse {
            template: Some(template_to_proto(view)),
        }))
    }

    async fn list_task_templates(
        &self,
        request: Request<pb::ListTaskTemplatesRequest>,
    ) -> Result<Response<pb::ListTaskTemplatesResponse>, Status> {
        let ListTemplates { after, limit } = parse(request.get_ref())?;
        let (views, more) = templates::list(&self.app.db, caller(&request)?, after, limit).await?;
        let next_page_token = match (more, views.last()) {
            (true, Some(last)) => last.id.to_string(),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListTaskTemplatesResponse {
            templates: views.into_iter().map(template_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn update_task_template(
        &self,
        request: Request<pb::UpdateTaskTemplateRequest>,
    ) -> Result<Response<pb::UpdateTaskTemplateResponse>, Status> {
        let UpdateTemplate {
            template_id,
            changes,
        } = parse(request.get_ref())?;
        let view = templates::update(&self.app.db, caller(&request)?, template_id, changes).await?;
        Ok(Response::new(pb::UpdateTaskTemplateResponse {
            template: Some(template_to_proto(view)),
        }))
    }

    async fn delete_task_template(
        &self,
        request: Request<pb::DeleteTaskTemplateRequest>,
    ) -> Result<Response<pb::DeleteTaskTemplateResponse>, Status> {
        let id = parse(request.get_ref())?;
        templates::delete(&self.app.db, caller(&request)?, id).await?;
        Ok(Response::new(pb::DeleteTaskTemplateResponse {}))
    }

    async fn create_task_from_template(
        &self,
        request: Request<pb::CreateTaskFromTemplateRequest>,
    ) -> Result<Response<pb::CreateTaskFromTemplateResponse>, Status> {
        let FromTemplate {
            template_id,
            overrides,
            paths,
            request: idempotency,
            formats,
        } = parse(request.get_ref())?;
        let caller = caller(&request)?;
        let view = templates::get(&self.app.db, caller, template_id).await?;
        let asked = merged(task_request(&view.fields, Utc::now()), overrides, &paths);
        let mut violations = Violations::default();
        let task = asked.parse(&mut violations);
        let mut named = Violations::default();
        named.nest("overrides", violations);
        let task = named
            .finish(task)?
            .ok_or_else(|| Status::internal("a task read without a reason"))?;
        let made =
            templates::make_task(&self.app.db, caller, &view, task.task, idempotency).await?;
        Ok(Response::new(pb::CreateTaskFromTemplateResponse {
            task: Some(task_to_proto(made, &formats)),
        }))
    }

    async fn pause_task_template(
        &self,
        request: Request<pb::PauseTaskTemplateRequest>,
    ) -> Result<Response<pb::PauseTaskTemplateResponse>, Status> {
        let control = parse(request.get_ref())?;
        let template = self.control(caller(&request)?, control).await?;
        Ok(Response::new(pb::PauseTaskTemplateResponse { template }))
    }

    async fn resume_task_template(
        &self,
        request: Request<pb::ResumeTaskTemplateRequest>,
    ) -> Result<Response<pb::ResumeTaskTemplateResponse>, Status> {
        let template_id = parse(request.get_ref())?;
        let control = ControlTemplate {
            template_id,
            control: control::Control::Resume,
        };
        let template = self.control(caller(&request)?, control).await?;
        Ok(Response::new(pb::ResumeTaskTemplateResponse { template }))
    }

    async fn skip_next_occurrence(
        &self,
        request: Request<pb::SkipNextOccurrenceRequest>,
    ) -> Result<Response<pb::SkipNextOccurrenceResponse>, Status> {
        let control = parse(request.get_ref())?;
        let template = self.control(caller(&request)?, control).await?;
        Ok(Response::new(pb::SkipNextOccurrenceResponse { template }))
    }

    async fn end_task_template_series(
        &self,
        request: Request<pb::EndTaskTemplateSeriesRequest>,
    ) -> Result<Response<pb::EndTaskTemplateSeriesResponse>, Status> {
        let control = parse(request.get_ref())?;
        let template = self.control(caller(&request)?, control).await?;
        Ok(Response::new(pb::EndTaskTemplateSeriesResponse {
            template,
        }))
    }
}

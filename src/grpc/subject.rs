//! What a call is about, for its errors: the ids a request names (`task_id`, `assignment_id`,
//! ...), noted when the request is parsed and put in the `ErrorInfo.metadata` of any rule's error
//! the call then fails with, so that a client handling an error in bulk code knows which task or
//! assignment it was about without keeping the request. Every request type says which of its
//! fields are ids (`subjects!`): a new request type that does not fails to compile in `parse`.

use super::pb;
use crate::call;

/// Longest id value copied into an error; longer ones are not ids Docket handed out.
const MAX_VALUE_CHARS: usize = 64;

/// The id fields of a request message.
pub(crate) trait Subject {
    /// `(field, value)` for each id field; empty values are left out by [`note`].
    fn ids(&self) -> Vec<(&'static str, &str)>;
}

macro_rules! subjects {
    ($($request:ident: $($field:ident),*;)+) => {$(
        impl Subject for pb::$request {
            fn ids(&self) -> Vec<(&'static str, &str)> {
                vec![$((stringify!($field), self.$field.as_str())),*]
            }
        }
    )+};
}

subjects! {
    CreateTaskRequest: external_id;
    GetTaskRequest: task_id;
    ListTasksRequest: ;
    CountTasksRequest: ;
    UpdateTaskRequest: task_id;
    ReassignTaskRequest: task_id, assignee_user_id;
    DeleteTaskRequest: task_id;
    ListTaskEventsRequest: task_id;
    WatchTasksRequest: ;
    StartTaskRequest: task_id;
    SubmitTaskForReviewRequest: task_id;
    CompleteTaskRequest: task_id;
    SkipTaskRequest: task_id;
    CancelTaskRequest: task_id;
    ReopenTaskRequest: task_id;
    SnoozeTaskRequest: task_id;
    UnsnoozeTaskRequest: task_id;
    ScheduleTaskActionRequest: task_id;
    ListScheduledTaskActionsRequest: task_id;
    CancelScheduledTaskActionRequest: scheduled_action_id;
    ListMyAssignmentsRequest: ;
    ListTaskAssignmentsRequest: task_id;
    CreateAssignmentRequest: task_id;
    BatchCreateAssignmentsRequest: task_id;
    DeleteAssignmentRequest: assignment_id;
    BatchDeleteAssignmentsRequest: task_id;
    FinishAssignmentRequest: assignment_id;
    OpenAssignmentRequest: assignment_id;
    GetMyAssignmentsSummaryRequest: ;
    GetTaskAssignmentsSummaryRequest: task_id;
    UpsertUserRequest: user_id;
    GetUserRequest: user_id;
    ListUsersRequest: ;
    DeactivateUserRequest: user_id;
    UpsertChannelRequest: channel_id;
    GetChannelRequest: channel_id;
    AddChannelMembersRequest: channel_id;
    RemoveChannelMembersRequest: channel_id;
    ListChannelMembersRequest: channel_id;
    GetWorkspaceRequest: ;
    UpdateWorkspaceSettingsRequest: ;
    CreateTaskTemplateRequest: ;
    GetTaskTemplateRequest: template_id;
    ListTaskTemplatesRequest: ;
    UpdateTaskTemplateRequest: template_id;
    DeleteTaskTemplateRequest: template_id;
    CreateTaskFromTemplateRequest: template_id;
    PauseTaskTemplateRequest: template_id;
    ResumeTaskTemplateRequest: template_id;
    SkipNextOccurrenceRequest: template_id;
    EndTaskTemplateSeriesRequest: template_id;
    CreateWebhookRequest: ;
    GetWebhookRequest: webhook_id;
    ListWebhooksRequest: ;
    UpdateWebhookRequest: webhook_id;
    DeleteWebhookRequest: webhook_id;
    PauseWebhookRequest: webhook_id;
    ResumeWebhookRequest: webhook_id;
    RotateWebhookSecretRequest: webhook_id;
    TestWebhookRequest: webhook_id;
    ListWebhookDeliveriesRequest: webhook_id;
    RedeliverWebhookEventRequest: webhook_id, position;
    ReplayWebhookRequest: webhook_id, start_position;
}

/// Notes the ids of the request being parsed in the call's context (nothing outside a call).
pub(crate) fn note<R: Subject>(request: &R) {
    for (field, value) in request.ids() {
        let value = value.trim();
        if !value.is_empty() && value.chars().count() <= MAX_VALUE_CHARS {
            call::note_subject(field, value.to_owned());
        }
    }
}

/// The ids noted for the current call.
pub(crate) fn current() -> Vec<(&'static str, String)> {
    call::subject()
}

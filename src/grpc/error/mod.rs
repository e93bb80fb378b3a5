//! The one place errors become `tonic::Status`: every failure a caller sees is a gRPC code plus a
//! `google.rpc.ErrorInfo` (reason from `docket.v1.ErrorReason`, domain `docket.v1`), with
//! `google.rpc.BadRequest` field violations for validation failures, kept within a byte budget so
//! every client can read them. Internal details (SQL, error chains) are logged inside the
//! request's span, which carries its request id, and never returned.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{
    auth::AuthError,
    domain::{
        DomainError, Failure,
        input::{FieldViolation, Invalid, cut},
    },
    grpc::{pb::ErrorReason, subject},
    telemetry::ErrorChain,
};

/// The `ErrorInfo.domain` of every Docket error.
pub const ERROR_DOMAIN: &str = "docket.v1";

/// Most bytes of field paths and descriptions a validation error carries in its BadRequest
/// detail; violations past it are counted, not listed. With the message's three, this keeps a
/// validation error's trailers under 6 KB whatever the request.
const MAX_LISTED_BYTES: usize = 2560;
/// Violations spelled out in the message too, and the most characters of each there.
const VIOLATIONS_IN_MESSAGE: usize = 3;
const MESSAGE_PART_CHARS: usize = 80;
/// How long a client is asked (`google.rpc.RetryInfo`) to wait before retrying a call that found
/// the database unavailable: long enough not to hammer a database that is coming back.
const UNAVAILABLE_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(1);
/// The same for a call refused because the server is at one of its capacity limits.
const OVERLOADED_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(1);
/// The same for a call that lost a race with another writer (ABORTED): read again, then retry.
const CONFLICT_RETRY_DELAY: std::time::Duration = std::time::Duration::from_millis(100);
/// The same for a watcher cut off for falling behind: resume from its last position.
const TOO_SLOW_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

/// What an RPC can fail with, as the caller will see it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed: INVALID_ARGUMENT `VALIDATION_ERROR` with the fields named.
    #[error("invalid request: {0}")]
    Validation(Invalid),
    /// The body is not the method's request message: INVALID_ARGUMENT `MALFORMED_REQUEST`.
    #[error("the request body is not a valid protobuf message for this method: {0}")]
    Malformed(String),
    /// A rule said no: the code and reason say which rule, the metadata which ids it was about.
    #[error("{message}")]
    Rejected {
        code: Code,
        reason: ErrorReason,
        message: String,
        metadata: Vec<(&'static str, String)>,
    },
    /// PostgreSQL cannot be reached; the caller may retry.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The server is at a capacity limit it sets itself: RESOURCE_EXHAUSTED `OVERLOADED`, with
    /// RetryInfo.
    #[error("overloaded: {0}")]
    Overloaded(String),
    /// Anything unexpected. The source is logged, never returned.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn rejected(code: Code, reason: ErrorReason, message: impl Into<String>) -> Self {
        Self::Rejected {
            code,
            reason,
            message: message.into(),
            metadata: Vec::new(),
        }
    }

    /// The same error, naming an id it is about in its `ErrorInfo.metadata`.
    pub fn about(mut self, key: &'static str, value: impl ToString) -> Self {
        if let Self::Rejected { metadata, .. } = &mut self {
            metadata.push((key, value.to_string()));
        }
        self
    }

    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(source.into())
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        ApiError::Validation(invalid)
    }
}

impl ApiError {
    /// A database failure the domain met, by what it means for the call.
    fn database(failure: Failure, error: Box<dyn std::error::Error + Send + Sync>) -> Self {
        match failure {
            Failure::Unavailable => ApiError::Unavailable(error),
            Failure::Overloaded => ApiError::Overloaded(error.to_string()),
            // A lost race where no rule says what it means is unexpected: logged.
            Failure::Conflict | Failure::Fault => ApiError::Internal(error),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Unauthenticated => ApiError::rejected(
                Code::Unauthenticated,
                ErrorReason::Unauthenticated,
                "missing or invalid credentials: send `authorization: Bearer <token>`",
            ),
            AuthError::MissingScope(scope) => ApiError::rejected(
                Code::PermissionDenied,
                ErrorReason::MissingScope,
                format!("this call needs the {scope} scope"),
            ),
            AuthError::Lookup(source) if source.is_unavailable() => {
                ApiError::Unavailable(Box::new(source))
            }
            AuthError::Lookup(source) => ApiError::Internal(Box::new(source)),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        let message = error.to_string();
        let about = subject_of(&error);
        let extra = match &error {
            DomainError::WatchPositionAhead(head) => Some(("head", head.clone())),
            DomainError::DestinationRefused {
                address: Some(address),
                ..
            } => Some(("address", address.clone())),
            _ => None,
        };
        let (code, reason) = match error {
            DomainError::Invalid(invalid) => return ApiError::Validation(invalid),
            DomainError::Entropy(e) => return ApiError::internal(e),
            DomainError::Db(e) => return ApiError::database(e.failure(), Box::new(e)),
            DomainError::WorkspaceNotFound => (Code::NotFound, ErrorReason::WorkspaceNotFound),
            DomainError::UnknownUser(_) => (Code::NotFound, ErrorReason::UnknownUserId),
            DomainError::UserNotFound(_) => (Code::NotFound, ErrorReason::UserNotFound),
            DomainError::ChannelNotFound(_) => (Code::NotFound, ErrorReason::ChannelNotFound),
            DomainError::TaskNotFound => (Code::NotFound, ErrorReason::TaskNotFound),
            DomainError::InvalidTransition { .. } => (
                Code::FailedPrecondition,
                ErrorReason::InvalidStatusTransition,
            ),
            DomainError::TaskChangeConflict => (Code::Aborted, ErrorReason::TaskChangeConflict),
            DomainError::NotTaskParticipant => {
                (Code::PermissionDenied, ErrorReason::NotTaskParticipant)
            }
            DomainError::UnknownChannel(_) => (Code::NotFound, ErrorReason::UnknownChannelId),
            DomainError::NotAdminOfChannel(_) => {
                (Code::PermissionDenied, ErrorReason::NotAdminOfChannel)
            }
            DomainError::AssignmentsLowerLimit(_) => (
                Code::FailedPrecondition,
                ErrorReason::TaskAssignmentsLowerLimitViolation,
            ),
            DomainError::RequestIdReused => (Code::AlreadyExists, ErrorReason::RequestIdReused),
            DomainError::ExternalIdTaken => (Code::AlreadyExists, ErrorReason::ExternalIdTaken),
            DomainError::FeatureDisabled => {
                (Code::FailedPrecondition, ErrorReason::FeatureDisabled)
            }
            DomainError::AssignmentNotFound => {
                (Code::NotFound, ErrorReason::TaskAssignmentNotFound)
            }
            DomainError::UnknownAssignment(_) => {
                (Code::NotFound, ErrorReason::UnknownTaskAssignmentId)
            }
            DomainError::AssignmentChangeConflict => {
                (Code::Aborted, ErrorReason::TaskAssignmentChangeConflict)
            }
            DomainError::DistributionKindUndefined => (
                Code::InvalidArgument,
                ErrorReason::DistributionKindUndefined,
            ),
            DomainError::TokenNotFound(_) => (Code::NotFound, ErrorReason::ApiTokenNotFound),
            DomainError::WatchPositionExpired => {
                (Code::FailedPrecondition, ErrorReason::WatchPositionExpired)
            }
            DomainError::WatchPositionAhead(_) => {
                (Code::OutOfRange, ErrorReason::WatchPositionAhead)
            }
            DomainError::WatchTooSlow => (Code::ResourceExhausted, ErrorReason::WatchTooSlow),
            DomainError::WatchScopeDenied => {
                (Code::PermissionDenied, ErrorReason::WatchScopeDenied)
            }
            DomainError::ScheduledActionNotFound => {
                (Code::NotFound, ErrorReason::ScheduledActionNotFound)
            }
            DomainError::ScheduledActionSettled(_) => (
                Code::FailedPrecondition,
                ErrorReason::ScheduledActionSettled,
            ),
            DomainError::TooManyScheduledActions(_) => {
                (Code::FailedPrecondition, ErrorReason::ScheduledActionsLimit)
            }
            DomainError::TemplateNotFound => (Code::NotFound, ErrorReason::TemplateNotFound),
            DomainError::TemplateChangeConflict => {
                (Code::Aborted, ErrorReason::TemplateChangeConflict)
            }
            DomainError::ScheduleState(_) => (Code::FailedPrecondition, ErrorReason::ScheduleState),
            DomainError::TooManyTemplates(_) => {
                (Code::FailedPrecondition, ErrorReason::TemplatesLimit)
            }
            DomainError::WebhookNotFound => (Code::NotFound, ErrorReason::WebhookNotFound),
            DomainError::WebhookChangeConflict => {
                (Code::Aborted, ErrorReason::WebhookChangeConflict)
            }
            DomainError::TooManyWebhooks(_) => {
                (Code::FailedPrecondition, ErrorReason::WebhooksLimit)
            }
            DomainError::WebhooksDisabled => {
                (Code::FailedPrecondition, ErrorReason::WebhooksDisabled)
            }
            DomainError::DestinationRefused { .. } => (
                Code::InvalidArgument,
                ErrorReason::WebhookDestinationRefused,
            ),
            DomainError::WebhookState(_) => (Code::FailedPrecondition, ErrorReason::WebhookState),
        };
        let mut rejected = ApiError::rejected(code, reason, message);
        if let Some((key, value)) = extra {
            rejected = rejected.about(key, value);
        }
        match about {
            Some((key, id)) => rejected.about(key, id),
            None => rejected,
        }
    }
}

/// The id a domain error names itself, as its `ErrorInfo.metadata` key and value.
fn subject_of(error: &DomainError) -> Option<(&'static str, uuid::Uuid)> {
    match error {
        DomainError::UnknownUser(id) | DomainError::UserNotFound(id) => Some(("user_id", *id)),
        DomainError::ChannelNotFound(id)
        | DomainError::UnknownChannel(id)
        | DomainError::NotAdminOfChannel(id) => Some(("channel_id", *id)),
        DomainError::UnknownAssignment(id) => Some(("assignment_id", *id)),
        DomainError::TokenNotFound(id) => Some(("token_id", *id)),
        _ => None,
    }
}

impl From<DomainError> for Status {
    fn from(error: DomainError) -> Self {
        ApiError::from(error).into()
    }
}

impl From<Invalid> for Status {
    fn from(invalid: Invalid) -> Self {
        ApiError::Validation(invalid).into()
    }
}

/// The wire `reason` of a proto `ErrorReason`: its name without the enum prefix.
pub fn reason_code(reason: ErrorReason) -> &'static str {
    let name = reason.as_str_name();
    name.strip_prefix("ERROR_REASON_").unwrap_or(name)
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        let mut metadata = HashMap::new();
        let mut violations = Vec::new();
        let mut retry_after = None;
        let (code, reason, message) = match error {
            ApiError::Validation(invalid) => {
                metadata.insert(
                    "violations".to_owned(),
                    (invalid.listed.len() + invalid.unlisted).to_string(),
                );
                if let Some(first) = invalid.listed.first() {
                    metadata.insert("field".to_owned(), first.field.clone());
                }
                let message = describe(&invalid);
                violations = within_budget(invalid.listed);
                (Code::InvalidArgument, ErrorReason::ValidationError, message)
            }
            ApiError::Malformed(why) => {
                let message = format!(
                    "the request body is not a valid protobuf message for this method: {why}"
                );
                (
                    Code::InvalidArgument,
                    ErrorReason::MalformedRequest,
                    message,
                )
            }
            ApiError::Rejected {
                code,
                reason,
                message,
                metadata: ids,
            } => {
                // The request's ids first, so that an id the error names itself wins.
                metadata.extend(
                    subject::current()
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v)),
                );
                metadata.extend(ids.into_iter().map(|(k, v)| (k.to_owned(), v)));
                retry_after = retry_delay(code, reason);
                (code, reason, message)
            }
            ApiError::Unavailable(source) => {
                tracing::warn!(error = %source, "database unavailable");
                let message = "the database is unavailable, retry later".to_owned();
                retry_after = Some(UNAVAILABLE_RETRY_DELAY);
                (Code::Unavailable, ErrorReason::DatabaseUnavailable, message)
            }
            ApiError::Overloaded(why) => {
                retry_after = Some(OVERLOADED_RETRY_DELAY);
                let message = format!("the server is at capacity ({why}); retry later");
                (Code::ResourceExhausted, ErrorReason::Overloaded, message)
            }
            ApiError::Internal(source) => {
                tracing::error!(error = %ErrorChain(source.as_ref()), "internal error");
                let message = "internal error; the server logged it under this call's x-request-id";
                (Code::Internal, ErrorReason::Internal, message.to_owned())
            }
        };
        let mut details =
            ErrorDetails::with_error_info(reason_code(reason), ERROR_DOMAIN, metadata);
        if !violations.is_empty() {
            details.set_bad_request(violations);
        }
        if let Some(delay) = retry_after {
            details.set_retry_info(Some(delay));
        }
        Status::with_error_details(code, message, details)
    }
}

/// When a rejected call is worth making again as it is (its `RetryInfo`): not after a stale etag
/// (the caller must read again first), nor for a request or metadata too large.
fn retry_delay(code: Code, reason: ErrorReason) -> Option<std::time::Duration> {
    match (code, reason) {
        (Code::Aborted, ErrorReason::TaskAssignmentChangeConflict) => Some(CONFLICT_RETRY_DELAY),
        (Code::ResourceExhausted, ErrorReason::WatchTooSlow) => Some(TOO_SLOW_RETRY_DELAY),
        _ => None,
    }
}

/// The first few violations, and how many more the BadRequest detail (and a count) holds.
fn describe(invalid: &Invalid) -> String {
    let total = invalid.listed.len() + invalid.unlisted;
    let mut parts: Vec<String> = invalid
        .listed
        .iter()
        .take(VIOLATIONS_IN_MESSAGE)
        .map(|v| {
            cut(
                &format!("{}: {}", v.field, v.description),
                MESSAGE_PART_CHARS,
            )
        })
        .collect();
    if total > VIOLATIONS_IN_MESSAGE {
        parts.push(format!("and {} more", total - VIOLATIONS_IN_MESSAGE));
    }
    parts.join("; ")
}

/// As many violations as fit in [`MAX_LISTED_BYTES`], in order.
fn within_budget(listed: Vec<FieldViolation>) -> Vec<tonic_types::FieldViolation> {
    let mut spent = 0;
    listed
        .into_iter()
        .take_while(|v| {
            spent += v.field.len() + v.description.len();
            spent <= MAX_LISTED_BYTES
        })
        .map(|v| tonic_types::FieldViolation::new(v.field, v.description))
        .collect()
}

#[cfg(test)]
mod tests;

//! The one place errors become `tonic::Status`: every failure a caller sees is a gRPC code plus a
//! `google.rpc.ErrorInfo` (reason from `docket.v1.ErrorReason`, domain `docket.v1`), with
//! `google.rpc.BadRequest` field violations for validation failures. Internal details (SQL, error
//! chains) are logged inside the request's span, which carries its request id, and never returned.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{auth::AuthError, db::DbError, domain::DomainError, grpc::pb::ErrorReason};

/// The `ErrorInfo.domain` of every Docket error.
pub const ERROR_DOMAIN: &str = "docket.v1";

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's path in the request, e.g. `task.title` or `tags[3]`.
    pub field: String,
    /// What is wrong with it, for humans.
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// What an RPC can fail with, as the caller will see it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed: INVALID_ARGUMENT `VALIDATION_ERROR` with the fields named.
    #[error("invalid request: {}", describe_violations(.0))]
    Validation(Vec<FieldViolation>),
    /// A rule said no: the code and reason say which rule.
    #[error("{message}")]
    Rejected {
        code: Code,
        reason: ErrorReason,
        message: String,
    },
    /// PostgreSQL cannot be reached; the caller may retry.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
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
        }
    }

    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(source.into())
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        if error.is_unavailable() {
            ApiError::Unavailable(Box::new(error))
        } else {
            ApiError::Internal(Box::new(error))
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
        match error {
            DomainError::Invalid(violations) => ApiError::Validation(violations),
            DomainError::WorkspaceNotFound => {
                ApiError::rejected(Code::NotFound, ErrorReason::WorkspaceNotFound, message)
            }
            DomainError::UnknownUser(_) => {
                ApiError::rejected(Code::NotFound, ErrorReason::UnknownUserId, message)
            }
            DomainError::UserNotFound(_) => {
                ApiError::rejected(Code::NotFound, ErrorReason::UserNotFound, message)
            }
            DomainError::ChannelNotFound(_) => {
                ApiError::rejected(Code::NotFound, ErrorReason::ChannelNotFound, message)
            }
            DomainError::TaskNotFound => {
                ApiError::rejected(Code::NotFound, ErrorReason::TaskNotFound, message)
            }
            DomainError::InvalidTransition { .. } => ApiError::rejected(
                Code::FailedPrecondition,
                ErrorReason::InvalidStatusTransition,
                message,
            ),
            DomainError::TaskChangeConflict => {
                ApiError::rejected(Code::Aborted, ErrorReason::TaskChangeConflict, message)
            }
            DomainError::NotTaskParticipant => ApiError::rejected(
                Code::PermissionDenied,
                ErrorReason::NotTaskParticipant,
                message,
            ),
            DomainError::UnknownChannel(_) => {
                ApiError::rejected(Code::NotFound, ErrorReason::UnknownChannelId, message)
            }
            DomainError::NotAdminOfChannel(_) => ApiError::rejected(
                Code::PermissionDenied,
                ErrorReason::NotAdminOfChannel,
                message,
            ),
            DomainError::AssignmentsLowerLimit(_) => ApiError::rejected(
                Code::FailedPrecondition,
                ErrorReason::TaskAssignmentsLowerLimitViolation,
                message,
            ),
            DomainError::RequestIdReused => {
                ApiError::rejected(Code::AlreadyExists, ErrorReason::RequestIdReused, message)
            }
            DomainError::ExternalIdTaken => {
                ApiError::rejected(Code::AlreadyExists, ErrorReason::ExternalIdTaken, message)
            }
            DomainError::FeatureDisabled => ApiError::rejected(
                Code::FailedPrecondition,
                ErrorReason::FeatureDisabled,
                message,
            ),
            DomainError::AssignmentNotFound => {
                ApiError::rejected(Code::NotFound, ErrorReason::TaskAssignmentNotFound, message)
            }
            DomainError::UnknownAssignment(_) => ApiError::rejected(
                Code::NotFound,
                ErrorReason::UnknownTaskAssignmentId,
                message,
            ),
            DomainError::AssignmentChangeConflict => ApiError::rejected(
                Code::Aborted,
                ErrorReason::TaskAssignmentChangeConflict,
                message,
            ),
            DomainError::DistributionKindUndefined => ApiError::rejected(
                Code::InvalidArgument,
                ErrorReason::DistributionKindUndefined,
                message,
            ),
            DomainError::TokenNotFound(_) => {
                ApiError::rejected(Code::NotFound, ErrorReason::ApiTokenNotFound, message)
            }
            DomainError::Entropy(e) => ApiError::internal(e),
            DomainError::Db(e) => e.into(),
        }
    }
}

impl From<DomainError> for Status {
    fn from(error: DomainError) -> Self {
        ApiError::from(error).into()
    }
}

/// The wire `reason` of a proto `ErrorReason`: its name without the enum prefix.
pub fn reason_code(reason: ErrorReason) -> &'static str {
    let name = reason.as_str_name();
    name.strip_prefix("ERROR_REASON_").unwrap_or(name)
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        let (code, reason, message, violations) = match error {
            ApiError::Validation(violations) => {
                let message = describe_violations(&violations);
                (
                    Code::InvalidArgument,
                    ErrorReason::ValidationError,
                    message,
                    violations,
                )
            }
            ApiError::Rejected {
                code,
                reason,
                message,
            } => (code, reason, message, Vec::new()),
            ApiError::Unavailable(source) => {
                tracing::warn!(error = %source, "database unavailable");
                let message = "the database is unavailable, retry later".to_owned();
                (
                    Code::Unavailable,
                    ErrorReason::DatabaseUnavailable,
                    message,
                    Vec::new(),
                )
            }
            ApiError::Internal(source) => {
                tracing::error!(error = %ErrorChain(source.as_ref()), "internal error");
                let message = "internal error; the server logged it under this call's x-request-id";
                (
                    Code::Internal,
                    ErrorReason::Internal,
                    message.to_owned(),
                    Vec::new(),
                )
            }
        };
        let mut details = ErrorDetails::with_error_info(
            reason_code(reason),
            ERROR_DOMAIN,
            std::collections::HashMap::new(),
        );
        if !violations.is_empty() {
            details.set_bad_request(
                violations
                    .into_iter()
                    .map(|v| tonic_types::FieldViolation::new(v.field, v.description))
                    .collect::<Vec<_>>(),
            );
        }
        Status::with_error_details(code, message, details)
    }
}

fn describe_violations(violations: &[FieldViolation]) -> String {
    let parts: Vec<String> = violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect();
    parts.join("; ")
}

/// Displays an error with its whole source chain on one line.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(status: &Status) -> (String, String) {
        let info = status.get_details_error_info().expect("ErrorInfo detail");
        (info.reason, info.domain)
    }

    #[test]
    fn reasons_travel_without_the_enum_prefix() {
        assert_eq!(reason_code(ErrorReason::TaskNotFound), "TASK_NOT_FOUND");
        assert_eq!(
            reason_code(ErrorReason::TaskAssignmentsLowerLimitViolation),
            "TASK_ASSIGNMENTS_LOWER_LIMIT_VIOLATION"
        );
    }

    #[test]
    fn validation_errors_name_every_field() {
        let status: Status = ApiError::Validation(vec![
            FieldViolation::new("title", "must not be empty"),
            FieldViolation::new("tags[2]", "longer than 64 characters"),
        ])
        .into();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            info(&status),
            ("VALIDATION_ERROR".into(), "docket.v1".into())
        );
        let bad = status.get_details_bad_request().expect("BadRequest detail");
        let fields: Vec<_> = bad
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["title", "tags[2]"]);
        assert!(status.message().contains("title: must not be empty"));
    }

    #[test]
    fn rejections_keep_their_code_and_reason() {
        let status: Status =
            ApiError::rejected(Code::NotFound, ErrorReason::TaskNotFound, "task not found").into();
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(info(&status).0, "TASK_NOT_FOUND");
        assert_eq!(status.message(), "task not found");
        assert!(status.get_details_bad_request().is_none());
    }

    #[test]
    fn internal_errors_reveal_nothing() {
        let source = std::io::Error::other("relation \"tasks\" does not exist at SELECT secret");
        let status: Status = ApiError::internal(source).into();
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(info(&status).0, "INTERNAL");
        assert!(!status.message().contains("secret"), "{}", status.message());
        assert!(
            !status.message().contains("relation"),
            "{}",
            status.message()
        );
    }

    #[test]
    fn lost_connections_are_unavailable_and_other_query_errors_internal() {
        use diesel::result::{DatabaseErrorKind, Error};
        let closed = DbError::Query(Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("connection closed".to_owned()),
        ));
        let status: Status = ApiError::from(closed).into();
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(info(&status).0, "DATABASE_UNAVAILABLE");

        let status: Status = ApiError::from(DbError::Query(Error::NotFound)).into();
        assert_eq!(status.code(), Code::Internal);
    }
}

//! Docket's rules, apart from gRPC: what may be done, by whom, with which inputs. Functions take a
//! database connection so callers can compose them in one transaction.

pub mod assignments;
pub mod body;
pub mod cursor;
pub mod directory;
pub mod tasks;
pub mod tokens;
pub mod workspaces;

use crate::{db::DbError, error::FieldViolation};

/// What a domain operation can fail with. `crate::error` maps each to a gRPC code and reason.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("invalid input")]
    Invalid(Vec<FieldViolation>),
    #[error("workspace not found")]
    WorkspaceNotFound,
    #[error("user {0} is unknown to this workspace")]
    UnknownUser(uuid::Uuid),
    #[error("no user {0} in this workspace")]
    UserNotFound(uuid::Uuid),
    #[error("no channel {0} in this workspace")]
    ChannelNotFound(uuid::Uuid),
    #[error("task not found")]
    TaskNotFound,
    #[error("cannot {action} a task that is {status}")]
    InvalidTransition {
        action: &'static str,
        status: &'static str,
    },
    #[error("the task changed since the etag given; read it again and retry")]
    TaskChangeConflict,
    #[error("only the task's author or a recipient may do this")]
    NotTaskParticipant,
    #[error("channel {0} is unknown to this workspace")]
    UnknownChannel(uuid::Uuid),
    #[error("only admins of channel {0} may distribute tasks to it")]
    NotAdminOfChannel(uuid::Uuid),
    /// A distributed task would be left without recipients; the text says how.
    #[error("{0}")]
    AssignmentsLowerLimit(&'static str),
    #[error("this request_id was already used for a different request")]
    RequestIdReused,
    #[error("another task of the workspace has this external_id")]
    ExternalIdTaken,
    #[error("assignments are switched off in this workspace")]
    FeatureDisabled,
    #[error("no such assignment")]
    AssignmentNotFound,
    #[error("assignment {0} is not an assignment of this task")]
    UnknownAssignment(uuid::Uuid),
    #[error(
        "another change to this task's assignments did not finish in time; nothing changed, retry"
    )]
    AssignmentChangeConflict,
    #[error("distribution_kinds must name RECEIVED and/or PERSONAL")]
    DistributionKindUndefined,
    #[error("no API token {0} in this workspace")]
    TokenNotFound(uuid::Uuid),
    #[error("the system's random number source failed: {0}")]
    Entropy(#[from] getrandom::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for DomainError {
    fn from(error: diesel::result::Error) -> Self {
        DomainError::Db(DbError::Query(error))
    }
}

impl DomainError {
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        DomainError::Invalid(vec![FieldViolation::new(field, description)])
    }
}

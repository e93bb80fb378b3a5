//! Docket's rules, apart from gRPC: what may be done, by whom, with which inputs. Functions take a
//! database connection so callers can compose them in one transaction.

pub mod assignments;
pub mod body;
pub mod cursor;
pub mod directory;
pub mod input;
pub mod records;
pub mod recurrence;
pub mod sla_policies;
pub mod tasks;
pub mod templates;
pub mod timers;
pub mod tokens;
pub mod vocabulary;
pub mod workspaces;

use crate::db::{DbError, assignments::LOWER_LIMIT, tasks::EXTERNAL_ID_KEY};
use input::Invalid;

/// What a domain operation can fail with. `crate::grpc::error` maps each to a gRPC code and
/// reason.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("invalid input: {0}")]
    Invalid(Invalid),
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
        status: tasks::Status,
    },
    #[error("the task changed since the etag given; read it again and retry")]
    TaskChangeConflict,
    #[error("only the task's author or a recipient may do this")]
    NotTaskParticipant,
    #[error("channel {0} is unknown to this workspace")]
    UnknownChannel(uuid::Uuid),
    #[error("only admins of channel {0} may distribute tasks to it")]
    NotAdminOfChannel(uuid::Uuid),
    /// A task would be left without assignments; the text says how.
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
    #[error(
        "the watch position is older than the events kept; list again and watch from the list's watch_position"
    )]
    WatchPositionExpired,
    #[error("the watch position is beyond the workspace's last event, {0}")]
    WatchPositionAhead(String),
    #[error(
        "the watch fell behind and its client took nothing for too long; watch again from the last position received"
    )]
    WatchTooSlow,
    #[error("only workspace:admin may watch every task of the workspace")]
    WatchScopeDenied,
    #[error("no such scheduled action")]
    ScheduledActionNotFound,
    #[error("the scheduled action is {0} already, and can no longer be cancelled")]
    ScheduledActionSettled(vocabulary::TimerState),
    #[error("a task holds at most {0} pending scheduled actions; cancel one first")]
    TooManyScheduledActions(i64),
    #[error("no such task template")]
    TemplateNotFound,
    #[error("the template changed since the etag given; read it again and retry")]
    TemplateChangeConflict,
    #[error("{0}")]
    ScheduleState(String),
    #[error("a workspace holds at most {0} templates; delete one first")]
    TooManyTemplates(i64),
    #[error("no such webhook subscription")]
    WebhookNotFound,
    #[error("the subscription changed since the etag given; read it again and retry")]
    WebhookChangeConflict,
    #[error("a workspace holds at most {0} webhook subscriptions; delete one first")]
    TooManyWebhooks(i64),
    #[error(
        "webhooks are off on this server: it has no key to seal their secrets (DOCKET_WEBHOOK_KEYS)"
    )]
    WebhooksDisabled,
    /// The URL's destination is refused by the egress policy (the refused address, if one was).
    #[error("url: {reason}")]
    DestinationRefused {
        reason: String,
        address: Option<String>,
    },
    #[error("{0}")]
    WebhookState(String),
    #[error("the system's random number source failed")]
    Entropy(#[from] getrandom::Error),
    #[error(transparent)]
    Db(DbError),
}

/// What a database failure means for the call that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// PostgreSQL cannot be reached: a closed connection, or none to be had from the pool.
    Unavailable,
    /// A concurrent transaction won: a serialisation failure, which is also how
    /// `lock_task_for_change` reports a bounded lock wait that ran out or a deadlock. Nothing
    /// changed; the call may be retried.
    Conflict,
    /// The server is at a capacity limit it sets itself; the call may be retried later.
    Overloaded,
    /// Anything else, constraint violations included: unexpected here, so logged.
    Fault,
}

/// The one mapping of database failures into the domain: a write refused by a constraint that
/// states a rule becomes that rule's error; anything else stays a database error, classified by
/// `DbError::failure`.
impl From<DbError> for DomainError {
    fn from(error: DbError) -> Self {
        match error.violated() {
            Some(EXTERNAL_ID_KEY) => DomainError::ExternalIdTaken,
            Some(LOWER_LIMIT) => DomainError::AssignmentsLowerLimit(
                "a task keeps at least one assignment; add another recipient first",
            ),
            _ => DomainError::Db(error),
        }
    }
}

impl From<diesel::result::Error> for DomainError {
    fn from(error: diesel::result::Error) -> Self {
        DbError::Query(error).into()
    }
}

impl DomainError {
    pub fn invalid(field: &str, description: impl std::fmt::Display) -> Self {
        DomainError::Invalid(Invalid::one(field, description))
    }
}

impl From<Invalid> for DomainError {
    fn from(invalid: Invalid) -> Self {
        DomainError::Invalid(invalid)
    }
}

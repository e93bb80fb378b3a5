//! The database layer's error, and the one place a database failure is classified: unreachable
//! (worth a retry later), a lost race (worth a retry now), a named constraint refusing a write
//! (which the domain turns into its own error), or a fault to log.

pub use crate::domain::Failure;
use std::sync::Arc;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::deadpool::PoolError;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Query(#[from] DieselError),
    /// Shared, as every call of a batch (`db::query::batch`) gets the one error the pool gave.
    #[error("no database connection available: {0}")]
    Pool(Arc<PoolError>),
    /// The task running the statement ended without an answer: the batch runners have stopped
    /// (the server is shutting down), or it panicked.
    #[error("the statement's task ended without an answer")]
    Stopped,
    /// The server's stream limits turned a stream or its next page away (`call::streams`).
    #[error(transparent)]
    StreamRefused(#[from] crate::call::streams::StreamRefused),
    /// The database did not answer by the deadline of the work (`deadline`).
    #[error(transparent)]
    TimedOut(#[from] crate::call::TimedOut),
}

impl From<PoolError> for DbError {
    fn from(e: PoolError) -> Self {
        DbError::Pool(Arc::new(e))
    }
}

impl DbError {
    pub fn failure(&self) -> Failure {
        match self {
            DbError::Pool(_) | DbError::Stopped | DbError::TimedOut(_) => Failure::Unavailable,
            DbError::StreamRefused(_) => Failure::Overloaded,
            DbError::Query(DieselError::DatabaseError(kind, _)) => match kind {
                DatabaseErrorKind::ClosedConnection => Failure::Unavailable,
                DatabaseErrorKind::SerializationFailure => Failure::Conflict,
                _ => Failure::Fault,
            },
            DbError::Query(DieselError::BrokenTransactionManager) => Failure::Unavailable,
            DbError::Query(_) => Failure::Fault,
        }
    }

    pub fn is_unavailable(&self) -> bool {
        self.failure() == Failure::Unavailable
    }

    /// The constraint (unique, foreign key, check, or one raised by a constraint trigger) whose
    /// violation failed the statement, if that is why it failed.
    pub fn violated(&self) -> Option<&str> {
        match self {
            DbError::Query(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation
                | DatabaseErrorKind::ForeignKeyViolation
                | DatabaseErrorKind::CheckViolation,
                info,
            )) => info.constraint_name(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_error(kind: DatabaseErrorKind) -> DbError {
        DbError::Query(DieselError::DatabaseError(
            kind,
            Box::new("message".to_owned()),
        ))
    }

    #[test]
    fn lost_races_are_conflicts_and_unknown_errors_faults() {
        assert_eq!(
            database_error(DatabaseErrorKind::SerializationFailure).failure(),
            Failure::Conflict
        );
        assert_eq!(
            database_error(DatabaseErrorKind::ClosedConnection).failure(),
            Failure::Unavailable
        );
        // Lock timeouts and deadlocks outside lock_task_for_change, statement timeouts, and every
        // other SQLSTATE the driver does not name: faults, logged, never reported as a race.
        assert_eq!(
            database_error(DatabaseErrorKind::Unknown).failure(),
            Failure::Fault
        );
        assert_eq!(
            DbError::Query(DieselError::NotFound).failure(),
            Failure::Fault
        );
    }
}

//! The database layer's error, and the one place a database failure is classified: unreachable
//! (worth a retry later), a lost race (worth a retry now), a named constraint refusing a write
//! (which the domain turns into its own error), or a fault to log.

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
    /// The server has as many streams open as it allows (`streams`); holds how many.
    #[error("{0} streams are open, as many as the server allows")]
    TooManyStreams(usize),
    /// A stream's next page found no room in the buffers streams share before its deadline;
    /// holds what the caller's streams held then.
    #[error(
        "no room for another page in the buffers streams share (this caller's streams hold {0} bytes their clients have not taken)"
    )]
    NoRoomForPage(usize),
    /// The database did not answer by the deadline of the work (`deadline`).
    #[error(transparent)]
    TimedOut(#[from] crate::db::pool::deadline::TimedOut),
}

impl From<PoolError> for DbError {
    fn from(e: PoolError) -> Self {
        DbError::Pool(Arc::new(e))
    }
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

impl DbError {
    pub fn failure(&self) -> Failure {
        match self {
            DbError::Pool(_) | DbError::Stopped | DbError::TimedOut(_) => Failure::Unavailable,
            DbError::TooManyStreams(_) | DbError::NoRoomForPage(_) => Failure::Overloaded,
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

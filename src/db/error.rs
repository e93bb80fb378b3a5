//! The database layer's error: what a query or a pool checkout can fail with, and whether the
//! failure means "the database is unreachable" (worth a retry) or something unexpected.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::deadpool::PoolError;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Query(#[from] DieselError),
    #[error("no database connection available: {0}")]
    Pool(#[from] PoolError),
}

impl DbError {
    /// True when the failure is about reaching PostgreSQL rather than about the query: a closed
    /// connection, or no connection to be had from the pool.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Pool(_) => true,
            DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)) => {
                true
            }
            DbError::Query(DieselError::BrokenTransactionManager) => true,
            DbError::Query(_) => false,
        }
    }
}

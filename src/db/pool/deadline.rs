//! The time by which a call's database work must end, and pooled connections that are thrown away
//! when it passes.
//!
//! `statement_timeout` is enforced by PostgreSQL itself, so it cannot help when PostgreSQL is stuck
//! (frozen, swapped out, behind a partitioned network): a query would wait as long as TCP does. So
//! each call runs [`within`] a deadline, and a connection still held when the deadline passes is
//! one whose query may never answer: [`Conn`] closes it instead of giving it back to the pool,
//! which opens a fresh one in its place once the database answers again. The deadline is the
//! call's (`call::deadline`); work that runs in tasks of its own (batched statements, stream
//! pages) sets its own with `call::within`.

use std::ops::{Deref, DerefMut};

use diesel_async::{
    AsyncPgConnection,
    pooled_connection::deadpool::{Object, PoolError},
};
use tokio::time::Instant;

use crate::db::{DbError, PgPool};

/// A pooled connection that is closed rather than reused if it is still held after the deadline of
/// the work that borrowed it.
pub struct Conn {
    inner: Option<Object<AsyncPgConnection>>,
    deadline: Option<Instant>,
}

/// Borrows a connection from the pool for the current work (its deadline is `call::deadline`); waiting is bounded by
/// the pool's own wait timeout.
pub async fn checkout(pool: &PgPool) -> Result<Conn, DbError> {
    Ok(Conn::borrow(pool).await?)
}

impl Conn {
    /// [`checkout`], with the pool's own error.
    pub async fn borrow(pool: &PgPool) -> Result<Self, PoolError> {
        let deadline = crate::call::deadline();
        let object = pool.get().await?;
        Ok(Self {
            inner: Some(object),
            deadline,
        })
    }
}

impl Deref for Conn {
    type Target = AsyncPgConnection;

    #[allow(clippy::expect_used, reason = "only `drop` takes the connection out")]
    fn deref(&self) -> &AsyncPgConnection {
        self.inner
            .as_deref()
            .expect("connection present until dropped")
    }
}

impl DerefMut for Conn {
    #[allow(clippy::expect_used, reason = "only `drop` takes the connection out")]
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        self.inner
            .as_deref_mut()
            .expect("connection present until dropped")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let Some(object) = self.inner.take() else {
            return;
        };
        if self
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
        {
            // Dropping the connection itself (not the pool's wrapper) closes its socket and frees
            // its place in the pool.
            tracing::warn!("closing a database connection held past its call's deadline");
            drop(Object::take(object));
        }
    }
}

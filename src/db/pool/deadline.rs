//! The time by which a call's database work must end, and pooled connections that are thrown away
//! when it passes.
//!
//! `statement_timeout` is enforced by PostgreSQL itself, so it cannot help when PostgreSQL is stuck
//! (frozen, swapped out, behind a partitioned network): a query would wait as long as TCP does. So
//! each call runs [`within`] a deadline, and a connection still held when the deadline passes is
//! one whose query may never answer: [`Conn`] closes it instead of giving it back to the pool,
//! which opens a fresh one in its place once the database answers again. Work that runs in tasks
//! of its own (batched statements, stream pages) sets its own deadline with [`within`].

use std::{
    future::Future,
    ops::{Deref, DerefMut},
    time::Duration,
};

use diesel_async::{
    AsyncPgConnection,
    pooled_connection::deadpool::{Object, PoolError},
};
use tokio::time::Instant;

use crate::db::{DbError, PgPool};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// The work did not end by its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no answer from the database within {0:?}")]
pub struct TimedOut(pub Duration);

/// Runs `work` with `deadline` as the deadline of the database work in it; past it, `work` is
/// dropped (closing any connection it holds) and the answer is [`TimedOut`].
pub async fn within<F: Future>(deadline: Instant, work: F) -> Result<F::Output, TimedOut> {
    let allowed = deadline.saturating_duration_since(Instant::now());
    DEADLINE
        .scope(deadline, tokio::time::timeout_at(deadline, work))
        .await
        .map_err(|_| TimedOut(allowed))
}

/// The deadline of the work being run, if it has one.
pub fn current() -> Option<Instant> {
    DEADLINE.try_with(|deadline| *deadline).ok()
}

/// How long the work being run has left, if it has a deadline.
pub fn remaining() -> Option<Duration> {
    current().map(|deadline| deadline.saturating_duration_since(Instant::now()))
}

/// A pooled connection that is closed rather than reused if it is still held after the deadline of
/// the work that borrowed it.
pub struct Conn {
    inner: Option<Object<AsyncPgConnection>>,
    deadline: Option<Instant>,
}

/// Borrows a connection from the pool for the current work (see [`current`]); waiting is bounded by
/// the pool's own wait timeout.
pub async fn checkout(pool: &PgPool) -> Result<Conn, DbError> {
    Ok(Conn::borrow(pool).await?)
}

impl Conn {
    /// [`checkout`], with the pool's own error.
    pub async fn borrow(pool: &PgPool) -> Result<Self, PoolError> {
        let deadline = current();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn work_past_its_deadline_is_dropped() {
        let deadline = Instant::now() + Duration::from_secs(2);
        let outcome = within(deadline, async {
            assert_eq!(current(), Some(deadline));
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await;
        assert_eq!(outcome, Err(TimedOut(Duration::from_secs(2))));
        assert_eq!(current(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn work_within_its_deadline_answers() {
        let deadline = Instant::now() + Duration::from_secs(2);
        assert_eq!(within(deadline, async { 7 }).await, Ok(7));
    }
}

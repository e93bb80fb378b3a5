//! What the server's streamed listings share, so that they cannot starve unary calls or each
//! other: page fetches take turns (first come, first served) for at most a share of the pool,
//! leaving the rest to unary calls, and past a set number of open streams a new one is refused
//! (RESOURCE_EXHAUSTED with RetryInfo) rather than queued without end.
//!
//! Like the call deadline (`deadline`), the limits reach `paging` through the call: the request
//! context layer runs each call within [`scope`], and a stream opened in it keeps what it needs.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::DbError;

tokio::task_local! {
    static STREAMS: Arc<StreamLimits>;
}

/// The limits every stream of one server shares.
#[derive(Debug)]
pub struct StreamLimits {
    /// One per connection that page fetches may hold at once; waiters are served in order.
    fetch_slots: Arc<Semaphore>,
    open: AtomicUsize,
    max_open: usize,
}

impl StreamLimits {
    /// `fetch_connections`: pooled connections page fetches may hold at once; `max_open`: streams
    /// open at once.
    pub fn new(fetch_connections: usize, max_open: usize) -> Arc<Self> {
        Arc::new(Self {
            fetch_slots: Arc::new(Semaphore::new(fetch_connections.max(1))),
            open: AtomicUsize::new(0),
            max_open,
        })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

/// Runs `work` (a call) with `limits` as the limits of the streams it opens.
pub async fn scope<F: Future>(limits: Arc<StreamLimits>, work: F) -> F::Output {
    STREAMS.scope(limits, work).await
}

/// A stream counted as open until dropped, with its turn at page fetches. Streams opened outside
/// any call (tools, tests of the database layer) are not limited.
#[derive(Debug)]
pub struct OpenStream(Option<Arc<StreamLimits>>);

impl OpenStream {
    /// Counts a new stream, or refuses it past the limit.
    pub fn new() -> Result<Self, DbError> {
        let Ok(limits) = STREAMS.try_with(Arc::clone) else {
            return Ok(Self(None));
        };
        let open = limits.open.fetch_add(1, Ordering::AcqRel) + 1;
        let stream = Self(Some(limits));
        if open > stream.limits().map_or(usize::MAX, |l| l.max_open) {
            return Err(DbError::TooManyStreams(open - 1));
        }
        Ok(stream)
    }

    fn limits(&self) -> Option<&StreamLimits> {
        self.0.as_deref()
    }

    /// Waits for this stream's turn to fetch a page; the turn lasts while the permit is held.
    pub async fn fetch_turn(&self) -> Option<OwnedSemaphorePermit> {
        let limits = self.limits()?;
        // Never closed, so acquiring cannot fail.
        limits.fetch_slots.clone().acquire_owned().await.ok()
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        if let Some(limits) = self.limits() {
            limits.open.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn streams_past_the_limit_are_refused_until_one_closes() {
        let limits = StreamLimits::new(1, 2);
        scope(limits.clone(), async {
            let first = OpenStream::new().expect("first");
            let _second = OpenStream::new().expect("second");
            assert!(matches!(OpenStream::new(), Err(DbError::TooManyStreams(2))));
            assert_eq!(limits.open(), 2);
            drop(first);
            let _third = OpenStream::new().expect("room again");
        })
        .await;
        assert_eq!(limits.open(), 0);
        assert!(
            OpenStream::new()
                .expect("unlimited outside a call")
                .0
                .is_none()
        );
    }
}

//! What the server's streamed listings share, so that they cannot starve unary calls or each
//! other, nor hold memory without bound: page fetches take turns (first come, first served) for
//! at most a share of the pool, leaving the rest to unary calls, and go one at a time while
//! unary calls are being handled (so a burst of streams yields the cores); each page reserves
//! its byte budget before it is fetched (`budget`: from its caller's share and from the
//! total for all streams); and past a set number of open streams a new one is refused
//! (RESOURCE_EXHAUSTED with RetryInfo) rather than queued without end.
//!
//! Like the call deadline, the limits reach `db::query::paging` through the call's context
//! (`call`): the request layer gives every call the server's limits, the auth layer names its
//! caller (`call::set_owner`), and a stream opened in the call keeps what it needs.

use std::sync::{
    Arc,
    atomic::{AtomicU64, AtomicUsize, Ordering},
};

use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Instant,
};

use crate::call::budget::{Budget, BudgetSizes, Pager, Reservation};

/// A stream the server's limits turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamRefused {
    /// The server has as many streams open as it allows; holds how many.
    #[error("{0} streams are open, as many as the server allows")]
    TooMany(usize),
    /// A stream's next page found no room in the buffers streams share before its deadline;
    /// holds what the caller's streams held then.
    #[error(
        "no room for another page in the buffers streams share (this caller's streams hold {0} bytes their clients have not taken)"
    )]
    NoRoomForPage(usize),
}

/// The limits every stream of one server shares.
#[derive(Debug)]
pub struct StreamLimits {
    /// One per connection that page fetches may hold at once; waiters are served in order.
    fetch_slots: Arc<Semaphore>,
    fetch_connections: u32,
    open: AtomicUsize,
    max_open: usize,
    /// The bytes pages may hold.
    budget: Arc<Budget>,
    /// Calls whose handler is running: a unary call from start to answer, a stream until it is
    /// opened (its pages are fetched afterwards).
    handling: Arc<AtomicUsize>,
    /// Items streams have handed out since the server started (for metrics).
    items: AtomicU64,
}

/// How a server sizes its streams.
#[derive(Debug, Clone, Copy)]
pub struct StreamSizes {
    /// Pooled connections page fetches may hold at once.
    pub fetch_connections: usize,
    /// Streams open at once.
    pub max_open: usize,
    /// Bytes one stream may hold.
    pub stream_bytes: usize,
    /// Bytes the streams of one caller may hold together.
    pub caller_bytes: usize,
    /// Bytes all streams together may hold.
    pub total_bytes: usize,
}

impl StreamLimits {
    pub fn new(sizes: StreamSizes) -> Arc<Self> {
        Arc::new(Self {
            fetch_slots: Arc::new(Semaphore::new(sizes.fetch_connections.max(1))),
            fetch_connections: sizes.fetch_connections.max(1) as u32,
            open: AtomicUsize::new(0),
            max_open: sizes.max_open,
            budget: Budget::new(BudgetSizes {
                stream: sizes.stream_bytes,
                caller: sizes.caller_bytes,
                total: sizes.total_bytes,
            }),
            handling: Arc::new(AtomicUsize::new(0)),
            items: AtomicU64::new(0),
        })
    }

    /// Counts a call as handled until the guard is dropped.
    pub fn handling_call(&self) -> HandlingCall {
        self.handling.fetch_add(1, Ordering::AcqRel);
        HandlingCall(self.handling.clone())
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Bytes the rows fetched for streams hold now, as their queries counted them.
    pub fn buffered_bytes(&self) -> usize {
        self.budget.buffered_bytes()
    }

    /// Bytes the rows fetched for one caller's streams hold now (the caller as `call::set_owner`
    /// names it: `<workspace id>/<actor>`).
    pub fn caller_buffered_bytes(&self, caller: &str) -> usize {
        self.budget.caller_buffered_bytes(caller)
    }

    /// Bytes one page may hold at most.
    pub fn page_bytes(&self) -> usize {
        self.budget.page_bytes()
    }

    /// Items streams have handed out since the server started.
    pub fn items_sent(&self) -> u64 {
        self.items.load(Ordering::Relaxed)
    }
}

/// A call counted as handled ([`StreamLimits::handling_call`]) until dropped.
#[derive(Debug)]
pub struct HandlingCall(Arc<AtomicUsize>);

impl Drop for HandlingCall {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The page budget of streams opened outside any call.
const UNLIMITED_PAGE_BYTES: usize = 1 << 20;

/// A stream counted as open until dropped, with its turn at page fetches. Streams opened outside
/// any call (tools, tests of the database layer) are not limited.
#[derive(Debug)]
pub struct OpenStream {
    limits: Option<Arc<StreamLimits>>,
    /// A listing's hold on the byte budget (watches fetch no pages).
    pager: Option<Pager>,
}

impl OpenStream {
    /// Counts a new stream, or refuses it past the limit.
    pub fn new() -> Result<Self, StreamRefused> {
        let Some(limits) = crate::call::streams() else {
            return Ok(Self {
                limits: None,
                pager: None,
            });
        };
        let open = limits.open.fetch_add(1, Ordering::AcqRel) + 1;
        let max_open = limits.max_open;
        let stream = Self {
            limits: Some(limits),
            pager: None,
        };
        if open > max_open {
            return Err(StreamRefused::TooMany(open - 1));
        }
        Ok(stream)
    }

    /// Counts a new stream that fetches pages: a listing.
    pub fn paged() -> Result<Self, StreamRefused> {
        let mut stream = Self::new()?;
        let owner = crate::call::owner();
        stream.pager = stream.limits.as_ref().map(|l| l.budget.pager(owner));
        Ok(stream)
    }

    fn limits(&self) -> Option<&StreamLimits> {
        self.limits.as_deref()
    }

    /// Counts one item handed to the client.
    pub fn count_item(&self) {
        if let Some(limits) = self.limits() {
            limits.items.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits, until `deadline` if any, for room for one more page; `None` outside any call
    /// (then a page may hold [`UNLIMITED_PAGE_BYTES`]).
    pub async fn reserve_page(
        &self,
        deadline: Option<Instant>,
    ) -> Result<Option<Reservation>, StreamRefused> {
        let Some(pager) = &self.pager else {
            return Ok(None);
        };
        match pager.reserve(deadline).await {
            Ok(reservation) => Ok(Some(reservation)),
            Err(no_room) => Err(StreamRefused::NoRoomForPage(no_room.caller_holds)),
        }
    }

    /// The bytes a page may hold under `reservation`.
    pub fn page_bytes(reservation: Option<&Reservation>) -> usize {
        reservation.map_or(UNLIMITED_PAGE_BYTES, Reservation::allowed_bytes)
    }

    /// Waits for this stream's turn to fetch a page; the turn lasts while the permit is held.
    ///
    /// While unary calls are being handled, a page takes every slot, so that pages are fetched
    /// one at a time: a burst of streams then yields the database and the cores to those calls
    /// (their latency stays near its idle value), and streams still advance, in order. With no
    /// unary call about, pages are fetched side by side, up to the slots.
    pub async fn fetch_turn(&self) -> Option<OwnedSemaphorePermit> {
        let limits = self.limits()?;
        let turn = if limits.handling.load(Ordering::Acquire) > 0 {
            limits.fetch_connections
        } else {
            1
        };
        // Never closed, so acquiring cannot fail.
        limits
            .fetch_slots
            .clone()
            .acquire_many_owned(turn)
            .await
            .ok()
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
    use std::{future::Future, time::Duration};

    use super::*;
    use crate::call::budget::KIB;

    /// Runs `work` as a call with `limits`.
    async fn in_call(limits: Arc<StreamLimits>, work: impl Future<Output = ()>) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        crate::call::CallContext::serve(deadline, limits, work)
            .await
            .expect("within its deadline");
    }

    /// Limits with stream and total budgets in KiB.
    fn sized(
        fetch_connections: usize,
        max_open: usize,
        stream: usize,
        total: usize,
    ) -> Arc<StreamLimits> {
        StreamLimits::new(StreamSizes {
            fetch_connections,
            max_open,
            stream_bytes: stream * KIB,
            caller_bytes: total * KIB,
            total_bytes: total * KIB,
        })
    }

    #[tokio::test]
    async fn streams_past_the_limit_are_refused_until_one_closes() {
        let limits = sized(1, 2, 8, 16);
        in_call(limits.clone(), async {
            let first = OpenStream::new().expect("first");
            let _second = OpenStream::new().expect("second");
            assert!(matches!(OpenStream::new(), Err(StreamRefused::TooMany(2))));
            assert_eq!(limits.open(), 2);
            drop(first);
            let _third = OpenStream::new().expect("room again");
        })
        .await;
        assert_eq!(limits.open(), 0);
        assert!(
            OpenStream::new()
                .expect("unlimited outside a call")
                .limits
                .is_none()
        );
    }

    #[tokio::test]
    async fn pages_are_fetched_one_at_a_time_while_a_unary_call_is_handled() {
        let limits = sized(2, 10, 8, 64);
        in_call(limits.clone(), async {
            let waits = |turn| tokio::time::timeout(Duration::from_millis(50), turn);
            let first = OpenStream::new().expect("a");
            let second = OpenStream::new().expect("b");
            let turn = first.fetch_turn().await.expect("a turn");
            let side_by_side = second
                .fetch_turn()
                .await
                .expect("a second slot, unary idle");
            drop(side_by_side);

            let unary = limits.handling_call();
            assert!(
                waits(second.fetch_turn()).await.is_err(),
                "a page waits while another is fetched and a unary call is handled"
            );
            drop(turn);
            let alone = waits(second.fetch_turn())
                .await
                .expect("its turn")
                .expect("turn");
            assert!(
                waits(first.fetch_turn()).await.is_err(),
                "it holds every slot"
            );
            drop(alone);
            drop(unary);
            let _a = first.fetch_turn().await.expect("turn");
            let _b = waits(second.fetch_turn())
                .await
                .expect("side by side again");
        })
        .await;
    }
}

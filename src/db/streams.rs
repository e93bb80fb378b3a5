//! What the server's streamed listings share, so that they cannot starve unary calls or each
//! other, nor hold memory without bound: page fetches take turns (first come, first served) for
//! at most a share of the pool, leaving the rest to unary calls, and go one at a time while
//! unary calls are being handled (so a burst of streams yields the cores); each page reserves
//! its byte budget from a total for all streams before it is fetched (`paging`); and past a set
//! number of open streams a new one is refused (RESOURCE_EXHAUSTED with RetryInfo) rather than
//! queued without end.
//!
//! Like the call deadline (`deadline`), the limits reach `paging` through the call: the request
//! context layer runs each call within [`scope`], and a stream opened in it keeps what it needs.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
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
    fetch_connections: u32,
    open: AtomicUsize,
    max_open: usize,
    /// Bytes one page may hold (half a stream's budget: a stream holds the page the client is
    /// taking and the one fetched ahead).
    page_bytes: usize,
    /// The total for all streams, in KiB, that pages reserve from.
    room: Arc<Semaphore>,
    total_kib: usize,
    /// Bytes the rows of fetched pages hold now, until their stream hands out their last row.
    buffered: AtomicUsize,
    /// Calls whose handler is running: a unary call from start to answer, a stream until it is
    /// opened (its pages are fetched afterwards).
    handling: Arc<AtomicUsize>,
    /// Items streams have handed out since the server started (for metrics).
    items: AtomicU64,
}

/// Page budgets are reserved in KiB, so that the total may exceed the semaphore's permit limit.
const KIB: usize = 1024;

/// How a server sizes its streams.
#[derive(Debug, Clone, Copy)]
pub struct StreamSizes {
    /// Pooled connections page fetches may hold at once.
    pub fetch_connections: usize,
    /// Streams open at once.
    pub max_open: usize,
    /// Bytes one stream may hold.
    pub stream_bytes: usize,
    /// Bytes all streams together may hold.
    pub total_bytes: usize,
}

impl StreamLimits {
    pub fn new(sizes: StreamSizes) -> Arc<Self> {
        let page_bytes = (sizes.stream_bytes / 2).max(KIB);
        let total_kib = (sizes.total_bytes / KIB).clamp(page_bytes / KIB, Semaphore::MAX_PERMITS);
        Arc::new(Self {
            fetch_slots: Arc::new(Semaphore::new(sizes.fetch_connections.max(1))),
            fetch_connections: sizes.fetch_connections.max(1) as u32,
            open: AtomicUsize::new(0),
            max_open: sizes.max_open,
            page_bytes,
            room: Arc::new(Semaphore::new(total_kib)),
            total_kib,
            buffered: AtomicUsize::new(0),
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
        self.buffered.load(Ordering::Acquire)
    }

    /// Bytes one page may hold.
    pub fn page_bytes(&self) -> usize {
        self.page_bytes
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

/// A page's share of the total for streams, held until its rows are all handed out.
#[derive(Debug)]
pub struct Reservation {
    limits: Arc<StreamLimits>,
    room: OwnedSemaphorePermit,
    /// What the page's rows hold, counted in `buffered` until this is dropped.
    bytes: usize,
}

impl Reservation {
    /// Counts the bytes the page's rows turned out to hold. A page larger than its budget (one
    /// task larger than it) takes the difference from the total too, waiting for room, so that
    /// the stream goes on only once the total has it.
    pub async fn account(&mut self, bytes: usize) {
        let held = self.room.num_permits() * KIB;
        if bytes > held {
            let total = self.limits.total_kib;
            let more = (bytes - held)
                .div_ceil(KIB)
                .min(total.saturating_sub(self.room.num_permits()));
            if more > 0
                && let Ok(extra) = self
                    .limits
                    .room
                    .clone()
                    .acquire_many_owned(more as u32)
                    .await
            {
                self.room.merge(extra);
            }
        }
        self.bytes += bytes;
        self.limits.buffered.fetch_add(bytes, Ordering::AcqRel);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.limits.buffered.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// The page budget of streams opened outside any call.
const UNLIMITED_PAGE_BYTES: usize = 1 << 20;

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

    /// Counts one item handed to the client.
    pub fn count_item(&self) {
        if let Some(limits) = self.limits() {
            limits.items.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Bytes a page of this stream may hold.
    pub fn page_bytes(&self) -> usize {
        self.limits()
            .map_or(UNLIMITED_PAGE_BYTES, StreamLimits::page_bytes)
    }

    /// Waits for room for one more page in the total for streams.
    pub async fn reserve_page(&self) -> Option<Reservation> {
        let limits = self.0.clone()?;
        let kib = (limits.page_bytes / KIB) as u32;
        // Never closed, so acquiring cannot fail.
        let room = limits.room.clone().acquire_many_owned(kib).await.ok()?;
        Some(Reservation {
            limits,
            room,
            bytes: 0,
        })
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
    use std::time::Duration;

    use super::*;

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
            total_bytes: total * KIB,
        })
    }

    #[tokio::test]
    async fn streams_past_the_limit_are_refused_until_one_closes() {
        let limits = sized(1, 2, 8, 16);
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

    #[tokio::test]
    async fn pages_are_fetched_one_at_a_time_while_a_unary_call_is_handled() {
        let limits = sized(2, 10, 8, 64);
        scope(limits.clone(), async {
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

    #[tokio::test]
    async fn pages_wait_for_room_in_the_total_and_count_what_they_hold() {
        let limits = sized(1, 10, 8, 8);
        scope(limits.clone(), async {
            let stream = OpenStream::new().expect("open");
            let mut first = stream.reserve_page().await.expect("room");
            first.account(3000).await;
            let second = stream.reserve_page().await.expect("room");
            assert_eq!(limits.buffered_bytes(), 3000);
            let third = tokio::time::timeout(Duration::from_millis(50), stream.reserve_page());
            assert!(
                third.await.is_err(),
                "no room for a third 4 KiB page in 8 KiB"
            );
            drop(first);
            assert_eq!(limits.buffered_bytes(), 0);
            let _third = stream.reserve_page().await.expect("room again");
            drop(second);
        })
        .await;
    }
}

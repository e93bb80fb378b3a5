//! The bytes of listed rows that streams hold until their clients take them, bounded three ways:
//! a page holds at most half of one stream's buffer; one caller's streams together hold at most
//! the caller's share (`DOCKET_CALLER_STREAMS_BUFFER_BYTES`), so that a caller who stops reading
//! cannot hold what every other caller needs; all streams together hold at most the total.
//!
//! Pages shrink as more streams share the room: each page asks for its stream's fair part of
//! what the server and its caller have, and one that finds less room than it asked for takes what
//! there is, down to [`MIN_PAGE_KIB`], rather than wait. A page waits only when not even that
//! fits, and no longer than its call's deadline. A caller's pages take their caller's room first,
//! so that one caller's waiting pages hold none of the room everyone shares.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Instant,
};

/// Budgets are reserved in KiB, so that the total may exceed a semaphore's permit limit.
pub const KIB: usize = 1024;

/// The smallest page worth a query of its own.
const MIN_PAGE_KIB: usize = 16;

/// How the budget is sized, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct BudgetSizes {
    /// What one stream may hold: the page its client is taking and the one fetched ahead.
    pub stream: usize,
    /// What all streams of one caller may hold together.
    pub caller: usize,
    /// What all streams may hold together.
    pub total: usize,
}

/// The bytes all streams of one server may hold.
#[derive(Debug)]
pub struct Budget {
    room: Arc<Semaphore>,
    total_kib: usize,
    caller_kib: usize,
    /// The largest page, in KiB.
    page_kib: usize,
    callers: Mutex<HashMap<Arc<str>, CallerRoom>>,
    /// Streams that fetch pages now (watches fetch none).
    pagers: AtomicUsize,
    /// Bytes the rows of fetched pages hold now, until their stream hands out their last row.
    buffered: AtomicUsize,
}

#[derive(Debug)]
struct CallerRoom {
    room: Arc<Semaphore>,
    streams: usize,
    buffered: Arc<AtomicUsize>,
}

/// The page could not get room before its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom {
    /// What the caller's streams held when it gave up.
    pub caller_holds: usize,
}

impl Budget {
    pub fn new(sizes: BudgetSizes) -> Arc<Self> {
        let page_kib = (sizes.stream / 2 / KIB).max(1);
        let total_kib = (sizes.total / KIB).clamp(page_kib, Semaphore::MAX_PERMITS);
        Arc::new(Self {
            room: Arc::new(Semaphore::new(total_kib)),
            total_kib,
            // At least a stream's two smallest pages, so that every caller can stream.
            caller_kib: (sizes.caller / KIB)
                .clamp(2 * MIN_PAGE_KIB, total_kib.max(2 * MIN_PAGE_KIB)),
            page_kib,
            callers: Mutex::default(),
            pagers: AtomicUsize::new(0),
            buffered: AtomicUsize::new(0),
        })
    }

    /// Bytes the rows fetched for streams hold now, as their queries counted them.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered.load(Ordering::Acquire)
    }

    /// Bytes the rows fetched for one caller's streams hold now.
    pub fn caller_buffered_bytes(&self, caller: &str) -> usize {
        self.lock()
            .get(caller)
            .map_or(0, |c| c.buffered.load(Ordering::Acquire))
    }

    /// The largest page.
    pub fn page_bytes(&self) -> usize {
        self.page_kib * KIB
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, CallerRoom>> {
        // Counts and handles only: a panic mid-update cannot break more than one caller's count.
        self.callers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A stream that fetches pages, for `caller` (none: no caller's share applies).
    pub fn pager(self: &Arc<Self>, caller: Option<Arc<str>>) -> Pager {
        self.pagers.fetch_add(1, Ordering::AcqRel);
        let caller = caller.map(|key| {
            let mut callers = self.lock();
            let room = callers.entry(key.clone()).or_insert_with(|| CallerRoom {
                room: Arc::new(Semaphore::new(self.caller_kib)),
                streams: 0,
                buffered: Arc::default(),
            });
            room.streams += 1;
            (key, room.room.clone(), room.buffered.clone())
        });
        Pager {
            budget: self.clone(),
            caller,
        }
    }
}

/// One stream's hold on the budget; dropping it counts the stream out.
#[derive(Debug)]
pub struct Pager {
    budget: Arc<Budget>,
    caller: Option<(Arc<str>, Arc<Semaphore>, Arc<AtomicUsize>)>,
}

impl Drop for Pager {
    fn drop(&mut self) {
        self.budget.pagers.fetch_sub(1, Ordering::AcqRel);
        if let Some((key, _, _)) = &self.caller {
            let mut callers = self.budget.lock();
            if let Some(room) = callers.get_mut(key) {
                room.streams -= 1;
                if room.streams == 0 {
                    callers.remove(key);
                }
            }
        }
    }
}

impl Pager {
    /// The page this stream should ask for now: its part of the total and of its caller's share
    /// (half of it: a stream holds two pages), between the smallest and the largest page.
    fn fair_kib(&self) -> usize {
        let budget = &self.budget;
        let mut part = budget.total_kib / budget.pagers.load(Ordering::Acquire).max(1);
        if let Some((key, _, _)) = &self.caller {
            let streams = budget.lock().get(key).map_or(1, |c| c.streams.max(1));
            part = part.min(budget.caller_kib / streams);
        }
        (part / 2).clamp(MIN_PAGE_KIB.min(budget.page_kib), budget.page_kib)
    }

    /// Room for one more page, as much of its fair part as there is; waits (until `deadline`, if
    /// any) only while not even the smallest page fits.
    pub async fn reserve(&self, deadline: Option<Instant>) -> Result<Reservation, NoRoom> {
        let wanted = self.fair_kib();
        let no_room = || NoRoom {
            caller_holds: self
                .caller
                .as_ref()
                .map_or(0, |(_, _, held)| held.load(Ordering::Acquire)),
        };
        let mut caller = match &self.caller {
            Some((_, room, _)) => Some(take(room, wanted, deadline).await.ok_or_else(no_room)?),
            None => None,
        };
        let limit = caller.as_ref().map_or(wanted, |p| p.num_permits());
        let room = take(&self.budget.room, limit, deadline)
            .await
            .ok_or_else(no_room)?;
        if let Some(caller) = &mut caller
            && caller.num_permits() > room.num_permits()
        {
            // Given back at once: this page holds no more of the caller's room than of the total.
            drop(caller.split(caller.num_permits() - room.num_permits()));
        }
        Ok(Reservation {
            budget: self.budget.clone(),
            room,
            _caller_room: caller,
            caller_buffered: self.caller.as_ref().map(|(_, _, held)| held.clone()),
            bytes: 0,
        })
    }
}

/// Up to `wanted` KiB of `room`: all of it if free, else as much as is free down to the smallest
/// page; with less than that free, waits for the smallest page until `deadline`.
async fn take(
    room: &Arc<Semaphore>,
    wanted: usize,
    deadline: Option<Instant>,
) -> Option<OwnedSemaphorePermit> {
    let least = MIN_PAGE_KIB.min(wanted).max(1);
    let mut kib = wanted.max(1);
    loop {
        if let Ok(permit) = room.clone().try_acquire_many_owned(kib as u32) {
            return Some(permit);
        }
        if kib == least {
            break;
        }
        kib = (kib / 2).max(least);
    }
    let waited = room.clone().acquire_many_owned(least as u32);
    match deadline {
        // The semaphore is never closed.
        Some(deadline) => tokio::time::timeout_at(deadline, waited).await.ok()?.ok(),
        None => waited.await.ok(),
    }
}

/// A page's share of the budget, held until its rows are all handed out.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<Budget>,
    room: OwnedSemaphorePermit,
    /// Held, never read: the caller's room goes back when the page is dropped.
    _caller_room: Option<OwnedSemaphorePermit>,
    caller_buffered: Option<Arc<AtomicUsize>>,
    /// What the page's rows hold, counted in `buffered` until this is dropped.
    bytes: usize,
}

impl Reservation {
    /// The bytes the page may hold, which its query is asked to keep to.
    pub fn allowed_bytes(&self) -> usize {
        self.room.num_permits() * KIB
    }

    /// Counts the bytes the page's rows turned out to hold. A page larger than its budget (one
    /// task larger than it) takes the difference from the total too, waiting for room until
    /// `deadline`, so that the stream goes on only once the total has it (or its time is up).
    pub async fn account(&mut self, bytes: usize, deadline: Option<Instant>) {
        let held = self.room.num_permits() * KIB;
        if bytes > held {
            let total = self.budget.total_kib;
            let more = (bytes - held)
                .div_ceil(KIB)
                .min(total.saturating_sub(self.room.num_permits()));
            if more > 0 {
                let extra = self.budget.room.clone().acquire_many_owned(more as u32);
                let extra = match deadline {
                    Some(deadline) => tokio::time::timeout_at(deadline, extra).await.ok(),
                    None => Some(extra.await),
                };
                if let Some(Ok(extra)) = extra {
                    self.room.merge(extra);
                }
            }
        }
        self.bytes += bytes;
        self.budget.buffered.fetch_add(bytes, Ordering::AcqRel);
        if let Some(held) = &self.caller_buffered {
            held.fetch_add(bytes, Ordering::AcqRel);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.buffered.fetch_sub(self.bytes, Ordering::AcqRel);
        if let Some(held) = &self.caller_buffered {
            held.fetch_sub(self.bytes, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn budget(stream_kib: usize, caller_kib: usize, total_kib: usize) -> Arc<Budget> {
        Budget::new(BudgetSizes {
            stream: stream_kib * KIB,
            caller: caller_kib * KIB,
            total: total_kib * KIB,
        })
    }

    fn soon() -> Option<Instant> {
        Some(Instant::now() + Duration::from_millis(50))
    }

    #[tokio::test]
    async fn one_caller_holds_no_more_than_its_share_and_others_still_get_room() {
        let budget = budget(256, 256, 1024);
        let greedy: Arc<str> = Arc::from("greedy");
        let pagers: Vec<Pager> = (0..8).map(|_| budget.pager(Some(greedy.clone()))).collect();
        let mut held = Vec::new();
        for pager in &pagers {
            match pager.reserve(soon()).await {
                Ok(mut page) => {
                    page.account(page.allowed_bytes(), None).await;
                    held.push(page);
                }
                Err(no_room) => assert!(no_room.caller_holds >= 240 * KIB, "{no_room:?}"),
            }
        }
        assert!(budget.caller_buffered_bytes("greedy") <= 256 * KIB);
        let other = budget.pager(Some(Arc::from("other")));
        let page = other
            .reserve(soon())
            .await
            .expect("room for another caller");
        assert!(page.allowed_bytes() >= MIN_PAGE_KIB * KIB);
    }

    #[tokio::test]
    async fn pages_shrink_to_what_is_free_and_wait_only_for_the_smallest() {
        let room = Arc::new(Semaphore::new(40));
        let shrunk = take(&room, 100, None).await.expect("what is free");
        assert_eq!(shrunk.num_permits(), 25, "halved until it fits");
        let rest = take(&room, 100, soon()).await;
        assert!(
            rest.is_none(),
            "15 free: less than the smallest page, which waits"
        );
        drop(shrunk);
        let again = take(&room, 16, soon()).await.expect("room again");
        assert_eq!(again.num_permits(), 16);
    }

    #[tokio::test]
    async fn pages_are_a_fair_part_of_the_room() {
        let budget = budget(1024, 65536, 1024);
        let pagers: Vec<Pager> = (0..16).map(|_| budget.pager(None)).collect();
        let page = pagers[0].reserve(None).await.expect("room");
        assert_eq!(
            page.allowed_bytes(),
            32 * KIB,
            "1 MiB over 16 streams, halved"
        );
    }
}

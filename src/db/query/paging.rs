//! Streaming a keyset-ordered listing in bounded pages. While the client consumes one page, the
//! next is fetched (so PostgreSQL's work and the server's encoding overlap, one core each), and no
//! further: the page after is queried only once the client has consumed the current one (tonic
//! polls the stream as HTTP/2 flow control allows), so a slow client slows the queries down.
//!
//! What a stream holds is bounded in bytes, not rows: a page is at most [`PAGE_ROWS`] rows and,
//! for listings of tasks (whose bodies may be large), at most the page budget of
//! `streams::StreamLimits` in bytes, cut by the query itself (plus the first row, should that
//! alone be larger). Each page also reserves its budget from the server's total for streams
//! before it is fetched, and holds it until the client has taken its last row: stalled clients
//! together hold at most that total, and further pages wait for room.
//!
//! Each page borrows a pooled connection only for its own query: a slow client never pins a
//! connection. Each page may take as long as the call that opened the stream had left when it did
//! (`deadline`); a page that takes longer ends the stream with the timeout.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use diesel::{
    QueryResult, QueryableByName,
    sql_types::{BigInt, Nullable},
};
use diesel_async::AsyncPgConnection;
use futures_util::{Stream, future::BoxFuture, stream};
use tokio::task::JoinHandle;

use crate::call::{self, budget::Reservation, streams::OpenStream};
use crate::db::{DbError, PgPool, pool::deadline, query::sql::Sql};

/// Rows fetched per query at most. Memory is bounded by the byte budget, not by this: it only
/// spreads each query's fixed cost (a round trip, a plan, a handoff) over more rows. One stream of
/// small tasks (718 bytes each as counted) read 150-170k rows/s at 256 and 185-200k at 1,024 (then
/// cut near 730 by the default budget).
pub const PAGE_ROWS: u64 = 1024;

/// A page as its query found it.
#[derive(Debug)]
pub struct Fetched<T> {
    pub rows: Vec<T>,
    /// Rows the query found: those of the page, and one more if its byte budget cut it. Fewer
    /// than it asked for means the listing ends with this page.
    pub found: usize,
    /// Bytes the rows hold, as the query counted them.
    pub bytes: usize,
}

impl<T> Fetched<T> {
    /// A page of rows of bounded size (users, assignments), which no byte budget cuts.
    pub fn of_small_rows(rows: Vec<T>) -> Self {
        Self {
            found: rows.len(),
            bytes: rows.len() * std::mem::size_of::<T>(),
            rows,
        }
    }
}

/// A row of a page budgeted in bytes ([`Sql::open_budgeted_page`]): the item, the bytes of the
/// rows before it and its own, and the bytes of the row after it in the page, if there is one.
#[derive(QueryableByName)]
pub struct Budgeted<R> {
    #[diesel(embed)]
    item: R,
    #[diesel(sql_type = BigInt)]
    bytes_before: i64,
    #[diesel(sql_type = BigInt)]
    row_bytes: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    next_bytes: Option<i64>,
}

impl<T> Fetched<T> {
    /// The page a budgeted query returned. When its budget cut it, the page's last row still
    /// had a row after it, so the query found one more than it returned.
    pub fn budgeted(rows: Vec<Budgeted<T>>) -> Self {
        let (bytes, cut) = rows.last().map_or((0, false), |r| {
            (
                (r.bytes_before + r.row_bytes) as usize,
                r.next_bytes.is_some(),
            )
        });
        Self {
            found: rows.len() + usize::from(cut),
            rows: rows.into_iter().map(|r| r.item).collect(),
            bytes,
        }
    }
}

impl Sql {
    /// Opens a page query budgeted in bytes, whose rows each count `bytes`
    /// (`task_columns::task_bytes`): `SELECT ... FROM (SELECT {columns}, ... FROM ` — the caller
    /// goes on with the tables and conditions, then [`close_budgeted_page`](Self::close_budgeted_page). `key` is the page's
    /// sort key (ties broken by `id`).
    pub(crate) fn open_budgeted_page(&mut self, columns: &str, key: &str, bytes: &str) {
        self.push(&format!(
            "SELECT * FROM (SELECT p.*, (sum(p.row_bytes) OVER w)::bigint - p.row_bytes \
             AS bytes_before, lead(p.row_bytes) OVER w AS next_bytes FROM (SELECT {columns}, \
             {key} AS page_key, {bytes} AS row_bytes FROM "
        ));
    }

    /// Closes what [`open_budgeted_page`](Self::open_budgeted_page) opened: up to `limit` rows in
    /// `order`, planned as the page query alone; then, in one pass over those rows in the order
    /// they come (no sort, no copy of the page: the window's order is the page's), the bytes of
    /// the rows before each and of the row after; then only the rows that end within `budget`
    /// (the first one always). `order` sorts by the key, then by `id` unless the key is unique.
    pub(crate) fn close_budgeted_page(
        &mut self,
        order: &str,
        direction: &str,
        key_is_unique: bool,
        limit: i64,
        budget: i64,
    ) {
        self.push(&format!(" ORDER BY {order} LIMIT "));
        self.bind::<BigInt, _>(limit);
        // The window and the result are ordered exactly as the page, so that neither sorts.
        let ordered = |table: &str| {
            if key_is_unique {
                format!("{table}.page_key {direction}")
            } else {
                format!("{table}.page_key {direction}, {table}.id {direction}")
            }
        };
        self.push(&format!(
            ") p WINDOW w AS (ORDER BY {} ROWS UNBOUNDED PRECEDING)) sized \
             WHERE sized.bytes_before = 0 OR sized.bytes_before + sized.row_bytes <= ",
            ordered("p")
        ));
        self.bind::<BigInt, _>(budget);
        self.push(&format!(" ORDER BY {}", ordered("sized")));
    }
}

/// Fetches up to `limit` rows that sort after `after` (from the start when `None`), holding at
/// most `budget` bytes (always at least one row).
pub type FetchPage<T, K> = Arc<
    dyn for<'c> Fn(
            &'c mut AsyncPgConnection,
            Option<K>,
            i64,
            i64,
        ) -> BoxFuture<'c, QueryResult<Fetched<T>>>
        + Send
        + Sync,
>;

struct State<T, K, F> {
    pool: PgPool,
    open: Arc<OpenStream>,
    /// How long each page may take; none: as long as it takes.
    page_time: Option<Duration>,
    fetch: FetchPage<T, K>,
    key: F,
    after: Option<K>,
    remaining: Option<u64>,
    buffer: VecDeque<T>,
    /// The budget the rows in `buffer` hold.
    held: Option<Reservation>,
    exhausted: bool,
    /// The next page, being fetched.
    next: Option<(u64, PageFetch<T>)>,
}

impl<T, K, F> State<T, K, F>
where
    T: Send + 'static,
    K: Clone + Send + Sync + 'static,
{
    /// The page after `after`, `want` rows at most, as a future of its own (awaited, or spawned
    /// to fetch ahead).
    fn page(&self, want: u64) -> impl Future<Output = PageResult<T>> + Send + 'static {
        fetch_page(
            self.pool.clone(),
            self.open.clone(),
            self.page_time,
            self.fetch.clone(),
            self.after.clone(),
            want,
        )
    }
}

/// A fetched page with the budget it holds, or why there is none.
type PageResult<T> = Result<(Fetched<T>, Option<Reservation>), DbError>;

/// A page being fetched by a task of its own, with the budget it holds.
type PageFetch<T> = JoinHandle<PageResult<T>>;

/// Fetches a page with a connection of its own, once there is room for it in the server's budget
/// and it is this stream's turn; the query (with the wait for its turn) within `page_time`.
async fn fetch_page<T, K>(
    pool: PgPool,
    open: Arc<OpenStream>,
    page_time: Option<Duration>,
    fetch: FetchPage<T, K>,
    after: Option<K>,
    want: u64,
) -> PageResult<T> {
    // Waiting for room is waiting for clients to read, which the call's deadline bounds too.
    let waited_until = page_time.map(|time| tokio::time::Instant::now() + time);
    let mut reservation = open.reserve_page(waited_until).await?;
    let budget = OpenStream::page_bytes(reservation.as_ref()) as i64;
    let page = async {
        let _turn = open.fetch_turn().await;
        let mut conn = deadline::checkout(&pool).await?;
        Ok::<_, DbError>(fetch(&mut conn, after, want as i64, budget).await?)
    };
    let fetched_until = page_time.map(|time| tokio::time::Instant::now() + time);
    let page = match fetched_until {
        Some(until) => call::within(until, page).await??,
        None => page.await?,
    };
    if let Some(reservation) = &mut reservation {
        reservation.account(page.bytes, fetched_until).await;
    }
    Ok((page, reservation))
}

/// The rows after `after` in key order, at most `limit` of them (`None`: all), fetched page by
/// page. A database error ends the stream after being yielded. Refused when the server has as
/// many streams open as it allows (`streams`).
pub fn keyset_stream<T, K, F>(
    pool: PgPool,
    after: Option<K>,
    limit: Option<u64>,
    key: F,
    fetch: FetchPage<T, K>,
) -> Result<impl Stream<Item = Result<T, DbError>> + Send + 'static, DbError>
where
    T: Send + 'static,
    K: Clone + Send + Sync + 'static,
    F: Fn(&T) -> K + Send + 'static,
{
    let state = State {
        pool,
        open: Arc::new(OpenStream::paged()?),
        page_time: call::remaining(),
        fetch,
        key,
        after,
        remaining: limit,
        buffer: VecDeque::new(),
        held: None,
        exhausted: false,
        next: None,
    };
    Ok(stream::unfold(state, |mut state| async move {
        if state.remaining == Some(0) {
            return None;
        }
        if state.buffer.is_empty() && !state.exhausted {
            // The page just consumed gives its budget back before the next one is waited for.
            state.held = None;
            let (want, page) = match state.next.take() {
                Some((want, next)) => (want, next.await.unwrap_or(Err(DbError::Stopped))),
                None => {
                    let want = state.remaining.map_or(PAGE_ROWS, |r| r.min(PAGE_ROWS));
                    (want, state.page(want).await)
                }
            };
            match page {
                Ok((page, reservation)) => {
                    // The query found fewer than it asked for, and its byte budget cut none.
                    state.exhausted = (page.found as u64) < want && page.rows.len() == page.found;
                    if let Some(last) = page.rows.last() {
                        state.after = Some((state.key)(last));
                    }
                    state.buffer.extend(page.rows);
                    state.held = reservation;
                }
                Err(e) => {
                    state.exhausted = true;
                    return Some((Err(e), state));
                }
            }
            // The page after this one, while the client takes this one.
            let more = state
                .remaining
                .map_or(PAGE_ROWS, |r| r.saturating_sub(state.buffer.len() as u64));
            if !state.exhausted && more > 0 {
                let want = more.min(PAGE_ROWS);
                state.next = Some((want, tokio::spawn(state.page(want))));
            }
        }
        let row = state.buffer.pop_front()?;
        state.open.count_item();
        if let Some(remaining) = &mut state.remaining {
            *remaining -= 1;
        }
        Some((Ok(row), state))
    }))
}

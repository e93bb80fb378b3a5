//! Streaming a keyset-ordered listing in bounded pages. While the client consumes one page, the
//! next is fetched (so PostgreSQL's work and the server's encoding overlap, one core each), and no
//! further: the page after is queried only once the client has consumed the current one (tonic
//! polls the stream as HTTP/2 flow control allows), so a slow client slows the queries down and
//! memory stays bounded by two pages. Each page borrows a pooled connection only for its own
//! query: a slow client never pins a connection, so a few slow streams cannot exhaust the pool.
//! Each page may take as long as the call that opened the stream had left when it did
//! (`deadline`); a page that takes longer ends the stream with the timeout.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use futures_util::{Stream, future::BoxFuture, stream};
use tokio::task::JoinHandle;

use super::{DbError, PgPool, deadline, streams::OpenStream};

/// Rows fetched per query.
pub const PAGE_ROWS: u64 = 256;

/// Fetches up to `limit` rows that sort after `after` (from the start when `None`).
pub type FetchPage<T, K> = Arc<
    dyn for<'c> Fn(&'c mut AsyncPgConnection, Option<K>, i64) -> BoxFuture<'c, QueryResult<Vec<T>>>
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
    exhausted: bool,
    /// The next page, being fetched.
    next: Option<(u64, PageFetch<T>)>,
}

/// A page being fetched by a task of its own.
type PageFetch<T> = JoinHandle<Result<Vec<T>, DbError>>;

/// Fetches a page with a connection of its own, when it is this stream's turn, within `page_time`.
async fn fetch_page<T, K>(
    pool: PgPool,
    open: Arc<OpenStream>,
    page_time: Option<Duration>,
    fetch: FetchPage<T, K>,
    after: Option<K>,
    want: u64,
) -> Result<Vec<T>, DbError> {
    let page = async {
        let _turn = open.fetch_turn().await;
        let mut conn = deadline::checkout(&pool).await?;
        Ok(fetch(&mut conn, after, want as i64).await?)
    };
    match page_time {
        Some(time) => deadline::within(tokio::time::Instant::now() + time, page).await?,
        None => page.await,
    }
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
        open: Arc::new(OpenStream::new()?),
        page_time: deadline::remaining(),
        fetch,
        key,
        after,
        remaining: limit,
        buffer: VecDeque::new(),
        exhausted: false,
        next: None,
    };
    Ok(stream::unfold(state, |mut state| async move {
        if state.remaining == Some(0) {
            return None;
        }
        if state.buffer.is_empty() && !state.exhausted {
            let (want, page) = match state.next.take() {
                Some((want, next)) => (want, next.await.unwrap_or(Err(DbError::Stopped))),
                None => {
                    let want = state.remaining.map_or(PAGE_ROWS, |r| r.min(PAGE_ROWS));
                    let page = fetch_page(
                        state.pool.clone(),
                        state.open.clone(),
                        state.page_time,
                        state.fetch.clone(),
                        state.after.clone(),
                        want,
                    );
                    (want, page.await)
                }
            };
            match page {
                Ok(rows) => {
                    state.exhausted = (rows.len() as u64) < want;
                    if let Some(last) = rows.last() {
                        state.after = Some((state.key)(last));
                    }
                    state.buffer.extend(rows);
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
                let page = fetch_page(
                    state.pool.clone(),
                    state.open.clone(),
                    state.page_time,
                    state.fetch.clone(),
                    state.after.clone(),
                    want,
                );
                state.next = Some((want, tokio::spawn(page)));
            }
        }
        let row = state.buffer.pop_front()?;
        if let Some(remaining) = &mut state.remaining {
            *remaining -= 1;
        }
        Some((Ok(row), state))
    }))
}

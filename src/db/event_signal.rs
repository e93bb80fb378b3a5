//! Telling every server that events were written, without a round trip per write: a call that
//! writes events marks itself ([`mark_written`]); when such a call ends (its transaction
//! committed), its server's [`Notifier`] sends one `NOTIFY` for all the calls that ended
//! meanwhile, at most one in flight, which wakes the watch hub of every server on the database
//! (`domain::watch`). A NOTIFY from a trigger would do it in the writer's own statement, but
//! PostgreSQL serialises the commits of notifying transactions on one lock.

use std::{cell::Cell, future::Future, sync::Arc, time::Duration};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{PgPool, checkout, events};

tokio::task_local! {
    static WROTE: Cell<bool>;
}

/// Notes that the current call wrote events (nothing outside a call's [`scope`]).
pub fn mark_written() {
    let _ = WROTE.try_with(|wrote| wrote.set(true));
}

/// Runs a call, telling whether it wrote events.
pub async fn scope<F: Future>(call: F) -> (F::Output, bool) {
    WROTE
        .scope(Cell::new(false), async {
            let output = call.await;
            (output, WROTE.with(Cell::get))
        })
        .await
}

/// Sends the coalesced NOTIFYs of one server.
#[derive(Clone, Debug)]
pub struct Notifier {
    wake: Arc<Notify>,
}

/// The least time between two NOTIFYs of one server: under a stream of writes, one NOTIFY per
/// gap wakes the watchers for all of them.
const MIN_GAP: Duration = Duration::from_millis(10);

impl Notifier {
    /// Starts the server's notifier, which runs until `stop`.
    pub fn start(pool: PgPool, stop: CancellationToken) -> Self {
        let wake = Arc::new(Notify::new());
        tokio::spawn(run(pool, wake.clone(), stop));
        Self { wake }
    }

    /// A notifier that sends nothing (for tools that write no events).
    pub fn silent() -> Self {
        Self {
            wake: Arc::new(Notify::new()),
        }
    }

    /// Asks for a NOTIFY: one is sent soon, for this and every other request until it goes.
    pub fn poke(&self) {
        // A permit is kept when the task is busy sending: pokes meanwhile make one more NOTIFY.
        self.wake.notify_one();
    }
}

async fn run(pool: PgPool, wake: Arc<Notify>, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = wake.notified() => {}
        }
        let sent = async {
            let mut conn = checkout(&pool).await?;
            events::notify(&mut conn).await?;
            Ok::<_, super::DbError>(())
        };
        // Watchers also read on a timer, so a NOTIFY lost to a fault delays, never loses, events.
        match tokio::time::timeout(Duration::from_secs(5), sent).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "could not notify watchers of new events"),
            Err(_) => tracing::warn!("notifying watchers of new events timed out"),
        }
        tokio::time::sleep(MIN_GAP).await;
    }
}

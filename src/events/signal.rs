//! Telling every server that events were written, without a round trip per write: a call that
//! writes events marks the workspace it wrote them in (`call::mark_written`); when such a call ends
//! (its transaction committed), its server's [`Notifier`] sends the NOTIFYs for all the calls that
//! ended meanwhile, at most one batch in flight, which wake the watch hub of every server on the
//! database (`events::watch`). Each NOTIFY names the workspaces that have new events, so that a
//! hub reads those only. A NOTIFY from a trigger would do it in the writer's own statement, but
//! PostgreSQL serialises the commits of notifying transactions on one lock.

use std::{
    collections::HashSet,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use diesel::{
    QueryResult, sql_query,
    sql_types::{Array, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::{PgPool, checkout};

/// Sends the coalesced NOTIFYs of one server.
#[derive(Clone, Debug, Default)]
pub struct Notifier {
    wake: Arc<Notify>,
    written: Arc<Mutex<HashSet<Uuid>>>,
}

/// The least time between two batches of NOTIFYs of one server: under a stream of writes, one
/// batch per gap wakes the watchers for all of them.
const MIN_GAP: Duration = Duration::from_millis(10);

/// Workspaces one NOTIFY names at most: PostgreSQL takes payloads of up to 8,000 bytes, and each
/// workspace takes 33 (32 hex digits and a space).
const WORKSPACES_PER_NOTIFY: usize = 200;

impl Notifier {
    /// The sending task: what was poked is sent, in batches, until `stop` (the server's
    /// background owner runs it). A notifier whose task never runs sends nothing, which is what
    /// tools that write no events want.
    pub fn sending(
        &self,
        pool: PgPool,
        stop: CancellationToken,
    ) -> impl Future<Output = ()> + use<> {
        run(pool, self.clone(), stop)
    }

    /// Asks for a NOTIFY naming these workspaces: one is sent soon, for this and every other
    /// request until it goes.
    pub fn poke(&self, workspaces: impl IntoIterator<Item = Uuid>) {
        self.lock().extend(workspaces);
        // A permit is kept when the task is busy sending: pokes meanwhile make one more batch.
        self.wake.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Uuid>> {
        // A set of ids holds no invariant a panic could break.
        self.written
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The payloads for the workspaces written since the last batch.
    fn payloads(&self) -> Vec<String> {
        let written: Vec<Uuid> = self.lock().drain().collect();
        written
            .chunks(WORKSPACES_PER_NOTIFY)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|id| id.simple().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }
}

/// The workspaces a NOTIFY's payload names; `None` for any (an empty or unknown payload).
pub fn named_workspaces(payload: &str) -> Option<Vec<Uuid>> {
    let ids: Result<Vec<Uuid>, _> = payload.split_whitespace().map(Uuid::parse_str).collect();
    ids.ok().filter(|ids| !ids.is_empty())
}

async fn run(pool: PgPool, notifier: Notifier, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = notifier.wake.notified() => {}
        }
        let payloads = notifier.payloads();
        if payloads.is_empty() {
            continue;
        }
        let sent = async {
            let mut conn = checkout(&pool).await?;
            notify(&mut conn, payloads).await?;
            Ok::<_, crate::db::DbError>(())
        };
        // Watchers also read on a timer, so a NOTIFY lost to a fault delays, never loses, events.
        let sent = tokio::select! {
            _ = stop.cancelled() => return,
            sent = tokio::time::timeout(Duration::from_secs(5), sent) => sent,
        };
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "could not notify watchers of new events"),
            Err(_) => tracing::warn!("notifying watchers of new events timed out"),
        }
        tokio::time::sleep(MIN_GAP).await;
    }
}

/// Wakes every server's watchers (`events::watch`) with one NOTIFY per payload: each names the
/// workspaces that have new events (32 hex digits each, separated by spaces), so that their
/// hubs read those only; an empty one means "any".
pub async fn notify(conn: &mut AsyncPgConnection, payloads: Vec<String>) -> QueryResult<()> {
    sql_query(format!(
        "SELECT pg_notify('{CHANNEL}', payload) FROM unnest($1::text[]) AS payload"
    ))
    .bind::<Array<Text>, _>(payloads)
    .execute(conn)
    .await?;
    Ok(())
}

/// Starts listening for [`notify`] on a connection of its own.
pub async fn listen(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    sql_query(format!("LISTEN {CHANNEL}")).execute(conn).await?;
    Ok(())
}

/// The channel servers NOTIFY when they have written events.
const CHANNEL: &str = "docket_events";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_each_workspace_once_within_postgresql_limit() {
        let notifier = Notifier::default();
        let ids: Vec<Uuid> = (0..450).map(|n| Uuid::from_u128(n + 1)).collect();
        notifier.poke(ids.iter().copied());
        notifier.poke([ids[0]]);
        let payloads = notifier.payloads();
        assert_eq!(payloads.len(), 3);
        let mut named = Vec::new();
        for payload in &payloads {
            assert!(payload.len() < 8000, "{}", payload.len());
            named.extend(named_workspaces(payload).expect("workspaces"));
        }
        named.sort();
        assert_eq!(named, ids);
        assert!(notifier.payloads().is_empty(), "sent once");
        assert_eq!(named_workspaces(""), None);
        assert_eq!(named_workspaces("not-a-uuid"), None);
    }
}

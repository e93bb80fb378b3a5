//! The call being served, as every layer below the edge sees it: one [`CallContext`] per call,
//! installed by the request layer (`grpc::request_context`) with [`CallContext::serve`], holding
//! what the call's work needs without every function passing it on:
//!
//! - its deadline ([`deadline`]): pooled connections still held past it are closed
//!   (`db::pool::deadline`); work that runs on its own (batched statements, stream pages, hub
//!   reads) sets its own with [`within`];
//! - the server's stream limits and whose the call's streams are ([`streams`], set by the auth
//!   layer with [`set_owner`]), so that a stream opened in the call counts against them;
//! - the workspaces it wrote events in ([`mark_written`]), for the request layer to wake the
//!   watchers once the call's transaction committed;
//! - what the call is about ([`note_subject`]): the ids its request names, for its errors.
//!
//! Outside any call (tools, tests of the database layer, background work) there is no deadline,
//! no limit and no owner, and nothing is recorded.

pub mod budget;
pub mod streams;

use std::{
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use tokio::time::Instant;
use uuid::Uuid;

use streams::StreamLimits;

tokio::task_local! {
    static CALL: CallContext;
}

/// The work did not end by its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no answer from the database within {0:?}")]
pub struct TimedOut(pub Duration);

/// The state of one call; see the module's comment.
pub struct CallContext {
    deadline: Option<Instant>,
    /// Shared with the work that sets a deadline of its own inside the call ([`within`]).
    call: Option<Arc<CallState>>,
}

#[derive(Default)]
struct CallState {
    streams: Option<Arc<StreamLimits>>,
    owner: Mutex<Option<Arc<str>>>,
    wrote: Mutex<Vec<Uuid>>,
    subject: Mutex<Vec<(&'static str, String)>>,
}

/// What a call left behind when it ended.
#[derive(Debug, Default)]
pub struct Ended {
    /// The workspaces it wrote events in.
    pub wrote_events: Vec<Uuid>,
}

impl CallContext {
    /// Runs `call` until `deadline` with `streams` as the limits of the streams it opens; past
    /// the deadline `call` is dropped (closing any connection it holds) and the answer is
    /// [`TimedOut`].
    pub async fn serve<F: Future>(
        deadline: Instant,
        streams: Arc<StreamLimits>,
        call: F,
    ) -> Result<(F::Output, Ended), TimedOut> {
        let state = Arc::new(CallState {
            streams: Some(streams),
            ..CallState::default()
        });
        let context = CallContext {
            deadline: Some(deadline),
            call: Some(state.clone()),
        };
        let output = CALL.scope(context, until(deadline, call)).await?;
        let wrote_events = std::mem::take(&mut *lock(&state.wrote));
        Ok((output, Ended { wrote_events }))
    }
}

async fn until<F: Future>(deadline: Instant, work: F) -> Result<F::Output, TimedOut> {
    let allowed = deadline.saturating_duration_since(Instant::now());
    tokio::time::timeout_at(deadline, work)
        .await
        .map_err(|_| TimedOut(allowed))
}

/// Runs `work` with `deadline` as its deadline (inside a call, instead of the call's, keeping the
/// rest of the call's state); past it, `work` is dropped and the answer is [`TimedOut`].
pub async fn within<F: Future>(deadline: Instant, work: F) -> Result<F::Output, TimedOut> {
    let context = CallContext {
        deadline: Some(deadline),
        call: state(),
    };
    CALL.scope(context, until(deadline, work)).await
}

fn state() -> Option<Arc<CallState>> {
    CALL.try_with(|context| context.call.clone()).ok().flatten()
}

/// A poisoned lock still holds usable lists: a panic elsewhere cannot leave them half-written.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The deadline of the work being run, if it has one.
pub fn deadline() -> Option<Instant> {
    CALL.try_with(|context| context.deadline).ok().flatten()
}

/// How long the work being run has left, if it has a deadline.
pub fn remaining() -> Option<Duration> {
    deadline().map(|deadline| deadline.saturating_duration_since(Instant::now()))
}

/// The limits of the streams the current call opens (none outside a call).
pub fn streams() -> Option<Arc<StreamLimits>> {
    state().and_then(|state| state.streams.clone())
}

/// Names the caller whose share of the stream buffers the call's streams count against
/// (`<workspace id>/<actor>`).
pub fn set_owner(owner: &str) {
    if let Some(state) = state() {
        *lock(&state.owner) = Some(Arc::from(owner));
    }
}

/// The caller the current call's streams count against, once authenticated.
pub fn owner() -> Option<Arc<str>> {
    state().and_then(|state| lock(&state.owner).clone())
}

/// Notes that the current call wrote events in the workspace.
pub fn mark_written(workspace_id: Uuid) {
    if let Some(state) = state() {
        let mut wrote = lock(&state.wrote);
        if !wrote.contains(&workspace_id) {
            wrote.push(workspace_id);
        }
    }
}

/// Notes an id the current call's request names (`task_id`, ...).
pub fn note_subject(field: &'static str, value: String) {
    if let Some(state) = state() {
        lock(&state.subject).push((field, value));
    }
}

/// The ids noted for the current call.
pub fn subject() -> Vec<(&'static str, String)> {
    state().map_or_else(Vec::new, |state| lock(&state.subject).clone())
}

#[cfg(test)]
mod tests;

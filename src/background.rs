//! The one owner of a server's background tasks (mini-redis's shape: one place that starts them,
//! one signal that stops them, and a wait until they have stopped). Tasks stop in two stages,
//! because a drain needs them in that order:
//!
//! - **work** (the database probe, housekeeping, the timer worker, the watch hub) stops as soon as
//!   shutdown begins: nothing new is probed, purged, fired or read once the server drains, and
//!   open watches end at once so that their clients resume on another server;
//! - **support** (the event notifier, the metrics endpoint) keeps serving the calls that drain,
//!   and stops once the last one has ended.
//!
//! Each task is handed its stage's stop token and must return promptly once it is cancelled,
//! even from a database that does not answer: the stage's stop waits for every one of them.

use std::future::Future;

use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// Tasks that stop together.
#[derive(Clone, Default)]
struct Stage {
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Stage {
    fn spawn<F, Fut>(&self, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task(self.stop.clone()));
    }

    async fn stop(&self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// The server's background tasks, by stage.
#[derive(Clone, Default)]
pub struct Background {
    work: Stage,
    support: Stage,
}

impl Background {
    /// Runs `task` until shutdown begins.
    pub fn work<F, Fut>(&self, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.work.spawn(task);
    }

    /// Runs `task` until the server has stopped serving calls.
    pub fn support<F, Fut>(&self, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.support.spawn(task);
    }

    /// Stops the work stage and waits until its tasks have returned.
    pub async fn stop_work(&self) {
        self.work.stop().await;
    }

    /// Stops everything, work first, and waits until every task has returned.
    pub async fn stop(&self) {
        self.work.stop().await;
        self.support.stop().await;
    }
}

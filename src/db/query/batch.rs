//! Statements that concurrent calls share. A call hands its item to a [`Batcher`] and waits; a
//! few runners each take whatever items have queued (up to a cap) and run them as one statement
//! on one pooled connection. Under light load an item runs alone, at once: nothing waits for a
//! batch to fill, there is no timer. Under load, the items that queued while the runners were busy
//! share one round trip, one executor start and one commit, which is most of what a small insert
//! or lookup costs PostgreSQL (pgbench on Docket's create: 5,500 tasks/s one per statement,
//! 12,600/s four per statement).
//!
//! A batch that fails as a whole (one bad row fails its statement) is run again item by item, so
//! each call gets its own answer and no call fails for another's item.
//!
//! A batch runs until the latest deadline of its calls (`deadline`): when the database hangs, the
//! runner gives up, closes the connection and answers the calls still waiting, rather than stay
//! stuck with every later batch queued behind it.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use tokio::{
    sync::{Mutex, Notify, mpsc, oneshot},
    time::Instant,
};

use tracing::Instrument;

use crate::call;
use crate::db::{DbError, PgPool, pool::deadline::Conn};
use crate::telemetry;

/// The outputs of a statement for many items, one per item, in order.
pub type Outputs<'c, T> = Pin<Box<dyn Future<Output = QueryResult<Vec<T>>> + Send + 'c>>;

/// A statement that runs many items at once.
pub trait Batched: Send + Sync + 'static {
    type Item: Send + Sync + 'static;
    type Output: Send + 'static;

    /// Runs the items in one statement, answering each in order.
    fn run<'c>(
        &'c self,
        conn: &'c mut AsyncPgConnection,
        items: &'c [Self::Item],
    ) -> Outputs<'c, Self::Output>;
}

struct Job<B: Batched> {
    item: B::Item,
    reply: oneshot::Sender<Result<B::Output, DbError>>,
    /// The caller's deadline; none means it waits as long as it takes.
    deadline: Option<Instant>,
    /// The caller's span, for the batch's span to link to (when spans are exported).
    span: Option<tracing::Span>,
}

/// Hands items to the runners of one [`Batched`] statement.
pub struct Batcher<B: Batched> {
    queue: mpsc::Sender<Job<B>>,
}

/// Items that may wait for a runner before callers wait to queue theirs.
const QUEUE_CAPACITY: usize = 4096;

/// What the runners share: the queue, and how many of them are running a batch.
struct Runners<B: Batched> {
    jobs: Mutex<mpsc::Receiver<Job<B>>>,
    running: AtomicUsize,
    finished: Notify,
    pool: PgPool,
    work: B,
    /// Items a batch takes at most, and how many a runner waits for while another batch runs.
    max_items: usize,
    fill: usize,
}

impl<B: Batched> Batcher<B> {
    /// Starts `runners` runners of `work`, each taking up to `max_items` at a time. A runner holds
    /// a pooled connection only while it runs a batch.
    ///
    /// A runner that finds another batch running does not start at once with the one or two items
    /// queued so far: it keeps taking items until it has `fill` of them or a running batch ends,
    /// whichever comes first. So the batches stay large under load, and the runners take turns
    /// (one collecting while another runs) instead of splitting the same items between them. A
    /// runner that finds none running starts at once.
    pub fn start(pool: PgPool, work: B, runners: usize, max_items: usize, fill: usize) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE_CAPACITY);
        let shared = Arc::new(Runners {
            jobs: Mutex::new(jobs),
            running: AtomicUsize::new(0),
            finished: Notify::new(),
            pool,
            work,
            max_items: max_items.max(1),
            fill: fill.clamp(1, max_items.max(1)),
        });
        for _ in 0..runners.max(1) {
            tokio::spawn(runner(shared.clone()));
        }
        Self { queue }
    }

    /// Runs `item` in the next batch and returns its answer.
    pub async fn run(&self, item: B::Item) -> Result<B::Output, DbError> {
        // The statement runs in a runner's task, outside the call's span: the call's own child
        // span covers its wait for it, and the batch's span links to it (`run_batch`).
        let span = telemetry::exporting().then(|| {
            tracing::debug_span!(
                "db.batch",
                otel.kind = "client",
                db.system = "postgresql",
                docket.batch = std::any::type_name::<B>(),
            )
        });
        let caller = span.clone();
        let queued = async move {
            let (reply, answer) = oneshot::channel();
            self.queue
                .send(Job {
                    item,
                    reply,
                    deadline: call::deadline(),
                    span: caller,
                })
                .await
                .map_err(|_| DbError::Stopped)?;
            answer.await.map_err(|_| DbError::Stopped)?
        };
        match span {
            Some(span) => queued.instrument(span).await,
            None => queued.await,
        }
    }
}

async fn runner<B: Batched>(shared: Arc<Runners<B>>) {
    loop {
        let Some(mut batch) = collect(&shared).await else {
            return; // every Batcher is gone
        };
        // Callers that gave up (a cancelled call) need no answer.
        batch.retain(|job| !job.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        shared.running.fetch_add(1, Ordering::SeqCst);
        // Its own task, so that a panic fails this batch's calls and not the runner.
        let _ = tokio::spawn(run_batch(shared.clone(), batch)).await;
        shared.running.fetch_sub(1, Ordering::SeqCst);
        shared.finished.notify_waiters();
    }
}

/// The next batch: what is queued, and while another batch runs, what comes until there are
/// `fill` items or that batch ends.
async fn collect<B: Batched>(shared: &Runners<B>) -> Option<Vec<Job<B>>> {
    let mut jobs = shared.jobs.lock().await;
    let mut batch = vec![jobs.recv().await?];
    loop {
        while batch.len() < shared.max_items {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if batch.len() >= shared.fill {
            return Some(batch);
        }
        // Registered before looking, so that a batch ending in between is not missed.
        let finished = shared.finished.notified();
        tokio::pin!(finished);
        finished.as_mut().enable();
        if shared.running.load(Ordering::SeqCst) == 0 {
            return Some(batch);
        }
        tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => batch.push(job),
                None => return Some(batch),
            },
            () = &mut finished => return Some(batch),
        }
    }
}

async fn run_batch<B: Batched>(shared: Arc<Runners<B>>, batch: Vec<Job<B>>) {
    // The latest of the callers' deadlines, or none if any caller has none.
    let deadline = batch
        .iter()
        .map(|job| job.deadline)
        .collect::<Option<Vec<_>>>()
        .and_then(|deadlines| deadlines.into_iter().max());
    let served: Vec<tracing::Span> = batch.iter().filter_map(|job| job.span.clone()).collect();
    let (items, replies): (Vec<_>, Vec<_>) =
        batch.into_iter().map(|job| (job.item, job.reply)).unzip();
    let work = async {
        match Conn::borrow(&shared.pool).await {
            Ok(mut conn) => answer(&shared.work, &mut conn, &items).await,
            Err(e) => {
                let e = Arc::new(e);
                items
                    .iter()
                    .map(|_| Err(DbError::Pool(e.clone())))
                    .collect()
            }
        }
    };
    // The batch's statements are children of a span of its own, linked to every call it serves.
    let span = match served.is_empty() {
        true => tracing::Span::none(),
        false => {
            let span = tracing::debug_span!(
                parent: None,
                "db.batch.run",
                otel.kind = "client",
                db.system = "postgresql",
                docket.batch = std::any::type_name::<B>(),
                docket.batch.calls = served.len(),
            );
            telemetry::link_to(&span, &served);
            span
        }
    };
    let answers = match deadline {
        Some(deadline) => call::within(deadline, work).instrument(span).await,
        None => Ok(work.instrument(span).await),
    };
    let answers = answers.unwrap_or_else(|timed_out: call::TimedOut| {
        items
            .iter()
            .map(|_| Err(DbError::TimedOut(timed_out)))
            .collect()
    });
    for (reply, answer) in replies.into_iter().zip(answers) {
        let _ = reply.send(answer); // the caller may have gone since
    }
}

/// Each item's answer: from one statement for all of them or, should that fail, from one per item.
async fn answer<B: Batched>(
    work: &B,
    conn: &mut AsyncPgConnection,
    items: &[B::Item],
) -> Vec<Result<B::Output, DbError>> {
    if items.len() > 1
        && let Ok(outputs) = work.run(conn, items).await
        && outputs.len() == items.len()
    {
        return outputs.into_iter().map(Ok).collect();
    }
    let mut answers = Vec::with_capacity(items.len());
    for item in items.chunks(1) {
        let output = work.run(conn, item).await.map_err(DbError::from);
        answers.push(output.and_then(|mut outputs| {
            outputs
                .pop()
                .ok_or(DbError::Query(diesel::result::Error::NotFound))
        }));
    }
    answers
}

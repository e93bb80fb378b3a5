//! PostgreSQL, by what each part holds: the connection pool and its setup (`pool`), the shapes
//! of statements every entity uses (`query`), and one module per entity (`tasks`, `assignments`,
//! `directory`, `events`), each taking `&mut AsyncPgConnection`. Database errors are classified
//! once, in `error`.

pub mod assignments;
pub mod directory;
pub mod enums;
pub mod error;
pub mod housekeeping;
pub mod migrations;
pub mod pool;
pub mod query;
mod rows;
pub mod schema;
pub mod tasks;
pub mod templates;
pub mod timers;

use std::sync::Arc;

pub use error::{DbError, Failure};
pub use pool::{
    ConnectOptions, PgPool, Prepared, Readying, SetupError, checkout, pool, prepare, ready,
};
use query::batch::Batcher;

use crate::config::DatabaseConfig;

/// The pool and the batched statements of the hot paths (`batch`), which handlers share.
#[derive(Clone)]
pub struct Db {
    pub pool: PgPool,
    pub task_creates: Arc<Batcher<tasks::create::Creates>>,
    pub task_reads: Arc<Batcher<tasks::trips::Reads>>,
}

/// Items one batched statement takes at most.
const MAX_BATCH: usize = 64;

impl Db {
    /// Starts the batch runners (`DOCKET_DB_BATCH_RUNNERS` for each batched statement, filling
    /// batches to `DOCKET_DB_BATCH_FILL` while another runs; see `batch`).
    pub fn new(pool: PgPool, config: &DatabaseConfig) -> Self {
        let (runners, fill) = (config.batch_runners as usize, config.batch_fill as usize);
        Self {
            task_creates: Arc::new(Batcher::start(
                pool.clone(),
                tasks::create::Creates,
                runners,
                MAX_BATCH,
                fill,
            )),
            task_reads: Arc::new(Batcher::start(
                pool.clone(),
                tasks::trips::Reads,
                runners,
                MAX_BATCH,
                fill,
            )),
            pool,
        }
    }
}

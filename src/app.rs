//! What every service shares, built once at startup (`server`) and cloned into each service, as
//! crates.io's `App`: the database (its pool and the batched statements of the hot paths) and the
//! watch hub, and webhook delivery. The gRPC adapters reach the database only through it, so they name no `db` type.

use std::sync::Arc;

use crate::{
    db::{Db, PgPool, pool::deadline::Conn},
    domain::DomainError,
    events::watch::Hub,
    webhooks::Webhooks,
};

#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub hub: Hub,
    /// Webhook delivery; None where the server has no keys for their secrets (webhooks off).
    pub webhooks: Option<Arc<Webhooks>>,
}

impl App {
    pub fn new(db: Db, hub: Hub, webhooks: Option<Arc<Webhooks>>) -> Self {
        Self { db, hub, webhooks }
    }

    /// The pool, for work that checks out connections as it goes (streams, batched statements).
    pub fn pool(&self) -> PgPool {
        self.db.pool.clone()
    }

    /// A pooled connection for the current call; none to be had within the pool's wait timeout
    /// is a database error (UNAVAILABLE at the edge).
    pub async fn connection(&self) -> Result<Conn, DomainError> {
        Ok(crate::db::checkout(&self.db.pool).await?)
    }
}

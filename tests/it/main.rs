//! Docket's integration tests: one binary, a real server and a real PostgreSQL (a fresh database
//! per test, cloned from a migrated template). `DOCKET_TEST_DATABASE_URL` picks the server
//! (default `postgres://postgres@127.0.0.1:5432/postgres`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a panic is how a test and its helpers report a failure"
)]

mod assignments;
mod auth;
mod client;
mod directory;
mod edge;
mod events;
mod generative;
mod helpers;
mod operations;
mod streams;
mod tasks;
mod templates;
mod tenancy;
mod timers;
mod watch;
mod webhooks;

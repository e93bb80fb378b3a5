//! Docket: a gRPC task and assignment service on PostgreSQL. The library holds everything; the
//! `docket` binary only parses the command line and calls into it, so tests drive the same code.

pub mod app;
pub mod auth;
pub mod background;
pub mod call;
pub mod cli;
pub mod config;
pub mod connections;
pub mod db;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod health;
pub mod housekeeping;
pub mod metrics;
pub mod probe;
pub mod recurrences;
pub mod server;
pub mod telemetry;
pub mod timers;
pub mod webhooks;

pub use server::{Application, ServerError};

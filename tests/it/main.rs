//! Docket's integration tests: one binary, a real server and a real PostgreSQL (a fresh database
//! per test, cloned from a migrated template). `DOCKET_TEST_DATABASE_URL` picks the server
//! (default `postgres://postgres@127.0.0.1:5432/postgres`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a panic is how a test and its helpers report a failure"
)]

mod admin_cli;
mod assignment_invariants;
mod assignment_lists;
mod assignment_races;
mod assignment_rules;
mod assignment_rules_state;
mod assignments;
mod auth;
mod auth_jwt;
mod batching;
mod client_crate;
mod client_experience;
mod connections;
mod directory;
mod edge_text;
mod edge_wire;
mod event_log;
mod feed_order;
mod generative;
mod health;
mod helpers;
mod housekeeping;
mod hung_database;
mod lifecycle;
mod metrics;
mod numbering;
mod reflection;
mod request_id;
mod schema;
mod shutdown;
mod startup;
mod startup_waits;
mod stream_fairness;
mod stream_limits;
mod task_event_audience;
mod task_events;
mod task_list;
mod task_list_bodies;
mod task_list_plans;
mod tasks;
mod tasks_reassign;
mod tasks_update;
mod tenancy;
mod tenancy_assignments;
mod tenancy_tasks;
mod tls;
mod traces;
mod watch;
mod watch_auth;
mod watch_flow;
mod watch_liveness;
mod watch_servers;

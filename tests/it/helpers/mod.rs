//! Shared test scaffolding: databases, in-process servers, the real binary, a cuttable proxy.

pub mod app;
pub mod cluster;
pub mod database;
pub mod history;
pub mod process;
pub mod proxy;
pub mod raw;
pub mod rpc;
pub mod rules;
pub mod scrape;
pub mod seed;
pub mod team;
pub mod team_assignments;
pub mod update;
pub mod watch;

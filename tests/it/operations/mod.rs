//! Running Docket: the admin CLI, health, metrics, traces, startup, shutdown, schema, housekeeping, a hung database.

mod admin_cli;
mod database_tls;
mod deploy_migrations;
mod health;
mod housekeeping;
mod hung_database;
mod metrics;
mod schema;
mod shutdown;
mod startup;
mod startup_waits;
mod traces;

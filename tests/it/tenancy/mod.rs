//! Tenancy: no RPC reaches into another workspace, for reads and writes.

mod assignments;
mod basics;
mod tasks;

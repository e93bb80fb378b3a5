//! The event log: what each change records, who it concerns, and its order (commit order).

mod audience;
mod history;
mod log;
mod order;

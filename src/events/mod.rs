//! The event log, one wing for the one feature that runs through every layer: every change to a
//! task or an assignment appends events in the transaction of the change, in commit order, and
//! readers take them from a position with no gap and no duplicate (the audit trail, watchers).
//! Inside, the layers still run one way: what each change records (`record`), the log's
//! statements (`log`), the NOTIFY that wakes the servers (`signal`), and the per-server hub and
//! its streams (`watch`); `entry` holds the words the edges see (`Event`, `Position`).

pub mod entry;
pub mod log;
pub mod record;
pub mod signal;
pub mod watch;

pub use entry::{Event, Position};
pub use record::Recorder;

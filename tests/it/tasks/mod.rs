//! Tasks: create, read, update, reassign, lifecycle moves, numbering, batching, and listings (`list/`).

mod basics;
mod batching;
mod identity;
mod lifecycle;
mod list;
mod numbering;
mod reassign;
mod update;

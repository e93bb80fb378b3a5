//! WatchTasks: from now and from a position, flow control, authorisation while open, liveness, several servers.

mod auth;
mod basics;
mod flow;
mod liveness;
mod servers;

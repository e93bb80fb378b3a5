//! The typed client crate (`docket-client`) and what a client sees.

mod balancing;
mod experience;
mod library;

//! The typed client crate (`docket-client`) and what a client sees.

mod experience;
mod library;

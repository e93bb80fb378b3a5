//! Assignments: the calls, their listings, their rules and invariants, under races.

mod basics;
mod invariants;
mod lists;
mod races;
mod rules;
mod rules_state;

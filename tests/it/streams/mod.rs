//! Streamed listings: their limits and buffers, and fairness with unary calls.

mod fairness;
mod limits;

//! The shapes of statement every entity uses: prepared SQL text with its binds (`sql`), keyset
//! pages (`paging`), streamed listings and their share of the buffers (`streams`,
//! `stream_budget`), and statements shared by concurrent calls (`batch`).

pub mod batch;
pub mod paging;
pub(crate) mod sql;
pub mod stream_budget;
pub mod streams;

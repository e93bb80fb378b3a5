//! The shapes of statement every entity uses: prepared SQL text with its binds (`sql`), keyset
//! pages of streamed listings (`paging`, within the limits of `call::streams`), and statements
//! shared by concurrent calls (`batch`).

pub mod batch;
pub mod paging;
pub(crate) mod sql;
pub(crate) mod statement;

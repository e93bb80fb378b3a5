//! Authentication: API tokens, JWTs, and the scope every RPC requires.

mod jwt;
mod scopes;

//! Who is who in a workspace: the workspaces themselves, their users and channels (synced in by
//! callers), and the API tokens that act in them.

pub mod api_tokens;
pub mod channels;
pub mod sla_policies;
pub mod users;
pub mod workspaces;

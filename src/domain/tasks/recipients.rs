//! Who a task goes to: named users, and channels fanned out to their active members. Shared by
//! CreateTask and by AssignmentService's creates, which differ only in who is already assigned.

use std::collections::HashSet;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::{
    auth::{Actor, Caller},
    db::{assignments::Recipient, directory::channels, directory::users},
    domain::DomainError,
};

/// Everyone these users and channels reach, each user once. A named user must be an active user
/// of the workspace unless already in `assigned` (assigning them again is a no-op, whatever has
/// become of them since); a channel must exist and be one the caller may distribute to (an admin
/// of it, or a workspace admin acting as a service), and reaches its active members other than the
/// caller.
pub(crate) async fn recipients(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    user_ids: &[Uuid],
    channel_ids: &[Uuid],
    assigned: &HashSet<Uuid>,
) -> Result<Vec<Recipient>, DomainError> {
    let workspace_id = caller.workspace_id;
    let new_users: Vec<Uuid> = user_ids
        .iter()
        .copied()
        .filter(|user| !assigned.contains(user))
        .collect();
    let active: HashSet<Uuid> = users::existing_ids(conn, workspace_id, &new_users, true)
        .await?
        .into_iter()
        .collect();
    if let Some(unknown) = new_users.iter().find(|id| !active.contains(id)) {
        return Err(DomainError::UnknownUser(*unknown));
    }
    let mut reached = HashSet::new();
    let mut recipients: Vec<Recipient> = user_ids
        .iter()
        .filter(|user| reached.insert(**user))
        .map(|&user_id| Recipient {
            user_id,
            via_channel_id: None,
        })
        .collect();
    for &channel_id in channel_ids {
        if channels::find(conn, workspace_id, channel_id)
            .await?
            .is_none()
        {
            return Err(DomainError::UnknownChannel(channel_id));
        }
        let may_distribute = match &caller.actor {
            Actor::User(user) => channels::is_admin(conn, workspace_id, channel_id, *user).await?,
            // Services are not channel members; workspace admins may distribute anywhere.
            Actor::ApiToken(_) | Actor::System => caller.is_workspace_admin(),
        };
        if !may_distribute {
            return Err(DomainError::NotAdminOfChannel(channel_id));
        }
        for user_id in channels::active_member_ids(conn, workspace_id, channel_id).await? {
            // Distributing to one's own channel reaches the others, not oneself.
            if Some(user_id) != caller.actor.user_id() && reached.insert(user_id) {
                recipients.push(Recipient {
                    user_id,
                    via_channel_id: Some(channel_id),
                });
            }
        }
    }
    Ok(recipients)
}

//! The request ids of creates: a CreateTask retried under its request id finds the task the first
//! try made, and one reused for another payload is told so (kept for DOCKET_REQUEST_ID_RETENTION).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::task_create_requests;
use crate::domain::vocabulary::ActorType;

/// Who asked for a create, and under which request id.
pub struct CreateRequestKey<'a> {
    pub workspace_id: Uuid,
    pub actor_type: ActorType,
    pub actor_id: &'a str,
    pub request_id: &'a str,
}

/// Records a create request; if the key is taken (by an earlier or concurrent request, which this
/// waits for), returns that request's payload hash and task id instead.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    key: &CreateRequestKey<'_>,
    payload_hash: &[u8],
    task_id: Uuid,
) -> QueryResult<Option<(Vec<u8>, Uuid)>> {
    let inserted = diesel::insert_into(task_create_requests::table)
        .values((
            task_create_requests::workspace_id.eq(key.workspace_id),
            task_create_requests::actor_type.eq(key.actor_type),
            task_create_requests::actor_id.eq(key.actor_id),
            task_create_requests::request_id.eq(key.request_id),
            task_create_requests::payload_hash.eq(payload_hash),
            task_create_requests::task_id.eq(task_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 1 {
        return Ok(None);
    }
    task_create_requests::table
        .find((
            key.workspace_id,
            key.actor_type,
            key.actor_id,
            key.request_id,
        ))
        .select((
            task_create_requests::payload_hash,
            task_create_requests::task_id,
        ))
        .first(conn)
        .await
        .map(Some)
}

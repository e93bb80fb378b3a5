//! A task's audit trail (ListTaskEvents): its events oldest first, as whoever may see the task
//! (GetTask's rule) may read them, keyset-paginated on the event position with cursors bound to
//! the task. A recipient reads the task's own events and their own assignment's: the other
//! recipients' assignments are the author's to see (ListTaskAssignments' rule).

use crate::events::log::{self, actor_key};
use std::sync::Arc;

use futures_util::{Stream, TryStreamExt};
use serde_json::json;
use uuid::Uuid;

use super::{Relation, relation};
use crate::events::Event;
use crate::{
    auth::Caller,
    db::{
        PgPool, checkout,
        query::paging::{Fetched, keyset_stream},
        tasks,
    },
    domain::{
        DomainError,
        cursor::Cursors,
        directory::{Page, start_after},
    },
};

/// The task's events after the page's cursor, each with the cursor that resumes after it. A
/// task the caller cannot see (or that was deleted) is not found.
pub async fn history(
    pool: PgPool,
    caller: &Caller,
    task_id: Uuid,
    page: Page,
) -> Result<impl Stream<Item = Result<(Event, String), DomainError>> + Send + 'static, DomainError>
{
    let workspace_id = caller.workspace_id;
    let only_own = {
        let mut conn = checkout(&pool).await?;
        let task = tasks::find(&mut conn, workspace_id, task_id)
            .await?
            .ok_or(DomainError::TaskNotFound)?;
        match relation(&mut conn, caller, &task).await? {
            Relation::Stranger => return Err(DomainError::TaskNotFound),
            Relation::Recipient => Some(actor_key(caller.actor.kind(), &caller.actor.id())),
            Relation::Author | Relation::Admin => None,
        }
    };
    let cursors = Cursors::of(&json!({ "list": "task_events", "task_id": task_id }));
    let after = start_after::<crate::events::Position>(&page, &cursors)?;
    let rows = keyset_stream(
        pool,
        after,
        page.limit,
        |event: &Event| event.position,
        Arc::new(move |conn, after, limit, _budget| {
            let only_own = only_own.clone();
            Box::pin(async move {
                let rows = log::of_task(
                    conn,
                    workspace_id,
                    task_id,
                    after,
                    limit,
                    only_own.as_deref(),
                )
                .await?;
                // Events hold no bodies (`changes`): every field they copy is bounded in length
                // by the input rules, so rows count as small.
                Ok(Fetched::of_small_rows(rows))
            })
        }),
    )?;
    Ok(rows.map_err(DomainError::from).map_ok(move |event| {
        let cursor = cursors.encode(&event.position);
        (event, cursor)
    }))
}

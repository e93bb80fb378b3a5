//! Streaming assignments: a recipient's own (each with its task as they see it) and one task's
//! (for its author, optionally with the recipients' profiles), keyset-paginated with cursors bound
//! to the query.

use crate::domain::tasks::list::SnoozeFilter;
use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use futures_util::{Stream, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::ensure_enabled;
use crate::domain::records::{Assignment, ProgressCounts, User};
use crate::domain::vocabulary::ProgressStatus;
use crate::{
    auth::Caller,
    db::{
        PgPool,
        assignments::list::{self, MyAssignmentFilter},
        checkout,
        directory::users,
        query::paging::{Fetched, keyset_stream},
        tasks,
    },
    domain::{
        DomainError,
        cursor::Cursors,
        directory::{Page, start_after},
        tasks::{DistributionKind, Received, TaskView, is_author, views},
    },
};

/// The order of a recipient's own assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MyAssignmentSort {
    CreatedAt { descending: bool },
    UpdatedAt { descending: bool },
}

impl MyAssignmentSort {
    pub fn position(&self, row: &Assignment) -> (DateTime<Utc>, Uuid) {
        match self {
            MyAssignmentSort::CreatedAt { .. } => (row.created_at, row.id),
            MyAssignmentSort::UpdatedAt { .. } => (row.updated_at, row.id),
        }
    }
}

/// The order of one task's assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TaskAssignmentSort {
    LastName { descending: bool },
    FirstName { descending: bool },
    CreatedAt { descending: bool },
}

/// An assignment's place in a task's listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskAssignmentPosition {
    Name(String, Uuid),
    At(DateTime<Utc>, Uuid),
}

/// A recipient's filter from the kinds asked for, which must be RECEIVED and/or PERSONAL (`None`:
/// a kind left unspecified, which is neither).
fn my_filter(
    caller: &Caller,
    kinds: &[Option<DistributionKind>],
    progress_statuses: &[ProgressStatus],
    kinds_required: bool,
    snoozed: SnoozeFilter,
) -> Result<Option<MyAssignmentFilter>, DomainError> {
    let defined = kinds.iter().all(|k| {
        matches!(
            k,
            Some(DistributionKind::Received | DistributionKind::Personal)
        )
    });
    if !defined || (kinds_required && kinds.is_empty()) {
        return Err(DomainError::DistributionKindUndefined);
    }
    // Services and the system are never recipients.
    let Some(user_id) = caller.actor.user_id() else {
        return Ok(None);
    };
    let wants = |kind| kinds.is_empty() || kinds.contains(&Some(kind));
    Ok(Some(MyAssignmentFilter {
        workspace_id: caller.workspace_id,
        user_id,
        personal: wants(DistributionKind::Personal),
        received: wants(DistributionKind::Received),
        progress_statuses: progress_statuses.to_vec(),
        snoozed,
    }))
}

/// Counts of the caller's assignments per progress status; `kinds` empty means both.
pub async fn my_summary(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    kinds: &[Option<DistributionKind>],
) -> Result<ProgressCounts, DomainError> {
    ensure_enabled(conn, caller).await?;
    // A badge counts every assignment, snoozed tasks' too.
    match my_filter(caller, kinds, &[], false, SnoozeFilter::Any)? {
        Some(filter) => Ok(list::my_summary(conn, &filter).await?),
        None => Ok(ProgressCounts::default()),
    }
}

/// The caller's assignments with their tasks, each with the cursor that resumes after it.
pub async fn list_mine(
    pool: PgPool,
    caller: &Caller,
    kinds: &[Option<DistributionKind>],
    progress_statuses: &[ProgressStatus],
    snoozed: SnoozeFilter,
    sort: MyAssignmentSort,
    page: Page,
) -> Result<
    impl Stream<Item = Result<(Assignment, TaskView, String), DomainError>> + Send + 'static,
    DomainError,
> {
    {
        let mut conn = checkout(&pool).await?;
        ensure_enabled(&mut conn, caller).await?;
    }
    let filter = my_filter(caller, kinds, progress_statuses, true, snoozed)?;
    let cursors =
        Cursors::of(&json!({ "list": "my_assignments", "filter": &filter, "sort": sort }));
    let after = start_after::<(DateTime<Utc>, Uuid)>(&page, &cursors)?;
    let filter = Arc::new(filter);
    let caller = Arc::new(caller.clone());
    let rows = keyset_stream(
        pool,
        after,
        page.limit,
        move |(row, _): &(Assignment, TaskView)| sort.position(row),
        Arc::new(move |conn, after, limit, budget| {
            let (filter, caller) = (filter.clone(), caller.clone());
            Box::pin(async move {
                let Some(filter) = filter.as_ref() else {
                    return Ok(Fetched::of_small_rows(Vec::new()));
                };
                let page = list::my_page(conn, filter, sort, after, limit, budget).await?;
                let (rows, listed, bytes) = (page.rows, page.found, page.bytes);
                let task_ids: Vec<Uuid> = rows.iter().map(|r| r.task_id).collect();
                let found = tasks::of_ids(conn, filter.workspace_id, &task_ids).await?;
                // Each is the caller's own task or one they received, as ListTasks shows them.
                let mut by_id: HashMap<Uuid, TaskView> =
                    views(conn, &caller, found, Received::AllNotAuthored)
                        .await?
                        .into_iter()
                        .map(|view| (view.task.id, view))
                        .collect();
                // An assignment's task exists (foreign key); one task may not appear twice in a
                // user's list (one assignment per task and user).
                let rows = rows
                    .into_iter()
                    .filter_map(|row| by_id.remove(&row.task_id).map(|view| (row, view)))
                    .collect();
                Ok(Fetched {
                    rows,
                    found: listed,
                    bytes,
                })
            })
        }),
    )?;
    Ok(rows.map_err(DomainError::from).map_ok(move |(row, view)| {
        let cursor = cursors.encode(&sort.position(&row));
        (row, view, cursor)
    }))
}

/// The author's task's assignments with their recipients, each with the cursor that resumes
/// after it.
pub async fn list_for_task(
    pool: PgPool,
    caller: &Caller,
    task_id: Uuid,
    progress_statuses: &[ProgressStatus],
    sort: TaskAssignmentSort,
    page: Page,
) -> Result<
    impl Stream<Item = Result<(Assignment, User, String), DomainError>> + Send + 'static,
    DomainError,
> {
    let workspace_id = caller.workspace_id;
    {
        let mut conn = checkout(&pool).await?;
        ensure_enabled(&mut conn, caller).await?;
        tasks::find(&mut conn, workspace_id, task_id)
            .await?
            .filter(|task| is_author(caller, task))
            .ok_or(DomainError::TaskNotFound)?;
    }
    let progress: Arc<Vec<ProgressStatus>> = Arc::new(progress_statuses.to_vec());
    let cursors = Cursors::of(&json!({
        "list": "task_assignments", "task_id": task_id, "progress": &*progress, "sort": sort,
    }));
    let after = start_after::<TaskAssignmentPosition>(&page, &cursors)?;
    let position = move |(row, user): &(Assignment, User)| match sort {
        TaskAssignmentSort::LastName { .. } => {
            TaskAssignmentPosition::Name(user.last_name.clone(), row.id)
        }
        TaskAssignmentSort::FirstName { .. } => {
            TaskAssignmentPosition::Name(user.first_name.clone(), row.id)
        }
        TaskAssignmentSort::CreatedAt { .. } => TaskAssignmentPosition::At(row.created_at, row.id),
    };
    let rows = keyset_stream(
        pool,
        after,
        page.limit,
        position,
        Arc::new(move |conn, after, limit, _budget| {
            let progress = progress.clone();
            Box::pin(async move {
                let rows =
                    list::task_page(conn, workspace_id, task_id, &progress, sort, after, limit)
                        .await?;
                let user_ids: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
                let profiles: HashMap<Uuid, User> = users::of_ids(conn, workspace_id, &user_ids)
                    .await?
                    .into_iter()
                    .map(|user| (user.id, user))
                    .collect();
                // Every recipient is a user of the workspace (foreign key).
                let found = rows.len();
                let rows = rows
                    .into_iter()
                    .filter_map(|row| profiles.get(&row.user_id).cloned().map(|u| (row, u)))
                    .collect();
                Ok(Fetched {
                    found,
                    ..Fetched::of_small_rows(rows)
                })
            })
        }),
    )?;
    Ok(rows.map_err(DomainError::from).map_ok(move |item| {
        let cursor = cursors.encode(&position(&item));
        (item.0, item.1, cursor)
    }))
}

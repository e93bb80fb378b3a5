//! Listing and counting the tasks a caller may see (ListTasks, CountTasks): the checked filters,
//! visibility decided per caller, and each streamed page turned into the caller's views in a few
//! batched queries.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use futures_util::{Stream, TryStreamExt};
use uuid::Uuid;

use super::{
    DistributionKind, ExternalKey, LinkedRecord, Priority, Received, SearchQuery, Status, Tag,
    TaskKind, TaskView, input::unique, views,
};
use crate::domain::vocabulary::BodyFormat;
use crate::{
    auth::Caller,
    db::{
        PgPool,
        query::paging::{Fetched, keyset_stream},
        tasks::list::{self, Position, Sort, TaskFilter, Visibility},
    },
    domain::{
        DomainError,
        cursor::Cursors,
        directory::{Page, start_after},
        input::Text,
    },
};

pub use crate::db::tasks::list::{
    SlaFilter, SnoozeFilter, Sort as TaskSort, SortKey as TaskSortKey,
};

/// Most values one list filter may name.
pub const MAX_FILTER_VALUES: usize = 100;

/// The filters of a listing, each value checked; empty lists and `None` do not filter.
#[derive(Debug, Clone, Default)]
pub struct TaskQueryDraft {
    /// Empty: all three (and, for workspace admins, every task of the workspace).
    pub distribution_kinds: Vec<DistributionKind>,
    pub statuses: Vec<Status>,
    pub priorities: Vec<Priority>,
    pub kinds: Vec<TaskKind>,
    pub assignee_user_ids: Vec<Uuid>,
    pub include_unassigned: bool,
    pub tags: Vec<Text<Tag>>,
    pub linked_record: Option<LinkedRecord>,
    pub sequence_id: Option<Uuid>,
    pub external_id: Option<Text<ExternalKey>>,
    pub correlation_id: Option<Text<ExternalKey>>,
    pub due_before: Option<DateTime<Utc>>,
    pub due_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub created_after: Option<DateTime<Utc>>,
    pub query: Option<Text<SearchQuery>>,
    pub follow_up_before: Option<DateTime<Utc>>,
    pub follow_up_after: Option<DateTime<Utc>>,
    pub snoozed: SnoozeFilter,
    pub sla_due_before: Option<DateTime<Utc>>,
    pub sla_due_after: Option<DateTime<Utc>>,
    pub sla: SlaFilter,
    pub from_recurring_template: Option<bool>,
    pub template_ids: Vec<Uuid>,
}

/// What a caller asks a listing for, before visibility is applied.
#[derive(Debug, Clone)]
pub struct TaskQuery {
    distribution_kinds: Vec<DistributionKind>,
    filter: TaskFilter,
}

impl From<TaskQueryDraft> for TaskQuery {
    fn from(draft: TaskQueryDraft) -> Self {
        let query = draft.query.map(Text::into_string);
        // The query may also be a task number, with or without '#'.
        let number = query.as_deref().and_then(|query| {
            query
                .strip_prefix('#')
                .unwrap_or(query)
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
        });
        let strings = |texts: Vec<Text<Tag>>| -> Vec<String> {
            unique(texts).into_iter().map(Text::into_string).collect()
        };
        let filter = TaskFilter {
            // Set per caller by `filter_for`.
            workspace_id: Uuid::nil(),
            visibility: Visibility::Workspace,
            statuses: unique(draft.statuses),
            priorities: unique(draft.priorities),
            kinds: unique(draft.kinds)
                .into_iter()
                .map(|kind| kind.as_str().to_owned())
                .collect(),
            assignee_user_ids: unique(draft.assignee_user_ids),
            include_unassigned: draft.include_unassigned,
            tags: strings(draft.tags),
            linked_record: draft.linked_record.as_ref().map(LinkedRecord::pair),
            sequence_id: draft.sequence_id,
            external_id: draft.external_id.map(Text::into_string),
            correlation_id: draft.correlation_id.map(Text::into_string),
            due_before: draft.due_before,
            due_after: draft.due_after,
            created_before: draft.created_before,
            created_after: draft.created_after,
            title_words: query,
            number,
            follow_up_before: draft.follow_up_before,
            follow_up_after: draft.follow_up_after,
            snoozed: draft.snoozed,
            sla_due_before: draft.sla_due_before,
            sla_due_after: draft.sla_due_after,
            sla: draft.sla,
            from_recurring_template: draft.from_recurring_template,
            template_ids: unique(draft.template_ids),
        };
        Self {
            distribution_kinds: unique(draft.distribution_kinds),
            filter,
        }
    }
}

impl TaskQuery {
    /// The filter as it applies to `caller`: their workspace, and the tasks they may see.
    fn filter_for(&self, caller: &Caller) -> TaskFilter {
        let kinds = &self.distribution_kinds;
        let visibility = if kinds.is_empty() && caller.is_workspace_admin() {
            Visibility::Workspace
        } else {
            let wants = |kind| kinds.is_empty() || kinds.contains(&kind);
            Visibility::Related {
                actor_type: caller.actor.kind(),
                actor_id: caller.actor.id(),
                user_id: caller.actor.user_id(),
                personal: wants(DistributionKind::Personal),
                distributed: wants(DistributionKind::Distributed),
                received: wants(DistributionKind::Received),
            }
        };
        TaskFilter {
            workspace_id: caller.workspace_id,
            visibility,
            ..self.filter.clone()
        }
    }
}

/// The tasks the caller may see that match `query`, in `sort` order, each with the cursor that
/// resumes after it.
pub fn list(
    pool: PgPool,
    caller: &Caller,
    query: &TaskQuery,
    sort: Sort,
    page: Page,
    bodies: &[BodyFormat],
) -> Result<impl Stream<Item = Result<(TaskView, String), DomainError>> + Send + 'static, DomainError>
{
    let filter = Arc::new(query.filter_for(caller));
    let cursors =
        Cursors::of(&serde_json::json!({ "list": "tasks", "filter": &*filter, "sort": sort }));
    let after = start_after::<Position>(&page, &cursors)?;
    let caller = Arc::new(caller.clone());
    let bodies: Arc<[BodyFormat]> = bodies.into();
    let rows = keyset_stream(
        pool,
        after,
        page.limit,
        move |view: &TaskView| sort.position(&view.task),
        Arc::new(move |conn, after, limit, budget| {
            let (filter, caller, bodies) = (filter.clone(), caller.clone(), bodies.clone());
            Box::pin(async move {
                let page = list::page(conn, &filter, sort, after, limit, budget, &bodies).await?;
                let received = received_in(&filter.visibility);
                let (found, bytes) = (page.found, page.bytes);
                let rows = views(conn, &caller, page.rows, received).await?;
                Ok(Fetched { rows, found, bytes })
            })
        }),
    )?;
    Ok(rows.map_err(DomainError::from).map_ok(move |view| {
        let cursor = cursors.encode(&sort.position(&view.task));
        (view, cursor)
    }))
}

/// How many tasks the caller may see match `query`.
pub async fn count(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    query: &TaskQuery,
) -> Result<i64, DomainError> {
    Ok(list::count(conn, &query.filter_for(caller)).await?)
}

/// Which tasks of a listing the caller received: listing related tasks only, every task they did
/// not author; listing the whole workspace, ask.
pub(crate) fn received_in(visibility: &Visibility) -> Received {
    match visibility {
        Visibility::Related { .. } => Received::AllNotAuthored,
        Visibility::Workspace => Received::LookUp,
    }
}

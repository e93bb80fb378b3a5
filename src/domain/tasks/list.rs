//! Listing and counting the tasks a caller may see (ListTasks, CountTasks): the filters checked,
//! visibility decided, and each streamed page turned into the caller's views in a few batched
//! queries (links, summaries, received marks) rather than a few per task.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use futures_util::{Stream, TryStreamExt};
use uuid::Uuid;

use super::{
    DistributionKind, Priority, Status, TaskView,
    input::{FieldChecks, valid_kind, valid_object},
    is_author,
};
use crate::{
    auth::Caller,
    db::{
        PgPool, assignments,
        paging::keyset_stream,
        task_list::{self, Position, Sort, TaskFilter, Visibility},
        tasks::{self, TaskRow},
    },
    domain::{
        DomainError, cursor,
        directory::{Page, start_after},
    },
    error::FieldViolation,
};

pub use crate::db::task_list::{Sort as TaskSort, SortKey as TaskSortKey};

/// Most values one list filter may name.
pub const MAX_FILTER_VALUES: usize = 100;
pub const MAX_QUERY_CHARS: usize = 200;

/// The filters of a listing as the edge parsed them (enums and ids already typed).
#[derive(Debug, Clone, Default)]
pub struct TaskQueryDraft<'a> {
    /// Empty: all three (and, for workspace admins, every task of the workspace).
    pub distribution_kinds: Vec<DistributionKind>,
    pub statuses: Vec<Status>,
    pub priorities: Vec<Priority>,
    pub kinds: &'a [String],
    pub assignee_user_ids: Vec<Uuid>,
    pub include_unassigned: bool,
    pub tags: &'a [String],
    pub linked_record: Option<(&'a str, &'a str)>,
    pub sequence_id: Option<Uuid>,
    pub external_id: &'a str,
    pub correlation_id: &'a str,
    pub due_before: Option<DateTime<Utc>>,
    pub due_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub created_after: Option<DateTime<Utc>>,
    pub query: &'a str,
}

/// Checked filters: what a caller may ask for, before visibility is applied.
#[derive(Debug, Clone)]
pub struct TaskQuery {
    distribution_kinds: Vec<DistributionKind>,
    filter: TaskFilter,
}

impl TaskQuery {
    pub fn check(draft: TaskQueryDraft<'_>) -> Result<Self, Vec<FieldViolation>> {
        let mut checks = FieldChecks::default();
        for (field, count) in [
            ("distribution_kinds", draft.distribution_kinds.len()),
            ("statuses", draft.statuses.len()),
            ("priorities", draft.priorities.len()),
            ("kinds", draft.kinds.len()),
            ("assignee_user_ids", draft.assignee_user_ids.len()),
        ] {
            if count > MAX_FILTER_VALUES {
                checks.bad(field, format!("at most {MAX_FILTER_VALUES} values"));
            }
        }
        for (index, kind) in draft.kinds.iter().enumerate() {
            if !valid_kind(kind) {
                checks.bad(
                    format!("kinds[{index}]"),
                    "an upper-case key of letters, digits and _ (up to 64), e.g. CALL",
                );
            }
        }
        let tags = checks.tags(draft.tags);
        let linked_record = draft.linked_record.map(|(object, record_id)| {
            if !valid_object(object) {
                checks.bad(
                    "linked_record.object",
                    "a lowercase key such as people or companies",
                );
            }
            let record_id = record_id.trim();
            if record_id.is_empty() {
                checks.bad("linked_record.record_id", "give the record's id");
            }
            (object.to_owned(), record_id.to_owned())
        });
        let external_id = checks.optional_id("external_id", draft.external_id);
        let correlation_id = checks.optional_id("correlation_id", draft.correlation_id);
        let query = draft.query.trim();
        if query.chars().count() > MAX_QUERY_CHARS {
            checks.bad("query", format!("at most {MAX_QUERY_CHARS} characters"));
        }
        checks.finish()?;
        let number = query
            .strip_prefix('#')
            .unwrap_or(query)
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0);
        let filter = TaskFilter {
            // Set per caller by `filter_for`.
            workspace_id: Uuid::nil(),
            visibility: Visibility::Workspace,
            statuses: names(draft.statuses, Status::as_str),
            priorities: names(draft.priorities, Priority::as_str),
            kinds: unique(draft.kinds.to_vec()),
            assignee_user_ids: unique(draft.assignee_user_ids),
            include_unassigned: draft.include_unassigned,
            tags,
            linked_record,
            sequence_id: draft.sequence_id,
            external_id,
            correlation_id,
            due_before: draft.due_before,
            due_after: draft.due_after,
            created_before: draft.created_before,
            created_after: draft.created_after,
            title_words: (!query.is_empty()).then(|| query.to_owned()),
            number,
        };
        Ok(Self {
            distribution_kinds: unique(draft.distribution_kinds),
            filter,
        })
    }

    /// The filter as it applies to `caller`: their workspace, and the tasks they may see.
    fn filter_for(&self, caller: &Caller) -> TaskFilter {
        let kinds = &self.distribution_kinds;
        let visibility = if kinds.is_empty() && caller.is_workspace_admin() {
            Visibility::Workspace
        } else {
            let wants = |kind| kinds.is_empty() || kinds.contains(&kind);
            Visibility::Related {
                actor_type: caller.actor.kind().to_owned(),
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

fn names<T: Copy>(values: Vec<T>, name: fn(T) -> &'static str) -> Vec<String> {
    unique(values.into_iter().map(|v| name(v).to_owned()).collect())
}

fn unique<T: Clone + Eq + std::hash::Hash>(values: Vec<T>) -> Vec<T> {
    let mut seen = HashSet::new();
    values
        .into_iter()
        .filter(|v| seen.insert(v.clone()))
        .collect()
}

/// The tasks the caller may see that match `query`, in `sort` order, each with the cursor that
/// resumes after it.
pub fn list(
    pool: PgPool,
    caller: &Caller,
    query: &TaskQuery,
    sort: Sort,
    page: Page,
) -> Result<impl Stream<Item = Result<(TaskView, String), DomainError>> + Send + 'static, DomainError>
{
    let filter = Arc::new(query.filter_for(caller));
    let fingerprint = serde_json::json!({ "list": "tasks", "filter": &*filter, "sort": sort });
    let after = start_after::<Position>(&page, &fingerprint)?;
    let caller = Arc::new(caller.clone());
    let rows = keyset_stream(
        pool,
        after,
        page.limit,
        move |view: &TaskView| sort.position(&view.task),
        Arc::new(move |conn, after, limit| {
            let (filter, caller) = (filter.clone(), caller.clone());
            Box::pin(async move {
                let rows = task_list::page(conn, &filter, sort, after, limit).await?;
                views(conn, &caller, &filter.visibility, rows).await
            })
        }),
    );
    Ok(rows.map_err(DomainError::from).map_ok(move |view| {
        let cursor = cursor::encode(&fingerprint, &sort.position(&view.task));
        (view, cursor)
    }))
}

/// How many tasks the caller may see match `query`.
pub async fn count(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    query: &TaskQuery,
) -> Result<i64, DomainError> {
    Ok(task_list::count(conn, &query.filter_for(caller)).await?)
}

/// One page of rows as the caller sees them, with three queries for the whole page.
pub(crate) async fn views(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    visibility: &Visibility,
    rows: Vec<TaskRow>,
) -> QueryResult<Vec<TaskView>> {
    let workspace_id = caller.workspace_id;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let authored: Vec<Uuid> = rows
        .iter()
        .filter(|row| is_author(caller, row))
        .map(|row| row.id)
        .collect();
    let mut links: HashMap<Uuid, Vec<(String, String)>> = HashMap::new();
    for (task_id, object, record_id) in tasks::linked_records_of(conn, workspace_id, &ids).await? {
        links.entry(task_id).or_default().push((object, record_id));
    }
    let mut summaries = if authored.is_empty() {
        HashMap::new()
    } else {
        assignments::counts_of(conn, workspace_id, &authored).await?
    };
    // Listing related tasks only, every task not authored is received; listing the whole
    // workspace, ask which are.
    let received: HashSet<Uuid> = match (visibility, caller.actor.user_id()) {
        (Visibility::Workspace, Some(user)) => {
            assignments::assigned_among(conn, workspace_id, user, &ids)
                .await?
                .into_iter()
                .collect()
        }
        _ => HashSet::new(),
    };
    Ok(rows
        .into_iter()
        .map(|task| {
            let own_kind = if task.distributed {
                DistributionKind::Distributed
            } else {
                DistributionKind::Personal
            };
            let (distribution_kind, assignment_summary) = if is_author(caller, &task) {
                (
                    own_kind,
                    Some(summaries.remove(&task.id).unwrap_or_default()),
                )
            } else if matches!(visibility, Visibility::Related { .. })
                || received.contains(&task.id)
            {
                (DistributionKind::Received, None)
            } else {
                (own_kind, None)
            };
            TaskView {
                linked_records: links.remove(&task.id).unwrap_or_default(),
                task,
                distribution_kind,
                assignment_summary,
            }
        })
        .collect())
}

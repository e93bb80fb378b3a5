//! The ListTasks and CountTasks queries. Their filters combine freely, so the SQL is assembled per
//! request (every value a bind parameter), in the shapes the planner serves from the indexes of the
//! task_lists migration:
//!
//! - a page walks the sort's `(workspace_id, key, id)` index from the cursor and stops after
//!   `limit` matches, probing the caller's own assignment by key; or, when a filter (or the
//!   caller's few received tasks) is more selective, starts from that index and sorts only what it
//!   found. Never a sequential scan of tasks, never a sort of the workspace's tasks (the
//!   task_list_plans test checks both on 100,000 tasks);
//! - a count adds up two disjoint halves (tasks the caller authored, found by the author index;
//!   tasks they received, found through their assignments).

use chrono::{DateTime, Utc};
use diesel::{
    QueryResult, QueryableByName,
    sql_types::{Array, BigInt, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::{
    query::paging::Fetched,
    query::sql::Sql,
    tasks::TaskRow,
    tasks::columns::{task_bytes, task_columns},
};
use crate::domain::vocabulary::{ActorType, BodyFormat, Priority, Status};

pub use super::filters::{SlaFilter, SnoozeFilter};

/// Which tasks of the workspace the caller may list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Visibility {
    /// All of them (workspace admins).
    Workspace,
    /// Those related to the caller in the ways asked for.
    Related {
        actor_type: ActorType,
        actor_id: String,
        /// The caller as a user, who can receive tasks.
        user_id: Option<Uuid>,
        personal: bool,
        distributed: bool,
        received: bool,
    },
}

/// Every filter of ListTasks and CountTasks, checked; empty lists and `None` do not filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskFilter {
    pub workspace_id: Uuid,
    pub visibility: Visibility,
    pub statuses: Vec<Status>,
    pub priorities: Vec<Priority>,
    pub kinds: Vec<String>,
    pub assignee_user_ids: Vec<Uuid>,
    pub include_unassigned: bool,
    pub tags: Vec<String>,
    pub linked_record: Option<(String, String)>,
    pub sequence_id: Option<Uuid>,
    pub external_id: Option<String>,
    pub correlation_id: Option<String>,
    pub due_before: Option<DateTime<Utc>>,
    pub due_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub created_after: Option<DateTime<Utc>>,
    /// Words that must all start words of the title.
    pub title_words: Option<String>,
    /// A task number the query may also mean.
    pub number: Option<i64>,
    pub follow_up_before: Option<DateTime<Utc>>,
    pub follow_up_after: Option<DateTime<Utc>>,
    pub snoozed: SnoozeFilter,
    pub sla_due_before: Option<DateTime<Utc>>,
    pub sla_due_after: Option<DateTime<Utc>>,
    pub sla: SlaFilter,
    /// Some(true): only occurrences a template's schedule made; Some(false): only other tasks.
    pub from_recurring_template: Option<bool>,
    pub template_ids: Vec<Uuid>,
}

impl TaskFilter {
    /// No filter at all: every task of the workspace the visibility allows.
    pub fn unfiltered(workspace_id: Uuid, visibility: Visibility) -> Self {
        TaskFilter {
            workspace_id,
            visibility,
            statuses: Vec::new(),
            priorities: Vec::new(),
            kinds: Vec::new(),
            assignee_user_ids: Vec::new(),
            include_unassigned: false,
            tags: Vec::new(),
            linked_record: None,
            sequence_id: None,
            external_id: None,
            correlation_id: None,
            due_before: None,
            due_after: None,
            created_before: None,
            created_after: None,
            title_words: None,
            number: None,
            follow_up_before: None,
            follow_up_after: None,
            snoozed: SnoozeFilter::Awake,
            sla_due_before: None,
            sla_due_after: None,
            sla: SlaFilter::Any,
            from_recurring_template: None,
            template_ids: Vec::new(),
        }
    }

    /// Whether the only filter is on assignees (assigned to any of them; not "or unassigned"),
    /// snoozed tasks or not.
    pub fn filters_only_assignees(&self) -> bool {
        let only_assignees = TaskFilter {
            assignee_user_ids: self.assignee_user_ids.clone(),
            snoozed: self.snoozed,
            ..TaskFilter::unfiltered(self.workspace_id, self.visibility.clone())
        };
        !self.assignee_user_ids.is_empty() && *self == only_assignees
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SortKey {
    CreatedAt,
    UpdatedAt,
    Due,
    Number,
    Priority,
    FollowUp,
    SlaDue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

/// A task's place in a sort order: its sort key and id. A listing resumes after a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Position {
    /// CREATED_AT, UPDATED_AT, DUE, FOLLOW_UP and SLA_DUE (`None`: no date, after every date).
    At(Option<DateTime<Utc>>, Uuid),
    /// NUMBER (unique on its own).
    Number(i64),
    /// PRIORITY: the urgency rank.
    Rank(i16, Uuid),
}

impl Sort {
    /// Where `task` stands in this order; matches the SQL expressions below.
    pub fn position(&self, task: &TaskRow) -> Position {
        match self.key {
            SortKey::CreatedAt => Position::At(Some(task.created_at), task.id),
            SortKey::UpdatedAt => Position::At(Some(task.updated_at), task.id),
            SortKey::Due => Position::At(task.due_key, task.id),
            SortKey::Number => Position::Number(task.number),
            SortKey::Priority => Position::Rank(task.priority.rank(), task.id),
            SortKey::FollowUp => Position::At(task.follow_up_at, task.id),
            SortKey::SlaDue => Position::At(task.sla.next_due(), task.id),
        }
    }

    fn expression(&self) -> &'static str {
        match self.key {
            SortKey::CreatedAt => "t.created_at",
            SortKey::UpdatedAt => "t.updated_at",
            SortKey::Due => "task_due_sort_key(t.due_key)",
            SortKey::Number => "t.number",
            SortKey::Priority => "task_priority_rank(t.priority)",
            SortKey::FollowUp => "task_follow_up_key(t.follow_up_at)",
            SortKey::SlaDue => "task_sla_due_key(t.sla_next_due_at)",
        }
    }
}

/// Up to `limit` tasks matching `filter`, in `sort` order, after `after`, holding at most
/// `budget` bytes (see `task_columns::task_bytes`; always at least one task), with only the body
/// renditions in `bodies` read.
pub async fn page(
    conn: &mut AsyncPgConnection,
    filter: &TaskFilter,
    sort: Sort,
    after: Option<Position>,
    limit: i64,
    budget: i64,
    bodies: &[BodyFormat],
) -> QueryResult<Fetched<TaskRow>> {
    let rows = page_query("", filter, sort, after, limit, budget, bodies)?
        .load(conn)
        .await?;
    Ok(Fetched::budgeted(rows))
}

/// How many tasks match `filter`.
pub async fn count(conn: &mut AsyncPgConnection, filter: &TaskFilter) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    let counted: Count = count_query("", filter)?.get_result(conn).await?;
    Ok(counted.count)
}

fn count_query(prefix: &str, filter: &TaskFilter) -> QueryResult<Sql> {
    let mut sql = Sql::default();
    sql.push(prefix);
    if filter.snoozed == SnoozeFilter::Awake {
        // Every match less the snoozed ones: the first count keeps its index-only plans (the
        // snooze is not in the indexes), the second is read off the index of snoozed tasks.
        let with = |snoozed| TaskFilter {
            snoozed,
            ..filter.clone()
        };
        sql.push("SELECT (SELECT count FROM (");
        sql.append(count_query("", &with(SnoozeFilter::Any))?);
        sql.push(") every_match) - (SELECT count FROM (");
        sql.append(count_query("", &with(SnoozeFilter::Snoozed))?);
        sql.push(") snoozed) AS count");
        return Ok(sql);
    }
    match &filter.visibility {
        // Only an assignee filter, over the whole workspace: every assignment's task exists in
        // the same workspace (foreign key), so the count is read off the users' assignments, from
        // the index alone (assignments_user_idx includes task_id), however many tasks there are.
        Visibility::Workspace
            if filter.filters_only_assignees() && filter.snoozed == SnoozeFilter::Any =>
        {
            sql.push(
                "SELECT count(DISTINCT a.task_id) AS count FROM assignments a WHERE a.workspace_id = ",
            );
            sql.bind::<SqlUuid, _>(filter.workspace_id);
            sql.push(" AND a.user_id = ANY(");
            sql.bind::<Array<SqlUuid>, _>(filter.assignee_user_ids.clone());
            sql.push(")");
        }
        Visibility::Workspace => {
            sql.push("SELECT count(*) AS count FROM tasks t WHERE ");
            sql.filters(filter)?;
        }
        Visibility::Related { .. } => {
            // The two halves are disjoint (received excludes authored), so their sum is exact.
            sql.push("SELECT (SELECT count(*) FROM tasks t WHERE ");
            sql.filters(filter)?;
            sql.push(" AND ");
            sql.authored(filter);
            sql.push(") + (");
            sql.received_count(filter)?;
            sql.push(") AS count");
        }
    }
    Ok(sql)
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

/// The plan PostgreSQL picks for a count (`EXPLAIN` output, one line per row).
pub async fn explain_count(
    conn: &mut AsyncPgConnection,
    filter: &TaskFilter,
) -> QueryResult<Vec<String>> {
    let lines: Vec<PlanLine> = count_query("EXPLAIN ", filter)?.load(conn).await?;
    Ok(lines.into_iter().map(|l| l.line).collect())
}

/// The plan PostgreSQL picks for a page (`EXPLAIN` output, one line per row): for the query-plan
/// test, and for operators looking into a slow listing.
pub async fn explain_page(
    conn: &mut AsyncPgConnection,
    filter: &TaskFilter,
    sort: Sort,
    after: Option<Position>,
    limit: i64,
) -> QueryResult<Vec<String>> {
    let lines: Vec<PlanLine> = page_query(
        "EXPLAIN ",
        filter,
        sort,
        after,
        limit,
        1 << 20,
        BodyFormat::ALL,
    )?
    .load(conn)
    .await?;
    Ok(lines.into_iter().map(|l| l.line).collect())
}

/// The page query: the matching tasks in order, up to `limit`, cut to `budget` bytes
/// (`Sql::open_budgeted_page`).
fn page_query(
    prefix: &str,
    filter: &TaskFilter,
    sort: Sort,
    after: Option<Position>,
    limit: i64,
    budget: i64,
    bodies: &[BodyFormat],
) -> QueryResult<Sql> {
    let key = sort.expression();
    let direction = if sort.descending { "DESC" } else { "ASC" };
    let order = if sort.key == SortKey::Number {
        format!("t.number {direction}")
    } else {
        format!("{key} {direction}, t.id {direction}")
    };
    let mut sql = Sql::default();
    sql.push(prefix);
    let page_key = if sort.key == SortKey::Number {
        "t.number"
    } else {
        key
    };
    sql.open_budgeted_page(&task_columns(bodies), page_key, &task_bytes(bodies));
    sql.push("tasks t");
    visible_to_caller(&mut sql, filter)?;
    after_position(&mut sql, key, sort.descending, after);
    sql.close_budgeted_page(
        &order,
        direction,
        sort.key == SortKey::Number,
        limit,
        budget,
    );
    Ok(sql)
}

/// `FROM tasks t` onwards: the caller's own assignment joined, the filters, and what the caller
/// may see of them.
fn visible_to_caller(sql: &mut Sql, filter: &TaskFilter) -> QueryResult<()> {
    // The caller's own assignment, if any, joined (at most one: assignments are unique per task
    // and user) rather than looked up in a subplan, so the planner may also start from a
    // selective filter's index and probe the rest by key.
    let receives = match &filter.visibility {
        Visibility::Related {
            user_id: Some(user_id),
            received: true,
            ..
        } => Some(*user_id),
        _ => None,
    };
    if let Some(user_id) = receives {
        sql.push(
            " LEFT JOIN assignments mine ON mine.workspace_id = t.workspace_id \
             AND mine.task_id = t.id AND mine.user_id = ",
        );
        sql.bind::<SqlUuid, _>(user_id);
    }
    sql.push(" WHERE ");
    sql.filters(filter)?;
    if let Visibility::Related {
        actor_type,
        actor_id,
        ..
    } = &filter.visibility
    {
        sql.push(" AND ((");
        sql.authored(filter);
        sql.push(")");
        if receives.is_some() {
            sql.push(" OR (mine.task_id IS NOT NULL AND NOT (");
            sql.author_match(actor_type, actor_id);
            sql.push("))");
        }
        sql.push(")");
    }
    Ok(())
}

/// Past the page's start: after `after` in the sort order (`key`, then the id).
fn after_position(sql: &mut Sql, key: &str, descending: bool, after: Option<Position>) {
    let beyond = if descending { "<" } else { ">" };
    match after {
        None => {}
        Some(Position::Number(number)) => {
            sql.push(&format!(" AND t.number {beyond} "));
            sql.bind::<BigInt, _>(number);
        }
        Some(Position::At(at, id)) => {
            sql.push(&format!(" AND ({key}, t.id) {beyond} (coalesce("));
            sql.bind::<Nullable<Timestamptz>, _>(at);
            sql.push(", 'infinity'::timestamptz), ");
            sql.bind::<SqlUuid, _>(id);
            sql.push(")");
        }
        Some(Position::Rank(rank, id)) => {
            sql.push(&format!(" AND ({key}, t.id) {beyond} ("));
            sql.bind::<SmallInt, _>(rank);
            sql.push(", ");
            sql.bind::<SqlUuid, _>(id);
            sql.push(")");
        }
    }
}

//! The listing queries of AssignmentService: a recipient's own assignments (ListMyAssignments,
//! GetMyAssignmentsSummary) and one task's assignments (ListTaskAssignments), keyset-paginated on
//! `(sort key, assignment id)`.

use crate::domain::{
    assignments::list::{MyAssignmentSort, TaskAssignmentPosition, TaskAssignmentSort},
    records::{Assignment, ProgressCounts},
};
use chrono::{DateTime, Utc};
use diesel::{
    QueryResult, QueryableByName,
    sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::db::{
    query::paging::Fetched,
    query::sql::Sql,
    tasks::{columns::task_bytes, list::SnoozeFilter},
};
use crate::domain::vocabulary::{ActorType, BodyFormat, ProgressStatus};

/// Which of a recipient's assignments to list or count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MyAssignmentFilter {
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    /// Assignments of tasks the user authored.
    pub personal: bool,
    /// Assignments of tasks someone else authored.
    pub received: bool,
    /// Empty: every progress status.
    pub progress_statuses: Vec<ProgressStatus>,
    /// Assignments of snoozed tasks, or not.
    pub snoozed: SnoozeFilter,
}

/// Up to `limit` of the user's assignments after `after`, in `sort` order.
pub async fn my_page(
    conn: &mut AsyncPgConnection,
    filter: &MyAssignmentFilter,
    sort: MyAssignmentSort,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
    budget: i64,
) -> QueryResult<Fetched<Assignment>> {
    let (column, descending) = match sort {
        MyAssignmentSort::CreatedAt { descending } => ("a.created_at", descending),
        MyAssignmentSort::UpdatedAt { descending } => ("a.updated_at", descending),
    };
    let (direction, beyond) = if descending {
        ("DESC", "<")
    } else {
        ("ASC", ">")
    };
    let order = format!("{column} {direction}, a.id {direction}");
    // Each assignment comes with its task: the page is budgeted by the task's bytes, as the task
    // list's is (`db::tasks::list::page`).
    let mut sql = Sql::default();
    sql.open_budgeted_page("a.*", column, &task_bytes(BodyFormat::ALL));
    sql.push("assignments a");
    sql.my_filters(filter);
    if let Some((at, id)) = after {
        sql.push(&format!(" AND ({column}, a.id) {beyond} ("));
        sql.bind::<Timestamptz, _>(at);
        sql.push(", ");
        sql.bind::<SqlUuid, _>(id);
        sql.push(")");
    }
    sql.close_budgeted_page(&order, direction, false, limit, budget);
    Ok(Fetched::budgeted(sql.load(conn).await?))
}

/// Counts of the user's assignments per progress status.
pub async fn my_summary(
    conn: &mut AsyncPgConnection,
    filter: &MyAssignmentFilter,
) -> QueryResult<ProgressCounts> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = Text)]
        progress_status: ProgressStatus,
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    let mut sql = Sql::default();
    sql.push("SELECT a.progress_status, count(*) AS count FROM assignments a");
    sql.my_filters(filter);
    sql.push(" GROUP BY a.progress_status");
    let rows: Vec<Count> = sql.load(conn).await?;
    Ok(ProgressCounts::from_pairs(
        rows.into_iter().map(|r| (r.progress_status, r.count)),
    ))
}

impl Sql {
    /// The join with the task (for its author) and the WHERE clause of a recipient's listing.
    fn my_filters(&mut self, f: &MyAssignmentFilter) {
        self.push(
            " JOIN tasks t ON t.workspace_id = a.workspace_id AND t.id = a.task_id \
             WHERE a.workspace_id = ",
        );
        self.bind::<SqlUuid, _>(f.workspace_id);
        self.push(" AND a.user_id = ");
        self.bind::<SqlUuid, _>(f.user_id);
        if !f.progress_statuses.is_empty() {
            self.push(" AND a.progress_status = ANY(");
            self.bind::<Array<Text>, _>(f.progress_statuses.clone());
            self.push(")");
        }
        if f.personal != f.received {
            // Only users receive assignments, so "authored by the user" is a USER author.
            self.push(if f.personal { " AND " } else { " AND NOT " });
            self.push("(t.created_by_type = ");
            self.bind::<Text, _>(ActorType::User);
            self.push(" AND t.created_by_id = ");
            self.bind::<Text, _>(f.user_id.to_string());
            self.push(")");
        } else if !f.personal {
            self.push(" AND false");
        }
        match f.snoozed {
            SnoozeFilter::Awake => self.push(" AND t.snoozed_until IS NULL"),
            SnoozeFilter::Snoozed => self.push(" AND t.snoozed_until IS NOT NULL"),
            SnoozeFilter::Any => {}
        }
    }
}

/// Up to `limit` of the task's assignments after `after`, in `sort` order (names are the
/// recipients').
pub async fn task_page(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    task_id: Uuid,
    progress_statuses: &[ProgressStatus],
    sort: TaskAssignmentSort,
    after: Option<TaskAssignmentPosition>,
    limit: i64,
) -> QueryResult<Vec<Assignment>> {
    let mut sql = Sql::default();
    sql.push(
        "SELECT a.* FROM assignments a \
         JOIN users u ON u.workspace_id = a.workspace_id AND u.id = a.user_id \
         WHERE a.workspace_id = ",
    );
    sql.bind::<SqlUuid, _>(workspace_id);
    sql.push(" AND a.task_id = ");
    sql.bind::<SqlUuid, _>(task_id);
    if !progress_statuses.is_empty() {
        sql.push(" AND a.progress_status = ANY(");
        sql.bind::<Array<Text>, _>(progress_statuses.to_vec());
        sql.push(")");
    }
    let (column, descending) = match sort {
        TaskAssignmentSort::LastName { descending } => ("u.last_name", descending),
        TaskAssignmentSort::FirstName { descending } => ("u.first_name", descending),
        TaskAssignmentSort::CreatedAt { descending } => ("a.created_at", descending),
    };
    let (direction, beyond) = if descending {
        ("DESC", "<")
    } else {
        ("ASC", ">")
    };
    match after {
        None => {}
        Some(TaskAssignmentPosition::Name(name, id)) => {
            sql.push(&format!(" AND ({column}, a.id) {beyond} ("));
            sql.bind::<Text, _>(name);
            sql.push(", ");
            sql.bind::<SqlUuid, _>(id);
            sql.push(")");
        }
        Some(TaskAssignmentPosition::At(at, id)) => {
            sql.push(&format!(" AND ({column}, a.id) {beyond} ("));
            sql.bind::<Timestamptz, _>(at);
            sql.push(", ");
            sql.bind::<SqlUuid, _>(id);
            sql.push(")");
        }
    }
    sql.push(&format!(
        " ORDER BY {column} {direction}, a.id {direction} LIMIT "
    ));
    sql.bind::<BigInt, _>(limit);
    sql.load(conn).await
}

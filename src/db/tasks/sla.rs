//! A task's SLA columns, which the slas migration's triggers keep (matched, met, paused,
//! resumed), and the one write Docket makes to them itself: recording a breach when an SLA timer
//! finds its clock past its due.

use chrono::{DateTime, Utc};
use diesel::{pg::data_types::PgInterval, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::TaskRow;
use crate::db::schema::tasks;

/// A task's SLA clocks as the slas migration's triggers keep them.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = tasks, check_for_backend(diesel::pg::Pg))]
pub struct SlaColumns {
    pub sla_policy: Option<String>,
    pub sla_started_at: Option<DateTime<Utc>>,
    pub sla_response_due_at: Option<DateTime<Utc>>,
    pub sla_response_met_at: Option<DateTime<Utc>>,
    pub sla_response_left: Option<PgInterval>,
    pub sla_resolution_due_at: Option<DateTime<Utc>>,
    pub sla_resolution_met_at: Option<DateTime<Utc>>,
    pub sla_resolution_left: Option<PgInterval>,
    pub sla_paused_since: Option<DateTime<Utc>>,
    pub sla_breached_at: Option<DateTime<Utc>>,
}

impl SlaColumns {
    /// The next due of a running clock not met yet: the stored `sla_next_due_at`, which the
    /// migration generates by the same rule.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        let unmet =
            |due: Option<DateTime<Utc>>, met: Option<DateTime<Utc>>| due.filter(|_| met.is_none());
        let response = unmet(self.sla_response_due_at, self.sla_response_met_at);
        let resolution = unmet(self.sla_resolution_due_at, self.sla_resolution_met_at);
        response.into_iter().chain(resolution).min()
    }
}

/// Records that an SLA clock passed `due` unmet, on a task (locked) with no breach recorded yet;
/// `None` if one is. Not a change of the task's own fields: its version and etag stay.
pub async fn mark_sla_breached(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    due: DateTime<Utc>,
) -> QueryResult<Option<TaskRow>> {
    diesel::update(
        tasks::table
            .find((workspace_id, id))
            .filter(tasks::sla_breached_at.is_null()),
    )
    .set(tasks::sla_breached_at.eq(due))
    .returning(TaskRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

//! Where a task came from when a template made it (the task_templates migration): the
//! template, and for an occurrence of a recurring one its index and scheduled time and its
//! neighbours in the series.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::tasks;

/// A task's provenance columns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = tasks, check_for_backend(diesel::pg::Pg))]
pub struct ProvenanceColumns {
    pub template_id: Option<Uuid>,
    pub template_name: Option<String>,
    pub occurrence_index: Option<i32>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub series_previous_id: Option<Uuid>,
    pub series_next_id: Option<Uuid>,
}

/// The provenance a new task is written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProvenance {
    pub template_id: Uuid,
    pub template_name: String,
    /// For an occurrence: its index, scheduled time and the series' task before it.
    pub occurrence: Option<(i32, DateTime<Utc>, Option<Uuid>)>,
}

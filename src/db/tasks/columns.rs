//! Which columns of a task a query reads, and what a read task weighs: listings read only the
//! body renditions their caller asked for, and streams budget their pages by what they read.

use crate::domain::vocabulary::BodyFormat;

/// The columns of `tasks` in `TaskRow`'s order (a test checks them against the schema).
const TASK_COLUMNS: [&str; 55] = [
    "workspace_id",
    "id",
    "number",
    "title",
    "body_format",
    "body_plain",
    "body_html",
    "body_delta",
    "kind",
    "priority",
    "status",
    "due_date",
    "due_at",
    "tags",
    "external_id",
    "correlation_id",
    "sequence_id",
    "completion_policy",
    "distributed",
    "created_by_type",
    "created_by_id",
    "outcome_disposition",
    "outcome_note",
    "created_at",
    "updated_at",
    "first_started_at",
    "first_terminated_at",
    "completed_at",
    "skipped_at",
    "cancelled_at",
    "reopened_at",
    "reopen_reason",
    "version",
    "completed_by_policy",
    "snoozed_until",
    "snooze_reason",
    "follow_up_at",
    "due_key",
    "source_occurred_at",
    "sla_policy",
    "sla_started_at",
    "sla_response_due_at",
    "sla_response_met_at",
    "sla_response_left",
    "sla_resolution_due_at",
    "sla_resolution_met_at",
    "sla_resolution_left",
    "sla_paused_since",
    "sla_breached_at",
    "template_id",
    "template_name",
    "occurrence_index",
    "scheduled_for",
    "series_previous_id",
    "series_next_id",
];

/// The column of each body rendition.
fn body_column(format: BodyFormat) -> &'static str {
    match format {
        BodyFormat::Plain => "body_plain",
        BodyFormat::Html => "body_html",
        BodyFormat::Delta => "body_delta",
    }
}

/// A task row (alias `t`) as `TaskRow` reads it, as SQL, with only the body renditions in
/// `bodies` read: the others come back empty, so a listing that answers with plain bodies does
/// not read, send or decode the other two.
pub fn task_columns(bodies: &[BodyFormat]) -> String {
    let skipped: Vec<&str> = BodyFormat::ALL
        .iter()
        .filter(|format| !bodies.contains(format))
        .map(|format| body_column(*format))
        .collect();
    TASK_COLUMNS
        .iter()
        .map(|column| {
            if skipped.contains(column) {
                format!("''::text AS {column}")
            } else {
                format!("t.{column}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a task row (alias `t`) holds once read, in bytes, as SQL: its texts (the body renditions
/// in `bodies`, the title, the tags) and a fixed allowance for the rest. Sizes come from each
/// value's header, so TOASTed bodies are not read to count them. Streams budget pages with it.
pub fn task_bytes(bodies: &[BodyFormat]) -> String {
    let read: String = bodies
        .iter()
        .map(|format| format!(" + octet_length(t.{})", body_column(*format)))
        .collect();
    format!("(octet_length(t.title){read} + pg_column_size(t.tags) + 512)::bigint")
}

#[cfg(test)]
mod tests {
    use diesel::{QueryDsl, SelectableHelper, debug_query, pg::Pg};

    use super::*;
    use crate::db::{schema::tasks, tasks::TaskRow};

    #[test]
    fn task_columns_are_what_a_task_row_selects() {
        let selected = debug_query::<Pg, _>(&tasks::table.select(TaskRow::as_select())).to_string();
        let listed = TASK_COLUMNS
            .iter()
            .map(|column| format!("\"tasks\".\"{column}\""))
            .collect::<Vec<_>>()
            .join(", ");
        assert!(
            selected.starts_with(&format!("SELECT {listed} FROM")),
            "{selected}"
        );
    }

    #[test]
    fn bodies_not_asked_for_are_neither_read_nor_counted() {
        let plain = task_columns(&[BodyFormat::Plain]);
        assert!(plain.contains("t.body_plain"));
        assert!(
            plain.contains("''::text AS body_html") && plain.contains("''::text AS body_delta")
        );
        assert_eq!(task_columns(BodyFormat::ALL).matches("''").count(), 0);
        let bytes = task_bytes(&[BodyFormat::Html]);
        assert!(bytes.contains("t.body_html") && !bytes.contains("t.body_plain"));
    }
}

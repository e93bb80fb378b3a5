//! The WHERE clauses of the task listings (`super::list`): every filter of a ListTasks or
//! CountTasks request, and who authored or received a task, as SQL with bind parameters.

use diesel::sql_types::{Array, BigInt, Bool, SmallInt, Text, Timestamptz, Uuid as SqlUuid};

use crate::db::{
    query::sql::Sql,
    tasks::list::{TaskFilter, Visibility},
};
use crate::domain::vocabulary::ActorType;

impl Sql {
    /// The workspace and every filter, ANDed.
    pub(super) fn filters(&mut self, f: &TaskFilter) {
        self.push("t.workspace_id = ");
        self.bind::<SqlUuid, _>(f.workspace_id);
        if !f.priorities.is_empty() {
            // By rank, so the PRIORITY sort's index serves the filter too.
            let ranks: Vec<i16> = f.priorities.iter().map(|p| p.rank()).collect();
            self.push(" AND task_priority_rank(t.priority) = ANY(");
            self.bind::<Array<SmallInt>, _>(ranks);
            self.push(")");
        }
        if !f.statuses.is_empty() {
            self.push(" AND t.status = ANY(");
            self.bind::<Array<Text>, _>(f.statuses.clone());
            self.push(")");
        }
        if !f.kinds.is_empty() {
            self.push(" AND t.kind = ANY(");
            self.bind::<Array<Text>, _>(f.kinds.clone());
            self.push(")");
        }
        if !f.assignee_user_ids.is_empty() || f.include_unassigned {
            self.push(" AND (");
            if !f.assignee_user_ids.is_empty() {
                self.push(
                    "EXISTS (SELECT 1 FROM assignments a WHERE a.workspace_id = t.workspace_id \
                     AND a.task_id = t.id AND a.user_id = ANY(",
                );
                self.bind::<Array<SqlUuid>, _>(f.assignee_user_ids.clone());
                self.push("))");
                if f.include_unassigned {
                    self.push(" OR ");
                }
            }
            if f.include_unassigned {
                self.push(
                    "NOT EXISTS (SELECT 1 FROM assignments a \
                     WHERE a.workspace_id = t.workspace_id AND a.task_id = t.id)",
                );
            }
            self.push(")");
        }
        if !f.tags.is_empty() {
            // As keys of the workspace, whose statistics know each tag's frequency in each
            // workspace (migrations/*_workspace_tag_keys); and only tagged tasks, which are all
            // the tag index holds (migrations/*_tagged_tasks_index).
            self.push(
                " AND cardinality(t.tags) > 0 \
                 AND task_tag_keys(t.workspace_id, t.tags) && task_tag_keys(",
            );
            self.bind::<SqlUuid, _>(f.workspace_id);
            self.push(", ");
            self.bind::<Array<Text>, _>(f.tags.clone());
            self.push(")");
        }
        if let Some((object, record_id)) = &f.linked_record {
            self.push(
                " AND EXISTS (SELECT 1 FROM task_linked_records l \
                 WHERE l.workspace_id = t.workspace_id AND l.task_id = t.id AND l.object = ",
            );
            self.bind::<Text, _>(object.clone());
            self.push(" AND l.record_id = ");
            self.bind::<Text, _>(record_id.clone());
            self.push(")");
        }
        if let Some(sequence_id) = f.sequence_id {
            self.push(" AND t.sequence_id = ");
            self.bind::<SqlUuid, _>(sequence_id);
        }
        for (column, value) in [
            ("external_id", &f.external_id),
            ("correlation_id", &f.correlation_id),
        ] {
            if let Some(value) = value {
                self.push(&format!(" AND t.{column} = "));
                self.bind::<Text, _>(value.clone());
            }
        }
        if let Some(before) = f.due_before {
            self.push(" AND task_due_key(t.due_at, t.due_date) < ");
            self.bind::<Timestamptz, _>(before);
        }
        if let Some(after) = f.due_after {
            // No due date is +infinity to the sort, but it is not "due after" anything; bounding
            // the range there also keeps the index scan off the undated tasks.
            self.push(" AND task_due_key(t.due_at, t.due_date) >= ");
            self.bind::<Timestamptz, _>(after);
            self.push(" AND task_due_key(t.due_at, t.due_date) < 'infinity'");
        }
        if let Some(before) = f.created_before {
            self.push(" AND t.created_at < ");
            self.bind::<Timestamptz, _>(before);
        }
        if let Some(after) = f.created_after {
            self.push(" AND t.created_at >= ");
            self.bind::<Timestamptz, _>(after);
        }
        if f.title_words.is_some() || f.number.is_some() {
            self.push(" AND (");
            if let Some(words) = &f.title_words {
                self.push("to_tsvector('simple', t.title) @@ task_title_query(");
                self.bind::<Text, _>(words.clone());
                self.push(")");
                if f.number.is_some() {
                    self.push(" OR ");
                }
            }
            if let Some(number) = f.number {
                self.push("t.number = ");
                self.bind::<BigInt, _>(number);
            }
            self.push(")");
        }
    }

    /// The tasks the caller authored, of the kinds asked for (`false` if none was).
    pub(super) fn authored(&mut self, f: &TaskFilter) {
        let Visibility::Related {
            actor_type,
            actor_id,
            personal,
            distributed,
            ..
        } = &f.visibility
        else {
            self.push("true");
            return;
        };
        if !personal && !distributed {
            self.push("false");
            return;
        }
        self.author_match(actor_type, actor_id);
        if personal != distributed {
            self.push(" AND t.distributed = ");
            self.bind::<Bool, _>(*distributed);
        }
    }

    /// How many tasks matching the filters the caller received, counted from their assignments:
    /// the lateral probe of each task by primary key keeps the planner from hashing the
    /// workspace's tasks instead, so the cost follows the caller's assignments, not the workspace.
    pub(super) fn received_count(&mut self, f: &TaskFilter) {
        let Visibility::Related {
            actor_type,
            actor_id,
            user_id: Some(user_id),
            received: true,
            ..
        } = &f.visibility
        else {
            self.push("0");
            return;
        };
        self.push(
            "SELECT count(*) FROM assignments a CROSS JOIN LATERAL (SELECT 1 FROM tasks t WHERE ",
        );
        self.filters(f);
        self.push(" AND t.id = a.task_id AND NOT (");
        self.author_match(actor_type, actor_id);
        self.push(") LIMIT 1) received WHERE a.workspace_id = ");
        self.bind::<SqlUuid, _>(f.workspace_id);
        self.push(" AND a.user_id = ");
        self.bind::<SqlUuid, _>(*user_id);
    }

    pub(super) fn author_match(&mut self, actor_type: &ActorType, actor_id: &str) {
        self.push("t.created_by_type = ");
        self.bind::<Text, _>(*actor_type);
        self.push(" AND t.created_by_id = ");
        self.bind::<Text, _>(actor_id.to_owned());
    }
}

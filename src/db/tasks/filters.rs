//! The WHERE clauses of the task listings (`super::list`): every filter of a ListTasks or
//! CountTasks request, and who authored or received a task, as SQL with bind parameters.

use std::sync::LazyLock;

use serde::Serialize;

use diesel::sql_types::{
    Array, BigInt, Bool, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid,
};

use crate::db::{
    query::sql::Sql,
    query::statement::{Binds, Statement},
    tasks::list::{TaskFilter, Visibility},
};
use crate::domain::vocabulary::ActorType;

/// Which tasks a listing takes by their SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum SlaFilter {
    /// Every task.
    #[default]
    Any,
    /// Tasks with an SLA.
    WithSla,
    /// Tasks whose SLA is breached: recorded so, or a running clock past its due.
    Breached,
    /// Tasks with an SLA not breached.
    NotBreached,
}

/// Whether a listing takes in snoozed tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum SnoozeFilter {
    /// Tasks not snoozed (the default).
    #[default]
    Awake,
    /// Only snoozed tasks.
    Snoozed,
    /// Both.
    Any,
}

/// `filters.sql`, parsed once.
static FILTERS: LazyLock<Statement> =
    LazyLock::new(|| Statement::parse("filters.sql", include_str!("filters.sql")));

/// The blocks of `filters.sql` that `f` turns on, and their values.
fn filter_values(f: &TaskFilter) -> (Vec<&'static str>, Binds) {
    let mut on = Vec::new();
    let mut when = |block: &'static str, wanted: bool| {
        if wanted {
            on.push(block);
        }
    };
    when("priorities", !f.priorities.is_empty());
    when("statuses", !f.statuses.is_empty());
    when("kinds", !f.kinds.is_empty());
    let (assignees, unassigned) = (!f.assignee_user_ids.is_empty(), f.include_unassigned);
    when("assignees_only", assignees && !unassigned);
    when("unassigned_only", unassigned && !assignees);
    when("assignees_or_unassigned", assignees && unassigned);
    when("tags", !f.tags.is_empty());
    when("linked_record", f.linked_record.is_some());
    when("sequence_id", f.sequence_id.is_some());
    when("external_id", f.external_id.is_some());
    when("correlation_id", f.correlation_id.is_some());
    when("due_before", f.due_before.is_some());
    when("due_after", f.due_after.is_some());
    when("created_before", f.created_before.is_some());
    when("created_after", f.created_after.is_some());
    let (title, number) = (f.title_words.is_some(), f.number.is_some());
    when("title_only", title && !number);
    when("number_only", number && !title);
    when("title_or_number", title && number);
    when("follow_up_before", f.follow_up_before.is_some());
    when("follow_up_after", f.follow_up_after.is_some());
    when("awake", f.snoozed == SnoozeFilter::Awake);
    when("snoozed", f.snoozed == SnoozeFilter::Snoozed);
    when("sla_due_before", f.sla_due_before.is_some());
    when("sla_due_after", f.sla_due_after.is_some());
    when("with_sla", f.sla == SlaFilter::WithSla);
    when("sla_breached", f.sla == SlaFilter::Breached);
    when("sla_not_breached", f.sla == SlaFilter::NotBreached);
    when("recurring", f.from_recurring_template == Some(true));
    when("not_recurring", f.from_recurring_template == Some(false));
    when("template_ids", !f.template_ids.is_empty());
    let (object, record_id) = f.linked_record.clone().unzip();
    let binds = Binds::default()
        .bind::<SqlUuid, _>("workspace_id", f.workspace_id)
        .bind::<Array<SmallInt>, _>(
            "priority_ranks",
            f.priorities.iter().map(|p| p.rank()).collect::<Vec<_>>(),
        )
        .bind::<Array<Text>, _>("statuses", f.statuses.clone())
        .bind::<Array<Text>, _>("kinds", f.kinds.clone())
        .bind::<Array<SqlUuid>, _>("assignee_user_ids", f.assignee_user_ids.clone())
        .bind::<SqlUuid, _>("tags_workspace_id", f.workspace_id)
        .bind::<Array<Text>, _>("tags", f.tags.clone())
        .bind::<Nullable<Text>, _>("linked_object", object)
        .bind::<Nullable<Text>, _>("linked_record_id", record_id)
        .bind::<Nullable<SqlUuid>, _>("sequence_id", f.sequence_id)
        .bind::<Nullable<Text>, _>("external_id", f.external_id.clone())
        .bind::<Nullable<Text>, _>("correlation_id", f.correlation_id.clone())
        .bind::<Nullable<Timestamptz>, _>("due_before", f.due_before)
        .bind::<Nullable<Timestamptz>, _>("due_after", f.due_after)
        .bind::<Nullable<Timestamptz>, _>("created_before", f.created_before)
        .bind::<Nullable<Timestamptz>, _>("created_after", f.created_after)
        .bind::<Nullable<Text>, _>("title_words", f.title_words.clone())
        .bind::<Nullable<BigInt>, _>("number", f.number)
        .bind::<Nullable<Timestamptz>, _>("follow_up_before", f.follow_up_before)
        .bind::<Nullable<Timestamptz>, _>("follow_up_after", f.follow_up_after)
        .bind::<Nullable<Timestamptz>, _>("sla_due_before", f.sla_due_before)
        .bind::<Nullable<Timestamptz>, _>("sla_due_after", f.sla_due_after)
        .bind::<Array<SqlUuid>, _>("template_ids", f.template_ids.clone());
    (on, binds)
}

impl Sql {
    /// The workspace and every filter, ANDed (`filters.sql`).
    pub(super) fn filters(&mut self, f: &TaskFilter) -> diesel::QueryResult<()> {
        let (on, binds) = filter_values(f);
        self.append(FILTERS.fill(&on, binds)?);
        Ok(())
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
    pub(super) fn received_count(&mut self, f: &TaskFilter) -> diesel::QueryResult<()> {
        let Visibility::Related {
            actor_type,
            actor_id,
            user_id: Some(user_id),
            received: true,
            ..
        } = &f.visibility
        else {
            self.push("0");
            return Ok(());
        };
        self.push(
            "SELECT count(*) FROM assignments a CROSS JOIN LATERAL (SELECT 1 FROM tasks t WHERE ",
        );
        self.filters(f)?;
        self.push(" AND t.id = a.task_id AND NOT (");
        self.author_match(actor_type, actor_id);
        self.push(") LIMIT 1) received WHERE a.workspace_id = ");
        self.bind::<SqlUuid, _>(f.workspace_id);
        self.push(" AND a.user_id = ");
        self.bind::<SqlUuid, _>(*user_id);
        Ok(())
    }

    pub(super) fn author_match(&mut self, actor_type: &ActorType, actor_id: &str) {
        self.push("t.created_by_type = ");
        self.bind::<Text, _>(*actor_type);
        self.push(" AND t.created_by_id = ");
        self.bind::<Text, _>(actor_id.to_owned());
    }
}

//! ListTasks and CountTasks requests read into one checked query: the same filters for both, and a
//! listing's sort, page and cursor besides.

use super::requests::{linked_record, tags};
use crate::{
    domain::{
        body::BodyFormat,
        directory::Page,
        input::{Field, Text, Violations},
        tasks::{
            DistributionKind, ExternalKey, TaskKind,
            list::{MAX_FILTER_VALUES, TaskQuery, TaskQueryDraft, TaskSort, TaskSortKey},
        },
    },
    grpc::{
        enums::optional,
        parse::{Parse, body_formats, enums, optional_instant, optional_uuid, page, uuids},
        pb,
    },
};

/// A listing: what it selects, in which order, how much of it, and the body renditions asked for.
pub(crate) struct ListTasks {
    pub query: TaskQuery,
    pub sort: TaskSort,
    pub page: Page,
    pub formats: Vec<BodyFormat>,
}

impl Parse for pb::ListTasksRequest {
    type Checked = ListTasks;

    fn parse(&self, v: &mut Violations) -> Option<ListTasks> {
        let query = filters_of(self).parse(v);
        let sort = v.check("sort", optional(self.sort));
        let page = page(v, &self.page_cursor, self.page_limit);
        let formats = body_formats(v, &self.body_formats);
        Some(ListTasks {
            query: query?,
            sort: sort?.unwrap_or(TaskSort {
                key: TaskSortKey::CreatedAt,
                descending: true,
            }),
            page: page?,
            formats,
        })
    }
}

/// The filters of a list request: the two requests share their filter fields (same names and
/// numbers), so a list request's filters are read as a count request.
fn filters_of(request: &pb::ListTasksRequest) -> pb::CountTasksRequest {
    pb::CountTasksRequest {
        distribution_kinds: request.distribution_kinds.clone(),
        statuses: request.statuses.clone(),
        priorities: request.priorities.clone(),
        kinds: request.kinds.clone(),
        assignee_user_ids: request.assignee_user_ids.clone(),
        include_unassigned: request.include_unassigned,
        tags: request.tags.clone(),
        linked_record: request.linked_record.clone(),
        sequence_id: request.sequence_id.clone(),
        external_id: request.external_id.clone(),
        correlation_id: request.correlation_id.clone(),
        due_before: request.due_before,
        due_after: request.due_after,
        created_before: request.created_before,
        created_after: request.created_after,
        query: request.query.clone(),
        follow_up_before: request.follow_up_before,
        follow_up_after: request.follow_up_after,
        snoozed: request.snoozed,
        sla_due_before: request.sla_due_before,
        sla_due_after: request.sla_due_after,
        sla: request.sla,
        from_recurring_template: request.from_recurring_template,
        template_ids: request.template_ids.clone(),
    }
}

impl Parse for pb::CountTasksRequest {
    type Checked = TaskQuery;

    fn parse(&self, v: &mut Violations) -> Option<TaskQuery> {
        let max = MAX_FILTER_VALUES;
        let distribution_kinds: Vec<DistributionKind> =
            enums(v, "distribution_kinds", &self.distribution_kinds, max);
        let statuses = enums(v, "statuses", &self.statuses, max);
        let priorities = enums(v, "priorities", &self.priorities, max);
        let kinds = v.each("kinds", &self.kinds, max, |kind| TaskKind::parse(kind));
        let assignee_user_ids = uuids(v, "assignee_user_ids", &self.assignee_user_ids, max);
        let tags = tags(v, &self.tags);
        let linked_record = match &self.linked_record {
            None => Some(None),
            Some(record) => {
                linked_record(v, record, |part| Field::Part("linked_record", part)).map(Some)
            }
        };
        let sequence_id = v.check("sequence_id", optional_uuid(&self.sequence_id));
        let external_id = v.check(
            "external_id",
            Text::<ExternalKey>::optional(&self.external_id),
        );
        let correlation_id = v.check("correlation_id", Text::optional(&self.correlation_id));
        let due_before = optional_instant(v, "due_before", self.due_before.as_ref());
        let due_after = optional_instant(v, "due_after", self.due_after.as_ref());
        let created_before = optional_instant(v, "created_before", self.created_before.as_ref());
        let created_after = optional_instant(v, "created_after", self.created_after.as_ref());
        let query = v.check("query", Text::optional(&self.query));
        let follow_up_before =
            optional_instant(v, "follow_up_before", self.follow_up_before.as_ref());
        let follow_up_after = optional_instant(v, "follow_up_after", self.follow_up_after.as_ref());
        let snoozed = v.check("snoozed", optional(self.snoozed));
        let sla_due_before = optional_instant(v, "sla_due_before", self.sla_due_before.as_ref());
        let sla_due_after = optional_instant(v, "sla_due_after", self.sla_due_after.as_ref());
        let sla = v.check("sla", optional(self.sla));
        let template_ids = uuids(v, "template_ids", &self.template_ids, max);
        Some(TaskQuery::from(TaskQueryDraft {
            distribution_kinds,
            statuses,
            priorities,
            kinds,
            assignee_user_ids,
            include_unassigned: self.include_unassigned,
            tags,
            linked_record: linked_record?,
            sequence_id: sequence_id?,
            external_id: external_id?,
            correlation_id: correlation_id?,
            due_before,
            due_after,
            created_before,
            created_after,
            query: query?,
            follow_up_before,
            follow_up_after,
            snoozed: snoozed?.unwrap_or_default(),
            sla_due_before,
            sla_due_after,
            sla: sla?.unwrap_or_default(),
            from_recurring_template: self.from_recurring_template,
            template_ids,
        }))
    }
}

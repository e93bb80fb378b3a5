//! AssignmentService requests read into checked domain values, one parser per request message.

use uuid::Uuid;

use crate::domain::tasks::list::SnoozeFilter;
use crate::domain::vocabulary::ProgressStatus;
use crate::{
    domain::assignments::list::{MyAssignmentSort, TaskAssignmentSort},
    domain::{
        assignments::{Batch, MAX_BATCH, NewRecipient},
        body::BodyFormat,
        directory::Page,
        input::Violations,
        tasks::{DistributionKind, list::MAX_FILTER_VALUES},
    },
    grpc::{
        enums::{Embed, optional},
        parse::{Parse, body_formats, enums, one_id, page, uuid, uuids},
        pb,
    },
};

pub(crate) struct ListMine {
    /// `None`: a kind left unspecified.
    pub kinds: Vec<Option<DistributionKind>>,
    pub progress: Vec<ProgressStatus>,
    pub snoozed: SnoozeFilter,
    pub sort: MyAssignmentSort,
    pub formats: Vec<BodyFormat>,
    pub page: Page,
}

pub(crate) struct ListForTask {
    pub task_id: Uuid,
    pub progress: Vec<ProgressStatus>,
    pub embed_user: bool,
    pub sort: TaskAssignmentSort,
    pub page: Page,
}

/// Distribution kinds as asked for; which of them a listing of one's assignments takes is the
/// domain's rule (DISTRIBUTION_KIND_UNDEFINED).
fn kinds(v: &mut Violations, numbers: &[i32]) -> Vec<Option<DistributionKind>> {
    v.each("distribution_kinds", numbers, MAX_FILTER_VALUES, |n| {
        optional(*n)
    })
}

fn progress(v: &mut Violations, numbers: &[i32]) -> Vec<ProgressStatus> {
    enums(v, "progress_statuses", numbers, MAX_FILTER_VALUES)
}

fn batch(v: &mut Violations, field: &str, ids: &[String]) -> Option<Batch> {
    let read = uuids(v, field, ids, MAX_BATCH);
    if read.len() != ids.len() {
        return None; // the list's size, or each bad id, is recorded already
    }
    v.check(field, Batch::new(read))
}

impl Parse for pb::ListMyAssignmentsRequest {
    type Checked = ListMine;

    fn parse(&self, v: &mut Violations) -> Option<ListMine> {
        let kinds = kinds(v, &self.distribution_kinds);
        let progress = progress(v, &self.progress_statuses);
        let sort = v.check("sort", optional(self.sort));
        let formats = body_formats(v, &self.body_formats);
        let page = page(v, &self.page_cursor, self.page_limit);
        let snoozed = v.check("snoozed", optional(self.snoozed));
        Some(ListMine {
            kinds,
            progress,
            snoozed: snoozed?.unwrap_or_default(),
            sort: sort?.unwrap_or(MyAssignmentSort::CreatedAt { descending: true }),
            formats,
            page: page?,
        })
    }
}

impl Parse for pb::ListTaskAssignmentsRequest {
    type Checked = ListForTask;

    fn parse(&self, v: &mut Violations) -> Option<ListForTask> {
        let task_id = v.check("task_id", uuid(&self.task_id));
        let progress = progress(v, &self.progress_statuses);
        let embeds: Vec<Embed> = enums(v, "embed", &self.embed, MAX_FILTER_VALUES);
        let sort = v.check("sort", optional(self.sort));
        let page = page(v, &self.page_cursor, self.page_limit);
        Some(ListForTask {
            task_id: task_id?,
            progress,
            embed_user: embeds.contains(&Embed::User),
            sort: sort?.unwrap_or(TaskAssignmentSort::CreatedAt { descending: false }),
            page: page?,
        })
    }
}

impl Parse for pb::CreateAssignmentRequest {
    type Checked = (Uuid, NewRecipient);

    fn parse(&self, v: &mut Violations) -> Option<(Uuid, NewRecipient)> {
        use pb::create_assignment_request::Recipient;
        let task_id = v.check("task_id", uuid(&self.task_id));
        let recipient = match &self.recipient {
            Some(Recipient::UserId(id)) => v.check("user_id", uuid(id)).map(NewRecipient::User),
            Some(Recipient::ChannelId(id)) => {
                v.check("channel_id", uuid(id)).map(NewRecipient::Channel)
            }
            None => {
                v.add("user_id", "name the recipient: user_id or channel_id");
                None
            }
        };
        Some((task_id?, recipient?))
    }
}

impl Parse for pb::BatchCreateAssignmentsRequest {
    type Checked = (Uuid, Batch);

    fn parse(&self, v: &mut Violations) -> Option<(Uuid, Batch)> {
        let task_id = v.check("task_id", uuid(&self.task_id));
        let users = batch(v, "user_ids", &self.user_ids);
        Some((task_id?, users?))
    }
}

impl Parse for pb::BatchDeleteAssignmentsRequest {
    type Checked = (Uuid, Batch);

    fn parse(&self, v: &mut Violations) -> Option<(Uuid, Batch)> {
        let task_id = v.check("task_id", uuid(&self.task_id));
        let assignments = batch(v, "assignment_ids", &self.assignment_ids);
        Some((task_id?, assignments?))
    }
}

one_id!(assignment_id: DeleteAssignmentRequest, FinishAssignmentRequest, OpenAssignmentRequest);
one_id!(task_id: GetTaskAssignmentsSummaryRequest);

impl Parse for pb::GetMyAssignmentsSummaryRequest {
    type Checked = Vec<Option<DistributionKind>>;

    fn parse(&self, v: &mut Violations) -> Option<Vec<Option<DistributionKind>>> {
        Some(kinds(v, &self.distribution_kinds))
    }
}

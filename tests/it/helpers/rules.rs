//! The assignment rules' checks over a team's workspace: a task's assignments by recipient, its
//! status, a batch of assignments, and the rules asserted over every task of the workspace.

use std::collections::HashMap;

use docket::grpc::pb;
use uuid::Uuid;

use super::{database::connect, rpc::authorized, team::Team};

impl Team {
    /// The task's assignment ids by recipient.
    pub async fn assignment_of(&self, task: &str) -> HashMap<Uuid, String> {
        self.task_assignments(task)
            .await
            .into_iter()
            .map(|a| (a.user_id.parse().expect("uuid"), a.id))
            .collect()
    }

    pub async fn status(&self, task: &str) -> pb::TaskStatus {
        let task = self.get(&self.author.1, task).await.expect("get");
        pb::TaskStatus::try_from(task.status).expect("known status")
    }

    pub async fn batch_create(
        &self,
        task: &str,
        users: &[Uuid],
    ) -> Result<pb::BatchCreateAssignmentsResponse, tonic::Status> {
        let request = pb::BatchCreateAssignmentsRequest {
            task_id: task.into(),
            user_ids: users.iter().map(Uuid::to_string).collect(),
        };
        Ok(self
            .assignments()
            .await
            .batch_create_assignments(authorized(request, &self.author.1))
            .await?
            .into_inner())
    }

    /// Asserts the rules over every task of the workspace: each (all authored by users here) has
    /// an assignment, and a task is completed by its policy exactly while the policy holds.
    pub async fn assert_rules_hold(&self) {
        let rows = connect(&self.app.db.url())
            .await
            .query(
                "SELECT t.number, t.status, t.completion_policy, t.completed_by_policy,
                        count(a.id), count(a.id) FILTER (WHERE a.progress_status = 'FINISHED')
                   FROM tasks t LEFT JOIN assignments a
                     ON a.workspace_id = t.workspace_id AND a.task_id = t.id
                  GROUP BY t.workspace_id, t.id",
                &[],
            )
            .await
            .expect("tasks");
        for row in rows {
            let (number, status, policy): (i64, String, String) =
                (row.get(0), row.get(1), row.get(2));
            let (by_policy, total, finished): (bool, i64, i64) =
                (row.get(3), row.get(4), row.get(5));
            assert!(total >= 1, "task #{number} has no assignment");
            let holds = match policy.as_str() {
                "ANY" => finished >= 1,
                "ALL" => finished == total,
                _ => false,
            };
            let open = matches!(
                status.as_str(),
                "NEW" | "OPEN" | "IN_PROGRESS" | "IN_REVIEW"
            );
            assert!(
                !(open && holds),
                "task #{number} is {status} though its {policy} policy holds ({finished}/{total})"
            );
            assert!(
                !by_policy || (status == "COMPLETED" && holds),
                "task #{number} is {status} by its {policy} policy, which no longer holds ({finished}/{total})"
            );
        }
    }
}

//! Assignment calls for tests, on the Team fixture.

use docket::grpc::pb::{self, assignment_service_client::AssignmentServiceClient};
use tonic::transport::Channel;
use uuid::Uuid;

use super::rpc::{Directory, authorized};
use super::{
    database::connect,
    seed,
    team::{Team, titled},
};

impl Team {
    pub async fn assignments(&self) -> AssignmentServiceClient<Channel> {
        AssignmentServiceClient::new(self.app.channel().await)
    }

    /// A task by the author for these users.
    pub async fn distributed(&self, users: &[Uuid]) -> pb::Task {
        let request = pb::CreateTaskRequest {
            recipient_user_ids: users.iter().map(Uuid::to_string).collect(),
            ..titled("Distributed")
        };
        self.create(&self.author.1, request).await.expect("create")
    }

    /// The task's assignments, as its author lists them.
    pub async fn task_assignments(&self, task: &str) -> Vec<pb::Assignment> {
        let request = pb::ListTaskAssignmentsRequest {
            task_id: task.into(),
            ..Default::default()
        };
        let stream = self
            .assignments()
            .await
            .list_task_assignments(authorized(request, &self.author.1))
            .await
            .expect("list");
        crate::helpers::rpc::drain(stream.into_inner())
            .await
            .expect("stream")
            .into_iter()
            .filter_map(|item| item.assignment)
            .collect()
    }

    pub async fn create_assignment(
        &self,
        token: &str,
        task: &str,
        recipient: pb::create_assignment_request::Recipient,
    ) -> Result<pb::CreateAssignmentResponse, tonic::Status> {
        let request = pb::CreateAssignmentRequest {
            task_id: task.into(),
            recipient: Some(recipient),
        };
        Ok(self
            .assignments()
            .await
            .create_assignment(authorized(request, token))
            .await?
            .into_inner())
    }

    pub async fn finish(
        &self,
        token: &str,
        id: &str,
    ) -> Result<pb::FinishAssignmentResponse, tonic::Status> {
        let request = pb::FinishAssignmentRequest {
            assignment_id: id.into(),
        };
        Ok(self
            .assignments()
            .await
            .finish_assignment(authorized(request, token))
            .await?
            .into_inner())
    }

    pub async fn open(
        &self,
        token: &str,
        id: &str,
    ) -> Result<pb::OpenAssignmentResponse, tonic::Status> {
        let request = pb::OpenAssignmentRequest {
            assignment_id: id.into(),
        };
        Ok(self
            .assignments()
            .await
            .open_assignment(authorized(request, token))
            .await?
            .into_inner())
    }

    pub async fn delete_assignment(
        &self,
        token: &str,
        id: &str,
    ) -> Result<pb::DeleteAssignmentResponse, tonic::Status> {
        let request = pb::DeleteAssignmentRequest {
            assignment_id: id.into(),
        };
        Ok(self
            .assignments()
            .await
            .delete_assignment(authorized(request, token))
            .await?
            .into_inner())
    }

    /// A third active user with a token, who is in no channel.
    pub async fn extra_user(&self, name: &str) -> (Uuid, String) {
        let mut dir = Directory::new(&self.app, self.admin.clone()).await;
        let id = Uuid::new_v4();
        dir.upsert_user(id, name, "Extra", Some(true)).await;
        (id, self.user_token(id).await)
    }

    /// A tasks:write token for a user of the team's workspace.
    pub async fn user_token(&self, user: Uuid) -> String {
        let workspace: Uuid = connect(&self.app.db.url())
            .await
            .query_one("SELECT id FROM workspaces WHERE name = 'acme'", &[])
            .await
            .expect("workspace")
            .get(0);
        docket::domain::tokens::create(
            &mut seed::diesel(&self.app.db).await,
            workspace,
            docket::domain::tokens::TokenOwner::User(user),
            &[docket::auth::Scope::TasksWrite],
        )
        .await
        .expect("token")
        .secret
    }
}

/// `(new, open, finished, total)` of a summary.
pub fn summary(s: Option<pb::AssignmentSummary>) -> (i64, i64, i64, i64) {
    let s = s.expect("summary");
    (s.new_count, s.open_count, s.finished_count, s.total_count)
}

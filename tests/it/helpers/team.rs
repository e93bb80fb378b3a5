//! A workspace set up for task tests: an author, recipients, an outsider, an inactive user and a
//! channel, each user with a token of their own.

use docket::{
    auth::Scope,
    domain::tokens::{self, TokenOwner},
    grpc::pb::{
        self, task_service_client::TaskServiceClient,
        workspace_service_client::WorkspaceServiceClient,
    },
};
use tonic::transport::Channel;
use uuid::Uuid;

use super::rpc::{Directory, authorized};
use super::{app::TestApp, database::connect, seed};

/// A workspace with an author, two recipients (Alice, and Bob who is only reached via the channel), an outsider, an inactive user and a channel the
/// author administers (members: author, both recipients, the inactive user).
pub struct Team {
    pub app: TestApp,
    pub admin: String,
    pub author: (Uuid, String),
    pub alice: (Uuid, String),
    /// Only reached through the channel.
    pub bob: Uuid,
    pub outsider: (Uuid, String),
    pub inactive: Uuid,
    pub channel: Uuid,
}

impl Team {
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    /// The team on a server whose test configuration `edit` changes.
    pub async fn with_config(edit: impl FnOnce(&mut docket::config::ServeConfig)) -> Self {
        let app = TestApp::builder().configure(edit).spawn().await;
        let (workspace, admin) = seed::workspace(&app.db, "acme").await;
        let mut dir = Directory::new(&app, admin.clone()).await;
        let mut person = async |name: &str, active: bool| {
            let id = Uuid::new_v4();
            dir.upsert_user(id, name, "Test", Some(active)).await;
            let scopes = [Scope::TasksWrite];
            let token = tokens::create(
                &mut seed::diesel(&app.db).await,
                workspace.id,
                TokenOwner::User(id),
                &scopes,
            )
            .await
            .expect("user token")
            .secret;
            (id, token)
        };
        let author = person("Author", true).await;
        let alice = person("Alice", true).await;
        let bob = person("Bob", true).await.0;
        let outsider = person("Outsider", true).await;
        let inactive = person("Inactive", false).await.0;
        let channel = Uuid::new_v4();
        dir.upsert_channel(channel, "Team").await;
        dir.add_members(
            channel,
            &[
                (author.0, true),
                (alice.0, false),
                (bob, false),
                (inactive, false),
            ],
        )
        .await
        .expect("members");
        Self {
            app,
            admin,
            author,
            alice,
            bob,
            outsider,
            inactive,
            channel,
        }
    }

    pub async fn client(&self) -> TaskServiceClient<Channel> {
        TaskServiceClient::new(self.app.channel().await)
    }

    pub async fn create(
        &self,
        token: &str,
        request: pb::CreateTaskRequest,
    ) -> Result<pb::Task, tonic::Status> {
        let response = self
            .client()
            .await
            .create_task(authorized(request, token))
            .await?;
        Ok(response.into_inner().task.expect("task"))
    }

    pub async fn get(&self, token: &str, id: &str) -> Result<pb::Task, tonic::Status> {
        let request = pb::GetTaskRequest {
            task_id: id.into(),
            body_formats: vec![],
        };
        let response = self
            .client()
            .await
            .get_task(authorized(request, token))
            .await?;
        Ok(response.into_inner().task.expect("task"))
    }

    /// The task's recipients now, in id order, straight from the database.
    pub async fn recipients(&self, task: &str) -> Vec<Uuid> {
        let id: Uuid = task.parse().expect("uuid");
        connect(&self.app.db.url())
            .await
            .query(
                "SELECT user_id FROM assignments WHERE task_id = $1 ORDER BY user_id",
                &[&id],
            )
            .await
            .expect("assignments")
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    /// Replaces the workspace's SLA policies, as its admin.
    pub async fn set_sla_policies(
        &self,
        policies: Vec<pb::SlaPolicy>,
    ) -> Result<pb::Workspace, tonic::Status> {
        let request = pb::UpdateWorkspaceSettingsRequest {
            settings: Some(pb::WorkspaceSettings {
                sla_policies: policies,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["sla_policies".into()],
            }),
        };
        let response = WorkspaceServiceClient::new(self.app.channel().await)
            .update_workspace_settings(authorized(request, &self.admin))
            .await?;
        Ok(response.into_inner().workspace.expect("workspace"))
    }

    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        connect(&self.app.db.url())
            .await
            .query_one(&sql, &[])
            .await
            .expect("count")
            .get(0)
    }
}

pub fn titled(title: &str) -> pb::CreateTaskRequest {
    pb::CreateTaskRequest {
        title: title.into(),
        ..Default::default()
    }
}

/// ReassignTask through `channel` (a test of several servers picks the server): the tasks it
/// changed.
pub async fn reassign(
    channel: &Channel,
    token: &str,
    task: &str,
    to: Uuid,
    scope: pb::ReassignScope,
) -> Result<Vec<pb::Task>, tonic::Status> {
    let request = pb::ReassignTaskRequest {
        task_id: task.into(),
        assignee_user_id: to.to_string(),
        scope: scope as i32,
        body_formats: vec![],
    };
    Ok(TaskServiceClient::new(channel.clone())
        .reassign_task(authorized(request, token))
        .await?
        .into_inner()
        .tasks)
}
